/* test_store.c: the metrics table and the HDF5 run file: round trips of every part of a run
 * record (compared bit for bit), byte-identical repeated saves, atomic overwrite, failed saves
 * that leave the old file alone, bad and foreign files, mismatched destinations (each error names
 * the file and the entry, and leaves the destinations untouched), and what h5dump shows. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <hdf5.h>
#include "harness.h"
#include "snm/rng.h"
#include "run/store.h"

/* ---- helpers ------------------------------------------------------------------------------- */

/* No HDF5 object (file, group, dataset, attribute) may stay open after a store call. */
#define ASSERT_NO_OPEN_IDS() CU_ASSERT_EQUAL(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0)

static int copy_file(const char *src, const char *dst)
{
	FILE *a = fopen(src, "rb"), *b = fopen(dst, "wb");
	char buf[8192];
	size_t n;
	int ok = a && b;
	while (ok && (n = fread(buf, 1, sizeof buf, a)) > 0)
		ok = fwrite(buf, 1, n, b) == n;
	if (a) fclose(a);
	if (b && fclose(b) != 0) ok = 0;
	return ok ? 0 : -1;
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Number of entries in dir whose name ends with suffix. */
static int count_suffix(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	size_t ls = strlen(suffix);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l >= ls && strcmp(e->d_name + l - ls, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static void params_fill(snm_params *p, unsigned long seed)
{
	gsl_rng *r = snm_rng_new(seed, NULL);
	for (int i = 0; i < snm_params_count(p); ++i)
		snm_init_uniform(snm_params_at(p, i), r, -1, 1);
	gsl_rng_free(r);
}

static int params_equal(const snm_params *a, const snm_params *b)
{
	if (snm_params_count(a) != snm_params_count(b))
		return 0;
	for (int i = 0; i < snm_params_count(a); ++i) {
		const snm_tensor *x = snm_params_at(a, i), *y = snm_params_find(b, x->name);
		if (y == NULL || !snm_tensor_same_shape(x, y)
		    || memcmp(x->x, y->x, snm_tensor_len(x) * sizeof(float)) != 0)
			return 0;
	}
	return 1;
}

/* Deep copy (names, shapes, kinds, values) for "unchanged" checks. */
static snm_params *params_clone(const snm_params *p)
{
	snm_params *q = snm_params_new(NULL);
	for (int i = 0; i < snm_params_count(p); ++i) {
		const snm_tensor *t = snm_params_at(p, i);
		snm_tensor *u = snm_params_add(q, t->name, t->n_d, t->d, t->flags & (SNM_T_PARAM | SNM_T_BUFFER), NULL);
		memcpy(u->x, t->x, snm_tensor_len(t) * sizeof(float));
	}
	return q;
}

/* A run record with every kind of content.  seed changes every value, never a name or shape. */
enum { N_STR = 4, N_INT = 4, N_ROWS = 300, LONG_TEXT = SNM_STORE_MAX_STR };

typedef struct fixture {
	snm_params *best, *ckpt;
	snm_metrics *m;
	gsl_rng *rng[2];
	char *long_text;
	const char *str_names[N_STR], *str_values[N_STR];
	const char *int_names[N_INT];
	int64_t int_values[N_INT];
	const char *group_paths[2];
	snm_params *groups[2];
	const char *rng_names[2];
	snm_store_run run;
} fixture;

static const char *const metric_names[3] = { "train.loss", "valid.error", "lr" };

static void fixture_make(fixture *f, unsigned long seed)
{
	memset(f, 0, sizeof *f);
	f->best = snm_params_new(NULL);
	snm_params_add(f->best, "enc.conv1.w", 4, (int[]){ 2, 3, 4, 5 }, SNM_T_PARAM, NULL);
	snm_params_add(f->best, "enc.conv1.b", 1, (int[]){ 5 }, SNM_T_PARAM, NULL);
	snm_params_add(f->best, "bn1.mean", 1, (int[]){ 5 }, SNM_T_BUFFER, NULL);
	params_fill(f->best, seed);
	f->ckpt = snm_params_new(NULL);
	snm_params_add(f->ckpt, "dec.b", 1, (int[]){ 7 }, SNM_T_PARAM, NULL);
	snm_params_add(f->ckpt, "enc.fc.w", 2, (int[]){ 3, 4 }, SNM_T_PARAM, NULL);
	params_fill(f->ckpt, seed + 1);
	for (int i = 0; i < 7; ++i)             /* known values for the h5dump check */
		snm_params_find(f->ckpt, "dec.b")->x[i] = (float)i + 0.5f;
	f->m = snm_metrics_new(3, metric_names, NULL);
	for (int r = 0; r < N_ROWS; ++r) {      /* more rows than one chunk; NaN and -0 kept exactly */
		double row[3] = { 2.0 / (r + 1) + (double)seed, r == 7 ? NAN : 0.01 * r, r == 9 ? -0.0 : 1e-3 };
		snm_metrics_append(f->m, row, NULL);
	}
	f->rng[0] = snm_rng_stream(seed, "order", "mnist/semantic/n100/set2", NULL);
	f->rng[1] = snm_rng_stream(seed, "noise", "mnist/semantic/n100/set2", NULL);
	for (int i = 0; i < 1000; ++i)          /* move into the middle of the state */
		gsl_rng_get(f->rng[0]);
	f->long_text = malloc(LONG_TEXT + 1);
	for (int i = 0; i < LONG_TEXT; ++i)
		f->long_text[i] = (char)('a' + (i * 7 + (int)seed) % 26);
	f->long_text[LONG_TEXT] = '\0';
	f->str_names[0] = "config";   f->str_values[0] = "dataset: mnist\nnoise:\n  type: semantic\n";
	f->str_names[1] = "run_key";  f->str_values[1] = "mnist/semantic/n100/set2";
	f->str_names[2] = "status";   f->str_values[2] = seed % 2 ? "running" : "finished";
	f->str_names[3] = "notes";    f->str_values[3] = f->long_text;   /* the longest a file holds */
	f->int_names[0] = "master_seed"; f->int_values[0] = 1234567890123ll + (int64_t)seed;
	f->int_names[1] = "threads";     f->int_values[1] = 2;
	f->int_names[2] = "best_epoch";  f->int_values[2] = -1;
	f->int_names[3] = "step";        f->int_values[3] = INT64_MAX - (int64_t)seed;
	f->group_paths[0] = "/best";
	f->group_paths[1] = "/checkpoint/params";
	f->groups[0] = f->best;
	f->groups[1] = f->ckpt;
	f->rng_names[0] = "order";
	f->rng_names[1] = "noise";
	f->run = (snm_store_run){
		.n_str = N_STR, .str_names = f->str_names, .str_values = f->str_values,
		.n_int = N_INT, .int_names = f->int_names, .int_values = f->int_values,
		.metrics = f->m,
		.n_groups = 2, .group_paths = f->group_paths, .groups = f->groups,
		.n_rng = 2, .rng_names = f->rng_names, .rngs = f->rng,
	};
}

static void fixture_free(fixture *f)
{
	snm_params_free(f->best);
	snm_params_free(f->ckpt);
	snm_metrics_free(f->m);
	gsl_rng_free(f->rng[0]);
	gsl_rng_free(f->rng[1]);
	free(f->long_text);
}

static void join(char *buf, size_t size, const char *dir, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* ---- metrics table -------------------------------------------------------------------------- */

static void test_metrics_table(void)
{
	snm_error e = { 0 };
	const char *dup[2] = { "a", "a" }, *slash[1] = { "a/b" }, *dot[1] = { "." }, *empty[1] = { "" };
	CU_ASSERT_PTR_NULL(snm_metrics_new(2, dup, &e));
	CU_ASSERT_EQUAL(e.code, SNM_EINVAL);
	CU_ASSERT_PTR_NULL(snm_metrics_new(1, slash, &e));
	CU_ASSERT_PTR_NULL(snm_metrics_new(1, dot, &e));
	CU_ASSERT_PTR_NULL(snm_metrics_new(1, empty, &e));
	CU_ASSERT_PTR_NULL(snm_metrics_new(0, dup, &e));

	snm_metrics *m = snm_metrics_new(3, metric_names, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(snm_metrics_cols(m), 3);
	CU_ASSERT_EQUAL(snm_metrics_rows(m), 0);
	CU_ASSERT_STRING_EQUAL(snm_metrics_name(m, 1), "valid.error");
	CU_ASSERT_PTR_NULL(snm_metrics_name(m, 3));
	CU_ASSERT_EQUAL(snm_metrics_find(m, "lr"), 2);
	CU_ASSERT_EQUAL(snm_metrics_find(m, "seconds"), -1);
	for (int r = 0; r < 1000; ++r) {        /* crosses several growths */
		double row[3] = { r, -r, r * 0.5 };
		CU_ASSERT_EQUAL_FATAL(snm_metrics_append(m, row, &e), SNM_OK);
	}
	CU_ASSERT_EQUAL(snm_metrics_rows(m), 1000);
	CU_ASSERT_EQUAL(snm_metrics_get(m, 999, 1), -999.0);
	CU_ASSERT_EQUAL(snm_metrics_get(m, 500, 2), 250.0);
	CU_ASSERT(isnan(snm_metrics_get(m, 1000, 0)));
	CU_ASSERT(isnan(snm_metrics_get(m, 0, 3)));
	const double *col = snm_metrics_column(m, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(col);
	for (int r = 0; r < 1000; ++r)
		CU_ASSERT_EQUAL(col[r], (double)r);
	CU_ASSERT_PTR_NULL(snm_metrics_column(m, -1));
	snm_metrics_truncate(m, 2000);
	CU_ASSERT_EQUAL(snm_metrics_rows(m), 1000);
	snm_metrics_truncate(m, 10);
	CU_ASSERT_EQUAL(snm_metrics_rows(m), 10);
	CU_ASSERT(isnan(snm_metrics_get(m, 10, 0)));
	double row[3] = { 7, 8, 9 };
	snm_metrics_append(m, row, &e);
	CU_ASSERT_EQUAL(snm_metrics_get(m, 10, 2), 9.0);
	CU_ASSERT_EQUAL(snm_metrics_reserve(m, 5000, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_metrics_rows(m), 11);
	CU_ASSERT_EQUAL(snm_metrics_get(m, 9, 0), 9.0);
	snm_metrics_free(m);
	snm_metrics_free(NULL);
}

/* ---- round trip ----------------------------------------------------------------------------- */

static int quiet_calls;
static herr_t counting_printer(hid_t stack, void *data)
{
	(void)stack;
	++*(int *)data;
	return 0;
}

static void test_round_trip(void)
{
	char dir[256], path[512];
	fixture src, dst;
	snm_error e = { 0 };
	int64_t ints[N_INT] = { 0 };
	double next[2][5];
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "store-rt"));
	join(path, sizeof path, dir, "run.h5");
	fixture_make(&src, 3);
	CU_ASSERT_EQUAL_FATAL(snm_store_save(path, &src.run, &e), SNM_OK);
	ASSERT_NO_OPEN_IDS();
	for (int k = 0; k < 2; ++k)             /* what the saved streams draw next */
		for (int i = 0; i < 5; ++i)
			next[k][i] = gsl_rng_uniform(src.rng[k]);

	/* Destinations with the same names and shapes but other values; metrics columns in another
	 * order with rows of their own; streams at another seed. */
	fixture_make(&dst, 8);
	const char *order[3] = { "lr", "train.loss", "valid.error" };
	snm_metrics_free(dst.m);
	dst.m = snm_metrics_new(3, order, NULL);
	dst.run.metrics = dst.m;
	snm_metrics_append(dst.m, (double[]){ 1, 2, 3 }, NULL);
	CU_ASSERT_FALSE(params_equal(dst.best, src.best));
	CU_ASSERT_EQUAL_FATAL(snm_store_load(path, &dst.run, ints, &e), SNM_OK);
	ASSERT_NO_OPEN_IDS();
	CU_ASSERT(params_equal(dst.best, src.best));
	CU_ASSERT(params_equal(dst.ckpt, src.ckpt));
	for (int i = 0; i < N_INT; ++i)
		CU_ASSERT_EQUAL(ints[i], src.int_values[i]);
	CU_ASSERT_EQUAL_FATAL(snm_metrics_rows(dst.m), N_ROWS);
	for (int c = 0; c < 3; ++c) {
		int k = snm_metrics_find(src.m, order[c]);
		CU_ASSERT(memcmp(snm_metrics_column(dst.m, c), snm_metrics_column(src.m, k),
		                 N_ROWS * sizeof(double)) == 0);
	}
	CU_ASSERT(isnan(snm_metrics_get(dst.m, 7, 2)));
	CU_ASSERT(signbit(snm_metrics_get(dst.m, 9, 0)));
	for (int k = 0; k < 2; ++k)
		for (int i = 0; i < 5; ++i)
			CU_ASSERT_EQUAL(gsl_rng_uniform(dst.rng[k]), next[k][i]);

	/* Quick reads. */
	char *s = NULL;
	int64_t v = 0;
	CU_ASSERT_EQUAL(snm_store_get_str(path, "config", &s, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(s, src.str_values[0]);
	free(s);
	CU_ASSERT_EQUAL(snm_store_get_str(path, "notes", &s, &e), SNM_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(strlen(s), LONG_TEXT);
	CU_ASSERT(strcmp(s, src.long_text) == 0);
	free(s);
	CU_ASSERT_EQUAL(snm_store_get_str(path, "format", &s, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(s, "snm-run");
	free(s);
	CU_ASSERT_EQUAL(snm_store_get_int(path, "step", &v, &e), SNM_OK);
	CU_ASSERT_EQUAL(v, INT64_MAX - 3);
	CU_ASSERT_EQUAL(snm_store_get_int(path, "format_version", &v, &e), SNM_OK);
	CU_ASSERT_EQUAL(v, 2);
	CU_ASSERT_EQUAL(snm_store_get_str(path, "step", &s, &e), SNM_EIO);      /* an integer */
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_EQUAL(snm_store_get_int(path, "config", &v, &e), SNM_EIO);    /* a string */
	CU_ASSERT_EQUAL(snm_store_get_int(path, "nope", &v, &e), SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "nope"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
	ASSERT_NO_OPEN_IDS();

	/* Metrics of unknown columns: the file's, by name. */
	snm_metrics *m = NULL;
	CU_ASSERT_EQUAL_FATAL(snm_store_read_metrics(path, &m, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_metrics_cols(m), 3);
	CU_ASSERT_STRING_EQUAL(snm_metrics_name(m, 0), "lr");
	CU_ASSERT_STRING_EQUAL(snm_metrics_name(m, 2), "valid.error");
	CU_ASSERT_EQUAL(snm_metrics_rows(m), N_ROWS);
	CU_ASSERT(memcmp(snm_metrics_column(m, 1), snm_metrics_column(src.m, 0), N_ROWS * sizeof(double)) == 0);
	snm_metrics_free(m);

	/* This module never prints, and gives HDF5's printer back as it found it. */
	H5E_auto2_t fn0;
	void *data0;
	H5Eget_auto2(H5E_DEFAULT, &fn0, &data0);
	H5Eset_auto2(H5E_DEFAULT, counting_printer, &quiet_calls);
	CU_ASSERT_EQUAL(snm_store_get_int(path, "nope", &v, &e), SNM_EIO);
	char junk[600];
	snprintf(junk, sizeof junk, "%s/junk.h5", dir);
	FILE *j = fopen(junk, "w");
	fputs("not HDF5 at all", j);
	fclose(j);
	CU_ASSERT_EQUAL(snm_store_load(junk, &dst.run, ints, &e), SNM_EIO);     /* H5Fopen fails */
	H5E_auto2_t fn1;
	void *data1;
	H5Eget_auto2(H5E_DEFAULT, &fn1, &data1);
	CU_ASSERT(fn1 == counting_printer && data1 == &quiet_calls);
	CU_ASSERT_EQUAL(quiet_calls, 0);
	H5Eset_auto2(H5E_DEFAULT, fn0, data0);

	fixture_free(&src);
	fixture_free(&dst);
	snm_test_rmtree(dir);
}

/* A record with nothing but attributes, and an empty metrics table, round-trips too. */
static void test_minimal_record(void)
{
	char dir[256], path[512];
	snm_error e = { 0 };
	const char *names[1] = { "seconds" };
	snm_metrics *m = snm_metrics_new(1, names, NULL), *back = snm_metrics_new(1, names, NULL);
	snm_store_run run = { .metrics = m }, load = { .metrics = back };
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "store-min"));
	join(path, sizeof path, dir, "min.h5");
	snm_metrics_append(back, (double[]){ 4 }, NULL);
	CU_ASSERT_EQUAL_FATAL(snm_store_save(path, &run, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_store_load(path, &load, NULL, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_metrics_rows(back), 0);
	run.metrics = NULL;
	CU_ASSERT_EQUAL_FATAL(snm_store_save(path, &run, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_store_load(path, &run, NULL, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_store_load(path, &load, NULL, &e), SNM_EIO);       /* no /metrics now */
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/metrics"));
	snm_metrics_free(m);
	snm_metrics_free(back);
	ASSERT_NO_OPEN_IDS();
	snm_test_rmtree(dir);
}

/* Further tables (a mid-epoch checkpoint's sums) round-trip through snm_store_read_table; a path
 * that overlaps a group, another table or a reserved group is refused before anything is
 * written; a record without tables writes the bytes it wrote before (the fixture's file is the
 * same with n_tables 0 spelled out). */
static void test_tables(void)
{
	char dir[256], path[512], path2[512];
	snm_error e = { 0 };
	fixture f;
	const char *cols[2] = { "loss", "seconds" };
	snm_metrics *t = snm_metrics_new(2, cols, NULL), *back = NULL;
	const char *tp[2] = { "/checkpoint/partial/sums", "/checkpoint/params/x" };
	snm_metrics *tabs[2] = { t, t };
	snm_store_run run;
	int64_t ints[N_INT];
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "store-tables"));
	join(path, sizeof path, dir, "a.h5");
	join(path2, sizeof path2, dir, "b.h5");
	fixture_make(&f, 41);
	snm_metrics_append(t, (double[]){ 0.1 + 0.2, 1.5 }, NULL);
	CU_ASSERT_EQUAL_FATAL(snm_store_save(path, &f.run, &e), SNM_OK);
	run = f.run;
	run.n_tables = 0;
	run.table_paths = tp;
	run.tables = tabs;
	CU_ASSERT_EQUAL_FATAL(snm_store_save(path2, &run, &e), SNM_OK);
	CU_ASSERT(snm_test_files_equal(path, path2));
	run.n_tables = 1;
	CU_ASSERT_EQUAL_FATAL(snm_store_save(path2, &run, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_store_read_table(path2, "/checkpoint/partial/sums", &back, &e), SNM_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(back);
	CU_ASSERT_EQUAL(snm_metrics_rows(back), 1);
	CU_ASSERT_EQUAL(snm_metrics_get(back, 0, snm_metrics_find(back, "loss")), 0.1 + 0.2);   /* bits */
	CU_ASSERT_EQUAL(snm_metrics_get(back, 0, snm_metrics_find(back, "seconds")), 1.5);
	snm_metrics_free(back);
	CU_ASSERT_EQUAL(snm_store_load(path2, &f.run, ints, &e), SNM_OK);     /* the rest as before */
	CU_ASSERT_EQUAL(snm_store_read_table(path, "/checkpoint/partial/sums", &back, &e), SNM_EIO);
	CU_ASSERT_PTR_NULL(back);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no group '/checkpoint/partial/sums'"));
	run.n_tables = 2;         /* inside the group /checkpoint/params */
	CU_ASSERT_EQUAL(snm_store_save(path2, &run, &e), SNM_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "overlap"));
	tp[1] = "/metrics/x";
	CU_ASSERT_EQUAL(snm_store_save(path2, &run, &e), SNM_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "reserved"));
	tp[1] = "/checkpoint/partial/sums";
	CU_ASSERT_EQUAL(snm_store_save(path2, &run, &e), SNM_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "overlap"));
	snm_metrics_free(t);
	fixture_free(&f);
	ASSERT_NO_OPEN_IDS();
	snm_test_rmtree(dir);
}

/* ---- determinism ---------------------------------------------------------------------------- */

/* Object time stamps of the object at name (all four must be 0: not tracked). */
static long long obj_times(hid_t fid, const char *name)
{
	hid_t o = H5Oopen(fid, name, H5P_DEFAULT);
	long long t = -1;
#if H5_VERSION_GE(1, 12, 0)
	H5O_info2_t info;
	if (o >= 0 && H5Oget_info3(o, &info, H5O_INFO_TIME) >= 0)
#else
	H5O_info_t info;
	if (o >= 0 && H5Oget_info2(o, &info, H5O_INFO_TIME) >= 0)
#endif
		t = (long long)info.atime + info.mtime + info.ctime + info.btime;
	if (o >= 0)
		H5Oclose(o);
	return t;
}

static void test_deterministic_bytes(void)
{
	char dir[256], a[512], b[512], other[512];
	fixture f, g;
	snm_error e = { 0 };
	struct timespec pause = { 1, 100000000 };
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "store-det"));
	join(a, sizeof a, dir, "a.h5");
	join(b, sizeof b, dir, "b.h5");
	join(other, sizeof other, dir, "other.h5");
	fixture_make(&f, 5);
	fixture_make(&g, 6);
	CU_ASSERT_EQUAL_FATAL(snm_store_save(a, &f.run, &e), SNM_OK);
	/* Another record in between (HDF5 reuses its freed memory), and a second boundary crossed
	 * (time stamps would differ). */
	CU_ASSERT_EQUAL_FATAL(snm_store_save(other, &g.run, &e), SNM_OK);
	nanosleep(&pause, NULL);
	CU_ASSERT_EQUAL_FATAL(snm_store_save(b, &f.run, &e), SNM_OK);
	CU_ASSERT(file_size(a) > 0);
	CU_ASSERT(snm_test_files_equal(a, b));
	CU_ASSERT_FALSE(snm_test_files_equal(a, other));

	hid_t fid = H5Fopen(a, H5F_ACC_RDONLY, H5P_DEFAULT);
	CU_ASSERT_FATAL(fid >= 0);
	CU_ASSERT_EQUAL(obj_times(fid, "/"), 0);
	CU_ASSERT_EQUAL(obj_times(fid, "/checkpoint"), 0);
	CU_ASSERT_EQUAL(obj_times(fid, "/checkpoint/rng/order"), 0);
	CU_ASSERT_EQUAL(obj_times(fid, "/best/enc.conv1.w"), 0);
	CU_ASSERT_EQUAL(obj_times(fid, "/metrics/lr"), 0);
	H5Fclose(fid);
	fixture_free(&f);
	fixture_free(&g);
	snm_test_rmtree(dir);
}

/* ---- atomic overwrite and failed saves -------------------------------------------------------- */

static void test_overwrite(void)
{
	char dir[256], path[512], tmp[600], keep[512];
	fixture f, back;
	snm_error e = { 0 };
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "store-ow"));
	join(path, sizeof path, dir, "run.h5");
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fixture_make(&f, 11);
	fixture_make(&back, 12);
	CU_ASSERT_EQUAL_FATAL(snm_store_save(path, &f.run, &e), SNM_OK);
	CU_ASSERT_FALSE(file_exists(tmp));

	/* A stale .tmp from a killed run is replaced; a second save replaces the file. */
	FILE *stale = fopen(tmp, "w");
	fputs("half a file", stale);
	fclose(stale);
	snm_params_find(f.best, "enc.conv1.b")->x[2] = 42.0f;
	f.int_values[1] = 16;
	snm_metrics_append(f.m, (double[]){ 1, 2, 3 }, NULL);
	CU_ASSERT_EQUAL_FATAL(snm_store_save(path, &f.run, &e), SNM_OK);
	CU_ASSERT_FALSE(file_exists(tmp));
	CU_ASSERT_EQUAL(count_suffix(dir, ".tmp"), 0);
	CU_ASSERT_EQUAL(count_suffix(dir, ".h5"), 1);
	int64_t ints[N_INT];
	CU_ASSERT_EQUAL_FATAL(snm_store_load(path, &back.run, ints, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_params_find(back.best, "enc.conv1.b")->x[2], 42.0f);
	CU_ASSERT_EQUAL(ints[1], 16);
	CU_ASSERT_EQUAL(snm_metrics_rows(back.m), N_ROWS + 1);

	/* A save that fails half-way (a group path through a dataset) leaves the old file as it was
	 * and no .tmp behind. */
	join(keep, sizeof keep, dir, "keep.copy");
	CU_ASSERT_EQUAL_FATAL(copy_file(path, keep), 0);
	const char *paths[3] = { "/best", "/checkpoint/params", "/best/enc.conv1.w/sub" };
	snm_params *groups[3] = { f.best, f.ckpt, f.ckpt };
	snm_store_run bad = f.run;
	bad.n_groups = 3;
	bad.group_paths = paths;
	bad.groups = groups;
	CU_ASSERT_EQUAL(snm_store_save(path, &bad, &e), SNM_EHDF5);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "enc.conv1.w"));
	CU_ASSERT(snm_test_files_equal(path, keep));
	CU_ASSERT_FALSE(file_exists(tmp));
	ASSERT_NO_OPEN_IDS();

	/* Bad records are refused before anything is written. */
	const char *reserved[1] = { "format" };
	const char *values[1] = { "x" };
	bad = f.run;
	bad.n_str = 1;
	bad.str_names = reserved;
	bad.str_values = values;
	CU_ASSERT_EQUAL(snm_store_save(path, &bad, &e), SNM_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "format"));
	const char *rel[2] = { "best", "/checkpoint/params" }, *resv[2] = { "/best", "/metrics/x" };
	const char *twice[2] = { "/best", "/best" }, *empty[2] = { "/best", "/checkpoint//params" };
	const char *const *cases[4] = { rel, resv, twice, empty };
	for (int i = 0; i < 4; ++i) {
		bad = f.run;
		bad.group_paths = cases[i];
		CU_ASSERT_EQUAL(snm_store_save(path, &bad, &e), SNM_EINVAL);
	}
	const char *rng_bad[2] = { "order", "a/b" };
	bad = f.run;
	bad.rng_names = rng_bad;
	CU_ASSERT_EQUAL(snm_store_save(path, &bad, &e), SNM_EINVAL);
	/* a string one byte longer than a file holds */
	char *longer = malloc(SNM_STORE_MAX_STR + 2);
	memset(longer, 'x', SNM_STORE_MAX_STR + 1);
	longer[SNM_STORE_MAX_STR + 1] = '\0';
	const char *long_values[N_STR] = { f.str_values[0], f.str_values[1], f.str_values[2], longer };
	bad = f.run;
	bad.str_values = long_values;
	CU_ASSERT_EQUAL(snm_store_save(path, &bad, &e), SNM_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "'notes'"));
	free(longer);
	ASSERT_NO_OPEN_IDS();
	CU_ASSERT(snm_test_files_equal(path, keep));
	CU_ASSERT_FALSE(file_exists(tmp));

	/* A missing directory is an I/O error naming the file it could not create. */
	char nodir[600];
	snprintf(nodir, sizeof nodir, "%s/no/such/dir/run.h5", dir);
	CU_ASSERT_EQUAL(snm_store_save(nodir, &f.run, &e), SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, nodir));
	ASSERT_NO_OPEN_IDS();

	fixture_free(&f);
	fixture_free(&back);
	snm_test_rmtree(dir);
}

/* ---- bad files ------------------------------------------------------------------------------ */

/* A valid HDF5 file with root attribute format = fmt (NULL: none) and format_version = version. */
static void write_foreign(const char *path, const char *fmt, long long version)
{
	hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	hid_t sp = H5Screate(H5S_SCALAR), st = H5Tcopy(H5T_C_S1);
	if (fmt != NULL) {
		H5Tset_size(st, strlen(fmt) + 1);   /* fixed-length, as other tools write them */
		hid_t a = H5Acreate2(f, "format", st, sp, H5P_DEFAULT, H5P_DEFAULT);
		H5Awrite(a, st, fmt);
		H5Aclose(a);
	}
	hid_t a = H5Acreate2(f, "format_version", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
	int v = (int)version;
	H5Awrite(a, H5T_NATIVE_INT, &v);
	H5Aclose(a);
	H5Tclose(st);
	H5Sclose(sp);
	H5Fclose(f);
}

/* A copy of src at dst with byte `at` (at < 0: counted from the end) XORed with mask. */
static int damaged_copy(const char *src, const char *dst, long at, int mask)
{
	FILE *f;
	int ch;
	if (copy_file(src, dst) != 0 || (f = fopen(dst, "r+b")) == NULL)
		return -1;
	fseek(f, at, at < 0 ? SEEK_END : SEEK_SET);
	ch = fgetc(f);
	fseek(f, at, at < 0 ? SEEK_END : SEEK_SET);
	fputc(ch ^ mask, f);
	return fclose(f);
}

/* A foreign file as format 2 would be but for a variable-length string "format". */
static void write_foreign_vlen(const char *path)
{
	hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	hid_t sp = H5Screate(H5S_SCALAR), st = H5Tcopy(H5T_C_S1);
	const char *fmt = "snm-run";
	int v = 2;
	H5Tset_size(st, H5T_VARIABLE);
	hid_t a = H5Acreate2(f, "format", st, sp, H5P_DEFAULT, H5P_DEFAULT);
	H5Awrite(a, st, &fmt);
	H5Aclose(a);
	a = H5Acreate2(f, "format_version", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT);
	H5Awrite(a, H5T_NATIVE_INT, &v);
	H5Aclose(a);
	H5Tclose(st);
	H5Sclose(sp);
	H5Fclose(f);
}

/* A sealed file whose HDF5 part is the foreign file src (512 bytes put in front, then sealed). */
static int sealed_copy(const char *src, const char *dst)
{
	FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
	int ch, rc = in != NULL && out != NULL ? 0 : -1;
	snm_error e = { 0 };
	for (int i = 0; rc == 0 && i < 512; ++i)
		fputc(0, out);
	while (rc == 0 && (ch = fgetc(in)) != EOF)
		fputc(ch, out);
	if (in != NULL)
		fclose(in);
	if (out != NULL)
		fclose(out);
	return rc == 0 ? snm_store_seal(dst, &e) : -1;
}

static void test_bad_files(void)
{
	enum { N_BAD = 14 };
	char dir[256], snap[256], good[512], bad[N_BAD][512], copy[512];
	const char *names[N_BAD] = { "trunc1.h5", "trunc-half.h5", "trunc64.h5", "garbage.h5",
	                             "other.h5", "noformat.h5", "newer.h5", "flip-middle.h5",
	                             "flip-last.h5", "flip-seal.h5", "seal-newer.h5", "sealed-v1.h5",
	                             "sealed-vlen.h5", "missing.h5" };
	const char *expect[N_BAD] = { "damaged: truncated to", "damaged: truncated to",
	                              "damaged: its seal is unreadable", "not an HDF5 file or truncated",
	                              "not an snm run file (format 'something-else')",
	                              "not an snm run file", "newer",
	                              "damaged: its contents do not match its seal",
	                              "damaged: its contents do not match its seal",
	                              "damaged: its seal is unreadable", "format 3 is newer",
	                              "format_version 1 in a file with a seal",
	                              "variable-length string", "No such file" };
	fixture f, dst;
	snm_error e = { 0 };
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "store-bad"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(snap, sizeof snap, "store-snap"));
	fixture_make(&f, 21);
	fixture_make(&dst, 22);
	join(good, sizeof good, dir, "good.h5");
	CU_ASSERT_EQUAL_FATAL(snm_store_save(good, &f.run, &e), SNM_OK);
	long size = file_size(good);
	long cut[3] = { size - 1, size / 2, 64 };
	for (int i = 0; i < N_BAD; ++i)
		join(bad[i], sizeof bad[i], dir, names[i]);
	for (int i = 0; i < 3; ++i) {
		CU_ASSERT_EQUAL_FATAL(copy_file(good, bad[i]), 0);
		CU_ASSERT_EQUAL_FATAL(truncate(bad[i], cut[i]), 0);
	}
	FILE *g = fopen(bad[3], "wb");
	for (int i = 0; i < 5000; ++i)
		fputc((i * 131 + 7) & 0xff, g);
	fclose(g);
	write_foreign(bad[4], "something-else", 1);
	write_foreign(bad[5], NULL, 1);
	write_foreign(bad[6], "snm-run", 3);
	CU_ASSERT_EQUAL_FATAL(damaged_copy(good, bad[7], size / 2, 0xff), 0);
	CU_ASSERT_EQUAL_FATAL(damaged_copy(good, bad[8], -1, 0x01), 0);
	CU_ASSERT_EQUAL_FATAL(damaged_copy(good, bad[9], 300, 'x'), 0);     /* in the seal's NULs */
	CU_ASSERT_EQUAL_FATAL(damaged_copy(good, bad[10], 8, '2' ^ '3'), 0); /* "snm-run 3" */
	{
		char v1[512], vl[512];
		join(v1, sizeof v1, dir, "foreign-v1.h5");
		join(vl, sizeof vl, dir, "foreign-vlen.h5");
		write_foreign(v1, "snm-run", 1);
		CU_ASSERT_EQUAL_FATAL(sealed_copy(v1, bad[11]), 0);
		write_foreign_vlen(vl);
		CU_ASSERT_EQUAL_FATAL(sealed_copy(vl, bad[12]), 0);
	}
	/* Snapshots of every file, to check that nothing on disk changes. */
	for (int i = 0; i < N_BAD - 1; ++i) {
		join(copy, sizeof copy, snap, names[i]);
		CU_ASSERT_EQUAL_FATAL(copy_file(bad[i], copy), 0);
	}
	join(copy, sizeof copy, snap, "good.h5");
	CU_ASSERT_EQUAL_FATAL(copy_file(good, copy), 0);

	snm_params *best0 = params_clone(dst.best);
	double first = snm_metrics_get(dst.m, 0, 0);
	for (int i = 0; i < N_BAD; ++i) {
		int64_t ints[N_INT] = { 0 }, v = 77;
		char *s = (char *)"unchanged";
		snm_metrics *m = (snm_metrics *)&e;   /* any non-NULL value; must come back NULL */
		CU_ASSERT_EQUAL(snm_store_load(bad[i], &dst.run, ints, &e), SNM_EIO);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, bad[i]));
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, expect[i]));
		CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
		if (strstr(e.msg, expect[i]) == NULL)
			printf("\n  %s: got \"%s\"\n", names[i], e.msg);
		CU_ASSERT_EQUAL(snm_store_get_str(bad[i], "run_key", &s, &e), SNM_EIO);
		CU_ASSERT_PTR_NULL(s);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, expect[i]));
		CU_ASSERT_EQUAL(snm_store_get_int(bad[i], "threads", &v, &e), SNM_EIO);
		CU_ASSERT_EQUAL(v, 77);
		CU_ASSERT_EQUAL(snm_store_read_metrics(bad[i], &m, &e), SNM_EIO);
		CU_ASSERT_PTR_NULL(m);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, bad[i]));
		ASSERT_NO_OPEN_IDS();
	}
	CU_ASSERT(params_equal(dst.best, best0));
	CU_ASSERT_EQUAL(snm_metrics_get(dst.m, 0, 0), first);
	for (int i = 0; i < N_BAD - 1; ++i) {
		join(copy, sizeof copy, snap, names[i]);
		CU_ASSERT(snm_test_files_equal(bad[i], copy));
	}
	join(copy, sizeof copy, snap, "good.h5");
	CU_ASSERT(snm_test_files_equal(good, copy));
	CU_ASSERT_FALSE(file_exists(bad[N_BAD - 1]));
	int64_t ints[N_INT];
	CU_ASSERT_EQUAL(snm_store_load(good, &dst.run, ints, &e), SNM_OK);   /* still a good file */
	CU_ASSERT(params_equal(dst.best, f.best));
	snm_params_free(best0);
	fixture_free(&f);
	fixture_free(&dst);
	snm_test_rmtree(dir);
	snm_test_rmtree(snap);
}

