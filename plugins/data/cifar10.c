/* cifar10.c: the `cifar10` data plugin -- CIFAR-10 in its binary distribution
 * (cifar-10-batches-bin, from https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz; `snm fetch
 * cifar10` puts the six files into data/cifar10/).
 *
 * A dataset directory holds six files, read as they are (never compressed):
 *   data_batch_1.bin .. data_batch_5.bin   the training records, in this order
 *   test_batch.bin                         the test records
 * Each file is a sequence of 3073-byte records: one label byte (0..9), then the 32x32 image as
 * three planes of 1024 bytes, R then G then B, each row-major.  The official files hold 10000
 * records each; any positive whole number of records per file is accepted.  The python-pickle
 * distribution (data_batch_1 without .bin) is NOT read.
 * Options (table below): dir (required; a relative path is taken from the working directory),
 * valid (10000), crop (24).
 *
 * Splits: the training records of the five files concatenated; the first n - valid are `train`,
 * the LAST `valid` are `valid` (40000 / 10000 with the defaults, as in the paper), test_batch.bin
 * is `test`.  All records are kept in memory as bytes (60000 * 3073 = 184 MB).
 *
 * Examples are 3 x crop x crop (info.d = {3, crop, crop}), values p / 255 in [0, 1].  A read with
 * the augmentation stream (training) draws, for each example in the order of idx[], three numbers
 * from it:
 *     oy = gsl_rng_uniform_int(aug, 33 - crop)     row offset of the crop, uniform in [0, 32-crop]
 *     ox = gsl_rng_uniform_int(aug, 33 - crop)     column offset
 *     flip = gsl_rng_uniform_int(aug, 2)           1: mirror the crop left-right
 * and returns out(c, y, x) = image(c, oy + y, ox + (flip ? crop-1-x : x)).  The draws depend only
 * on n (also when x is NULL), so a stream stays in step whatever is read.  A read without the
 * stream (evaluation) returns the centre crop, oy = ox = (32 - crop) / 2 (rounded down), unflipped.
 * crop 32 is the whole image (the offsets are then 0, but a flip still happens under aug).
 *
 * Everything a damaged directory can do is caught at open and reported in one line naming the
 * file (SNM_EIO): a missing file or directory, something that is not a regular file, a file
 * without records, a size that is not a whole number of 3073-byte records (with a hint when it
 * fits CIFAR-100's 3074-byte records), a short read, a label outside [0, 10).  The plugin only
 * ever reads: a failed open changes nothing on disk.  It never shuffles and keeps no RNG state. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <gsl/gsl_rng.h>
#include "snm/plugin.h"

static const snm_option cifar_options[] = {
	{ "dir", SNM_OPT_STRING, NULL, NULL,
	  "directory holding data_batch_1.bin .. data_batch_5.bin and test_batch.bin (the BINARY "
	  "distribution, cifar-10-batches-bin; the python-pickle one is not read)", NULL },
	{ "valid", SNM_OPT_INT, "10000", NULL,
	  "the last `valid` training records form the validation split", "[0, inf)" },
	{ "crop", SNM_OPT_INT, "24", NULL,
	  "examples are crop x crop: random crop + flip on training reads, centre crop on evaluation "
	  "(32: whole image)", "[1, 32]" },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

enum {
	SIDE = 32,
	PLANE = SIDE * SIDE,              /* 1024 */
	PIXELS = 3 * PLANE,               /* 3072 */
	RECORD = 1 + PIXELS,              /* 3073 */
	N_CLASSES = 10,
	N_TRAIN_FILES = 5
};

#define CIFAR_PATH_MAX 4096
/* Sanity bound on one file, so an absurd file is refused before allocating for it (the official
 * files are 30 730 000 bytes). */
#define CIFAR_MAX_FILE ((long long)RECORD * 1000000)

enum { PART_TRAIN = 0, PART_TEST = 1 };

static const char *const split_name[3] = { "train", "valid", "test" };

typedef struct cifar_state {
	uint8_t *rec[2];         /* records of the five training files concatenated, and the test file */
	long n_rec[2];
	int part[3];             /* split -> PART_TRAIN / PART_TEST */
	long first[3];           /* split -> index of its first record within its part */
	long n[3];               /* examples per split */
	int crop;
	float lut[256];          /* p -> p / 255 */
} cifar_state;

/* ---- reading the files ---------------------------------------------------------------------- */

/* Appends the records of the file at path to *buf (holding *n records so far).  On failure *n is
 * unchanged and so are the first *n records, though *buf may have been moved (reallocated). */
