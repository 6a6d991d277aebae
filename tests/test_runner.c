/* test_runner.c: pipelines and the trainer end to end on the synthetic data plugin: YAML errors at
 * the right file:line:col, bitwise determinism, resume after a simulated kill or an interruption
 * (opts.stop) with the progress reports in order, skip and refusal, a truncated checkpoint, a
 * non-finite loss, and the result file as h5dump sees it.  The plugin ABI's runner side: the
 * epoch and the step reach an ABI 1.2 objective (tests/plugins/ramp_noise.c), a regularizer's
 * buffers are checkpointed so that it resumes bitwise, and plugins built for ABI 1.0 and 1.1
 * still train. */
#include <fcntl.h>
#include <math.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "run/pipeline.h"
#include "run/store.h"
#include "core/blas.h"
#include "run/trainer.h"
#include "run/fs.h"

static char tmp[512];

static const char base_yaml[] =
	"name: tiny\n"
	"seed: 7\n"
	"results: %s\n"
	"defaults:\n"
	"  data: {type: synthetic, classes: 3, per_class: 30, size: 8}\n"
	"  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}\n"
	"  train: {epochs: 5, batch: 8, lr: %s, eval_batch: 16}\n"
	"grid: {per_class: [4], sets: 1}\n"
	"experiments:\n"
	"  - name: base\n"
	"    noise: {type: recon, targets: xz}\n";