/* ---- one damaged byte anywhere ---------------------------------------------------------------- */

/* Every reader on path: each returns, within the alarm, SNM_OK or a one-line error; returns 1 when
 * the first reported the file damaged ("damaged:"; or "not an HDF5 file" when its first bytes are
 * neither a seal nor HDF5's signature). */
static int read_all_ways(const char *path)
{
	snm_error e = { 0 };
	char *s = NULL;
	int64_t v;
	snm_metrics *m = NULL;
	snm_store_attrs a;
	snm_params *p = NULL;
	int has, damaged = 0, rc;
	rc = snm_store_get_str(path, "config", &s, &e);
	damaged = rc != SNM_OK && (strstr(e.msg, "damaged:") != NULL
	                           || strstr(e.msg, "not an HDF5 file") != NULL);
	CU_ASSERT(rc == SNM_OK || (e.msg[0] != '\0' && strchr(e.msg, '\n') == NULL));
	free(s);
	rc = snm_store_get_int(path, "epoch", &v, &e);
	CU_ASSERT(rc == SNM_OK || strchr(e.msg, '\n') == NULL);
	rc = snm_store_read_metrics(path, &m, &e);
	CU_ASSERT(rc == SNM_OK || strchr(e.msg, '\n') == NULL);
	snm_metrics_free(m);
	rc = snm_store_read_attrs(path, &a, &e);
	CU_ASSERT(rc == SNM_OK || strchr(e.msg, '\n') == NULL);
	snm_store_attrs_free(&a);
	rc = snm_store_has_group(path, "/best", &has, &e);
	CU_ASSERT(rc == SNM_OK || strchr(e.msg, '\n') == NULL);
	rc = snm_store_read_group(path, "/metrics", &p, &e);
	CU_ASSERT(rc != SNM_OK || p != NULL);
	snm_params_free(p);
	ASSERT_NO_OPEN_IDS();
	return damaged;
}