static int cifar_load(const char *path, uint8_t **buf, long *n, snm_error *err)
{
	struct stat st;
	FILE *f;
	long long size;
	long add;
	uint8_t *nb;
	size_t got;
	int extra;

	if (stat(path, &st) != 0) {
		size_t plen = strlen(path);
		/* the python-pickle distribution names the same files without .bin */
		if (errno == ENOENT && plen > 4) {
			struct stat sp;
			char pick[CIFAR_PATH_MAX];
			snprintf(pick, sizeof pick, "%.*s", (int)(plen - 4), path);
			if (stat(pick, &sp) == 0)
				return SNM_FAIL(err, SNM_EIO, "cifar10: %s: no such file (%s is there: the "
				                "python-pickle distribution is not read; use the binary one, "
				                "cifar-10-binary.tar.gz)", path, pick);
		}
		return SNM_FAIL(err, SNM_EIO, "cifar10: %s: %s", path,
		                errno == ENOENT ? "no such file" : strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return SNM_FAIL(err, SNM_EIO, "cifar10: %s: not a regular file", path);
	size = (long long)st.st_size;
	if (size == 0)
		return SNM_FAIL(err, SNM_EIO, "cifar10: %s: empty file, no records", path);
	if (size % RECORD != 0) {
		if (size % (RECORD + 1) == 0)
			return SNM_FAIL(err, SNM_EIO, "cifar10: %s: %lld bytes is not a whole number of 3073-byte "
			                "records, but of 3074-byte ones: CIFAR-100, not CIFAR-10?", path, size);
		return SNM_FAIL(err, SNM_EIO, "cifar10: %s: %lld bytes is not a whole number of 3073-byte "
		                "records (1 label byte + 3x32x32 pixels): truncated or not CIFAR-10 binary",
		                path, size);
	}
	if (size > CIFAR_MAX_FILE)
		return SNM_FAIL(err, SNM_EIO, "cifar10: %s: implausibly large (%lld records)", path,
		                size / RECORD);
	add = (long)(size / RECORD);
	nb = realloc(*buf, (size_t)(*n + add) * RECORD);
	if (nb == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "cifar10: %s: out of memory for %lld bytes", path, size);
	*buf = nb;
	errno = 0;
	if ((f = fopen(path, "rb")) == NULL)
		return SNM_FAIL(err, SNM_EIO, "cifar10: %s: cannot open: %s", path,
		                errno ? strerror(errno) : "out of memory");
	got = fread(nb + (size_t)*n * RECORD, 1, (size_t)size, f);
	extra = got == (size_t)size ? fgetc(f) : EOF;
	if (got != (size_t)size || ferror(f)) {
		int e = errno, bad = ferror(f);
		fclose(f);
		if (!bad)
			return SNM_FAIL(err, SNM_EIO, "cifar10: %s: file shrank while being read (%zu of %lld "
			                "bytes)", path, got, size);
		return SNM_FAIL(err, SNM_EIO, "cifar10: %s: read error: %s", path, strerror(e));
	}
	fclose(f);
	if (extra != EOF)
		return SNM_FAIL(err, SNM_EIO, "cifar10: %s: file grew while being read", path);
	for (long r = 0; r < add; ++r) {
		uint8_t lab = nb[((size_t)*n + (size_t)r) * RECORD];
		if (lab >= N_CLASSES)
			return SNM_FAIL(err, SNM_EIO, "cifar10: %s: label %d of record %ld is outside [0, 10)",
			                path, lab, r);
	}
	*n += add;
	return SNM_OK;
}

/* ---- the vtable ----------------------------------------------------------------------------- */

static void cifar_close(void *vs)
{
	cifar_state *s = vs;
	if (s == NULL)
		return;
	free(s->rec[PART_TRAIN]);
	free(s->rec[PART_TEST]);
	free(s);
}

static int cifar_open(const snm_cfg *opts, void **state, snm_error *err)
{
	char path[CIFAR_PATH_MAX];
	const char *dir;
	long valid, crop;
	int rc;
	cifar_state *s;

	*state = NULL;
	if ((rc = snm_cfg_opt_str(opts, cifar_options, "dir", &dir, err)) != SNM_OK
	    || (rc = snm_cfg_opt_int(opts, cifar_options, "valid", &valid, err)) != SNM_OK
	    || (rc = snm_cfg_opt_int(opts, cifar_options, "crop", &crop, err)) != SNM_OK)
		return rc;
	if (dir[0] == '\0')
		return SNM_FAIL(err, SNM_EINVAL, "cifar10: option 'dir' is empty");
	if (strlen(dir) > CIFAR_PATH_MAX - 32)
		return SNM_FAIL(err, SNM_EINVAL, "cifar10: option 'dir' is too long (%zu characters)",
		                strlen(dir));
	if (valid < 0)
		return SNM_FAIL(err, SNM_EINVAL, "cifar10: option 'valid' must not be negative (got %ld)", valid);
	if (crop < 1 || crop > SIDE)
		return SNM_FAIL(err, SNM_EINVAL, "cifar10: option 'crop' must be in [1, 32] (got %ld)", crop);
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "cifar10: out of memory");
	s->crop = (int)crop;
	for (int p = 0; p < 256; ++p)
		s->lut[p] = (float)p / 255.0f;
	for (int k = 1; k <= N_TRAIN_FILES; ++k) {
		snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, k);
		if ((rc = cifar_load(path, &s->rec[PART_TRAIN], &s->n_rec[PART_TRAIN], err)) != SNM_OK)
			goto fail;
	}
	snprintf(path, sizeof path, "%s/test_batch.bin", dir);
	if ((rc = cifar_load(path, &s->rec[PART_TEST], &s->n_rec[PART_TEST], err)) != SNM_OK)
		goto fail;
	if (valid >= s->n_rec[PART_TRAIN]) {
		rc = SNM_FAIL(err, SNM_EINVAL, "cifar10: option 'valid' (%ld) must be less than the %ld "
		              "training records of %s/data_batch_{1..5}.bin", valid, s->n_rec[PART_TRAIN], dir);
		goto fail;
	}
	s->part[SNM_SPLIT_TRAIN] = PART_TRAIN;
	s->first[SNM_SPLIT_TRAIN] = 0;
	s->n[SNM_SPLIT_TRAIN] = s->n_rec[PART_TRAIN] - valid;
	s->part[SNM_SPLIT_VALID] = PART_TRAIN;
	s->first[SNM_SPLIT_VALID] = s->n_rec[PART_TRAIN] - valid;
	s->n[SNM_SPLIT_VALID] = valid;
	s->part[SNM_SPLIT_TEST] = PART_TEST;
	s->first[SNM_SPLIT_TEST] = 0;
	s->n[SNM_SPLIT_TEST] = s->n_rec[PART_TEST];
	*state = s;
	return SNM_OK;
fail:
	cifar_close(s);
	return rc;
}

