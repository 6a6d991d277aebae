/* test_cifar.c: the `cifar10` data plugin (CIFAR-10 binary distribution), loaded through the
 * plugin loader as the runner loads it.
 *
 * Small CIFAR-format files are written here into a temporary directory (data_batch_3.bin shorter
 * than the others, so the concatenation of unequal files is exercised), with label and pixel
 * values given by closed formulas, so every value read back is checked against an independent
 * reference: shapes and split sizes, values p/255 in R, G, B plane order, labels and labels(), the
 * validation split taken from the END of the training records, the centre crop of evaluation
 * reads (also for odd margins), and the augmentation: each augmented image is matched against
 * every crop and mirror of the un-augmented 32x32 original (exactly one must fit), the fitted
 * offsets and flips are the documented draws of the stream, every offset and both flips occur,
 * and reads are deterministic per seed.  Every kind of damaged directory is an SNM_EIO naming the
 * file, with the directory left byte-for-byte as it was. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>
#include "harness.h"
#include "run/loader.h"
#include "snm/plugin.h"

static snm_plugin_handle h_cifar;

static int suite_init(void)
{
	snm_error e;
	if (snm_plugin_find(NULL, SNM_KIND_DATA, "cifar10", &h_cifar, &e) != SNM_OK) {
		fprintf(stderr, "test_cifar: %s\n", e.msg);
		return 1;
	}
	return 0;
}

static int suite_clean(void)
{
	snm_plugin_close(&h_cifar);
	return 0;
}

static const snm_data_vt *vt(void)
{
	return (const snm_data_vt *)h_cifar.p->vtable;
}

/* Parses yaml, checks it against the option table as the runner does (check_code: what
 * snm_cfg_check must return), then opens.  Returns open's code; *st as open left it. */
static int open_with(const char *yaml, int check_code, void **st, snm_error *err)
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
	rc = snm_cfg_check(cfg, h_cifar.p->options, h_cifar.p->name, err);
	CU_ASSERT_EQUAL(rc, check_code);
	if (rc != SNM_OK && check_code == SNM_OK)
		fprintf(stderr, "check '%s': %s\n", yaml, err->msg);
	rc = check_code == SNM_OK ? vt()->open(cfg, st, err) : rc;
	snm_cfg_free(cfg);
	return rc;
}

/* ---- the reference files --------------------------------------------------------------------- */

enum { S = 32, REC = 3073, NFILES = 6, TEST_FILE = 5 };

/* records per file: data_batch_1..5, test_batch */
static const int count[NFILES] = { 20, 20, 17, 20, 20, 15 };
#define NTRAIN 97
#define NTEST 15

static const char *const fname[NFILES] = { "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                          "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin" };

/* Pixel (c, y, x) of record r of file f.  Within one image and channel a shift (dy, dx) changes the
 * value by 11 dy + 3 dx (mod 256), never 0 for |dy|, |dx| < 32 unless both are 0, and a mirror
 * reverses the 3x slope: so no two crops or mirrored crops of an image are equal. */
static uint8_t ref_px(int f, int r, int c, int y, int x)
{
	return (uint8_t)((c * 85 + y * 11 + x * 3 + r * 7 + f * 29) % 256);
}
static uint8_t ref_lab(int f, int r) { return (uint8_t)((r * 3 + f * 7) % 10); }

/* Global training index g -> (file, record). */
static void train_pos(long g, int *f, int *r)
{
	int k = 0;
	while (g >= count[k])
		g -= count[k++];
	*f = k;
	*r = (int)g;
}

/* The bytes of one file. */
static uint8_t *make_file(int f, size_t *len)
{
	uint8_t *b = malloc((size_t)count[f] * REC);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (int r = 0; r < count[f]; ++r) {
		uint8_t *rec = b + (size_t)r * REC;
		rec[0] = ref_lab(f, r);
		for (int c = 0; c < 3; ++c)
			for (int y = 0; y < S; ++y)
				for (int x = 0; x < S; ++x)
					rec[1 + c * 1024 + y * 32 + x] = ref_px(f, r, c, y, x);
	}
	*len = (size_t)count[f] * REC;
	return b;
}

static void put_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(buf, 1, len, f), len);
	CU_ASSERT_EQUAL(fclose(f), 0);
}