/* A format-2 file with one byte changed, at every 31st place: every reader says "damaged" and
 * libhdf5 never sees the file.  A format-1 file (tests/fixtures/runfile-v1.h5, a compact run
 * written before the seal) at every 101st place and at the four bytes of its global heap that
 * crashed (0x81e = 0x01: SIGSEGV; 0x819 = 0x10: heap corruption) or hung (0x828, 0x830 = 0x00)
 * libhdf5 1.10.8 before the heap was checked: every reader returns, in one line (libhdf5 meets
 * the damage in a child process first: probe.h). */
static void test_damaged_bytes(void)
{
	char dir[256], good[512], bad[512], v1[512];
	fixture f;
	snm_error e = { 0 };
	long size, missed = 0, n = 0;
	static const long heap_at[4] = { 0x81e, 0x819, 0x828, 0x830 };
	static const int heap_v[4] = { 0x01, 0x10, 0x00, 0x00 };
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "store-dmg"));
	fixture_make(&f, 31);
	join(good, sizeof good, dir, "good.h5");
	join(bad, sizeof bad, dir, "bad.h5");
	CU_ASSERT_EQUAL_FATAL(snm_store_save(good, &f.run, &e), SNM_OK);
	size = file_size(good);
	alarm(300);      /* a hang inside a reader ends the program: the test fails */
	for (long at = 0; at < size; at += 31, ++n) {
		CU_ASSERT_EQUAL_FATAL(damaged_copy(good, bad, at, 1 + (int)(at % 255)), 0);
		if (read_all_ways(bad) != 1) {
			if (missed++ < 5)
				printf("\n  byte %ld changed: not reported damaged\n", at);
		}
	}
	CU_ASSERT_EQUAL(missed, 0);
	printf(" (%ld damaged format-2 files", n);
	snm_test_src(v1, sizeof v1, "fixtures/runfile-v1.h5");
	n = 0;
	for (long at = 0, vsize = file_size(v1); at < vsize; at += 101, ++n) {
		CU_ASSERT_EQUAL_FATAL(damaged_copy(v1, bad, at, 1 + (int)(at % 255)), 0);
		read_all_ways(bad);
	}
	for (int i = 0; i < 4; ++i) {
		FILE *g;
		CU_ASSERT_EQUAL_FATAL(copy_file(v1, bad), 0);
		g = fopen(bad, "r+b");
		fseek(g, heap_at[i], SEEK_SET);
		fputc(heap_v[i], g);
		fclose(g);
		CU_ASSERT_EQUAL(read_all_ways(bad), 1);
	}
	alarm(0);
	printf(", %ld format-1) ", n + 4);
	CU_ASSERT_EQUAL(read_all_ways(v1), 0);     /* the intact format-1 file reads */
	fixture_free(&f);
	snm_test_rmtree(dir);
}