static char *write_file(const char *name, const char *text)
{
	static char path[1024];
	FILE *f;
	snprintf(path, sizeof path, "%s/%s", tmp, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* Writes the tiny pipeline with results under tmp/<results> and learning rate lr, loads it. */
static snm_pipeline *tiny(const char *results, const char *lr)
{
	char text[2048], dir[1024], name[64];
	snm_pipeline *p = NULL;
	snm_error e;
	snprintf(dir, sizeof dir, "%s/%s", tmp, results);
	snprintf(text, sizeof text, base_yaml, dir, lr);
	snprintf(name, sizeof name, "tiny-%s.yaml", results);
	if (snm_pipeline_load(write_file(name, text), NULL, &p, &e) != SNM_OK)
		fprintf(stderr, "load: %s\n", e.msg);
	return p;
}

static int train_t(const snm_run_spec *r, int threads, int stop_after, int force,
                   snm_run_result *res, snm_error *e)
{
	snm_trainer_opts o = { .threads = threads, .force = force, .stop_after = stop_after,
	                       .version = "test" };
	return snm_train(r, &o, res, e);
}

static int train(const snm_run_spec *r, int stop_after, int force, snm_run_result *res, snm_error *e)
{
	return train_t(r, 1, stop_after, force, res, e);
}

/* ---- comparing result files ------------------------------------------------------------------ */

typedef struct cmp_ctx { hid_t b; int diffs, n; const char *skip; } cmp_ctx;

static herr_t cmp_one(hid_t ga, const char *name, const H5L_info_t *info, void *vctx)
{
	cmp_ctx *c = vctx;
	hid_t obj;
	H5I_type_t type;
	(void)info;
	if (c->skip && strcmp(name, c->skip) == 0)
		return 0;
	obj = H5Oopen(ga, name, H5P_DEFAULT);
	type = H5Iget_type(obj);
	H5Oclose(obj);
	if (type == H5I_GROUP) {
		hid_t sa = H5Gopen2(ga, name, H5P_DEFAULT), sb = H5Gopen2(c->b, name, H5P_DEFAULT);
		cmp_ctx sub = { sb, 0, 0, c->skip };
		if (sb < 0) {
			c->diffs++;
		} else {
			H5Literate(sa, H5_INDEX_NAME, H5_ITER_INC, NULL, cmp_one, &sub);
			c->diffs += sub.diffs;
			c->n += sub.n;
			H5Gclose(sb);
		}
		H5Gclose(sa);
		return 0;
	}
	if (type == H5I_DATASET) {
		hid_t da = H5Dopen2(ga, name, H5P_DEFAULT), db = H5Dopen2(c->b, name, H5P_DEFAULT);
		hsize_t na = H5Dget_storage_size(da), nb = db >= 0 ? H5Dget_storage_size(db) : 0;
		hid_t ta = H5Dget_type(da);
		size_t sz = H5Tget_size(ta);
		hssize_t count = H5Sget_simple_extent_npoints(H5Dget_space(da));
		c->n++;
		if (db < 0 || na != nb || count <= 0) {
			c->diffs++;
		} else {
			char *ba = malloc((size_t)count * sz), *bb = malloc((size_t)count * sz);
			H5Dread(da, ta, H5S_ALL, H5S_ALL, H5P_DEFAULT, ba);
			H5Dread(db, ta, H5S_ALL, H5S_ALL, H5P_DEFAULT, bb);
			if (memcmp(ba, bb, (size_t)count * sz) != 0) {
				c->diffs++;
				fprintf(stderr, "differs: %s\n", name);
			}
			free(ba);
			free(bb);
		}
		H5Tclose(ta);
		H5Dclose(da);
		if (db >= 0)
			H5Dclose(db);
	}
	return 0;
}

/* Number of datasets that differ between two result files, every dataset but /metrics/seconds
 * (wall time) compared bit for bit; *n receives the number compared. */
static int result_diffs(const char *a, const char *b, int *n)
{
	hid_t fa = H5Fopen(a, H5F_ACC_RDONLY, H5P_DEFAULT), fb = H5Fopen(b, H5F_ACC_RDONLY, H5P_DEFAULT);
	cmp_ctx c = { fb, 0, 0, "seconds" };
	if (fa < 0 || fb < 0)
		return -1;
	H5Literate(fa, H5_INDEX_NAME, H5_ITER_INC, NULL, cmp_one, &c);
	H5Fclose(fa);
	H5Fclose(fb);
	*n = c.n;
	return c.diffs;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_determinism_and_resume(void)
{
	snm_pipeline *a = tiny("a", "0.01"), *b = tiny("b", "0.01"), *c = tiny("c", "0.01");
	snm_run_result ra, rb, rc;
	snm_error e;
	char *status = NULL;
	int64_t epoch = 0;
	int n = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(a->n_runs, 1);
	CU_ASSERT_EQUAL(a->runs[0].config_hash, b->runs[0].config_hash);   /* results dir is not identity */
	CU_ASSERT_EQUAL_FATAL(train(&a->runs[0], 0, 0, &ra, &e), SNM_OK);
	CU_ASSERT_EQUAL(ra.status, SNM_RUN_TRAINED);
	CU_ASSERT_EQUAL(ra.epochs, 5);
	CU_ASSERT_EQUAL_FATAL(train(&b->runs[0], 0, 0, &rb, &e), SNM_OK);
	/* same config, same threads: same bits */
	CU_ASSERT_EQUAL(result_diffs(a->runs[0].result_path, b->runs[0].result_path, &n), 0);
	CU_ASSERT(n >= 20);
	CU_ASSERT_EQUAL(ra.test_at_best, rb.test_at_best);

	/* killed after 2 epochs: the file says running at epoch 2 */
	CU_ASSERT_EQUAL_FATAL(train(&c->runs[0], 2, 0, &rc, &e), SNM_OK);
	CU_ASSERT_EQUAL(rc.status, SNM_RUN_STOPPED);
	CU_ASSERT_EQUAL(snm_store_get_str(c->runs[0].result_path, "status", &status, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(status, "running");
	free(status);
	CU_ASSERT_EQUAL(snm_store_get_int(c->runs[0].result_path, "epoch", &epoch, &e), SNM_OK);
	CU_ASSERT_EQUAL(epoch, 2);
	/* the rerun resumes and ends bitwise equal to the uninterrupted run */
	CU_ASSERT_EQUAL_FATAL(train(&c->runs[0], 0, 0, &rc, &e), SNM_OK);
	CU_ASSERT_EQUAL(rc.status, SNM_RUN_RESUMED);
	CU_ASSERT_EQUAL(result_diffs(a->runs[0].result_path, c->runs[0].result_path, &n), 0);
	CU_ASSERT_EQUAL(rc.test_at_best, ra.test_at_best);
	/* a finished run is skipped and reports its result */
	CU_ASSERT_EQUAL(train(&c->runs[0], 0, 0, &rc, &e), SNM_OK);
	CU_ASSERT_EQUAL(rc.status, SNM_RUN_SKIPPED);
	CU_ASSERT_EQUAL(rc.test_at_best, ra.test_at_best);
	snm_pipeline_free(a);
	snm_pipeline_free(b);
	snm_pipeline_free(c);
}

/* The progress reports and opts.stop: a callback that records every report and sets the stop
 * flag once `stop_at` epochs are saved (0: before the first step). */
typedef struct watch {
	volatile sig_atomic_t stop;
	int stop_at, n_start, n_epoch, last_epoch, epochs, ordered;
} watch;

static void on_progress(void *ctx, const snm_train_progress *p)
{
	watch *w = ctx;
	if (p->event == SNM_PROGRESS_START) {
		w->n_start++;
		w->last_epoch = p->epoch;
	} else {
		w->n_epoch++;
		w->ordered &= p->epoch == w->last_epoch + 1 && p->step > 0 && p->seconds >= 0
		              && strcmp(p->key, "tiny/base/n4/set1") == 0;
		w->last_epoch = p->epoch;
	}
	w->epochs = p->epochs;
	if (p->epoch >= w->stop_at)
		w->stop = 1;
}

static int train_watched(const snm_run_spec *r, watch *w, snm_run_result *res, snm_error *e)
{
	snm_trainer_opts o = { .threads = 1, .progress = on_progress, .progress_ctx = w, .version = "test",
	                       .stop = &w->stop };
	w->stop = 0;
	w->ordered = 1;
	return snm_train(r, &o, res, e);
}

/* Interrupted through opts.stop before the first step, then after epoch 2: nothing saved, then
 * the checkpoint of epoch 2 kept ("running"), the progress reported in order with epochs counted
 * from 1; the rerun resumes and ends bitwise equal to the uninterrupted run. */
static void test_interrupt(void)
{
	snm_pipeline *a = tiny("ia", "0.01"), *b = tiny("ib", "0.01");
	snm_run_result ra, rb;
	snm_error e;
	watch w;
	char *status = NULL, lock[1100];
	int64_t epoch = 0;
	int n = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	memset(&w, 0, sizeof w);
	CU_ASSERT_EQUAL_FATAL(train_watched(&a->runs[0], &w, &ra, &e), SNM_OK);
	CU_ASSERT_EQUAL(ra.status, SNM_RUN_INTERRUPTED);
	CU_ASSERT_EQUAL(ra.epochs, 0);
	CU_ASSERT_EQUAL(ra.step, 0);
	CU_ASSERT(ra.n_steps > 0);
	CU_ASSERT_EQUAL(w.n_start, 1);
	CU_ASSERT_EQUAL(w.n_epoch, 0);
	CU_ASSERT_EQUAL(access(a->runs[0].result_path, F_OK), -1);
	snprintf(lock, sizeof lock, "%s.lock", a->runs[0].result_path);
	CU_ASSERT_EQUAL(access(lock, F_OK), -1);             /* removed on this outcome too */
	w.stop_at = 2;
	CU_ASSERT_EQUAL_FATAL(train_watched(&a->runs[0], &w, &ra, &e), SNM_OK);
	CU_ASSERT_EQUAL(ra.status, SNM_RUN_INTERRUPTED);
	CU_ASSERT_EQUAL(ra.epochs, 2);
	CU_ASSERT(w.ordered);
	CU_ASSERT_EQUAL(w.n_epoch, 2);
	CU_ASSERT_EQUAL(w.last_epoch, 2);
	CU_ASSERT_EQUAL(w.epochs, 5);
	CU_ASSERT_EQUAL(snm_store_get_str(a->runs[0].result_path, "status", &status, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(status, "running");
	free(status);
	CU_ASSERT_EQUAL(snm_store_get_int(a->runs[0].result_path, "epoch", &epoch, &e), SNM_OK);
	CU_ASSERT_EQUAL(epoch, 2);
	/* resumed: START after epoch 2, then epochs 3..5 */
	memset(&w, 0, sizeof w);
	w.stop_at = 99;
	CU_ASSERT_EQUAL_FATAL(train_watched(&a->runs[0], &w, &ra, &e), SNM_OK);
	CU_ASSERT_EQUAL(ra.status, SNM_RUN_RESUMED);
	CU_ASSERT(w.ordered);
	CU_ASSERT_EQUAL(w.n_start, 1);
	CU_ASSERT_EQUAL(w.n_epoch, 3);
	CU_ASSERT_EQUAL(w.last_epoch, 5);
	CU_ASSERT_EQUAL_FATAL(train(&b->runs[0], 0, 0, &rb, &e), SNM_OK);
	CU_ASSERT_EQUAL(result_diffs(a->runs[0].result_path, b->runs[0].result_path, &n), 0);
	CU_ASSERT(n >= 20);
	snm_pipeline_free(a);
	snm_pipeline_free(b);
}

/* Stopped at 1 thread after 2 epochs and rerun at 2: where results do not depend on the thread
 * count (snm's own threads) the run resumes and ends bitwise equal to the uninterrupted 1-thread
 * run, recording 2 threads; otherwise it is refused, naming --force. */
static void test_resume_other_threads(void)
{
	snm_pipeline *a = tiny("a", "0.01"), *t = tiny("t", "0.01");
	snm_run_result ra, rt;
	snm_error e;
	int64_t threads = 0;
	int n = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL_FATAL(train(&a->runs[0], 0, 0, &ra, &e), SNM_OK);   /* skipped if there */
	CU_ASSERT_EQUAL_FATAL(train_t(&t->runs[0], 1, 2, 0, &rt, &e), SNM_OK);
	CU_ASSERT_EQUAL(rt.status, SNM_RUN_STOPPED);
	int rc = train_t(&t->runs[0], 2, 0, 0, &rt, &e);
	if (snm_blas_thread_invariant()) {
		CU_ASSERT_EQUAL_FATAL(rc, SNM_OK);
		CU_ASSERT_EQUAL(rt.status, SNM_RUN_RESUMED);
		CU_ASSERT_EQUAL(result_diffs(a->runs[0].result_path, t->runs[0].result_path, &n), 0);
		CU_ASSERT(n >= 20);
		CU_ASSERT_EQUAL(rt.test_at_best, ra.test_at_best);
		CU_ASSERT_EQUAL(snm_store_get_int(t->runs[0].result_path, "threads", &threads, &e), SNM_OK);
		CU_ASSERT_EQUAL(threads, 2);
	} else {
		CU_ASSERT_EQUAL(rc, SNM_ESTATE);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "--force"));
	}
	snm_blas_set_threads(1);
	snm_pipeline_free(a);
	snm_pipeline_free(t);
}

static void test_changed_config_refused(void)
{
	snm_pipeline *p = tiny("d", "0.01"), *q;
	snm_run_result r;
	snm_error e;
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(train(&p->runs[0], 0, 0, &r, &e), SNM_OK);
	q = tiny("d", "0.02");                      /* same results dir, another learning rate */
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_NOT_EQUAL(p->runs[0].config_hash, q->runs[0].config_hash);
	CU_ASSERT_EQUAL(train(&q->runs[0], 0, 0, &r, &e), SNM_ESTATE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "--force"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, q->runs[0].result_path));
	CU_ASSERT_EQUAL(train(&q->runs[0], 0, 1, &r, &e), SNM_OK);
	CU_ASSERT_EQUAL(r.status, SNM_RUN_TRAINED);
	snm_pipeline_free(p);
	snm_pipeline_free(q);
}

static void test_truncated_checkpoint(void)
{
	snm_pipeline *p = tiny("e", "0.01"), *other = tiny("a", "0.01");
	snm_run_result r;
	snm_error e;
	char copy[1024], cmd[2200];
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(train(&p->runs[0], 2, 0, &r, &e), SNM_OK);
	/* a finished result elsewhere must stay byte-identical */
	snprintf(copy, sizeof copy, "%s/other-copy.h5", tmp);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", other->runs[0].result_path, copy);
	CU_ASSERT_EQUAL(system(cmd), 0);
	CU_ASSERT_EQUAL(truncate(p->runs[0].result_path, 3000), 0);
	CU_ASSERT_EQUAL(train(&p->runs[0], 0, 0, &r, &e), SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, p->runs[0].result_path));
	CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
	CU_ASSERT(snm_test_files_equal(copy, other->runs[0].result_path));
	snm_pipeline_free(p);
	snm_pipeline_free(other);
}

static void test_nonfinite_loss(void)
{
	char text[2048], dir[1024];
	snm_pipeline *p = NULL;
	snm_run_result r;
	snm_error e;
	int64_t epoch = -1;
	char *status = NULL;
	snprintf(dir, sizeof dir, "%s/nan", tmp);
	snprintf(text, sizeof text, base_yaml, dir, "0.01");
	strcpy(strstr(text, "{type: recon, targets: xz}"), "{type: nan, after: 2}\n");
	CU_ASSERT_EQUAL_FATAL(snm_pipeline_load(write_file("nan.yaml", text), NULL, &p, &e), SNM_OK);
	/* 12 examples, batch 8: two steps an epoch; the third call (epoch 2) is NaN */
	CU_ASSERT_EQUAL(train(&p->runs[0], 0, 0, &r, &e), SNM_ENUMERIC);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "epoch 2 step 3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "'ce'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "marked failed in its file, which keeps the checkpoint of its "
	                                     "last whole epoch"));
	CU_ASSERT_EQUAL(snm_store_get_int(p->runs[0].result_path, "epoch", &epoch, &e), SNM_OK);
	CU_ASSERT_EQUAL(epoch, 1);                  /* the good checkpoint of epoch 1 is kept */
	CU_ASSERT_EQUAL(snm_store_get_str(p->runs[0].result_path, "status", &status, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(status, "failed");   /* not "running": not resumed into the same NaN */
	free(status);
	status = NULL;
	CU_ASSERT_EQUAL(snm_store_get_str(p->runs[0].result_path, "error", &status, &e), SNM_OK);
	CU_ASSERT_PTR_NOT_NULL(status && strstr(status, "tiny/base/n4/set1: epoch 2 step 3: term 'ce' is not finite"));
	free(status);
	/* run again: refused with the reason, the file untouched; --force retrains it (and fails
	 * again), keeping the failed file beside */
	CU_ASSERT_EQUAL(train(&p->runs[0], 0, 0, &r, &e), SNM_ESTATE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "failed before (tiny/base/n4/set1: epoch 2 step 3: term 'ce' is not "
	                                     "finite"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "use --force to retrain it"));
	CU_ASSERT_EQUAL(train(&p->runs[0], 0, 1, &r, &e), SNM_ENUMERIC);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.superseded, ".superseded-"));
	CU_ASSERT_EQUAL(access(r.superseded, F_OK), 0);
	snm_pipeline_free(p);
}