static void write_all(const char *dir)
{
	char path[512];
	for (int f = 0; f < NFILES; ++f) {
		size_t len;
		uint8_t *b = make_file(f, &len);
		snprintf(path, sizeof path, "%s/%s", dir, fname[f]);
		put_file(path, b, len);
		free(b);
	}
}

/* ---- snapshots of a directory ------------------------------------------------------------------ */

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	size_t n = 0, m = 0, r;
	if (f == NULL)
		return NULL;
	do {
		if (n == m) {
			b = realloc(b, m = m ? 2 * m : 65536);
			CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		}
		r = fread(b + n, 1, m - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	*len = n;
	return b;
}

typedef struct snapshot {
	int n;
	char name[16][256];
	uint8_t *b[16];
	size_t len[16];
	mode_t mode[16];
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
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && s->n < 16)
			snprintf(s->name[s->n++], sizeof s->name[0], "%s", e->d_name);
	closedir(d);
	qsort(s->name, (size_t)s->n, sizeof s->name[0], by_name);
	for (int i = 0; i < s->n; ++i) {
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, s->name[i]);
		CU_ASSERT_EQUAL(lstat(path, &st), 0);
		s->mode[i] = st.st_mode;
		s->b[i] = S_ISREG(st.st_mode) ? slurp(path, &s->len[i]) : NULL;
		if (s->b[i] == NULL)
			s->len[i] = 0;
	}
}

static int snap_equal(const snapshot *a, const snapshot *b)
{
	if (a->n != b->n)
		return 0;
	for (int i = 0; i < a->n; ++i)
		if (strcmp(a->name[i], b->name[i]) != 0 || a->mode[i] != b->mode[i] || a->len[i] != b->len[i]
		    || (a->len[i] && memcmp(a->b[i], b->b[i], a->len[i]) != 0))
			return 0;
	return 1;
}

static void snap_free(snapshot *s)
{
	for (int i = 0; i < s->n; ++i)
		free(s->b[i]);
	s->n = 0;
}

/* ---- reading ----------------------------------------------------------------------------------- */

/* (file, record) of example i of a split with `valid` validation examples. */
static void split_pos(int split, long i, int valid, int *f, int *r)
{
	if (split == SNM_SPLIT_TEST) {
		*f = TEST_FILE;
		*r = (int)i;
	} else {
		train_pos(split == SNM_SPLIT_TRAIN ? i : NTRAIN - valid + i, f, r);
	}
}

/* Whole-image reads (crop 32, no stream) of every split in reversed order, against the formulas. */
static void check_contents(void *st, int valid)
{
	static float x[NTRAIN * 3 * S * S];
	int32_t y[NTRAIN], ys[NTRAIN];
	long idx[NTRAIN];
	const long n[3] = { NTRAIN - valid, valid, NTEST };
	snm_error e;
	for (int s = 0; s < 3; ++s) {
		long bad = 0;
		for (long i = 0; i < n[s]; ++i)
			idx[i] = n[s] - 1 - i;
		memset(y, 0xff, sizeof y);
		CU_ASSERT_EQUAL_FATAL(vt()->read(st, s, idx, (int)n[s], NULL, x, y, &e), SNM_OK);
		for (long i = 0; i < n[s]; ++i) {
			int f, r;
			split_pos(s, idx[i], valid, &f, &r);
			CU_ASSERT_EQUAL(y[i], ref_lab(f, r));
			for (int c = 0; c < 3; ++c)
				for (int yy = 0; yy < S; ++yy)
					for (int xx = 0; xx < S; ++xx)
						bad += x[((i * 3 + c) * S + yy) * S + xx] != (float)ref_px(f, r, c, yy, xx) / 255.0f;
		}
		CU_ASSERT_EQUAL(bad, 0);
		CU_ASSERT_EQUAL_FATAL(vt()->labels(st, s, ys, &e), SNM_OK);
		for (long i = 0; i < n[s]; ++i) {
			int f, r;
			split_pos(s, i, valid, &f, &r);
			CU_ASSERT_EQUAL(ys[i], ref_lab(f, r));
		}
	}
}