/* Extents that claim more values than the file holds (chunked datasets with unlimited maxima may
 * grow without data being written), in a file sealed again after the edit: refused before
 * anything is allocated for them.  In format 1, before the store bounded sizes by the file's, a
 * 52 KB run file with a /metrics extent of 2e7 rows made `snm compact` take a minute and 5 GB, and
 * 4e9 rows made the paper stage stop on SNM_ENOMEM (found while triaging fuzz_runfile). */
static void test_huge_extent(void)
{
	char dir[256], path[512];
	fixture f, dst;
	snm_error e = { 0 };
	snm_metrics *m = NULL;
	snm_params *p = NULL;
	int64_t ints[N_INT];
	hsize_t one[2] = { 1, 1 }, unlim[2] = { H5S_UNLIMITED, H5S_UNLIMITED }, big[2] = { 1 << 14, 1 << 14 };
	hsize_t rows = 4000000000ull;
	float x = 1;
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "store-extent"));
	fixture_make(&f, 31);
	fixture_make(&dst, 32);
	join(path, sizeof path, dir, "run.h5");
	CU_ASSERT_EQUAL_FATAL(snm_store_save(path, &f.run, &e), SNM_OK);
	{
		hid_t fid = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), sp, pl, d;
		CU_ASSERT_FATAL(fid >= 0);
		for (int k = 0; k < 3; ++k) {
			char name[64];
			snprintf(name, sizeof name, "/metrics/%s", metric_names[k]);
			d = H5Dopen2(fid, name, H5P_DEFAULT);
			CU_ASSERT(d >= 0 && H5Dset_extent(d, &rows) >= 0);
			H5Dclose(d);
		}
		/* a group of one chunked dataset, grown to 2^28 floats (1 GiB) without data */
		hid_t g = H5Gcreate2(fid, "/big", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
		sp = H5Screate_simple(2, one, unlim);
		pl = H5Pcreate(H5P_DATASET_CREATE);
		H5Pset_chunk(pl, 2, one);
		d = H5Dcreate2(g, "w", H5T_IEEE_F32LE, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
		CU_ASSERT(d >= 0 && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &x) >= 0);
		CU_ASSERT(H5Dset_extent(d, big) >= 0);
		H5Dclose(d);
		H5Pclose(pl);
		H5Sclose(sp);
		H5Gclose(g);
		H5Fclose(fid);
	}
	CU_ASSERT_EQUAL(snm_store_seal(path, &e), SNM_OK);   /* the readers behind the seal */
	CU_ASSERT(file_size(path) < 1 << 20);
	CU_ASSERT_EQUAL(snm_store_read_metrics(path, &m, &e), SNM_EIO);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "claims 12000000000 elements in a"));
	CU_ASSERT_EQUAL(snm_store_load(path, &dst.run, ints, &e), SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "claims 12000000000 elements in a"));
	CU_ASSERT_EQUAL(snm_store_read_group(path, "/big", &p, &e), SNM_EIO);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "dataset '/big/w' claims 268435456 elements in a"));
	CU_ASSERT_EQUAL(snm_store_read_group(path, "/best", &p, &e), SNM_OK);   /* the rest reads */
	snm_params_free(p);
	ASSERT_NO_OPEN_IDS();
	fixture_free(&f);
	fixture_free(&dst);
	snm_test_rmtree(dir);
}

