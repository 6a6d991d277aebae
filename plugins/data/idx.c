/* idx.c: the `idx` data plugin -- the MNIST family (MNIST, Fashion-MNIST, KMNIST) in LeCun's IDX
 * format.
 *
 * A dataset directory holds four files, each either raw or gzip-compressed (when both exist the
 * raw one is read, which saves the decompression):
 *   train-images-idx3-ubyte[.gz]   magic 2051, then n, rows, cols (big-endian 32-bit), then
 *                                  n*rows*cols pixels, one byte each, row-major
 *   train-labels-idx1-ubyte[.gz]   magic 2049, then n, then n label bytes
 *   t10k-images-idx3-ubyte[.gz]    the same for the test set
 *   t10k-labels-idx1-ubyte[.gz]
 * Options (table below): dir (required; a relative path is taken from the working directory),
 * valid (10000), classes (10: the labels' range and info.n_classes), permute (false),
 * permute_seed (1).
 *
 * Splits: the first n - valid training examples are `train`, the LAST `valid` ones are `valid`,
 * the t10k files are `test`.  Examples are 1 x rows x cols (info.d = {1, rows, cols}); pixels are
 * kept in memory as bytes (60000 * 784 = 47 MB for MNIST) and become floats p / 255 on read.
 *
 * permute: true applies one fixed pixel permutation to every example of every split
 * (permutation-invariant MNIST).  It is drawn at open by gsl_ran_shuffle of 0..rows*cols-1 with a
 * GSL mt19937 seeded with permute_seed; output pixel j of an example is its stored pixel perm[j].
 *
 * Every file is read through zlib's gzread, which reads raw files transparently.  Everything a
 * damaged file can do is caught and reported in one line naming the file (SNM_EIO): missing
 * file, wrong magic, truncated header, fewer data bytes than the header promises, bytes after the
 * promised data, a corrupt or truncated gzip stream, images and labels of different counts,
 * train and test images of different sizes, a label outside [0, classes).  The plugin only ever
 * reads: a failed open changes nothing on disk.  It never shuffles and ignores the augmentation
 * stream (MNIST is used without augmentation). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include "snm/plugin.h"

static const snm_option idx_options[] = {
	{ "dir", SNM_OPT_STRING, NULL, NULL,
	  "directory holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
	  "t10k-labels-idx1-ubyte (each raw or .gz)", NULL },
	{ "valid", SNM_OPT_INT, "10000", NULL,
	  "the last `valid` training examples form the validation split", "[0, inf)" },
	{ "classes", SNM_OPT_INT, "10", NULL,
	  "number of classes; a label outside [0, classes) is a file error", "[1, 256]" },
	{ "permute", SNM_OPT_BOOL, "false", NULL,
	  "apply one fixed pixel permutation to every example (permutation-invariant MNIST)", NULL },
	{ "permute_seed", SNM_OPT_INT, "1", NULL,
	  "seed of the mt19937 stream the permutation is shuffled with", "[0, 4294967295]" },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

enum { PAIR_TRAIN = 0, PAIR_TEST = 1 };

/* Sanity bounds on header fields, so a damaged header cannot ask for absurd allocations. */
#define IDX_MAX_SIDE 4096
#define IDX_MAX_N (1L << 28)
#define IDX_PATH_MAX 4096

static const char *const split_name[3] = { "train", "valid", "test" };

typedef struct idx_state {
	uint8_t *px[2];          /* images of the train and t10k files: n_file[f] * D bytes */
	uint8_t *lab[2];         /* their labels: n_file[f] bytes */
	long n_file[2];
	int file[3];             /* split -> PAIR_TRAIN / PAIR_TEST */
	long first[3];           /* split -> index of its first example within its file */
	long n[3];               /* examples per split */
	int rows, cols, n_classes;
	size_t *perm;            /* NULL, or D source-pixel indices */
	float lut[256];          /* v -> (float)v / 255.0f: a pixel's value without a division */
} idx_state;

/* ---- reading one file ----------------------------------------------------------------------- */