static void test_read(void)
{
	char dir[256], yaml[512];
	snm_data_info info;
	snm_error e;
	void *st;
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "cifar"));
	write_all(dir);
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: 30, crop: 32}", dir);
	CU_ASSERT_EQUAL_FATAL(open_with(yaml, SNM_OK, &st, &e), SNM_OK);
	vt()->info(st, &info);
	CU_ASSERT_EQUAL(info.n_d, 3);
	CU_ASSERT_EQUAL(info.d[0], 3);
	CU_ASSERT_EQUAL(info.d[1], 32);
	CU_ASSERT_EQUAL(info.d[2], 32);
	CU_ASSERT_EQUAL(info.n_classes, 10);
	CU_ASSERT_EQUAL(info.n[SNM_SPLIT_TRAIN], NTRAIN - 30);
	CU_ASSERT_EQUAL(info.n[SNM_SPLIT_VALID], 30);
	CU_ASSERT_EQUAL(info.n[SNM_SPLIT_TEST], NTEST);
	check_contents(st, 30);

	/* hand-picked values: valid example 0 is training record 67 = record 10 of data_batch_4 (file
	 * 3); its G plane (channel 1) at row 2, column 5 is (85 + 22 + 15 + 70 + 87) % 256 = 23, its
	 * label (30 + 21) % 10 = 1.  Test example 14, B plane, row 31, column 0: (170 + 341 + 98 + 145)
	 * % 256 = 242. */
	{
		static float x[3 * S * S];
		int32_t y;
		CU_ASSERT_EQUAL(vt()->read(st, SNM_SPLIT_VALID, (long[]){ 0 }, 1, NULL, x, &y, &e), SNM_OK);
		CU_ASSERT_EQUAL(x[1024 + 2 * 32 + 5], 23.0f / 255.0f);
		CU_ASSERT_EQUAL(y, 1);
		CU_ASSERT_EQUAL(vt()->read(st, SNM_SPLIT_TEST, (long[]){ 14 }, 1, NULL, x, &y, &e), SNM_OK);
		CU_ASSERT_EQUAL(x[2048 + 31 * 32 + 0], 242.0f / 255.0f);
		CU_ASSERT_EQUAL(y, (14 * 3 + 35) % 10);
		/* labels only (x NULL) */
		y = -1;
		CU_ASSERT_EQUAL(vt()->read(st, SNM_SPLIT_TRAIN, (long[]){ 40 }, 1, NULL, NULL, &y, &e), SNM_OK);
		CU_ASSERT_EQUAL(y, ref_lab(2, 0));
	}
	/* indices out of range, and an unknown split: SNM_EINVAL, nothing written */
	{
		static float x[2 * 3 * S * S];
		int32_t y[2] = { -7, -7 };
		x[0] = -1;
		CU_ASSERT_EQUAL(vt()->read(st, SNM_SPLIT_TRAIN, (long[]){ 0, 67 }, 2, NULL, x, y, &e), SNM_EINVAL);
		CU_ASSERT_STRING_EQUAL(e.msg, "cifar10: index 67 out of range for split train (67 examples)");
		CU_ASSERT_EQUAL(x[0], -1.0f);
		CU_ASSERT_EQUAL(y[0], -7);
		CU_ASSERT_EQUAL(vt()->read(st, SNM_SPLIT_TEST, (long[]){ -1 }, 1, NULL, x, y, &e), SNM_EINVAL);
		CU_ASSERT_EQUAL(vt()->read(st, SNM_SPLIT_VALID, (long[]){ 30 }, 1, NULL, x, y, &e), SNM_EINVAL);
		CU_ASSERT_EQUAL(vt()->read(st, 3, (long[]){ 0 }, 1, NULL, x, y, &e), SNM_EINVAL);
		CU_ASSERT_EQUAL(vt()->labels(st, -1, y, &e), SNM_EINVAL);
	}
	vt()->close(st);

	/* valid 0: everything trains */
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: 0, crop: 32}", dir);
	CU_ASSERT_EQUAL_FATAL(open_with(yaml, SNM_OK, &st, &e), SNM_OK);
	check_contents(st, 0);
	vt()->close(st);
	/* the default valid (10000) needs more records; valid = all records leaves no training */
	snprintf(yaml, sizeof yaml, "{dir: \"%s\"}", dir);
	CU_ASSERT_EQUAL(open_with(yaml, SNM_OK, &st, &e), SNM_EINVAL);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "'valid' (10000)"));
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: 97}", dir);
	CU_ASSERT_EQUAL(open_with(yaml, SNM_OK, &st, &e), SNM_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "97 training records"));
	/* the option table: dir required, crop in [1, 32], defaults valid 10000 and crop 24 */
	CU_ASSERT_EQUAL(snm_cfg_check(NULL, h_cifar.p->options, "data 'cifar10'", &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "'dir'"));
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", crop: 33}", dir);
	CU_ASSERT_EQUAL(open_with(yaml, SNM_ECONFIG, &st, &e), SNM_ECONFIG);
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", crop: 0}", dir);
	CU_ASSERT_EQUAL(open_with(yaml, SNM_ECONFIG, &st, &e), SNM_ECONFIG);
	CU_ASSERT_STRING_EQUAL(snm_cfg_option_find(h_cifar.p->options, "valid")->def, "10000");
	CU_ASSERT_STRING_EQUAL(snm_cfg_option_find(h_cifar.p->options, "crop")->def, "24");
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: 10}", dir);
	CU_ASSERT_EQUAL_FATAL(open_with(yaml, SNM_OK, &st, &e), SNM_OK);
	vt()->info(st, &info);
	CU_ASSERT_EQUAL(info.d[0], 3);
	CU_ASSERT_EQUAL(info.d[1], 24);
	CU_ASSERT_EQUAL(info.d[2], 24);
	vt()->close(st);
	CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
}