/* A file whose probe failed (libhdf5 crashed in the child, or did not finish) is not probed again
 * by the same process: the next reader of the same bytes gives the same line without a child.
 * Probing again cost a child per reader call, and the whole wait for a file that hangs libhdf5
 * (found by fuzz_runfile, which calls every reader on each input: a dozen waits of its 300 ms).
 * The file: tests/fixtures/runfile-v1.h5 with the byte of the root's attribute table that makes
 * libhdf5 crash in H5Aiterate2 (test_damaged.sh's).  The children are counted by their page
 * faults (getrusage RUSAGE_CHILDREN): a forked child always has some. */
static long child_faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static void test_probe_failure_kept(void)
{
	char dir[256], v1[1024], path[512];
	snm_error e = { 0 };
	char *s = NULL, first[SNM_ERROR_MSG_MAX];
	int64_t v;
	long faults0, faults1;
	FILE *f;
	int c;
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "store-probe"));
	snm_test_src(v1, sizeof v1, "fixtures/runfile-v1.h5");
	join(path, sizeof path, dir, "bad.h5");
	CU_ASSERT_EQUAL_FATAL(copy_file(v1, path), 0);
	CU_ASSERT_FATAL((f = fopen(path, "r+b")) != NULL);
	fseek(f, 6464, SEEK_SET);
	c = fgetc(f);
	fseek(f, 6464, SEEK_SET);
	fputc(c ^ 0x5a, f);
	fseek(f, 0, SEEK_END);
	fputc(0, f);           /* bytes damaged_bytes did not make: not a file this process probed */
	fclose(f);
	faults0 = child_faults();
	CU_ASSERT_EQUAL(snm_store_get_str(path, "status", &s, &e), SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "libhdf5 crashed reading it"));
	faults1 = child_faults();
	CU_ASSERT(faults1 > faults0);       /* the child that crashed */
	snprintf(first, sizeof first, "%s", e.msg);
	CU_ASSERT_EQUAL(snm_store_get_int(path, "threads", &v, &e), SNM_EIO);
	CU_ASSERT_STRING_EQUAL(e.msg, first);
	CU_ASSERT_EQUAL(snm_store_get_str(path, "run_key", &s, &e), SNM_EIO);
	CU_ASSERT_STRING_EQUAL(e.msg, first);
	CU_ASSERT_EQUAL(child_faults(), faults1);   /* and no other */
	CU_ASSERT_PTR_NULL(s);
	ASSERT_NO_OPEN_IDS();
	snm_test_rmtree(dir);
}

