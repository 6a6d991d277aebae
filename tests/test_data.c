/* test_data.c: the data plugins `idx` (MNIST-family IDX files) and `synthetic`, loaded through the
 * plugin loader as the runner loads them.
 *
 * idx: small IDX files are written here (raw and gzip, through zlib) into a temporary directory,
 * with pixel and label values given by closed formulas, so every value read back is checked
 * against an independent reference: shapes and split sizes, values p/255 by index, labels, the
 * validation split taken from the END of the training file, the pixel permutation (one true
 * permutation shared by every example, fixed per seed, equal to gsl_ran_shuffle's), and every kind
 * of damaged file (each an SNM_EIO naming the file, with the directory left byte-for-byte as it
 * was).  When /usr/share/datasets/fashion-mnist exists, the real files are opened too.
 *
 * synthetic: determinism per seed, balanced labels, values in [0,1], and learnability (a nearest
 * class mean classifier fitted on train gets the test split almost all right). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include "harness.h"
#include "run/loader.h"
#include "snm/plugin.h"

/* ---- the plugins under test ------------------------------------------------------------------ */

static snm_plugin_handle h_idx, h_syn;

static int suite_init(void)
{
	snm_error e;
	if (snm_plugin_find(NULL, SNM_KIND_DATA, "idx", &h_idx, &e) != SNM_OK) {
		fprintf(stderr, "test_data: %s\n", e.msg);
		return 1;
	}
	if (snm_plugin_find(NULL, SNM_KIND_DATA, "synthetic", &h_syn, &e) != SNM_OK) {
		fprintf(stderr, "test_data: %s\n", e.msg);
		snm_plugin_close(&h_idx);
		return 1;
	}
	return 0;
}

static int suite_clean(void)
{
	snm_plugin_close(&h_idx);
	snm_plugin_close(&h_syn);
	return 0;
}

static const snm_data_vt *vt_of(const snm_plugin_handle *h)
{
	return (const snm_data_vt *)h->p->vtable;
}

/* Parses yaml (one flow map), checks it against the plugin's option table as the runner does
 * (check_code: what snm_cfg_check must return), then opens the dataset.  Returns open's code;
 * *st is whatever open left there (open must set it NULL on failure). */
static int open_with(const snm_plugin_handle *h, const char *yaml, int check_code, void **st,
                     snm_error *err)
{
	snm_cfg *cfg = NULL;
	int rc;
	snm_error_clear(err);
	if (snm_cfg_parse(yaml, strlen(yaml), "<test>", &cfg, err) != SNM_OK) {
		fprintf(stderr, "cannot parse '%s': %s\n", yaml, err->msg);
		CU_FAIL("config does not parse");
		*st = NULL;
		return -1;
	}
	rc = snm_cfg_check(cfg, h->p->options, h->p->name, err);
	CU_ASSERT_EQUAL(rc, check_code);
	if (rc != SNM_OK && check_code == SNM_OK)
		fprintf(stderr, "check '%s': %s\n", yaml, err->msg);
	rc = vt_of(h)->open(cfg, st, err);
	snm_cfg_free(cfg);
	return rc;
}

/* ---- writing IDX files ----------------------------------------------------------------------- */

enum { ROWS = 3, COLS = 4, D = ROWS * COLS, NTRAIN = 12, NTEST = 5, NCLS = 10 };
enum { F_TRIMG, F_TRLAB, F_TEIMG, F_TELAB };

static const char *const base[4] = { "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" };

/* The reference data: pixel j of example e of file pair f (0 train, 1 test), distinct within an
 * example (17 j < 256 for j < 12), and its label. */
static uint8_t ref_px(int f, long e, int j) { return (uint8_t)((j * 17 + e * 5 + f * 101) % 256); }
static uint8_t ref_lab(int f, long e) { return (uint8_t)((e * 7 + f * 3) % NCLS); }

/* The bytes of the four files. */
typedef struct fileset {
	uint8_t b[4][16 + NTRAIN * D + 16];
	size_t len[4];
} fileset;

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* A well-formed set: 12 training and 5 test examples of 3x4. */
static void make_set(fileset *fs)
{
	for (int f = 0; f < 2; ++f) {
		long n = f ? NTEST : NTRAIN;
		uint8_t *img = fs->b[2 * f], *lab = fs->b[2 * f + 1];
		put_be32(img, 2051);
		put_be32(img + 4, (uint32_t)n);
		put_be32(img + 8, ROWS);
		put_be32(img + 12, COLS);
		for (long e = 0; e < n; ++e)
			for (int j = 0; j < D; ++j)
				img[16 + e * D + j] = ref_px(f, e, j);
		fs->len[2 * f] = 16 + (size_t)n * D;
		put_be32(lab, 2049);
		put_be32(lab + 4, (uint32_t)n);
		for (long e = 0; e < n; ++e)
			lab[8 + e] = ref_lab(f, e);
		fs->len[2 * f + 1] = 8 + (size_t)n;
	}
}