/* Fills path with dir/base when that file exists, else dir/base.gz when that exists; otherwise
 * SNM_EIO naming both candidates. */
static int idx_find(const char *dir, const char *base, char *path, snm_error *err)
{
	struct stat st;
	if (snprintf(path, IDX_PATH_MAX, "%s/%s.gz", dir, base) >= IDX_PATH_MAX)
		return SNM_FAIL(err, SNM_EINVAL, "idx: option 'dir' is too long (%zu characters)", strlen(dir));
	snprintf(path, IDX_PATH_MAX, "%s/%s", dir, base);
	if (stat(path, &st) == 0)
		return SNM_OK;
	snprintf(path, IDX_PATH_MAX, "%s/%s.gz", dir, base);
	if (stat(path, &st) == 0)
		return SNM_OK;
	return SNM_FAIL(err, SNM_EIO, "idx: %s/%s: no such file (nor %s.gz)", dir, base, base);
}

/* Reads up to len bytes from f into buf; *got receives how many were read.  A short read without
 * error is the end of the file.  SNM_EIO on a damaged gzip stream (including one that ends
 * before its trailer) or a read error. */
static int gz_read(gzFile f, const char *path, uint8_t *buf, size_t len, size_t *got, snm_error *err)
{
	int zerr;
	*got = 0;
	while (*got < len) {
		size_t chunk = len - *got < (1u << 20) ? len - *got : (1u << 20);
		int r = gzread(f, buf + *got, (unsigned)chunk);
		if (r > 0)
			*got += (size_t)r;
		if (r < 0 || (size_t)r < chunk) {
			const char *msg = gzerror(f, &zerr);
			size_t plen = strlen(path);
			if (zerr == Z_ERRNO)
				return SNM_FAIL(err, SNM_EIO, "idx: %s: read error: %s", path, strerror(errno));
			if (zerr != Z_OK) {
				/* zlib's message is "<path>: <what>"; keep only <what> */
				if (msg != NULL && strncmp(msg, path, plen) == 0 && strncmp(msg + plen, ": ", 2) == 0)
					msg += plen + 2;
				return SNM_FAIL(err, SNM_EIO, "idx: %s: corrupt gzip stream (%s)", path,
				                msg ? msg : "unknown zlib error");
			}
			break;
		}
	}
	return SNM_OK;
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Reads the whole IDX file at path: images (magic 2051, dims n, rows, cols) when images is 1,
 * labels (magic 2049, dim n) otherwise.  On success *data (malloc'd, n*rows*cols or n bytes) and
 * the dims are set; on failure nothing is allocated. */
static int idx_load(const char *path, int images, uint8_t **data, long *n, int *rows, int *cols,
                    snm_error *err)
{
	const uint32_t want = images ? 2051u : 2049u, other = images ? 2049u : 2051u;
	const size_t hlen = images ? 16 : 8;
	const char *what = images ? "images" : "labels";
	uint8_t head[16], extra;
	uint8_t *buf = NULL;
	size_t size, cap, got, more;
	uint32_t magic, dim[3] = { 0, 1, 1 };
	int rc;
	gzFile f;

	errno = 0;
	f = gzopen(path, "rb");
	if (f == NULL)
		return SNM_FAIL(err, SNM_EIO, "idx: %s: cannot open: %s", path,
		                errno ? strerror(errno) : "out of memory");
	if ((rc = gz_read(f, path, head, hlen, &got, err)) != SNM_OK)
		goto fail;
	if (got >= 4) {
		magic = be32(head);
		if (magic == other) {
			rc = SNM_FAIL(err, SNM_EIO, "idx: %s: holds %s (magic %u), expected %s (magic %u)", path,
			              images ? "labels" : "images", magic, what, want);
			goto fail;
		}
		if (magic != want) {
			rc = SNM_FAIL(err, SNM_EIO, "idx: %s: not an IDX %s file (magic 0x%08x, expected %u)", path,
			              what, (unsigned)magic, want);
			goto fail;
		}
	}
	if (got < hlen) {
		rc = SNM_FAIL(err, SNM_EIO, "idx: %s: truncated IDX header (%zu of %zu bytes)", path, got, hlen);
		goto fail;
	}
	for (size_t k = 0; k < hlen / 4 - 1; ++k)
		dim[k] = be32(head + 4 + 4 * k);
	if (dim[0] == 0 || dim[0] > (uint32_t)IDX_MAX_N || dim[1] == 0 || dim[1] > IDX_MAX_SIDE
	    || dim[2] == 0 || dim[2] > IDX_MAX_SIDE) {
		if (images)
			rc = SNM_FAIL(err, SNM_EIO, "idx: %s: implausible IDX header (%u images of %ux%u)", path,
			              dim[0], dim[1], dim[2]);
		else
			rc = SNM_FAIL(err, SNM_EIO, "idx: %s: implausible IDX header (%u labels)", path, dim[0]);
		goto fail;
	}
	size = (size_t)dim[0] * dim[1] * dim[2];
	/* Grow the buffer as data arrives, so a header that lies costs no more memory than the file. */
	cap = size < (8u << 20) ? size : (8u << 20);
	buf = malloc(cap);
	if (buf == NULL) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "idx: %s: out of memory for %zu bytes", path, cap);
		goto fail;
	}
	got = 0;
	for (;;) {
		if ((rc = gz_read(f, path, buf + got, cap - got, &more, err)) != SNM_OK)
			goto fail;
		got += more;
		if (got < cap || cap == size)
			break;
		cap = cap * 2 < size ? cap * 2 : size;
		uint8_t *nb = realloc(buf, cap);
		if (nb == NULL) {
			rc = SNM_FAIL(err, SNM_ENOMEM, "idx: %s: out of memory for %zu bytes", path, cap);
			goto fail;
		}
		buf = nb;
	}
	if (got < size) {
		if (images)
			rc = SNM_FAIL(err, SNM_EIO, "idx: %s: truncated data: the header promises %u images of "
			              "%ux%u (%zu bytes), the file holds %zu", path, dim[0], dim[1], dim[2], size, got);
		else
			rc = SNM_FAIL(err, SNM_EIO, "idx: %s: truncated data: the header promises %u labels, the "
			              "file holds %zu", path, dim[0], got);
		goto fail;
	}
	if ((rc = gz_read(f, path, &extra, 1, &more, err)) != SNM_OK)
		goto fail;
	if (more != 0) {
		rc = SNM_FAIL(err, SNM_EIO, "idx: %s: unexpected bytes after the %u %s the header declares",
		              path, dim[0], what);
		goto fail;
	}
	gzclose(f);
	*data = buf;
	*n = (long)dim[0];
	*rows = (int)dim[1];
	*cols = (int)dim[2];
	return SNM_OK;
fail:
	free(buf);
	gzclose(f);
	return rc;
}