/* A file that libhdf5 opens and lists but cannot read all of: a seal-less HDF5 file (as format 1)
 * made here with one chunked dataset /metrics/loss (two chunks), whose chunk index -- a version-1
 * B-tree node, located by its signature "TREE" and node type 1 (raw-data chunks), the only one --
 * has its signature changed.  The probe's child opens and lists every object, fails to read the
 * dataset's values (libhdf5 checks the signature and returns an error rather than crash),
 * and every reader says in one line, naming the file, "damaged: libhdf5 cannot list or open all
 * that it holds".  The intact file passes the probe and is refused later, as no run file. */
static long chunk_btree_at(const char *path)
{
	FILE *f = fopen(path, "rb");
	long size = file_size(path), at = -1, found = 0;
	unsigned char *b = size > 0 ? malloc((size_t)size) : NULL;
	if (f != NULL && b != NULL && fread(b, 1, (size_t)size, f) == (size_t)size)
		for (long i = 0; i + 5 <= size; ++i)
			if (memcmp(b + i, "TREE", 4) == 0 && b[i + 4] == 1 && found++ == 0)
				at = i;
	if (f != NULL)
		fclose(f);
	free(b);
	return found == 1 ? at : -1;
}

static void test_probe_unreadable_chunk(void)
{
	char dir[256], good[512], bad[512];
	snm_error e = { 0 };
	snm_metrics *m = NULL;
	char *s = NULL;
	int64_t v;
	hsize_t n = 8, chunk = 4, unlim = H5S_UNLIMITED;
	double x[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	long at;
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "store-chunk"));
	join(good, sizeof good, dir, "good.h5");
	join(bad, sizeof bad, dir, "bad.h5");
	{
		hid_t f = H5Fcreate(good, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), g, sp, pl, d;
		CU_ASSERT_FATAL(f >= 0);
		g = H5Gcreate2(f, "/metrics", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
		sp = H5Screate_simple(1, &n, &unlim);
		pl = H5Pcreate(H5P_DATASET_CREATE);
		H5Pset_chunk(pl, 1, &chunk);
		d = H5Dcreate2(g, "loss", H5T_IEEE_F64LE, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
		CU_ASSERT(d >= 0 && H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
		H5Dclose(d);
		H5Pclose(pl);
		H5Sclose(sp);
		H5Gclose(g);
		H5Fclose(f);
	}
	at = chunk_btree_at(good);
	CU_ASSERT_FATAL(at > 0);
	CU_ASSERT_EQUAL_FATAL(damaged_copy(good, bad, at, 'T' ^ 'X'), 0);     /* "XREE" */
	CU_ASSERT_EQUAL(snm_store_read_metrics(good, &m, &e), SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "not an snm run file"));
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_EQUAL(snm_store_read_metrics(bad, &m, &e), SNM_EIO);
	CU_ASSERT_PTR_NULL(m);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, bad));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "damaged: libhdf5 cannot list or open all that it holds"));
	CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
	if (strstr(e.msg, "damaged: libhdf5 cannot list") == NULL)
		printf("\n  got \"%s\"\n", e.msg);
	CU_ASSERT_EQUAL(snm_store_get_str(bad, "config", &s, &e), SNM_EIO);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, bad));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "damaged: libhdf5 cannot list or open all that it holds"));
	CU_ASSERT_EQUAL(snm_store_get_int(bad, "epoch", &v, &e), SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "damaged: libhdf5 cannot list or open all that it holds"));
	ASSERT_NO_OPEN_IDS();
	snm_test_rmtree(dir);
}