static void put_file(const char *path, int gz, const void *buf, size_t len)
{
	if (gz) {
		gzFile f = gzopen(path, "wb");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_EQUAL(gzwrite(f, buf, (unsigned)len), (int)len);
		CU_ASSERT_EQUAL(gzclose(f), Z_OK);
	} else {
		FILE *f = fopen(path, "wb");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_EQUAL(fwrite(buf, 1, len, f), len);
		CU_ASSERT_EQUAL(fclose(f), 0);
	}
}

/* Writes the files of fs into dir; bit k of gz_mask gzips file k (name + ".gz"); bit k of
 * skip_mask leaves file k out. */
static void write_set(const char *dir, const fileset *fs, unsigned gz_mask, unsigned skip_mask)
{
	char path[512];
	for (int k = 0; k < 4; ++k) {
		if (skip_mask >> k & 1)
			continue;
		snprintf(path, sizeof path, "%s/%s%s", dir, base[k], (gz_mask >> k & 1) ? ".gz" : "");
		put_file(path, gz_mask >> k & 1, fs->b[k], fs->len[k]);
	}
}

/* Whole file into a malloc'd buffer; NULL when it does not exist. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	size_t n = 0, m = 0, r;
	if (f == NULL)
		return NULL;
	do {
		if (n == m) {
			b = realloc(b, m = m ? 2 * m : 4096);
			CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		}
		r = fread(b + n, 1, m - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	*len = n;
	return b ? b : malloc(1);
}

/* Every entry of a directory, names and bytes, to check that opening changed nothing. */
typedef struct snapshot {
	int n;
	char name[16][256];
	uint8_t *b[16];
	size_t len[16];
} snapshot;

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

static void snap(const char *dir, snapshot *s)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	s->n = 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && s->n < 16)
			snprintf(s->name[s->n++], sizeof s->name[0], "%s", e->d_name);
	closedir(d);
	qsort(s->name, (size_t)s->n, sizeof s->name[0], by_name);
	for (int i = 0; i < s->n; ++i) {
		snprintf(path, sizeof path, "%s/%s", dir, s->name[i]);
		s->b[i] = slurp(path, &s->len[i]);
	}
}

static int snap_equal(const snapshot *a, const snapshot *b)
{
	if (a->n != b->n)
		return 0;
	for (int i = 0; i < a->n; ++i)
		if (strcmp(a->name[i], b->name[i]) != 0 || a->len[i] != b->len[i]
		    || memcmp(a->b[i], b->b[i], a->len[i]) != 0)
			return 0;
	return 1;
}

static void snap_free(snapshot *s)
{
	for (int i = 0; i < s->n; ++i)
		free(s->b[i]);
	s->n = 0;
}

/* ---- idx: reading ---------------------------------------------------------------------------- */

/* Reads every example of every split and compares it with the formulas: split train is training
 * examples [0, 12-valid), valid is [12-valid, 12), test the t10k file. */
static void check_contents(const snm_data_vt *vt, void *st, int valid)
{
	float x[NTRAIN * D];
	int32_t y[NTRAIN], ys[NTRAIN];
	long idx[NTRAIN];
	const long n[3] = { NTRAIN - valid, valid, NTEST };
	const long first[3] = { 0, NTRAIN - valid, 0 };
	snm_error e;
	for (int s = 0; s < 3; ++s) {
		const int f = s == SNM_SPLIT_TEST;
		for (long i = 0; i < n[s]; ++i)   /* reversed order: read() must honour idx */
			idx[i] = n[s] - 1 - i;
		memset(y, 0xff, sizeof y);
		CU_ASSERT_EQUAL_FATAL(vt->read(st, s, idx, (int)n[s], NULL, x, y, &e), SNM_OK);
		for (long i = 0; i < n[s]; ++i) {
			long ex = first[s] + idx[i];
			CU_ASSERT_EQUAL(y[i], ref_lab(f, ex));
			for (int j = 0; j < D; ++j)
				CU_ASSERT_EQUAL(x[i * D + j], (float)ref_px(f, ex, j) / 255.0f);
		}
		CU_ASSERT_EQUAL_FATAL(vt->labels(st, s, ys, &e), SNM_OK);
		for (long i = 0; i < n[s]; ++i)
			CU_ASSERT_EQUAL(ys[i], ref_lab(f, first[s] + i));
	}
}