/* Evaluation reads (no stream) give the centre crop: offset (32 - crop) / 2, unflipped. */
static void test_centre_crop(void)
{
	static const int crops[] = { 24, 25, 1, 31 };
	static float x[NTRAIN * 3 * 31 * 31];
	char dir[256], yaml[512];
	long idx[NTRAIN];
	int32_t y[NTRAIN];
	snm_error e;
	void *st;
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "cifar"));
	write_all(dir);
	for (long i = 0; i < NTRAIN; ++i)
		idx[i] = i;
	for (size_t k = 0; k < sizeof crops / sizeof crops[0]; ++k) {
		/* offsets by hand: (32 - crop) / 2 rounded down */
		const int crop = crops[k], off = crop == 24 ? 4 : crop == 25 ? 3 : crop == 1 ? 15 : 0;
		const int n[3] = { NTRAIN - 20, 20, NTEST };
		snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: 20, crop: %d}", dir, crop);
		CU_ASSERT_EQUAL_FATAL(open_with(yaml, SNM_OK, &st, &e), SNM_OK);
		for (int s = 0; s < 3; ++s) {
			long bad = 0;
			CU_ASSERT_EQUAL_FATAL(vt()->read(st, s, idx, n[s], NULL, x, y, &e), SNM_OK);
			for (int i = 0; i < n[s]; ++i) {
				int f, r;
				split_pos(s, i, 20, &f, &r);
				CU_ASSERT_EQUAL(y[i], ref_lab(f, r));
				for (int c = 0; c < 3; ++c)
					for (int yy = 0; yy < crop; ++yy)
						for (int xx = 0; xx < crop; ++xx)
							bad += x[(((size_t)i * 3 + c) * crop + yy) * crop + xx]
							       != (float)ref_px(f, r, c, off + yy, off + xx) / 255.0f;
			}
			CU_ASSERT_EQUAL(bad, 0);
		}
		vt()->close(st);
	}
	CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
}