/* ---- mismatched destinations ------------------------------------------------------------------ */

/* Loads path into run and expects SNM_EIO with every string of want in the message, and no
 * change to the fixture's destinations. */
static void expect_mismatch(const char *path, const snm_store_run *run, fixture *dst, const char *w1,
                            const char *w2)
{
	snm_error e = { 0 };
	int64_t ints[N_INT + 1] = { 0 };
	snm_params *best0 = params_clone(dst->best), *ckpt0 = params_clone(dst->ckpt);
	size_t rows = snm_metrics_rows(dst->m);
	gsl_rng *r0 = gsl_rng_clone(dst->rng[0]);
	CU_ASSERT_EQUAL(snm_store_load(path, run, ints, &e), SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, w1));
	if (w2 != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, w2));
	if (strstr(e.msg, w1) == NULL || (w2 != NULL && strstr(e.msg, w2) == NULL))
		printf("\n  expected '%s' '%s' in \"%s\"\n", w1, w2 ? w2 : "", e.msg);
	CU_ASSERT(params_equal(dst->best, best0));
	CU_ASSERT(params_equal(dst->ckpt, ckpt0));
	CU_ASSERT_EQUAL(snm_metrics_rows(dst->m), rows);
	CU_ASSERT_EQUAL(gsl_rng_get(dst->rng[0]), gsl_rng_get(r0));
	ASSERT_NO_OPEN_IDS();
	snm_params_free(best0);
	snm_params_free(ckpt0);
	gsl_rng_free(r0);
}