static void test_idx_read(void)
{
	char dir[256], yaml[512];
	fileset fs;
	snm_data_info info;
	snm_error e;
	void *st;
	const snm_data_vt *vt = vt_of(&h_idx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "data"));
	make_set(&fs);
	/* raw and gzip mixed: train images and test labels gzipped */
	write_set(dir, &fs, 1u << F_TRIMG | 1u << F_TELAB, 0);
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: 4}", dir);
	CU_ASSERT_EQUAL_FATAL(open_with(&h_idx, yaml, SNM_OK, &st, &e), SNM_OK);
	vt->info(st, &info);
	CU_ASSERT_EQUAL(info.n_d, 3);
	CU_ASSERT_EQUAL(info.d[0], 1);
	CU_ASSERT_EQUAL(info.d[1], ROWS);
	CU_ASSERT_EQUAL(info.d[2], COLS);
	CU_ASSERT_EQUAL(info.n_classes, NCLS);
	CU_ASSERT_EQUAL(info.n[SNM_SPLIT_TRAIN], NTRAIN - 4);
	CU_ASSERT_EQUAL(info.n[SNM_SPLIT_VALID], 4);
	CU_ASSERT_EQUAL(info.n[SNM_SPLIT_TEST], NTEST);
	check_contents(vt, st, 4);

	/* a hand-picked value: valid example 1 is training example 9, pixel 2 = (34 + 45) = 79 */
	{
		float x[D];
		int32_t y;
		CU_ASSERT_EQUAL(vt->read(st, SNM_SPLIT_VALID, (long[]){ 1 }, 1, NULL, x, &y, &e), SNM_OK);
		CU_ASSERT_EQUAL(x[2], 79.0f / 255.0f);
		CU_ASSERT_EQUAL(y, (9 * 7) % 10);
	}
	/* indices out of range, and an unknown split: SNM_EINVAL, nothing written */
	{
		float x[2 * D];
		int32_t y[2] = { -7, -7 };
		x[0] = -1;
		CU_ASSERT_EQUAL(vt->read(st, SNM_SPLIT_TRAIN, (long[]){ 0, 8 }, 2, NULL, x, y, &e), SNM_EINVAL);
		CU_ASSERT_EQUAL(e.code, SNM_EINVAL);
		CU_ASSERT_STRING_EQUAL(e.msg, "idx: index 8 out of range for split train (8 examples)");
		CU_ASSERT_EQUAL(x[0], -1.0f);
		CU_ASSERT_EQUAL(y[0], -7);
		CU_ASSERT_EQUAL(vt->read(st, SNM_SPLIT_TEST, (long[]){ -1 }, 1, NULL, x, y, &e), SNM_EINVAL);
		CU_ASSERT_EQUAL(vt->read(st, SNM_SPLIT_VALID, (long[]){ 4 }, 1, NULL, x, y, &e), SNM_EINVAL);
		CU_ASSERT_EQUAL(vt->read(st, 3, (long[]){ 0 }, 1, NULL, x, y, &e), SNM_EINVAL);
		CU_ASSERT_EQUAL(vt->labels(st, -1, y, &e), SNM_EINVAL);
	}
	vt->close(st);

	/* defaults need more than 12 training examples: valid 10000 is an option error */
	snprintf(yaml, sizeof yaml, "{dir: \"%s\"}", dir);
	CU_ASSERT_EQUAL(open_with(&h_idx, yaml, SNM_OK, &st, &e), SNM_EINVAL);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "'valid'"));
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: 12}", dir);
	CU_ASSERT_EQUAL(open_with(&h_idx, yaml, SNM_OK, &st, &e), SNM_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "'valid' (12)"));
	/* valid 0: an empty validation split, everything trains */
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: 0}", dir);
	CU_ASSERT_EQUAL_FATAL(open_with(&h_idx, yaml, SNM_OK, &st, &e), SNM_OK);
	check_contents(vt, st, 0);
	vt->close(st);
	/* the option table: dir is required, the rest have defaults */
	CU_ASSERT_EQUAL(snm_cfg_check(NULL, h_idx.p->options, "data 'idx'", &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "'dir'"));
	CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
}

/* All four files gzipped; then both forms present, where the raw file must win. */
static void test_idx_gzip_and_preference(void)
{
	char dir[256], yaml[512], path[512];
	fileset fs, other;
	snm_error e;
	void *st;
	const snm_data_vt *vt = vt_of(&h_idx);
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "data"));
	make_set(&fs);
	write_set(dir, &fs, 0xf, 0);
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: 3}", dir);
	CU_ASSERT_EQUAL_FATAL(open_with(&h_idx, yaml, SNM_OK, &st, &e), SNM_OK);
	check_contents(vt, st, 3);
	vt->close(st);
	/* a raw train-images file beside the .gz one, with other pixels (all 255): it is the one read */
	other = fs;
	memset(other.b[F_TRIMG] + 16, 255, NTRAIN * D);
	snprintf(path, sizeof path, "%s/%s", dir, base[F_TRIMG]);
	put_file(path, 0, other.b[F_TRIMG], other.len[F_TRIMG]);
	CU_ASSERT_EQUAL_FATAL(open_with(&h_idx, yaml, SNM_OK, &st, &e), SNM_OK);
	{
		float x[D];
		int32_t y;
		CU_ASSERT_EQUAL(vt->read(st, SNM_SPLIT_TRAIN, (long[]){ 5 }, 1, NULL, x, &y, &e), SNM_OK);
		for (int j = 0; j < D; ++j)
			CU_ASSERT_EQUAL(x[j], 1.0f);
		CU_ASSERT_EQUAL(y, ref_lab(0, 5));
	}
	vt->close(st);
	CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
}