/* ---- augmentation ------------------------------------------------------------------------------ */

/* The (oy, ox, flip) for which out (3 x crop x crop) equals the crop of the original 32x32 image
 * orig; returns the number of fits (1 expected) and stores the last one. */
static int find_crop(const float *orig, const float *out, int crop, int *oy, int *ox, int *flip)
{
	int fits = 0;
	for (int fl = 0; fl < 2; ++fl)
		for (int dy = 0; dy <= S - crop; ++dy)
			for (int dx = 0; dx <= S - crop; ++dx) {
				int ok = 1;
				for (int c = 0; c < 3 && ok; ++c)
					for (int yy = 0; yy < crop && ok; ++yy)
						for (int xx = 0; xx < crop && ok; ++xx) {
							int sx = dx + (fl ? crop - 1 - xx : xx);
							ok = out[(c * crop + yy) * crop + xx] == orig[(c * S + dy + yy) * S + sx];
						}
				if (ok) {
					++fits;
					*oy = dy;
					*ox = dx;
					*flip = fl;
				}
			}
	return fits;
}

enum { NAUG = 1200 };

static void test_augment(void)
{
	const int crop = 24, D = 3 * 24 * 24, n = NTRAIN - 10;
	static float orig[NTRAIN * 3 * S * S], out[NAUG * 3 * 24 * 24], out2[NAUG * 3 * 24 * 24];
	static long idx[NAUG];
	static int32_t y[NAUG], y0[NAUG];
	char dir[256], yaml[512];
	long seen_y[S] = { 0 }, seen_x[S] = { 0 }, flips = 0, unfit = 0, off_draw = 0;
	snm_error e;
	void *st24, *st32;
	gsl_rng *aug = gsl_rng_alloc(gsl_rng_mt19937), *ref = gsl_rng_alloc(gsl_rng_mt19937);
	CU_ASSERT_PTR_NOT_NULL_FATAL(aug);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "cifar"));
	write_all(dir);
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: 10, crop: 32}", dir);
	CU_ASSERT_EQUAL_FATAL(open_with(yaml, SNM_OK, &st32, &e), SNM_OK);
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: 10}", dir);   /* crop 24 by default */
	CU_ASSERT_EQUAL_FATAL(open_with(yaml, SNM_OK, &st24, &e), SNM_OK);
	for (long i = 0; i < n; ++i)
		idx[i] = i;
	CU_ASSERT_EQUAL_FATAL(vt()->read(st32, SNM_SPLIT_TRAIN, idx, n, NULL, orig, y0, &e), SNM_OK);

	/* NAUG augmented reads of the training examples in a scrambled order (with repeats) */
	for (long i = 0; i < NAUG; ++i)
		idx[i] = (i * 37 + 11) % n;
	gsl_rng_set(aug, 5);
	CU_ASSERT_EQUAL_FATAL(vt()->read(st24, SNM_SPLIT_TRAIN, idx, NAUG, aug, out, y, &e), SNM_OK);
	/* each one is exactly one crop (flipped or not) of its original, at the documented draws */
	gsl_rng_set(ref, 5);
	for (long i = 0; i < NAUG; ++i) {
		int oy = -1, ox = -1, fl = -1;
		int fits = find_crop(orig + (size_t)idx[i] * 3 * S * S, out + (size_t)i * D, crop, &oy, &ox, &fl);
		int ry = (int)gsl_rng_uniform_int(ref, 33 - crop), rx = (int)gsl_rng_uniform_int(ref, 33 - crop);
		int rf = (int)gsl_rng_uniform_int(ref, 2);
		unfit += fits != 1;
		if (fits == 1) {
			seen_y[oy]++;
			seen_x[ox]++;
			flips += fl;
			off_draw += oy != ry || ox != rx || fl != rf;
		}
		CU_ASSERT_EQUAL(y[i], y0[idx[i]]);
	}
	CU_ASSERT_EQUAL(unfit, 0);
	CU_ASSERT_EQUAL(off_draw, 0);
	/* every offset 0..8 in both directions occurs, none outside; flips about half the time */
	for (int k = 0; k < S; ++k) {
		if (k <= S - crop) {
			CU_ASSERT(seen_y[k] > NAUG / 9 / 2 && seen_x[k] > NAUG / 9 / 2);
		} else {
			CU_ASSERT(seen_y[k] == 0 && seen_x[k] == 0);
		}
	}
	printf("\n    %d augmented reads: %ld flipped, row offsets 0..8 seen %ld..%ld times\n", NAUG, flips,
	       seen_y[0], seen_y[8]);
	CU_ASSERT(flips > NAUG * 4 / 10 && flips < NAUG * 6 / 10);
	/* the stream moved by exactly 3 draws per example */
	CU_ASSERT_EQUAL(gsl_rng_get(aug), gsl_rng_get(ref));

	/* deterministic per seed; another seed gives other crops */
	gsl_rng_set(aug, 5);
	CU_ASSERT_EQUAL(vt()->read(st24, SNM_SPLIT_TRAIN, idx, NAUG, aug, out2, y, &e), SNM_OK);
	CU_ASSERT_EQUAL(memcmp(out, out2, sizeof out), 0);
	gsl_rng_set(aug, 6);
	CU_ASSERT_EQUAL(vt()->read(st24, SNM_SPLIT_TRAIN, idx, NAUG, aug, out2, y, &e), SNM_OK);
	CU_ASSERT_NOT_EQUAL(memcmp(out, out2, sizeof out), 0);
	/* the draws do not depend on x: reading labels only advances the stream the same way */
	gsl_rng_set(aug, 5);
	gsl_rng_set(ref, 5);
	CU_ASSERT_EQUAL(vt()->read(st24, SNM_SPLIT_TRAIN, idx, 100, aug, NULL, y, &e), SNM_OK);
	for (int i = 0; i < 300; ++i)
		gsl_rng_get(ref);
	CU_ASSERT_EQUAL(gsl_rng_get(aug), gsl_rng_get(ref));
	/* a batch read equals the same examples read one at a time from the same stream */
	gsl_rng_set(aug, 9);
	CU_ASSERT_EQUAL(vt()->read(st24, SNM_SPLIT_VALID, (long[]){ 3, 1, 3 }, 3, aug, out, y, &e), SNM_OK);
	gsl_rng_set(aug, 9);
	for (int i = 0; i < 3; ++i)
		CU_ASSERT_EQUAL(vt()->read(st24, SNM_SPLIT_VALID, (long[]){ i == 1 ? 1 : 3 }, 1, aug,
		                           out2 + (size_t)i * D, y + 1, &e), SNM_OK);
	CU_ASSERT_EQUAL(memcmp(out, out2, 3 * (size_t)D * sizeof(float)), 0);
	vt()->close(st24);

	/* crop 32 under the stream: no offset to draw, but the flip still happens */
	{
		long mirrored = 0, plain = 0;
		for (long i = 0; i < 200; ++i)
			idx[i] = i % n;
		gsl_rng_set(aug, 3);
		CU_ASSERT_EQUAL(vt()->read(st32, SNM_SPLIT_TRAIN, idx, 200, aug, out, y, &e), SNM_OK);
		for (long i = 0; i < 200; ++i) {
			int oy, ox, fl, fits = find_crop(orig + (size_t)idx[i] * 3 * S * S, out + (size_t)i * 3 * S * S,
			                                 S, &oy, &ox, &fl);
			CU_ASSERT_EQUAL(fits, 1);
			if (fits == 1) {
				mirrored += fl;
				plain += !fl;
			}
		}
		CU_ASSERT(mirrored > 60 && plain > 60);
	}
	vt()->close(st32);
	gsl_rng_free(aug);
	gsl_rng_free(ref);
	CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
}