/* A finite loss whose gradients overflow Adam's second moment (a reconstruction weight of 1e30:
 * g^2 is infinite in float) would freeze those parameters for good; the run stops after the
 * epoch instead, saving nothing of it, and is marked failed. */
static void test_nonfinite_state(void)
{
	char text[2048], dir[1024], *status = NULL;
	snm_pipeline *p = NULL;
	snm_run_result r;
	snm_error e;
	int64_t epoch = -1;
	snprintf(dir, sizeof dir, "%s/overflow", tmp);
	snprintf(text, sizeof text, base_yaml, dir, "0.01");
	strcpy(strstr(text, "{type: recon, targets: xz}"), "{type: recon, targets: xz, weight: 1e30}\n");
	CU_ASSERT_EQUAL_FATAL(snm_pipeline_load(write_file("overflow.yaml", text), NULL, &p, &e), SNM_OK);
	CU_ASSERT_EQUAL(train(&p->runs[0], 0, 0, &r, &e), SNM_ENUMERIC);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "tiny/base/n4/set1: epoch 1: Adam's second moment of '"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "is not finite after step 2 (the loss was finite)"));
	CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "which keeps the checkpoint of no epoch (the initial state)"));
	/* no epoch was saved: the file marks the run failed, at epoch 0 */
	CU_ASSERT_EQUAL(snm_store_get_str(p->runs[0].result_path, "status", &status, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(status, "failed");
	free(status);
	CU_ASSERT_EQUAL(snm_store_get_int(p->runs[0].result_path, "epoch", &epoch, &e), SNM_OK);
	CU_ASSERT_EQUAL(epoch, 0);
	snm_pipeline_free(p);
}

/* The directories of a run file (fs.h): snm_mkparents makes those above a file, snm_mkdirs a
 * directory and those above it, both again without complaint; a file in the way is named, and
 * so is it when the trainer meets one above a run's file (nothing is trained). */
static void test_directories(void)
{
	char base[1024], path[1200], text[2048];
	snm_pipeline *p = NULL;
	snm_run_result r;
	snm_error e;
	struct stat st;
	FILE *f;
	snprintf(base, sizeof base, "%s/fs", tmp);
	snprintf(path, sizeof path, "%s/a/b/c.h5", base);
	CU_ASSERT_EQUAL(snm_mkparents(path, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_mkparents(path, &e), SNM_OK);
	snprintf(path, sizeof path, "%s/a/b", base);
	CU_ASSERT(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	snprintf(path, sizeof path, "%s/a/b/c.h5", base);
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);                 /* the file itself is not made */
	snprintf(path, sizeof path, "%s/d/e/", base);
	CU_ASSERT_EQUAL(snm_mkdirs(path, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_mkdirs(path, &e), SNM_OK);
	snprintf(path, sizeof path, "%s/d/e", base);
	CU_ASSERT(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	CU_ASSERT_EQUAL(snm_mkparents("plain.h5", &e), SNM_OK);     /* no directory above it */
	CU_ASSERT_EQUAL(snm_mkdirs("", &e), SNM_EINVAL);
	snprintf(path, sizeof path, "%s/a/b/c.h5", base);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	snprintf(path, sizeof path, "%s/a/b/c.h5/x/y.h5", base);
	CU_ASSERT_EQUAL(snm_mkparents(path, &e), SNM_EIO);
	snprintf(text, sizeof text, "%s/a/b/c.h5: cannot create directory: a file of that name is in the way",
	         base);
	CU_ASSERT_STRING_EQUAL(e.msg, text);
	snprintf(path, sizeof path, "%s/a/b/c.h5/x", base);
	CU_ASSERT_EQUAL(snm_mkdirs(path, &e), SNM_EIO);
	CU_ASSERT_STRING_EQUAL(e.msg, text);
	/* the trainer: results/tiny is a file */
	snprintf(path, sizeof path, "%s/blocked/tiny", tmp);
	CU_ASSERT_EQUAL_FATAL(snm_mkparents(path, &e), SNM_OK);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	p = tiny("blocked", "0.01");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(train(&p->runs[0], 0, 0, &r, &e), SNM_EIO);
	snprintf(text, sizeof text, "%s: cannot create directory: a file of that name is in the way", path);
	CU_ASSERT_STRING_EQUAL(e.msg, text);
	CU_ASSERT_NOT_EQUAL(access(p->runs[0].result_path, F_OK), 0);
	snm_pipeline_free(p);
}

/* A run is trained by one process at a time: while another holds "<result>.lock", snm_train
 * refuses at once and writes nothing; once the lock is free it trains, and a finished run leaves
 * no lock file behind. */
static void test_run_lock(void)
{
	char text[2048], dir[1024], lock[1200];
	snm_pipeline *p = NULL;
	snm_run_result r;
	snm_error e;
	int fd;
	snprintf(dir, sizeof dir, "%s/locked", tmp);
	snprintf(text, sizeof text, base_yaml, dir, "0.01");
	CU_ASSERT_EQUAL_FATAL(snm_pipeline_load(write_file("locked.yaml", text), NULL, &p, &e), SNM_OK);
	snprintf(lock, sizeof lock, "%s.lock", p->runs[0].result_path);
	CU_ASSERT_EQUAL(snm_mkparents(lock, &e), SNM_OK);
	fd = open(lock, O_RDWR | O_CREAT, 0666);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL_FATAL(flock(fd, LOCK_EX | LOCK_NB), 0);      /* "another process" */
	CU_ASSERT_EQUAL(train(&p->runs[0], 0, 0, &r, &e), SNM_ESTATE);
	CU_ASSERT_EQUAL(r.status, SNM_RUN_BUSY);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "tiny/base/n4/set1: another process is training this run"));
	CU_ASSERT_NOT_EQUAL(access(p->runs[0].result_path, F_OK), 0);
	close(fd);
	CU_ASSERT_EQUAL(train(&p->runs[0], 0, 0, &r, &e), SNM_OK);
	CU_ASSERT_EQUAL(r.status, SNM_RUN_TRAINED);
	CU_ASSERT_NOT_EQUAL(access(lock, F_OK), 0);
	snm_pipeline_free(p);
}

/* A refused run leaves no lock file behind: a directory where the result file should be, a file
 * that is not a run file, a run file of another configuration; nor does a stopped one. */
static void test_refused_no_lock(void)
{
	snm_pipeline *p = tiny("nolock", "0.01"), *q = tiny("nolock", "0.02");
	const char *path;
	char lock[1200];
	snm_run_result r;
	snm_error e;
	FILE *f;
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	path = p->runs[0].result_path;
	snprintf(lock, sizeof lock, "%s.lock", path);
	CU_ASSERT_EQUAL_FATAL(snm_mkdirs(path, &e), SNM_OK);             /* a directory in the way */
	CU_ASSERT_NOT_EQUAL(train(&p->runs[0], 0, 0, &r, &e), SNM_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
	CU_ASSERT_NOT_EQUAL(access(lock, F_OK), 0);
	CU_ASSERT_EQUAL(rmdir(path), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(path, "w"));              /* not a run file */
	fputs("not HDF5\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(train(&p->runs[0], 0, 0, &r, &e), SNM_EIO);
	CU_ASSERT_NOT_EQUAL(access(lock, F_OK), 0);
	CU_ASSERT_EQUAL(unlink(path), 0);
	CU_ASSERT_EQUAL(train(&p->runs[0], 2, 0, &r, &e), SNM_OK);        /* stopped after 2 epochs */
	CU_ASSERT_EQUAL(r.status, SNM_RUN_STOPPED);
	CU_ASSERT_NOT_EQUAL(access(lock, F_OK), 0);
	CU_ASSERT_EQUAL(train(&q->runs[0], 0, 0, &r, &e), SNM_ESTATE);   /* another configuration */
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "--force"));
	CU_ASSERT_NOT_EQUAL(access(lock, F_OK), 0);
	snm_pipeline_free(p);
	snm_pipeline_free(q);
}

/* With wait set, a run whose lock another process holds is taken once the lock is free, as that
 * process left it: here the "other process" (a child) finishes the run, so the wait ends in a
 * skip, and the lock file is gone. */
static void test_run_lock_wait(void)
{
	snm_pipeline *p = tiny("waited", "0.01");
	snm_trainer_opts o = { .threads = 1, .version = "test", .wait = 1 };
	char lock[1200], ready;
	int rc, pipefd[2], st;
	snm_run_result r;
	snm_error e;
	pid_t pid;
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	snprintf(lock, sizeof lock, "%s.lock", p->runs[0].result_path);
	CU_ASSERT_EQUAL_FATAL(snm_mkparents(lock, &e), SNM_OK);
	CU_ASSERT_EQUAL_FATAL(pipe(pipefd), 0);
	fflush(NULL);
	if ((pid = fork()) == 0) {           /* holds the lock, tells the parent, then trains the run */
		snm_trainer_opts c = { .threads = 1, .version = "test", .wait = 1 };
		int k = open(lock, O_RDWR | O_CREAT, 0666);
		if (k < 0 || flock(k, LOCK_EX) != 0 || write(pipefd[1], "x", 1) != 1)
			_exit(2);
		nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
		close(k);                        /* the child's own snm_train takes it again at once */
		_exit(snm_train(&p->runs[0], &c, NULL, &e) == SNM_OK ? 0 : 1);
	}
	CU_ASSERT_FATAL(pid > 0);
	close(pipefd[1]);
	CU_ASSERT_EQUAL(read(pipefd[0], &ready, 1), 1);
	close(pipefd[0]);
	rc = snm_train(&p->runs[0], &o, &r, &e);
	CU_ASSERT_EQUAL(waitpid(pid, &st, 0), pid);
	CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* the parent got the lock either after the child's whole run (skip) or in the moment between
	 * the child's two locks (then it trained the run, and the child, waiting too, skipped it) */
	CU_ASSERT_EQUAL(rc, SNM_OK);
	CU_ASSERT(r.status == SNM_RUN_SKIPPED || r.status == SNM_RUN_TRAINED);
	CU_ASSERT_NOT_EQUAL(access(lock, F_OK), 0);
	snm_pipeline_free(p);
}

/* A semi-supervised regularizer gets `unlabelled_batch` unlabelled rows at every step (the plugin
 * refuses any other count), and the unlabelled stream is part of the checkpoint: a resumed run
 * equals an uninterrupted one. */
static void test_unlabelled_stream(void)
{
	char text[2048], dir[1024];
	snm_pipeline *p[2] = { NULL, NULL };
	snm_run_result r;
	snm_error e;
	int n = 0;
	for (int k = 0; k < 2; ++k) {
		snprintf(dir, sizeof dir, "%s/semi%d", tmp, k);
		snprintf(text, sizeof text, base_yaml, dir, "0.01");
		strcpy(strstr(text, "{type: recon, targets: xz}"), "{type: semi, rows: 7}\n");
		strcpy(strstr(text, "eval_batch: 16}"), "eval_batch: 16, unlabelled_batch: 7}\n"
		       "grid: {per_class: [4], sets: 1}\nexperiments:\n  - name: base\n    noise: {type: semi, rows: 7}\n");
		CU_ASSERT_EQUAL_FATAL(snm_pipeline_load(write_file(k ? "semi1.yaml" : "semi0.yaml", text), NULL, &p[k], &e),
		                      SNM_OK);
	}
	CU_ASSERT_EQUAL_FATAL(train(&p[0]->runs[0], 0, 0, &r, &e), SNM_OK);
	CU_ASSERT_EQUAL(train(&p[1]->runs[0], 3, 0, &r, &e), SNM_OK);
	CU_ASSERT_EQUAL(r.status, SNM_RUN_STOPPED);
	CU_ASSERT_EQUAL(train(&p[1]->runs[0], 0, 0, &r, &e), SNM_OK);
	CU_ASSERT_EQUAL(r.status, SNM_RUN_RESUMED);
	CU_ASSERT_EQUAL(result_diffs(p[0]->runs[0].result_path, p[1]->runs[0].result_path, &n), 0);
	CU_ASSERT(n >= 20);
	snm_pipeline_free(p[0]);
	snm_pipeline_free(p[1]);
}

/* epoch: unlabelled sizes an epoch by the unlabelled stream: 90 training examples, 12 labelled,
 * so 78 in the stream, 7 a step: 12 steps an epoch (the labelled batches of 8 cycle through the
 * 12 labelled examples); a supervised regularizer with epoch: unlabelled is refused. */
static void test_unlabelled_epochs(void)
{
	char text[2048], dir[1024];
	snm_pipeline *p = NULL, *q = NULL;
	snm_run_result r;
	snm_error e;
	int64_t step = 0;
	snprintf(dir, sizeof dir, "%s/semi-epoch", tmp);
	snprintf(text, sizeof text, base_yaml, dir, "0.01");
	strcpy(strstr(text, "eval_batch: 16}"), "eval_batch: 16, unlabelled_batch: 7, epoch: unlabelled}\n"
	       "grid: {per_class: [4], sets: 1}\nexperiments:\n  - name: base\n    noise: {type: semi, rows: 7}\n");
	CU_ASSERT_EQUAL_FATAL(snm_pipeline_load(write_file("semi-epoch.yaml", text), NULL, &p, &e), SNM_OK);
	CU_ASSERT_EQUAL_FATAL(train(&p->runs[0], 0, 0, &r, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_store_get_int(p->runs[0].result_path, "step", &step, &e), SNM_OK);
	CU_ASSERT_EQUAL(step, 5 * 12);
	strcpy(strstr(text, "{type: semi, rows: 7}"), "{type: none}\n");
	CU_ASSERT_EQUAL_FATAL(snm_pipeline_load(write_file("semi-epoch2.yaml", text), NULL, &q, &e), SNM_OK);
	CU_ASSERT_EQUAL(train(&q->runs[0], 0, 1, &r, &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "epoch"));
	snm_pipeline_free(p);
	snm_pipeline_free(q);
}

/* train.bn_stats: evaluation normalises with statistics re-estimated over the labelled subset or
 * the unlabelled stream, so the running averages of training -- which model.bn_momentum changes,
 * and nothing else -- make no difference: two runs apart only in bn_momentum end with the same
 * metrics, weights and buffers (best and checkpoint), where with `running` their buffers differ.
 * train.steps sets the steps of an epoch (5 here, where one pass would take 3 labelled or 12
 * unlabelled batches); a stopped and resumed run equals an uninterrupted one; bn_stats on a model
 * without batch norm, or 'unlabelled' with a supervised regularizer, is refused naming the field. */
static const char bn_yaml[] =
	"name: tiny\n"
	"seed: 7\n"
	"results: %s\n"
	"defaults:\n"
	"  data: {type: synthetic, classes: 3, per_class: 30, size: 8}\n"
	"  model: {type: convnet, preset: custom, batchnorm: %s, bn_momentum: %s,\n"
	"          layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}\n"
	"  train: {epochs: 3, batch: 4, unlabelled_batch: 7, steps: 5, lr: 0.01, eval_batch: 16,\n"
	"          bn_stats: %s}\n"
	"grid: {per_class: [4], sets: 1}\n"
	"experiments:\n"
	"  - name: base\n"
	"    noise: %s\n";

static snm_pipeline *bn_pipeline(const char *results, const char *bn, const char *momentum,
                                 const char *kind, const char *noise)
{
	char text[2048], dir[1024], name[128];
	snm_pipeline *p = NULL;
	snm_error e;
	snprintf(dir, sizeof dir, "%s/%s", tmp, results);
	snprintf(text, sizeof text, bn_yaml, dir, bn, momentum, kind, noise);
	snprintf(name, sizeof name, "%s.yaml", results);
	if (snm_pipeline_load(write_file(name, text), NULL, &p, &e) != SNM_OK)
		fprintf(stderr, "load: %s\n", e.msg);
	return p;
}

static void test_bn_stats(void)
{
	static const char *const kinds[3] = { "running", "labelled", "unlabelled" };
	static const char semi[] = "{type: semi, rows: 7}";
	snm_pipeline *p[2], *q;
	snm_run_result r;
	snm_error e;
	int64_t step = 0;
	int n = 0;
	char name[64], refit[2][1100];
	for (int k = 0; k < 3; ++k) {
		for (int m = 0; m < 2; ++m) {
			snprintf(name, sizeof name, "bn-%s%d", kinds[k], m);
			p[m] = bn_pipeline(name, "true", m ? "0.5" : "0.1", kinds[k], semi);
			CU_ASSERT_PTR_NOT_NULL_FATAL(p[m]);
			if (train(&p[m]->runs[0], 0, 0, &r, &e) != SNM_OK)
				fprintf(stderr, "bn_stats %s: %s\n", kinds[k], e.msg);
			CU_ASSERT_EQUAL(r.status, SNM_RUN_TRAINED);
		}
		CU_ASSERT_EQUAL(snm_store_get_int(p[0]->runs[0].result_path, "step", &step, &e), SNM_OK);
		CU_ASSERT_EQUAL(step, 3 * 5);
		if (k == 0) {
			CU_ASSERT(result_diffs(p[0]->runs[0].result_path, p[1]->runs[0].result_path, &n) > 0);
		} else {
			CU_ASSERT_EQUAL(result_diffs(p[0]->runs[0].result_path, p[1]->runs[0].result_path, &n), 0);
		}
		CU_ASSERT(n >= 20);
		if (k > 0)
			snprintf(refit[k - 1], sizeof refit[k - 1], "%s", p[0]->runs[0].result_path);
		if (k == 2) {                       /* stopped after an epoch and resumed */
			q = bn_pipeline("bn-unlabelled-resumed", "true", "0.1", kinds[k], semi);
			CU_ASSERT_PTR_NOT_NULL_FATAL(q);
			CU_ASSERT_EQUAL(train(&q->runs[0], 1, 0, &r, &e), SNM_OK);
			CU_ASSERT_EQUAL(r.status, SNM_RUN_STOPPED);
			CU_ASSERT_EQUAL(train(&q->runs[0], 0, 0, &r, &e), SNM_OK);
			CU_ASSERT_EQUAL(r.status, SNM_RUN_RESUMED);
			CU_ASSERT_EQUAL(result_diffs(p[0]->runs[0].result_path, q->runs[0].result_path, &n), 0);
			snm_pipeline_free(q);
		}
		snm_pipeline_free(p[0]);
		snm_pipeline_free(p[1]);
	}
	/* the two sources give other statistics, hence other evaluations */
	CU_ASSERT(result_diffs(refit[0], refit[1], &n) > 0);
	/* refused by snm_train and, before any training, by snm_run_check (`snm check`) */
	q = bn_pipeline("bn-refused1", "true", "0.1", "unlabelled", "{type: none}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_EQUAL(train(&q->runs[0], 0, 1, &r, &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "bn_stats"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "unlabelled data"));
	CU_ASSERT_EQUAL(snm_run_check(&q->runs[0], NULL, NULL, &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "unlabelled data"));
	snm_pipeline_free(q);
	q = bn_pipeline("bn-refused2", "false", "0.1", "labelled", "{type: none}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_EQUAL(train(&q->runs[0], 0, 1, &r, &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "bn_stats"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no batch normalisation"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "bn-refused2.yaml:"));
	CU_ASSERT_EQUAL(snm_run_check(&q->runs[0], NULL, NULL, &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no batch normalisation"));
	snm_pipeline_free(q);
}

/* ---- the plugin ABI's runner side: epoch and step, plugin state, old minors ---------------------- */

/* The tiny pipeline with results under tmp/<results> and its noise section replaced by `noise`
 * (a flow mapping), written to tmp/<results>.yaml and loaded. */
static snm_pipeline *tiny_noise(const char *results, const char *noise)
{
	char text[4096], dir[1024], name[128], *at;
	snm_pipeline *p = NULL;
	snm_error e;
	snprintf(dir, sizeof dir, "%s/%s", tmp, results);
	snprintf(text, sizeof text, base_yaml, dir, "0.01");
	at = strstr(text, "{type: recon, targets: xz}");
	snprintf(at, sizeof text - (size_t)(at - text), "%s\n", noise);
	snprintf(name, sizeof name, "%s.yaml", results);
	if (snm_pipeline_load(write_file(name, text), NULL, &p, &e) != SNM_OK)
		fprintf(stderr, "load: %s\n", e.msg);
	return p;
}

/* train.numerics (snm/tape.h): a run of version 2 records it (attribute numerics; 1 where the
 * pipeline says nothing), repeats bit for bit, and its Gaussian noise (random: snm_randn on z)
 * differs from version 1's, so the training differs. */
static void test_numerics(void)
{
	snm_pipeline *p[3] = { tiny_noise("num1", "{type: random, sd: 0.5}"),
	                       tiny_noise("num2a", "{type: random, sd: 0.5}\n    train: {numerics: 2}"),
	                       tiny_noise("num2b", "{type: random, sd: 0.5}\n    train: {numerics: 2}") };
	snm_run_result r;
	snm_error e;
	int64_t v[3] = { 0, 0, 0 };
	int n = 0;
	for (int i = 0; i < 3; ++i) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(p[i]);
		CU_ASSERT_EQUAL_FATAL(train(&p[i]->runs[0], 0, 0, &r, &e), SNM_OK);
		CU_ASSERT_EQUAL(snm_store_get_int(p[i]->runs[0].result_path, "numerics", &v[i], &e), SNM_OK);
	}
	CU_ASSERT_EQUAL(v[0], 1);
	CU_ASSERT_EQUAL(v[1], 2);
	CU_ASSERT_NOT_EQUAL(p[0]->runs[0].config_hash, p[1]->runs[0].config_hash);
	CU_ASSERT_EQUAL(result_diffs(p[1]->runs[0].result_path, p[2]->runs[0].result_path, &n), 0);
	CU_ASSERT(n >= 20);
	CU_ASSERT(result_diffs(p[0]->runs[0].result_path, p[1]->runs[0].result_path, &n) > 0);
	for (int i = 0; i < 3; ++i)
		snm_pipeline_free(p[i]);
}

/* A regularizer with several updates (ABI 1.3: vib_hcp with D_a and D_c, three Adam states on
 * vibnet): stopped after 1 epoch and resumed, its run ends bitwise equal to an uninterrupted one,
 * every Adam state included (/checkpoint/optim/<update>/m, v and the root step.<update>); the
 * discriminators' step counts equal the run's; and with `test: checkpoints` the least test error
 * at the test epochs is recorded beside test_at_best. */
static const char vib_yaml[] =
	"name: tiny\n"
	"seed: 7\n"
	"results: %s\n"
	"defaults:\n"
	"  data: {type: synthetic, classes: 3, per_class: 30, size: 8}\n"
	"  model: {type: vibnet, latent: linear, a_dim: 12, hidden: 8}\n"
	"  train: {epochs: 3, batch: 6, unlabelled_batch: 6, epoch: unlabelled, lr: 0.001, eval_batch: 16,\n"
	"          test: checkpoints}\n"
	"grid: {per_class: [4], sets: 1}\n"
	"experiments:\n"
	"  - name: base\n"
	"    noise: {type: vib_hcp, alpha_c: 0.005, alpha_a: 0.0005}\n";

static void test_updates_resume_bitwise(void)
{
	char text[2048], dir[1024];
	snm_pipeline *p[2] = { NULL, NULL };
	snm_run_result r;
	snm_metrics *m = NULL;
	snm_error e;
	int64_t step = -1, step_da = -2, step_dc = -3;
	int n = 0;
	for (int k = 0; k < 2; ++k) {
		snprintf(dir, sizeof dir, "%s/vib%d", tmp, k);
		snprintf(text, sizeof text, vib_yaml, dir);
		CU_ASSERT_EQUAL_FATAL(snm_pipeline_load(write_file(k ? "vib1.yaml" : "vib0.yaml", text), NULL, &p[k], &e),
		                      SNM_OK);
	}
	if (train(&p[0]->runs[0], 0, 0, &r, &e) != SNM_OK)
		fprintf(stderr, "vib: %s\n", e.msg);
	CU_ASSERT_EQUAL_FATAL(r.status, SNM_RUN_TRAINED);
	CU_ASSERT_EQUAL(train(&p[1]->runs[0], 1, 0, &r, &e), SNM_OK);
	CU_ASSERT_EQUAL(r.status, SNM_RUN_STOPPED);
	CU_ASSERT_EQUAL(train(&p[1]->runs[0], 0, 0, &r, &e), SNM_OK);
	CU_ASSERT_EQUAL(r.status, SNM_RUN_RESUMED);
	CU_ASSERT_EQUAL(result_diffs(p[0]->runs[0].result_path, p[1]->runs[0].result_path, &n), 0);
	CU_ASSERT(n >= 60);
	/* 78 training examples outside the 12 labelled, 6 a step: 13 steps an epoch, each update once */
	CU_ASSERT_EQUAL(snm_store_get_int(p[1]->runs[0].result_path, "step", &step, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_store_get_int(p[1]->runs[0].result_path, "step.d_a", &step_da, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_store_get_int(p[1]->runs[0].result_path, "step.d_c", &step_dc, &e), SNM_OK);
	CU_ASSERT_EQUAL(step, 3 * 13);
	CU_ASSERT_EQUAL(step_da, step);
	CU_ASSERT_EQUAL(step_dc, step);
	CU_ASSERT_EQUAL_FATAL(snm_store_read_metrics(p[1]->runs[0].result_path, &m, &e), SNM_OK);
	CU_ASSERT(snm_metrics_find(m, "loss.d_a") >= 0 && snm_metrics_find(m, "loss.d_c") >= 0
	          && snm_metrics_find(m, "loss.ce") >= 0 && snm_metrics_find(m, "loss.g_a") >= 0
	          && snm_metrics_find(m, "loss.g_c") >= 0);
	if (snm_metrics_find(m, "min_test_error") >= 0) {
		double least = INFINITY;
		int c = snm_metrics_find(m, "test_error");
		for (size_t i = 0; i < snm_metrics_rows(m); ++i) {   /* epochs 1..3 are all test epochs */
			CU_ASSERT(!isnan(snm_metrics_get(m, i, c)));
			least = fmin(least, snm_metrics_get(m, i, c));
		}
		CU_ASSERT_EQUAL(snm_metrics_get(m, snm_metrics_rows(m) - 1, snm_metrics_find(m, "min_test_error")), least);
	} else {
		CU_FAIL("no min_test_error column with test: checkpoints");
	}
	snm_metrics_free(m);
	snm_pipeline_free(p[0]);
	snm_pipeline_free(p[1]);
}

/* One line of ramp_noise's log: what its objective was told, and its own counter. */
typedef struct ramp_line { int epoch, n_epochs; long long step, per_epoch; double count, w; } ramp_line;

/* Reads up to max lines of the log at path into l; returns how many. */
static int read_ramp_log(const char *path, ramp_line *l, int max)
{
	FILE *f = fopen(path, "r");
	int n = 0;
	if (f == NULL)
		return 0;
	while (n < max && fscanf(f, "%d %lld %lld %d %lf %lf", &l[n].epoch, &l[n].step, &l[n].per_epoch,
	                         &l[n].n_epochs, &l[n].count, &l[n].w) == 6)
		++n;
	fclose(f);
	return n;
}

/* The weight ramp_noise uses in epoch e (weight 0.5, ramp 3), as the float it computes. */
static double ramp_w(int e)
{
	return (float)(0.5 * fmin(1.0, (e + 1.0) / 3.0));
}

/* The tiny run's 12 examples in batches of 8: 2 steps an epoch, 5 epochs.  Line k of the log is
 * step k: epoch k / 2, 2 steps an epoch, 5 epochs, the weight of that epoch; with nothing lost
 * the plugin's own counter equals the step. */
static int check_ramp_lines(const ramp_line *l, int n, int want_count)
{
	int bad = 0;
	for (int k = 0; k < n; ++k)
		if (l[k].step != k || l[k].epoch != k / 2 || l[k].per_epoch != 2 || l[k].n_epochs != 5
		    || (float)l[k].w != (float)ramp_w(k / 2) || (want_count && l[k].count != (double)k)) {
			fprintf(stderr, "ramp log line %d: epoch %d step %lld per_epoch %lld n_epochs %d count %g "
			        "w %g\n", k, l[k].epoch, l[k].step, l[k].per_epoch, l[k].n_epochs, l[k].count, l[k].w);
			++bad;
		}
	return bad;
}

/* The objective of an ABI 1.2 plugin (objective_at alone) is told the epoch (0-based) and the
 * global step at every step: the plugin's log shows them, and the weight it ramps by epoch shows in
 * the metrics (its term `w`, one value per epoch). */
static void test_progress_reaches_objective(void)
{
	char log[1024], noise[1200];
	ramp_line l[32];
	snm_run_result r;
	snm_metrics *m = NULL;
	snm_error e;
	int64_t step = 0;
	snprintf(log, sizeof log, "%s/ramp-progress.log", tmp);
	snprintf(noise, sizeof noise, "{type: ramp, log: '%s'}", log);
	snm_pipeline *p = tiny_noise("ramp-progress", noise);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(train(&p->runs[0], 0, 0, &r, &e), SNM_OK);
	CU_ASSERT_EQUAL(r.status, SNM_RUN_TRAINED);
	CU_ASSERT_EQUAL(read_ramp_log(log, l, 32), 10);
	CU_ASSERT_EQUAL(check_ramp_lines(l, 10, 1), 0);
	CU_ASSERT_EQUAL(snm_store_get_int(p->runs[0].result_path, "step", &step, &e), SNM_OK);
	CU_ASSERT_EQUAL(step, 10);
	CU_ASSERT_EQUAL_FATAL(snm_store_read_metrics(p->runs[0].result_path, &m, &e), SNM_OK);
	int cw = snm_metrics_find(m, "loss.w"), ce = snm_metrics_find(m, "epoch");
	CU_ASSERT_FATAL(cw >= 0 && ce >= 0);
	CU_ASSERT_EQUAL(snm_metrics_rows(m), 5);
	for (size_t k = 0; k < snm_metrics_rows(m); ++k) {
		CU_ASSERT_EQUAL(snm_metrics_get(m, k, ce), (double)k);
		CU_ASSERT_EQUAL(snm_metrics_get(m, k, cw), ramp_w((int)k));   /* 1/6, 1/3, 1/2, 1/2, 1/2 */
	}
	snm_metrics_free(m);
	snm_pipeline_free(p);
}

/* One float dataset of a result file (a checkpointed buffer); NAN when it cannot be read. */
static double read_float(const char *path, const char *name)
{
	hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d;
	float v = NAN;
	if (f < 0)
		return NAN;
	if ((d = H5Dopen2(f, name, H5P_DEFAULT)) >= 0) {
		if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0)
			v = NAN;
		H5Dclose(d);
	}
	H5Fclose(f);
	return v;
}

/* A stateful regularizer (a moving average that enters its loss, and a step counter) that keeps its
 * state as buffers in the parameter registry: stopped after 2 epochs and resumed, its run ends
 * bitwise equal to the uninterrupted one, the checkpoint holds the buffers, and its counter goes on
 * from where it stopped.  The control: the same plugin with its state in its own memory (keep:
 * false) resumes with that state reset, and the files differ -- what the first half would show if
 * buffers were not checkpointed. */
static void test_plugin_state_resumes_bitwise(void)
{
	char log[1024], noise[1200];
	ramp_line l[32];
	snm_run_result r;
	snm_error e;
	int n = 0;
	snprintf(log, sizeof log, "%s/ramp-state.log", tmp);
	for (int keep = 1; keep >= 0; --keep) {
		snm_pipeline *a, *b;
		snprintf(noise, sizeof noise, "{type: ramp, keep: %s, log: '%s'}", keep ? "true" : "false", log);
		a = tiny_noise(keep ? "ramp-a" : "ramp-c", noise);
		b = tiny_noise(keep ? "ramp-b" : "ramp-d", noise);
		CU_ASSERT_PTR_NOT_NULL_FATAL(a);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_EQUAL(a->runs[0].config_hash, b->runs[0].config_hash);
		unlink(log);
		CU_ASSERT_EQUAL_FATAL(train(&a->runs[0], 0, 0, &r, &e), SNM_OK);
		CU_ASSERT_EQUAL(read_ramp_log(log, l, 32), 10);
		CU_ASSERT_EQUAL(check_ramp_lines(l, 10, 1), 0);
		unlink(log);
		CU_ASSERT_EQUAL_FATAL(train(&b->runs[0], 2, 0, &r, &e), SNM_OK);
		CU_ASSERT_EQUAL(r.status, SNM_RUN_STOPPED);
		if (keep) {
			/* the checkpoint after epoch 2 holds the buffers: 4 steps counted, a moving average */
			CU_ASSERT_EQUAL(read_float(b->runs[0].result_path, "/checkpoint/params/ramp.count"), 4.0);
			double ema = read_float(b->runs[0].result_path, "/checkpoint/params/ramp.ema");
			CU_ASSERT(isfinite(ema) && ema > 0);
		}
		CU_ASSERT_EQUAL_FATAL(train(&b->runs[0], 0, 0, &r, &e), SNM_OK);
		CU_ASSERT_EQUAL(r.status, SNM_RUN_RESUMED);
		CU_ASSERT_EQUAL(read_ramp_log(log, l, 32), 10);
		/* epochs and steps go on across the resume; the counter too, unless it was lost */
		CU_ASSERT_EQUAL(check_ramp_lines(l, 10, keep), 0);
		if (!keep)
			CU_ASSERT_EQUAL(l[4].count, 0.0);
		int d = result_diffs(a->runs[0].result_path, b->runs[0].result_path, &n);
		if (keep) {
			CU_ASSERT_EQUAL(d, 0);
			CU_ASSERT(n >= 20);
		} else {
			CU_ASSERT(d > 0);
		}
		snm_pipeline_free(a);
		snm_pipeline_free(b);
	}
	unlink(log);
}

/* Plugins built for ABI 1.0 and 1.1, whose vtables end before objective_at, train through their
 * objective (resume included). */
static void test_old_minor_plugins_train(void)
{
	const char *names[2] = { "oldminor", "oldminor1" };
	for (int k = 0; k < 2; ++k) {
		char noise[64], res[64];
		snm_run_result r;
		snm_error e;
		snprintf(noise, sizeof noise, "{type: %s}", names[k]);
		snprintf(res, sizeof res, "old-%s", names[k]);
		snm_pipeline *p = tiny_noise(res, noise);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CU_ASSERT_EQUAL(train(&p->runs[0], 2, 0, &r, &e), SNM_OK);
		CU_ASSERT_EQUAL(r.status, SNM_RUN_STOPPED);
		CU_ASSERT_EQUAL(train(&p->runs[0], 0, 0, &r, &e), SNM_OK);
		CU_ASSERT_EQUAL(r.status, SNM_RUN_RESUMED);
		CU_ASSERT_EQUAL(r.epochs, 5);
		snm_pipeline_free(p);
	}
}

/* Each bad pipeline fails to load with "bad.yaml:L:C:" and the expected words. */
static void test_yaml_errors(void)
{
	static const struct { const char *text, *where, *what; } cases[] = {
		{ "name: x\nexperiment: []\n", "bad.yaml:2:1:", "unknown key 'experiment'" },
		{ "name: x\nseed: abc\n", "bad.yaml:2:7:", "expected" },
		{ "name: x\nexperiments:\n  - name: a\n    noise: {type: nosuch}\n    data: {type: synthetic}\n"
		  "    model: {type: convnet}\n    grid: {per_class: [2]}\n", "bad.yaml:4:", "no noise plugin named 'nosuch'" },
		{ "name: x\ndefaults:\n  data: {type: synthetic, sise: 3}\n  model: {type: convnet}\n  noise: {type: none}\n"
		  "grid: {per_class: [2]}\nexperiments: [{name: a}]\n", "bad.yaml:3:27:", "unknown key 'sise'" },
		{ "name: x\ndefaults:\n  data: {type: synthetic}\n  model: {type: convnet}\n  noise: {type: none}\n"
		  "  train: {epochs: many}\ngrid: {per_class: [2]}\nexperiments: [{name: a}]\n", "bad.yaml:6:19:", "'epochs'" },
		{ "name: x\ndefaults:\n  data: {type: synthetic}\n  model: {type: convnet}\n  noise: {type: none}\n"
		  "  train: {lr: -1}\ngrid: {per_class: [2]}\nexperiments: [{name: a}]\n", "bad.yaml:6:15:", "'lr'" },
		{ "name: x\ndefaults:\n  data: {type: synthetic}\n  model: {type: convnet}\n  noise: {type: none}\n"
		  "  train: {numerics: 3}\ngrid: {per_class: [2]}\nexperiments: [{name: a}]\n", "bad.yaml:6:21:",
		  "'numerics': expected an integer in [1, 2]" },
		{ "name: x\ndefaults:\n  data: {type: synthetic}\n  model: {type: convnet}\n  noise: {type: none}\n"
		  "grid: {per_class: [2]}\nexperiments: [{name: a}, {name: a}]\n", "bad.yaml:7:", "defined twice" },
		{ "name: x\ndefaults:\n  data: {type: synthetic}\n  model: {type: convnet}\n  noise: {type: none}\n"
		  "grid: {per_class: [0]}\nexperiments: [{name: a}]\n", "bad.yaml:6:20:", "per_class" },
		{ "include: [missing.yaml]\n", "bad.yaml:1:11:", "cannot open included pipeline" },
		{ "include: [bad.yaml]\n", "bad.yaml:1:11:", "includes itself" },
		{ "name: x\nexperiments: [{name: a, nois: {}}]\n", "bad.yaml:2:25:", "unknown key 'nois'" },
		{ "name: x\n  seed: 1\n", "bad.yaml:2:", "" },
		/* an empty results directory would put the run files under / */
		{ "name: x\nresults: ''\n", "bad.yaml:2:10:", "'results': an empty directory name" },
		/* epochs beyond the trainer's int: refused, not wrapped */
		{ "name: x\ndefaults:\n  data: {type: synthetic}\n  model: {type: convnet}\n  noise: {type: none}\n"
		  "  train: {epochs: 4294967299}\ngrid: {per_class: [2]}\nexperiments: [{name: a}]\n", "bad.yaml:6:",
		  "'epochs': expected an integer in [1, 1000000]" },
		/* "." and ".." would put the run files outside the results directory */
		{ "name: ..\ndefaults:\n  data: {type: synthetic}\n  model: {type: convnet}\n  noise: {type: none}\n"
		  "grid: {per_class: [2]}\nexperiments: [{name: a}]\n", "bad.yaml:1:7:", "not '.' or '..' (got '..')" },
		{ "name: x\ndefaults:\n  data: {type: synthetic}\n  model: {type: convnet}\n  noise: {type: none}\n"
		  "grid: {per_class: [2]}\nexperiments: [{name: .}]\n", "bad.yaml:7:22:", "not '.' or '..' (got '.')" },
		/* a section or grid that is not a mapping is an error, never the defaults in its place */
		{ "name: x\ndefaults:\n  data: {type: synthetic}\n  model: {type: convnet}\n  noise: {type: none}\n"
		  "  train: 1\ngrid: {per_class: [2]}\nexperiments: [{name: a}]\n", "bad.yaml:6:10:",
		  "'train': expected a mapping" },
		{ "name: x\ndefaults:\n  data: {type: synthetic}\n  model: {type: convnet}\n"
		  "grid: {per_class: [2]}\nexperiments: [{name: a, noise: recon}]\n", "bad.yaml:6:32:",
		  "'noise': expected a mapping" },
		{ "name: x\ndefaults:\n  data: {type: synthetic}\n  model: {type: convnet}\n  noise: {type: none}\n"
		  "grid: {per_class: [2]}\nexperiments: [{name: a, grid: 5}]\n", "bad.yaml:7:31:",
		  "'grid': expected a mapping" },
		{ "name: x\ndefaults: [1]\n", "bad.yaml:2:11:", "'defaults': expected a mapping" },
		{ "name: x\nexperiments: foo\n", "bad.yaml:2:14:", "'experiments': expected a list" },
		{ "name: x\ndefaults:\n  data: {type: synthetic}\n  model: {type: convnet}\n  noise: {type: none}\n"
		  "grid: {per_class: [2], sets: 1001}\nexperiments: [{name: a}]\n", "bad.yaml:6:30:",
		  "at most 1000 random sets" },
		{ "name: nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\n"
		  "experiments: [{name: a}]\n", "bad.yaml:1:7:", "up to 64 letters" },
		{ "include: ['']\n", "bad.yaml:1:11:", "expected a file name" },
		{ "include: [.]\n", "bad.yaml:1:11: included: ", "Is a directory" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
		snm_pipeline *p = NULL;
		snm_error e;
		char path[1024];
		snprintf(path, sizeof path, "%s", write_file("bad.yaml", cases[i].text));
		snm_error_clear(&e);
		CU_ASSERT_NOT_EQUAL(snm_pipeline_load(path, NULL, &p, &e), SNM_OK);
		CU_ASSERT_PTR_NULL(p);
		if (strstr(e.msg, cases[i].where) == NULL || strstr(e.msg, cases[i].what) == NULL) {
			CU_FAIL("wrong message");
			fprintf(stderr, "case %zu: want '%s' ... '%s', got: %s\n", i, cases[i].where, cases[i].what, e.msg);
		}
		CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
	}
}

/* Pipelines of many runs: the duplicate check is a hash table (it compared every run with every
 * one before it, 1.4 s for the 20000 runs allowed), so check that it still finds the same run
 * written twice, merges it when the configuration is the same, and keeps every run. */
static void test_many_runs(void)
{
	static const char grid[] = "grid: {per_class: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, "
	                           "16, 17, 18, 19, 20], sets: %d}\n";
	static const char head[] = "name: x\ndefaults:\n  data: {type: synthetic}\n  model: {type: convnet}\n"
	                           "  noise: {type: none}\n";
	char buf[1024], g[256];
	snm_pipeline *p = NULL;
	snm_error e;
	snprintf(g, sizeof g, grid, 1000);
	snprintf(buf, sizeof buf, "%s%sexperiments: [{name: a}]\n", head, g);
	CU_ASSERT_EQUAL_FATAL(snm_pipeline_load(write_file("many.yaml", buf), NULL, &p, &e), SNM_OK);
	CU_ASSERT_EQUAL(p->n_runs, 20000);
	CU_ASSERT_STRING_EQUAL(p->runs[0].key, "x/a/n1/set1");
	CU_ASSERT_STRING_EQUAL(p->runs[19999].key, "x/a/n20/set1000");
	snm_pipeline_free(p);
	p = NULL;
	/* 2000 runs, then the same run once more: the same configuration is one run ... */
	snprintf(g, sizeof g, grid, 100);
	snprintf(buf, sizeof buf, "%s%sexperiments: [{name: a}]\n", head, g);
	write_file("some.yaml", buf);
	snprintf(buf, sizeof buf, "%sgrid: {per_class: [7], sets: 1}\nexperiments: [{name: a}]\n", head);
	write_file("same.yaml", buf);
	CU_ASSERT_EQUAL_FATAL(snm_pipeline_load(write_file("top.yaml", "include: [some.yaml, same.yaml]\n"),
	                                        NULL, &p, &e), SNM_OK);
	CU_ASSERT_EQUAL(p->n_runs, 2000);
	snm_pipeline_free(p);
	p = NULL;
	/* ... another is an error naming both places */
	snprintf(buf, sizeof buf, "%sgrid: {per_class: [7], sets: 1}\nexperiments: [{name: a, train: {lr: 0.1}}]\n",
	         head);
	write_file("other.yaml", buf);
	CU_ASSERT_EQUAL(snm_pipeline_load(write_file("top.yaml", "include: [some.yaml, other.yaml]\n"), NULL,
	                                  &p, &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "run 'x/a/n7/set1' is defined twice with different configurations"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "some.yaml:6:"));
}

static void test_data_errors_before_training(void)
{
	static const char text[] =
		"name: x\nresults: %s/f\ndefaults:\n  data: {type: idx, dir: /nonexistent/dir}\n  model: {type: convnet}\n"
		"  noise: {type: none}\ngrid: {per_class: [2]}\nexperiments: [{name: a}]\n";
	char buf[1024];
	snm_pipeline *p = NULL;
	snm_data_cache cache = { NULL, 0, 0, NULL };
	snm_data_source *ds;
	snm_error e;
	snprintf(buf, sizeof buf, text, tmp);
	CU_ASSERT_EQUAL_FATAL(snm_pipeline_load(write_file("nodata.yaml", buf), NULL, &p, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_data_cache_get(&cache, p->runs[0].data_type, p->runs[0].data, p->runs[0].data_key,
	                                   &ds, &e), SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "nodata.yaml:4:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "/nonexistent/dir"));
	snm_data_cache_clear(&cache);
	snm_pipeline_free(p);
}

static void test_h5dump_reads_result(void)
{
	snm_pipeline *p = tiny("a", "0.01");
	char cmd[1200], line[4096];
	int seen[6] = { 0 };
	static const char *want[6] = { "ATTRIBUTE \"config_hash\"", "ATTRIBUTE \"status\"", "\"finished\"",
	                               "DATASET \"valid_error\"", "GROUP \"best\"", "DATASET \"enc.c1.w\"" };
	FILE *f;
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	if (access("/usr/bin/h5dump", X_OK) != 0) {
		snm_test_skip("h5dump not installed (./bootstrap installs hdf5-tools)");
		snm_pipeline_free(p);
		return;
	}
	snprintf(cmd, sizeof cmd, "h5dump -A '%s'", p->runs[0].result_path);
	f = popen(cmd, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (fgets(line, sizeof line, f))
		for (int k = 0; k < 6; ++k)
			seen[k] |= strstr(line, want[k]) != NULL;
	CU_ASSERT_EQUAL(pclose(f), 0);
	for (int k = 0; k < 6; ++k)
		if (!seen[k]) {
			CU_FAIL("h5dump output lacks an expected name");
			fprintf(stderr, "missing: %s\n", want[k]);
		}
	snm_pipeline_free(p);
}

static int suite_init(void)
{
	return snm_test_tmpdir(tmp, sizeof tmp, "runner") == NULL;
}

static int suite_clean(void)
{
	return snm_test_rmtree(tmp) != 0;
}

static CU_TestInfo tests[] = {
	{ "determinism_and_resume", test_determinism_and_resume },
	{ "interrupt", test_interrupt },
	{ "resume_other_threads", test_resume_other_threads },
	{ "changed_config_refused", test_changed_config_refused },
	{ "truncated_checkpoint", test_truncated_checkpoint },
	{ "nonfinite_loss", test_nonfinite_loss },
	{ "nonfinite_state", test_nonfinite_state },
	{ "run_lock", test_run_lock },
	{ "refused_no_lock", test_refused_no_lock },
	{ "run_lock_wait", test_run_lock_wait },
	{ "directories", test_directories },
	{ "unlabelled_stream", test_unlabelled_stream },
	{ "unlabelled_epochs", test_unlabelled_epochs },
	{ "bn_stats", test_bn_stats },
	{ "progress_reaches_objective", test_progress_reaches_objective },
	{ "plugin_state_resumes_bitwise", test_plugin_state_resumes_bitwise },
	{ "updates_resume_bitwise", test_updates_resume_bitwise },
	{ "old_minor_plugins_train", test_old_minor_plugins_train },
	{ "numerics", test_numerics },
	{ "yaml_errors", test_yaml_errors },
	{ "many_runs", test_many_runs },
	{ "data_errors_before_training", test_data_errors_before_training },
	{ "h5dump_reads_result", test_h5dump_reads_result },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "runner", suite_init, suite_clean, NULL, NULL, tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_runner", suites);
}