/* ---- idx: the permutation -------------------------------------------------------------------- */

/* Opens dir with permute on and seed, and recovers the permutation from train example 0 (whose
 * pixels are distinct): out pixel j = stored pixel perm[j].  Then checks that every example of
 * every split follows the same perm. */
static void read_perm(const char *dir, long seed, int valid, size_t *perm)
{
	char yaml[512];
	float x[NTRAIN * D], xp[NTRAIN * D];
	long idx[NTRAIN];
	snm_error e;
	void *plain, *st;
	const snm_data_vt *vt = vt_of(&h_idx);
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: %d}", dir, valid);
	CU_ASSERT_EQUAL_FATAL(open_with(&h_idx, yaml, SNM_OK, &plain, &e), SNM_OK);
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: %d, permute: true, permute_seed: %ld}", dir,
	         valid, seed);
	CU_ASSERT_EQUAL_FATAL(open_with(&h_idx, yaml, SNM_OK, &st, &e), SNM_OK);
	for (int i = 0; i < NTRAIN; ++i)
		idx[i] = i;
	CU_ASSERT_EQUAL(vt->read(plain, SNM_SPLIT_TRAIN, idx, 1, NULL, x, NULL, &e), SNM_OK);
	CU_ASSERT_EQUAL(vt->read(st, SNM_SPLIT_TRAIN, idx, 1, NULL, xp, NULL, &e), SNM_OK);
	for (int j = 0; j < D; ++j) {
		int hits = 0;
		for (int k = 0; k < D; ++k)
			if (xp[j] == x[k]) {
				perm[j] = (size_t)k;
				++hits;
			}
		CU_ASSERT_EQUAL(hits, 1);
	}
	/* a true permutation: every source pixel used once */
	{
		int used[D] = { 0 };
		for (int j = 0; j < D; ++j)
			used[perm[j] % D]++;
		for (int k = 0; k < D; ++k)
			CU_ASSERT_EQUAL(used[k], 1);
	}
	for (int s = 0; s < 3; ++s) {
		long n = s == 0 ? NTRAIN - valid : s == 1 ? valid : NTEST;
		int32_t y[NTRAIN], yp[NTRAIN];
		CU_ASSERT_EQUAL(vt->read(plain, s, idx, (int)n, NULL, x, y, &e), SNM_OK);
		CU_ASSERT_EQUAL(vt->read(st, s, idx, (int)n, NULL, xp, yp, &e), SNM_OK);
		for (long i = 0; i < n; ++i) {
			float a[D], b[D];
			CU_ASSERT_EQUAL(yp[i], y[i]);
			for (int j = 0; j < D; ++j)
				CU_ASSERT_EQUAL(xp[i * D + j], x[i * D + perm[j]]);
			/* the same multiset of pixel values */
			memcpy(a, x + i * D, sizeof a);
			memcpy(b, xp + i * D, sizeof b);
			for (int p = 1; p < D; ++p)   /* insertion sorts */
				for (int q = p; q > 0 && a[q] < a[q - 1]; --q) {
					float t = a[q]; a[q] = a[q - 1]; a[q - 1] = t;
				}
			for (int p = 1; p < D; ++p)
				for (int q = p; q > 0 && b[q] < b[q - 1]; --q) {
					float t = b[q]; b[q] = b[q - 1]; b[q - 1] = t;
				}
			CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
		}
	}
	vt->close(plain);
	vt->close(st);
}

static void test_idx_permute(void)
{
	char dir[256];
	fileset fs;
	size_t p1[D], p1b[D], p2[D], ref[D];
	int identity = 1, same = 1;
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "data"));
	make_set(&fs);
	write_set(dir, &fs, 0, 0);
	read_perm(dir, 1, 4, p1);
	read_perm(dir, 1, 2, p1b);     /* deterministic per seed, whatever the split sizes */
	read_perm(dir, 2, 4, p2);
	CU_ASSERT_EQUAL(memcmp(p1, p1b, sizeof p1), 0);
	for (int j = 0; j < D; ++j) {
		identity &= p1[j] == (size_t)j;
		same &= p1[j] == p2[j];
	}
	CU_ASSERT_FALSE(identity);
	CU_ASSERT_FALSE(same);
	/* the documented draw: gsl_ran_shuffle of 0..D-1 with an mt19937 seeded with permute_seed */
	{
		gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
		gsl_rng_set(r, 1);
		for (int j = 0; j < D; ++j)
			ref[j] = (size_t)j;
		gsl_ran_shuffle(r, ref, D, sizeof ref[0]);
		gsl_rng_free(r);
		CU_ASSERT_EQUAL(memcmp(p1, ref, sizeof ref), 0);
	}
	CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
}