/* Loads the images and labels of one file pair and checks they agree. */
static int idx_load_pair(idx_state *s, int fi, const char *dir, const char *img_base,
                         const char *lab_base, int *rows, int *cols, char *img_path, snm_error *err)
{
	char lab_path[IDX_PATH_MAX];
	long n_img, n_lab;
	int r1, c1;
	int rc;
	if ((rc = idx_find(dir, img_base, img_path, err)) != SNM_OK
	    || (rc = idx_find(dir, lab_base, lab_path, err)) != SNM_OK)
		return rc;
	if ((rc = idx_load(img_path, 1, &s->px[fi], &n_img, rows, cols, err)) != SNM_OK)
		return rc;
	if ((rc = idx_load(lab_path, 0, &s->lab[fi], &n_lab, &r1, &c1, err)) != SNM_OK)
		return rc;
	if (n_img != n_lab)
		return SNM_FAIL(err, SNM_EIO, "idx: %s: holds %ld labels but %s holds %ld images", lab_path,
		                n_lab, img_path, n_img);
	for (long i = 0; i < n_lab; ++i)
		if (s->lab[fi][i] >= s->n_classes)
			return SNM_FAIL(err, SNM_EIO, "idx: %s: label %d of example %ld is outside [0, %d) "
			                "(option 'classes')", lab_path, s->lab[fi][i], i, s->n_classes);
	s->n_file[fi] = n_img;
	return SNM_OK;
}