static void cifar_info(void *vs, snm_data_info *out)
{
	const cifar_state *s = vs;
	memset(out, 0, sizeof *out);
	out->n_d = 3;
	out->d[0] = 3;
	out->d[1] = s->crop;
	out->d[2] = s->crop;
	out->n_classes = N_CLASSES;
	for (int k = 0; k < 3; ++k)
		out->n[k] = s->n[k];
}

/* x[i] (3*crop*crop floats) = the crop of example idx[i] described at the top, y[i] its label.
 * Every index is checked before anything is written or drawn. */
static int cifar_read(void *vs, int split, const long *idx, int n, gsl_rng *aug, float *x,
                      int32_t *y, snm_error *err)
{
	const cifar_state *s = vs;
	const int crop = s->crop;
	const size_t D = (size_t)3 * crop * crop;
	const unsigned long span = (unsigned long)(SIDE - crop + 1);
	if (split < 0 || split > 2)
		return SNM_FAIL(err, SNM_EINVAL, "cifar10: unknown split %d", split);
	if (n < 0)
		return SNM_FAIL(err, SNM_EINVAL, "cifar10: negative example count %d", n);
	for (int i = 0; i < n; ++i)
		if (idx[i] < 0 || idx[i] >= s->n[split])
			return SNM_FAIL(err, SNM_EINVAL, "cifar10: index %ld out of range for split %s (%ld "
			                "examples)", idx[i], split_name[split], s->n[split]);
	for (int i = 0; i < n; ++i) {
		const uint8_t *rec = s->rec[s->part[split]] + (size_t)(s->first[split] + idx[i]) * RECORD;
		int oy = (SIDE - crop) / 2, ox = (SIDE - crop) / 2, flip = 0;
		if (aug != NULL) {
			oy = (int)gsl_rng_uniform_int(aug, span);
			ox = (int)gsl_rng_uniform_int(aug, span);
			flip = (int)gsl_rng_uniform_int(aug, 2);
		}
		if (x != NULL) {
			float *out = x + (size_t)i * D;
			for (int c = 0; c < 3; ++c)
				for (int r = 0; r < crop; ++r) {
					const uint8_t *row = rec + 1 + c * PLANE + (oy + r) * SIDE + ox;
					float *o = out + ((size_t)c * crop + r) * crop;
					if (flip)
						for (int q = 0; q < crop; ++q)
							o[q] = s->lut[row[crop - 1 - q]];
					else
						for (int q = 0; q < crop; ++q)
							o[q] = s->lut[row[q]];
				}
		}
		if (y != NULL)
			y[i] = rec[0];
	}
	return SNM_OK;
}

static int cifar_labels(void *vs, int split, int32_t *y, snm_error *err)
{
	const cifar_state *s = vs;
	if (split < 0 || split > 2)
		return SNM_FAIL(err, SNM_EINVAL, "cifar10: unknown split %d", split);
	const uint8_t *rec = s->rec[s->part[split]] + (size_t)s->first[split] * RECORD;
	for (long i = 0; i < s->n[split]; ++i)
		y[i] = rec[(size_t)i * RECORD];
	return SNM_OK;
}

static const snm_data_vt cifar_vt = { sizeof cifar_vt, cifar_open, cifar_close, cifar_info,
                                      cifar_read, cifar_labels };

SNM_PLUGIN_DEFINE(SNM_KIND_DATA, "cifar10", "1.0.0",
                  "CIFAR-10 binary distribution (data_batch_*.bin, test_batch.bin): 40k/10k/10k, "
                  "random crop + flip for training",
                  &cifar_vt, cifar_options);