/* ---- damaged directories ----------------------------------------------------------------------- */

enum damage {
	MISSING, DIR_MISSING, TRUNCATED, EXTRA_BYTE, EMPTY, LABEL_10, LABEL_255, CIFAR100, PICKLE, A_DIR
};

typedef struct bad_case {
	const char *what;
	int file;            /* the damaged file */
	enum damage how;
	const char *needle;  /* expected in the message besides the file's name */
} bad_case;

static const bad_case bad_cases[] = {
	{ "missing batch 3", 2, MISSING, "no such file" },
	{ "no such directory", 0, DIR_MISSING, "no such file" },
	{ "test file cut short", 5, TRUNCATED, "not a whole number of 3073-byte records" },
	{ "one byte too many", 1, EXTRA_BYTE, "61461 bytes is not a whole number" },
	{ "empty batch 4", 3, EMPTY, "empty file" },
	{ "label 10", 4, LABEL_10, "label 10 of record 7 is outside [0, 10)" },
	{ "label 255 in the test file", 5, LABEL_255, "label 255 of record 0" },
	{ "CIFAR-100 records", 0, CIFAR100, "CIFAR-100" },
	{ "python-pickle distribution", 0, PICKLE, "python-pickle distribution is not read" },
	{ "a directory in place of a file", 5, A_DIR, "not a regular file" },
};