/* ---- the vtable ----------------------------------------------------------------------------- */

static void idx_close(void *vs)
{
	idx_state *s = vs;
	if (s == NULL)
		return;
	for (int f = 0; f < 2; ++f) {
		free(s->px[f]);
		free(s->lab[f]);
	}
	free(s->perm);
	free(s);
}

/* The permutation: gsl_ran_shuffle of 0..D-1 with an mt19937 seeded with seed. */
static int idx_make_perm(idx_state *s, unsigned long seed, snm_error *err)
{
	size_t D = (size_t)s->rows * (size_t)s->cols;
	gsl_rng *r;
	s->perm = malloc(D * sizeof *s->perm);
	r = gsl_rng_alloc(gsl_rng_mt19937);
	if (s->perm == NULL || r == NULL) {
		gsl_rng_free(r);
		return SNM_FAIL(err, SNM_ENOMEM, "idx: out of memory for the pixel permutation");
	}
	gsl_rng_set(r, seed);
	for (size_t j = 0; j < D; ++j)
		s->perm[j] = j;
	gsl_ran_shuffle(r, s->perm, D, sizeof *s->perm);
	gsl_rng_free(r);
	return SNM_OK;
}

static int idx_open(const snm_cfg *opts, void **state, snm_error *err)
{
	char train_img[IDX_PATH_MAX], test_img[IDX_PATH_MAX];
	const char *dir;
	long valid, classes, seed;
	int permute, rows, cols, trows, tcols, rc;
	idx_state *s;

	*state = NULL;
	if ((rc = snm_cfg_opt_str(opts, idx_options, "dir", &dir, err)) != SNM_OK
	    || (rc = snm_cfg_opt_int(opts, idx_options, "valid", &valid, err)) != SNM_OK
	    || (rc = snm_cfg_opt_int(opts, idx_options, "classes", &classes, err)) != SNM_OK
	    || (rc = snm_cfg_opt_bool(opts, idx_options, "permute", &permute, err)) != SNM_OK
	    || (rc = snm_cfg_opt_int(opts, idx_options, "permute_seed", &seed, err)) != SNM_OK)
		return rc;
	if (dir[0] == '\0')
		return SNM_FAIL(err, SNM_EINVAL, "idx: option 'dir' is empty");
	if (valid < 0)
		return SNM_FAIL(err, SNM_EINVAL, "idx: option 'valid' must not be negative (got %ld)", valid);
	if (classes < 1 || classes > 256)
		return SNM_FAIL(err, SNM_EINVAL, "idx: option 'classes' must be in [1, 256] (got %ld)", classes);
	if (seed < 0 || (unsigned long)seed > 4294967295ul)
		return SNM_FAIL(err, SNM_EINVAL, "idx: option 'permute_seed' must be in [0, 4294967295] "
		                "(got %ld)", seed);
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "idx: out of memory");
	s->n_classes = (int)classes;
	for (int v = 0; v < 256; ++v)
		s->lut[v] = (float)v / 255.0f;
	if ((rc = idx_load_pair(s, PAIR_TRAIN, dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
	                        &rows, &cols, train_img, err)) != SNM_OK
	    || (rc = idx_load_pair(s, PAIR_TEST, dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
	                           &trows, &tcols, test_img, err)) != SNM_OK)
		goto fail;
	if (trows != rows || tcols != cols) {
		rc = SNM_FAIL(err, SNM_EIO, "idx: %s: images are %dx%d but %s has %dx%d", test_img, trows,
		              tcols, train_img, rows, cols);
		goto fail;
	}
	if (valid >= s->n_file[PAIR_TRAIN]) {
		rc = SNM_FAIL(err, SNM_EINVAL, "idx: option 'valid' (%ld) must be less than the %ld training "
		              "examples of %s", valid, s->n_file[PAIR_TRAIN], train_img);
		goto fail;
	}
	s->rows = rows;
	s->cols = cols;
	s->file[SNM_SPLIT_TRAIN] = PAIR_TRAIN;
	s->first[SNM_SPLIT_TRAIN] = 0;
	s->n[SNM_SPLIT_TRAIN] = s->n_file[PAIR_TRAIN] - valid;
	s->file[SNM_SPLIT_VALID] = PAIR_TRAIN;
	s->first[SNM_SPLIT_VALID] = s->n_file[PAIR_TRAIN] - valid;
	s->n[SNM_SPLIT_VALID] = valid;
	s->file[SNM_SPLIT_TEST] = PAIR_TEST;
	s->first[SNM_SPLIT_TEST] = 0;
	s->n[SNM_SPLIT_TEST] = s->n_file[PAIR_TEST];
	if (permute && (rc = idx_make_perm(s, (unsigned long)seed, err)) != SNM_OK)
		goto fail;
	*state = s;
	return SNM_OK;