/* ---- idx: damaged files ---------------------------------------------------------------------- */

enum damage {
	MISSING, MAGIC_OTHER, MAGIC_GARBAGE, TRUNC_HEADER, TRUNC_DATA, TRAILING, FEWER_LABELS,
	LABEL_RANGE, DIMS, GZ_CRC, GZ_CUT, GZ_GARBAGE, DIR_MISSING
};

typedef struct bad_case {
	const char *what;
	int file;            /* the damaged file (F_*) */
	enum damage how;
	unsigned gz_mask;    /* files written gzipped */
	const char *needle;  /* expected in the message besides the file's name */
} bad_case;

static const bad_case bad_cases[] = {
	{ "missing labels", F_TRLAB, MISSING, 0, "no such file" },
	{ "missing test images (gz set)", F_TEIMG, MISSING, 0xf, "no such file" },
	{ "labels where images belong", F_TRIMG, MAGIC_OTHER, 0, "magic 2049" },
	{ "images where labels belong", F_TELAB, MAGIC_OTHER, 0, "magic 2051" },
	{ "garbage magic", F_TEIMG, MAGIC_GARBAGE, 0, "not an IDX images file" },
	{ "garbage magic (gz)", F_TRLAB, MAGIC_GARBAGE, 0xf, "not an IDX labels file" },
	{ "truncated image header", F_TRIMG, TRUNC_HEADER, 0, "truncated IDX header (10 of 16" },
	{ "truncated label header (gz)", F_TELAB, TRUNC_HEADER, 0xf, "truncated IDX header (6 of 8" },
	{ "truncated image data", F_TRIMG, TRUNC_DATA, 0, "truncated data" },
	{ "truncated image data (gz)", F_TEIMG, TRUNC_DATA, 0xf, "truncated data" },
	{ "truncated label data", F_TRLAB, TRUNC_DATA, 0, "truncated data" },
	{ "trailing bytes", F_TEIMG, TRAILING, 0, "unexpected bytes" },
	{ "trailing bytes (gz)", F_TRLAB, TRAILING, 0xf, "unexpected bytes" },
	{ "fewer labels than images", F_TRLAB, FEWER_LABELS, 0, "holds 11 labels" },
	{ "label out of range", F_TELAB, LABEL_RANGE, 0, "outside [0, 10)" },
	{ "test images of another size", F_TEIMG, DIMS, 0, "2x6" },
	{ "gzip checksum", F_TRIMG, GZ_CRC, 0xf, "corrupt gzip stream" },
	{ "gzip cut short", F_TRIMG, GZ_CUT, 0xf, "corrupt gzip stream" },
	{ "gzip data garbled", F_TELAB, GZ_GARBAGE, 0xf, "corrupt gzip stream" },
	{ "no such directory", F_TRIMG, DIR_MISSING, 0, "no such file" },
};

/* Damage the bytes before writing. */
static void damage_bytes(fileset *fs, const bad_case *c)
{
	uint8_t *b = fs->b[c->file];
	const int img = c->file == F_TRIMG || c->file == F_TEIMG;
	switch (c->how) {
	case MAGIC_OTHER: put_be32(b, img ? 2049 : 2051); break;
	case MAGIC_GARBAGE: put_be32(b, 0x1f2e3d4c); break;
	case TRUNC_HEADER: fs->len[c->file] = img ? 10 : 6; break;
	case TRUNC_DATA: fs->len[c->file] -= 5; break;
	case TRAILING: memset(b + fs->len[c->file], 0, 3); fs->len[c->file] += 3; break;
	case FEWER_LABELS: put_be32(b + 4, NTRAIN - 1); fs->len[c->file] -= 1; break;
	case LABEL_RANGE: b[8 + 2] = NCLS; break;
	case DIMS: put_be32(b + 8, 2); put_be32(b + 12, 6); break;
	default: break;
	}
}