static void test_mismatch(void)
{
	char dir[256], path[512];
	fixture f, dst;
	snm_error e = { 0 };
	snm_store_run run;
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "store-mm"));
	join(path, sizeof path, dir, "run.h5");
	fixture_make(&f, 31);
	fixture_make(&dst, 32);
	CU_ASSERT_EQUAL_FATAL(snm_store_save(path, &f.run, &e), SNM_OK);

	/* A registry entry the file lacks. */
	snm_params *p = params_clone(dst.best);
	snm_params_add(p, "enc.conv2.w", 2, (int[]){ 3, 3 }, SNM_T_PARAM, NULL);
	snm_params *groups[2] = { p, dst.ckpt };
	run = dst.run;
	run.groups = groups;
	expect_mismatch(path, &run, &dst, "'/best'", "'enc.conv2.w'");
	snm_params_free(p);

	/* Another shape. */
	p = snm_params_new(NULL);
	snm_params_add(p, "enc.conv1.w", 4, (int[]){ 2, 3, 5, 4 }, SNM_T_PARAM, NULL);
	snm_params_add(p, "enc.conv1.b", 1, (int[]){ 5 }, SNM_T_PARAM, NULL);
	snm_params_add(p, "bn1.mean", 1, (int[]){ 5 }, SNM_T_BUFFER, NULL);
	groups[0] = p;
	expect_mismatch(path, &run, &dst, "'enc.conv1.w' has shape (2,3,4,5)", "expects (2,3,5,4)");
	snm_params_free(p);

	/* An entry in the file that the registry lacks. */
	p = snm_params_new(NULL);
	snm_params_add(p, "enc.conv1.w", 4, (int[]){ 2, 3, 4, 5 }, SNM_T_PARAM, NULL);
	snm_params_add(p, "enc.conv1.b", 1, (int[]){ 5 }, SNM_T_PARAM, NULL);
	groups[0] = p;
	expect_mismatch(path, &run, &dst, "'/best'", "'bn1.mean'");

	/* A buffer in the file loaded as a parameter. */
	snm_params_add(p, "bn1.mean", 1, (int[]){ 5 }, SNM_T_PARAM, NULL);
	expect_mismatch(path, &run, &dst, "'bn1.mean'", "buffer");
	snm_params_free(p);

	/* A group the file lacks. */
	const char *gp[2] = { "/ema", "/checkpoint/params" };
	run = dst.run;
	run.group_paths = gp;
	expect_mismatch(path, &run, &dst, "no group '/ema'", NULL);

	/* Metrics columns: one missing from the table, one missing from the file. */
	const char *two[2] = { "train.loss", "lr" }, *four[4] = { "train.loss", "valid.error", "lr", "seconds" };
	snm_metrics *m2 = snm_metrics_new(2, two, NULL), *m4 = snm_metrics_new(4, four, NULL);
	run = dst.run;
	run.metrics = m2;
	expect_mismatch(path, &run, &dst, "'valid.error'", NULL);
	run.metrics = m4;
	expect_mismatch(path, &run, &dst, "'seconds'", NULL);
	snm_metrics_free(m2);
	snm_metrics_free(m4);

	/* A stream of another type, and a stream the file lacks. */
	gsl_rng *lux = gsl_rng_alloc(gsl_rng_ranlxd2);
	gsl_rng *rngs[2] = { dst.rng[0], lux };
	run = dst.run;
	run.rngs = rngs;
	expect_mismatch(path, &run, &dst, "'noise'", "mt19937");
	gsl_rng_free(lux);
	const char *rn[2] = { "order", "augment" };
	run = dst.run;
	run.rng_names = rn;
	expect_mismatch(path, &run, &dst, "'augment'", NULL);

	/* An integer attribute the file lacks. */
	const char *in[N_INT + 1] = { "master_seed", "threads", "best_epoch", "step", "epoch" };
	run = dst.run;
	run.n_int = N_INT + 1;
	run.int_names = in;
	expect_mismatch(path, &run, &dst, "'epoch'", NULL);

	fixture_free(&f);
	fixture_free(&dst);
	snm_test_rmtree(dir);
}

/* ---- h5dump ------------------------------------------------------------------------------- */

/* 1 when an executable `name` is on $PATH. */
static int on_path(const char *name)
{
	const char *env = getenv("PATH");
	char dirs[4096], file[4200];
	if (env == NULL)
		return 0;
	snprintf(dirs, sizeof dirs, "%s", env);
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(file, sizeof file, "%s/%s", d, name);
		if (access(file, X_OK) == 0)
			return 1;
	}
	return 0;
}

/* Output of a shell command (malloc'd, NUL-terminated); *status its exit status. */
static char *run_cmd(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0, m = 1 << 16, k;
	char *buf = malloc(m);
	if (p == NULL || buf == NULL) {
		free(buf);
		return NULL;
	}
	while ((k = fread(buf + n, 1, m - n - 1, p)) > 0) {
		n += k;
		if (m - n < 4096)
			buf = realloc(buf, m *= 2);
	}
	buf[n] = '\0';
	*status = pclose(p);
	return buf;
}

static void test_h5dump(void)
{
	char dir[256], path[512], cmd[1200];
	fixture f;
	snm_error e = { 0 };
	int status = -1;
	if (!on_path("h5dump")) {
		snm_test_skip("h5dump not found on PATH (./bootstrap installs hdf5-tools)");
		return;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "store-dump"));
	join(path, sizeof path, dir, "run.h5");
	fixture_make(&f, 41);
	CU_ASSERT_EQUAL_FATAL(snm_store_save(path, &f.run, &e), SNM_OK);
	snprintf(cmd, sizeof cmd, "h5dump -A '%s' 2>&1", path);
	char *out = run_cmd(cmd, &status);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(status, 0);
	const char *want[] = {
		"ATTRIBUTE \"format\"", "(0): \"snm-run\"", "ATTRIBUTE \"format_version\"",
		"ATTRIBUTE \"run_key\"", "(0): \"mnist/semantic/n100/set2\"", "ATTRIBUTE \"master_seed\"",
		"H5T_STD_I64LE", "CSET H5T_CSET_UTF8", "GROUP \"best\"", "DATASET \"enc.conv1.w\"",
		"H5T_IEEE_F32LE", "( 2, 3, 4, 5 ) / ( 2, 3, 4, 5 )", "ATTRIBUTE \"kind\"", "(0): \"param\"",
		"(0): \"buffer\"", "GROUP \"checkpoint\"", "GROUP \"params\"", "DATASET \"enc.fc.w\"",
		"GROUP \"metrics\"", "DATASET \"train.loss\"", "H5T_IEEE_F64LE",
		"( 300 ) / ( H5S_UNLIMITED )", "GROUP \"rng\"", "DATASET \"order\"", "H5T_STD_U8LE",
		"(0): \"mt19937\"",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; ++i) {
		CU_ASSERT_PTR_NOT_NULL(strstr(out, want[i]));
		if (strstr(out, want[i]) == NULL)
			printf("\n  h5dump -A lacks: %s\n", want[i]);
	}
	free(out);
	snprintf(cmd, sizeof cmd, "h5dump -d /checkpoint/params/dec.b '%s' 2>&1", path);
	out = run_cmd(cmd, &status);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(status, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "(0): 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5"));
	free(out);
	fixture_free(&f);
	snm_test_rmtree(dir);
}

static CU_TestInfo store_tests[] = {
	{ "metrics_table", test_metrics_table },
	{ "round_trip", test_round_trip },
	{ "minimal_record", test_minimal_record },
	{ "tables", test_tables },
	{ "deterministic_bytes", test_deterministic_bytes },
	{ "overwrite_and_failed_save", test_overwrite },
	{ "bad_files", test_bad_files },
	{ "damaged_bytes", test_damaged_bytes },
	{ "huge_extent", test_huge_extent },
	{ "probe_failure_kept", test_probe_failure_kept },
	{ "probe_unreadable_chunk", test_probe_unreadable_chunk },
	{ "mismatch", test_mismatch },
	{ "h5dump", test_h5dump },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "store", NULL, NULL, NULL, NULL, store_tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_store", suites);
}