fail:
	idx_close(s);
	return rc;
}

static void idx_info(void *vs, snm_data_info *out)
{
	const idx_state *s = vs;
	memset(out, 0, sizeof *out);
	out->n_d = 3;
	out->d[0] = 1;
	out->d[1] = s->rows;
	out->d[2] = s->cols;
	out->n_classes = s->n_classes;
	for (int k = 0; k < 3; ++k)
		out->n[k] = s->n[k];
}

/* x[i] (D floats) = stored pixels of example idx[i] / 255, through the permutation when there is
 * one; y[i] its label.  Every index is checked before anything is written. */
static int idx_read(void *vs, int split, const long *idx, int n, gsl_rng *aug, float *x, int32_t *y,
                    snm_error *err)
{
	const idx_state *s = vs;
	const size_t D = (size_t)s->rows * (size_t)s->cols;
	(void)aug;
	if (split < 0 || split > 2)
		return SNM_FAIL(err, SNM_EINVAL, "idx: unknown split %d", split);
	if (n < 0)
		return SNM_FAIL(err, SNM_EINVAL, "idx: negative example count %d", n);
	for (int i = 0; i < n; ++i)
		if (idx[i] < 0 || idx[i] >= s->n[split])
			return SNM_FAIL(err, SNM_EINVAL, "idx: index %ld out of range for split %s (%ld examples)",
			                idx[i], split_name[split], s->n[split]);
	for (int i = 0; i < n; ++i) {
		const long e = s->first[split] + idx[i];
		const uint8_t *px = s->px[s->file[split]] + (size_t)e * D;
		if (x != NULL) {
			float *xi = x + (size_t)i * D;
			if (s->perm != NULL)
				for (size_t j = 0; j < D; ++j)
					xi[j] = s->lut[px[s->perm[j]]];
			else
				for (size_t j = 0; j < D; ++j)
					xi[j] = s->lut[px[j]];
		}
		if (y != NULL)
			y[i] = s->lab[s->file[split]][e];
	}
	return SNM_OK;
}

static int idx_labels(void *vs, int split, int32_t *y, snm_error *err)
{
	const idx_state *s = vs;
	if (split < 0 || split > 2)
		return SNM_FAIL(err, SNM_EINVAL, "idx: unknown split %d", split);
	const uint8_t *lab = s->lab[s->file[split]] + s->first[split];
	for (long i = 0; i < s->n[split]; ++i)
		y[i] = lab[i];
	return SNM_OK;
}

static const snm_data_vt idx_vt = { sizeof idx_vt, idx_open, idx_close, idx_info, idx_read, idx_labels };

SNM_PLUGIN_DEFINE(SNM_KIND_DATA, "idx", "1.0.0",
                  "MNIST-family IDX files (MNIST, Fashion-MNIST, KMNIST), raw or gzip",
                  &idx_vt, idx_options);