/* Damage the gzip file on disk after writing. */
static void damage_gz(const char *dir, const bad_case *c)
{
	char path[512];
	size_t len;
	uint8_t *b;
	if (c->how != GZ_CRC && c->how != GZ_CUT && c->how != GZ_GARBAGE)
		return;
	snprintf(path, sizeof path, "%s/%s.gz", dir, base[c->file]);
	b = slurp(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_FATAL(len > 30);
	if (c->how == GZ_CRC)
		b[len - 8] ^= 0x5a;            /* first byte of the CRC-32 trailer */
	else if (c->how == GZ_CUT)
		len -= 12;                     /* into the deflate data */
	else
		for (size_t k = 10; k < len - 8; ++k)   /* after the 10-byte gzip header: all ones */
			b[k] = 0xff;
	put_file(path, 0, b, len);
	free(b);
}

static void test_idx_bad_files(void)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; ++i) {
		const bad_case *c = &bad_cases[i];
		char dir[256], yaml[600];
		fileset fs;
		snapshot before, after;
		snm_error e;
		void *st = (void *)&fs;
		int rc;
		CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "data"));
		make_set(&fs);
		damage_bytes(&fs, c);
		write_set(dir, &fs, c->gz_mask, c->how == MISSING ? 1u << c->file : 0);
		damage_gz(dir, c);
		snap(dir, &before);
		if (c->how == DIR_MISSING)
			snprintf(yaml, sizeof yaml, "{dir: \"%s/nowhere\", valid: 2}", dir);
		else
			snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: 2}", dir);
		rc = open_with(&h_idx, yaml, SNM_OK, &st, &e);
		printf("\n    %-30s -> %s: %s", c->what, snm_strerror(rc), rc ? e.msg : "(opened)");
		CU_ASSERT_EQUAL(rc, SNM_EIO);
		CU_ASSERT_EQUAL(e.code, SNM_EIO);
		CU_ASSERT_PTR_NULL(st);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, base[c->file]));
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, c->needle));
		CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
		if (rc == SNM_OK)
			vt_of(&h_idx)->close(st);
		snap(dir, &after);
		CU_ASSERT_EQUAL(before.n, 4 - (c->how == MISSING));
		CU_ASSERT(snap_equal(&before, &after));
		snap_free(&before);
		snap_free(&after);
		CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
	}
	printf("\n");
}

/* ---- idx: the real Fashion-MNIST, when the machine has it ------------------------------------- */

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* The first `len` bytes after `skip` of a (possibly gzipped) file. */
static int raw_bytes(const char *path, long skip, uint8_t *out, unsigned len)
{
	gzFile f = gzopen(path, "rb");
	int ok;
	if (f == NULL)
		return 0;
	ok = gzseek(f, skip, SEEK_SET) == skip && gzread(f, out, len) == (int)len;
	gzclose(f);
	return ok;
}

static void test_idx_fashion_mnist(void)
{
	struct stat sb;
	snm_data_info info;
	snm_error e;
	void *st;
	float x[784];
	int32_t y, yv[32];
	long idx[32];
	uint8_t lab0, lab50k[32], px0[784], px50k[784];
	const snm_data_vt *vt = vt_of(&h_idx);
	if (stat(FASHION_DIR, &sb) != 0) {
		snm_test_skip(FASHION_DIR " not present: the real-data check (./bootstrap installs dataset-fashion-mnist)");
		return;
	}
	CU_ASSERT_EQUAL_FATAL(open_with(&h_idx, "{dir: " FASHION_DIR "}", SNM_OK, &st, &e), SNM_OK);
	vt->info(st, &info);
	CU_ASSERT_EQUAL(info.n_d, 3);
	CU_ASSERT_EQUAL(info.d[0], 1);
	CU_ASSERT_EQUAL(info.d[1], 28);
	CU_ASSERT_EQUAL(info.d[2], 28);
	CU_ASSERT_EQUAL(info.n_classes, 10);
	CU_ASSERT_EQUAL(info.n[SNM_SPLIT_TRAIN], 50000);
	CU_ASSERT_EQUAL(info.n[SNM_SPLIT_VALID], 10000);
	CU_ASSERT_EQUAL(info.n[SNM_SPLIT_TEST], 10000);
	CU_ASSERT_FATAL(raw_bytes(FASHION_DIR "/train-labels-idx1-ubyte.gz", 8, &lab0, 1));
	CU_ASSERT_FATAL(raw_bytes(FASHION_DIR "/train-labels-idx1-ubyte.gz", 8 + 50000, lab50k, 32));
	CU_ASSERT_FATAL(raw_bytes(FASHION_DIR "/train-images-idx3-ubyte.gz", 16, px0, 784));
	CU_ASSERT_FATAL(raw_bytes(FASHION_DIR "/train-images-idx3-ubyte.gz", 16 + 50000L * 784, px50k, 784));
	CU_ASSERT_EQUAL(vt->read(st, SNM_SPLIT_TRAIN, (long[]){ 0 }, 1, NULL, x, &y, &e), SNM_OK);
	CU_ASSERT_EQUAL(y, lab0);
	for (int j = 0; j < 784; ++j)
		CU_ASSERT_EQUAL(x[j], px0[j] / 255.0f);
	/* the validation split is the END of the training file: example 50000 on */
	for (int i = 0; i < 32; ++i)
		idx[i] = i;
	CU_ASSERT_EQUAL(vt->read(st, SNM_SPLIT_VALID, idx, 32, NULL, NULL, yv, &e), SNM_OK);
	for (int i = 0; i < 32; ++i)
		CU_ASSERT_EQUAL(yv[i], lab50k[i]);
	CU_ASSERT_EQUAL(vt->read(st, SNM_SPLIT_VALID, idx, 1, NULL, x, NULL, &e), SNM_OK);
	for (int j = 0; j < 784; ++j)
		CU_ASSERT_EQUAL(x[j], px50k[j] / 255.0f);
	{
		int32_t *all = malloc(50000 * sizeof *all);
		long count[10] = { 0 };
		CU_ASSERT_PTR_NOT_NULL_FATAL(all);
		CU_ASSERT_EQUAL(vt->labels(st, SNM_SPLIT_TRAIN, all, &e), SNM_OK);
		CU_ASSERT_EQUAL(all[0], lab0);
		for (int i = 0; i < 50000; ++i)
			count[all[i] >= 0 && all[i] < 10 ? all[i] : 0]++;
		for (int k = 0; k < 10; ++k)   /* Fashion-MNIST has 6000 per class over all 60000 */
			CU_ASSERT(count[k] > 4500 && count[k] <= 6000);
		free(all);
	}
	vt->close(st);
}