static void test_bad_files(void)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; ++i) {
		const bad_case *c = &bad_cases[i];
		char dir[256], yaml[600], path[512];
		snapshot before, after;
		snm_error e;
		void *st = (void *)&before;
		int rc;
		CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "cifar"));
		for (int f = 0; f < NFILES; ++f) {
			size_t len;
			uint8_t *b = make_file(f, &len);
			if (f == c->file) {
				switch (c->how) {
				case TRUNCATED: len -= 5; break;
				case EXTRA_BYTE: b = realloc(b, len + 1); b[len++] = 0; break;
				case EMPTY: len = 0; break;
				case LABEL_10: b[7 * REC] = 10; break;
				case LABEL_255: b[0] = 255; break;
				case CIFAR100:   /* 3074-byte records: coarse and fine label, then the pixels */
					b = realloc(b, (size_t)count[f] * 3074);
					memset(b, 1, (size_t)count[f] * 3074);
					len = (size_t)count[f] * 3074;
					break;
				default: break;
				}
			}
			snprintf(path, sizeof path, "%s/%.*s", dir,
			         (int)strlen(fname[f]) - (c->how == PICKLE ? 4 : 0), fname[f]);
			if (f == c->file && c->how == A_DIR) {
				CU_ASSERT_EQUAL(mkdir(path, 0755), 0);
			} else if (!(f == c->file && c->how == MISSING)) {
				put_file(path, b, len);
			}
			free(b);
		}
		snap(dir, &before);
		if (c->how == DIR_MISSING)
			snprintf(yaml, sizeof yaml, "{dir: \"%s/nowhere\", valid: 2}", dir);
		else
			snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: 2}", dir);
		rc = open_with(yaml, SNM_OK, &st, &e);
		printf("\n    %-32s -> %s: %s", c->what, snm_strerror(rc), rc ? e.msg : "(opened)");
		CU_ASSERT_EQUAL(rc, SNM_EIO);
		CU_ASSERT_EQUAL(e.code, SNM_EIO);
		CU_ASSERT_PTR_NULL(st);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, fname[c->file]));
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, c->needle));
		CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
		if (rc == SNM_OK)
			vt()->close(st);
		snap(dir, &after);
		CU_ASSERT_EQUAL(before.n, NFILES - (c->how == MISSING));
		CU_ASSERT(snap_equal(&before, &after));
		snap_free(&before);
		snap_free(&after);
		CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
	}
	printf("\n");
}

static CU_TestInfo cifar_tests[] = {
	{ "read", test_read },
	{ "centre_crop", test_centre_crop },
	{ "augment", test_augment },
	{ "bad_files", test_bad_files },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "cifar10", suite_init, suite_clean, NULL, NULL, cifar_tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_cifar", suites);
}