/* ---- synthetic ------------------------------------------------------------------------------- */

typedef struct syn_data {
	snm_data_info info;
	float *x[3];
	int32_t *y[3];
} syn_data;

/* Opens synthetic with yaml and reads every split whole. */
static void syn_load(const char *yaml, syn_data *d)
{
	snm_error e;
	void *st;
	const snm_data_vt *vt = vt_of(&h_syn);
	memset(d, 0, sizeof *d);
	CU_ASSERT_EQUAL_FATAL(open_with(&h_syn, yaml, SNM_OK, &st, &e), SNM_OK);
	vt->info(st, &d->info);
	const size_t dim = (size_t)d->info.d[0] * d->info.d[1] * d->info.d[2];
	for (int s = 0; s < 3; ++s) {
		long n = d->info.n[s];
		long *idx = malloc((size_t)n * sizeof *idx);
		int32_t *lab = malloc((size_t)n * sizeof *lab);
		d->x[s] = malloc((size_t)n * dim * sizeof(float));
		d->y[s] = malloc((size_t)n * sizeof(int32_t));
		CU_ASSERT_FATAL(idx && lab && d->x[s] && d->y[s]);
		for (long i = 0; i < n; ++i)
			idx[i] = i;
		CU_ASSERT_EQUAL(vt->read(st, s, idx, (int)n, NULL, d->x[s], d->y[s], &e), SNM_OK);
		CU_ASSERT_EQUAL(vt->labels(st, s, lab, &e), SNM_OK);
		CU_ASSERT_EQUAL(memcmp(lab, d->y[s], (size_t)n * sizeof *lab), 0);
		free(idx);
		free(lab);
	}
	CU_ASSERT_EQUAL(vt->read(st, SNM_SPLIT_TEST, (long[]){ d->info.n[SNM_SPLIT_TEST] }, 1, NULL,
	                         d->x[0], d->y[0], &e), SNM_EINVAL);
	vt->close(st);
}

static void syn_free(syn_data *d)
{
	for (int s = 0; s < 3; ++s) {
		free(d->x[s]);
		free(d->y[s]);
	}
}

static void test_synthetic(void)
{
	syn_data a, b, c, big;
	snm_error e;
	void *st;
	const size_t D8 = 64;

	syn_load("{}", &a);
	CU_ASSERT_EQUAL(a.info.n_d, 3);
	CU_ASSERT_EQUAL(a.info.d[0], 1);
	CU_ASSERT_EQUAL(a.info.d[1], 8);
	CU_ASSERT_EQUAL(a.info.d[2], 8);
	CU_ASSERT_EQUAL(a.info.n_classes, 3);
	CU_ASSERT_EQUAL(a.info.n[SNM_SPLIT_TRAIN], 120);
	CU_ASSERT_EQUAL(a.info.n[SNM_SPLIT_VALID], 60);
	CU_ASSERT_EQUAL(a.info.n[SNM_SPLIT_TEST], 60);
	for (int s = 0; s < 3; ++s) {
		long count[3] = { 0 }, n = a.info.n[s];
		int in_range = 1;
		for (long i = 0; i < n; ++i)
			count[a.y[s][i] >= 0 && a.y[s][i] < 3 ? a.y[s][i] : 0]++;
		for (int k = 0; k < 3; ++k)
			CU_ASSERT_EQUAL(count[k], n / 3);
		for (size_t j = 0; j < (size_t)n * D8; ++j)
			in_range &= a.x[s][j] >= 0.0f && a.x[s][j] <= 1.0f;
		CU_ASSERT(in_range);
	}

	/* deterministic per seed (the default seed is 1), different for another seed */
	syn_load("{seed: 1, noise: 0.1}", &b);
	syn_load("{seed: 2}", &c);
	for (int s = 0; s < 3; ++s) {
		CU_ASSERT_EQUAL(memcmp(a.x[s], b.x[s], (size_t)a.info.n[s] * D8 * sizeof(float)), 0);
		CU_ASSERT_NOT_EQUAL(memcmp(a.x[s], c.x[s], (size_t)a.info.n[s] * D8 * sizeof(float)), 0);
		CU_ASSERT_EQUAL(memcmp(a.y[s], c.y[s], (size_t)a.info.n[s] * sizeof(int32_t)), 0);
	}
	/* the splits differ from one another (own streams), and raising per_class only appends */
	CU_ASSERT_NOT_EQUAL(memcmp(a.x[1], a.x[2], 60 * D8 * sizeof(float)), 0);
	syn_load("{per_class: 80}", &big);
	CU_ASSERT_EQUAL(big.info.n[SNM_SPLIT_TRAIN], 240);
	CU_ASSERT_EQUAL(big.info.n[SNM_SPLIT_TEST], 120);
	for (int s = 0; s < 3; ++s)
		CU_ASSERT_EQUAL(memcmp(a.x[s], big.x[s], (size_t)a.info.n[s] * D8 * sizeof(float)), 0);

	/* learnable: class means of train classify (almost) every test example of the default set */
	{
		double mean[3][64] = { { 0 } };
		long n_tr = a.info.n[0], wrong = 0;
		for (long i = 0; i < n_tr; ++i)
			for (size_t j = 0; j < D8; ++j)
				mean[a.y[0][i]][j] += a.x[0][i * D8 + j] / (n_tr / 3);
		for (long i = 0; i < a.info.n[2]; ++i) {
			int best = -1;
			double bd = INFINITY;
			for (int k = 0; k < 3; ++k) {
				double d2 = 0;
				for (size_t j = 0; j < D8; ++j) {
					double t = a.x[2][i * D8 + j] - mean[k][j];
					d2 += t * t;
				}
				if (d2 < bd) {
					bd = d2;
					best = k;
				}
			}
			wrong += best != a.y[2][i];
		}
		printf("\n    nearest class mean: %ld of %ld test examples wrong\n", wrong, a.info.n[2]);
		CU_ASSERT(wrong <= a.info.n[2] / 20);
	}
	syn_free(&a);
	syn_free(&b);
	syn_free(&c);
	syn_free(&big);

	/* other shapes and counts: 5 classes of 6x6, 9 per class -> 45 / 25 / 25 */
	syn_load("{classes: 5, per_class: 9, size: 6, noise: 0.3, seed: 7}", &a);
	CU_ASSERT_EQUAL(a.info.d[1], 6);
	CU_ASSERT_EQUAL(a.info.n_classes, 5);
	CU_ASSERT_EQUAL(a.info.n[SNM_SPLIT_TRAIN], 45);
	CU_ASSERT_EQUAL(a.info.n[SNM_SPLIT_VALID], 25);
	CU_ASSERT_EQUAL(a.info.n[SNM_SPLIT_TEST], 25);
	for (long i = 0; i < 45; ++i)
		CU_ASSERT_EQUAL(a.y[0][i], i % 5);
	syn_free(&a);

	/* more classes than pixels cannot have distinct blobs */
	CU_ASSERT_EQUAL(open_with(&h_syn, "{classes: 10, size: 3}", SNM_OK, &st, &e), SNM_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "'classes'"));
	CU_ASSERT_PTR_NULL(st);
	/* the option table is valid and has defaults for everything */
	CU_ASSERT_EQUAL(snm_cfg_check(NULL, h_syn.p->options, "data 'synthetic'", &e), SNM_OK);
}

static CU_TestInfo idx_tests[] = {
	{ "read", test_idx_read },
	{ "gzip_and_preference", test_idx_gzip_and_preference },
	{ "permute", test_idx_permute },
	{ "bad_files", test_idx_bad_files },
	{ "fashion_mnist", test_idx_fashion_mnist },
	CU_TEST_INFO_NULL
};

static CU_TestInfo synthetic_tests[] = {
	{ "generate", test_synthetic },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "idx", suite_init, suite_clean, NULL, NULL, idx_tests },
	{ "synthetic", suite_init, suite_clean, NULL, NULL, synthetic_tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_data", suites);
}
