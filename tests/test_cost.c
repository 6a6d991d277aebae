/* test_cost.c: the cost model's schedules and cache (src/run/cost.h).  Longest first: the order
 * (longest first, the earlier index among equals), every run on a worker in range, the makespan
 * the largest load, within the list-scheduling bound (total / N + the longest run) and at least
 * the lower bound (max(longest, total / N)), the same assignment for the same costs, and a
 * balanced split of equal runs; round robin as -j deals; the calibration cache read back as
 * written, entries of another machine kept and not used, a damaged cache one line naming the file
 * and line; the time left from measured epochs, each basis in its order, an epoch of another size
 * scaled by the work of an epoch, and without the work as before; each measured run counted at its
 * median epoch, read from its file (an epoch stretched by a pause priced as the others). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "run/cost.h"
#include "run/metrics.h"
#include "run/state.h"
#include "run/store.h"

static char tmp[512];

static int setup(void)
{
	return snm_test_tmpdir(tmp, sizeof tmp, "cost") ? 0 : -1;
}

static int teardown(void)
{
	snm_test_rmtree(tmp);
	return 0;
}

static void test_order(void)
{
	const double cost[6] = { 3, 9, NAN, 9, 1, 5 };
	int order[6], want[6] = { 1, 3, 5, 0, 4, 2 };
	snm_cost_order(cost, 6, order);
	for (int i = 0; i < 6; ++i)
		CU_ASSERT_EQUAL(order[i], want[i]);
}

static void test_lpt(void)
{
	double cost[200];
	int w1[200], w2[200];
	unsigned s = 12345;
	for (int n = 1; n <= 200; n += 17)
		for (int workers = 1; workers <= 9; workers += 2) {
			double total = 0, longest = 0, load[9] = { 0 }, span, top = 0;
			for (int i = 0; i < n; ++i) {
				s = s * 1103515245u + 12345u;
				cost[i] = 1 + (s >> 16) % 1000;
				total += cost[i];
				longest = fmax(longest, cost[i]);
			}
			span = snm_cost_lpt(cost, n, workers, w1);
			CU_ASSERT_EQUAL(snm_cost_lpt(cost, n, workers, w2), span);
			for (int i = 0; i < n; ++i) {
				CU_ASSERT_FATAL(w1[i] >= 0 && w1[i] < workers);
				CU_ASSERT_EQUAL(w1[i], w2[i]);
				load[w1[i]] += cost[i];
			}
			for (int w = 0; w < workers; ++w)
				top = fmax(top, load[w]);
			CU_ASSERT_EQUAL(span, top);
			CU_ASSERT(span >= fmax(longest, total / workers) - 1e-9);
			CU_ASSERT(span <= total / workers + longest + 1e-9);
		}
	/* 12 equal runs on 4 workers: 3 each */
	for (int i = 0; i < 12; ++i)
		cost[i] = 10;
	CU_ASSERT_EQUAL(snm_cost_lpt(cost, 12, 4, w1), 30);
}

static void test_round_robin(void)
{
	const double cost[5] = { 1, 2, 3, 4, 5 };
	int w[5];
	CU_ASSERT_EQUAL(snm_cost_round_robin(cost, 5, 2, w), 9);    /* 1+3+5 against 2+4 */
	for (int i = 0; i < 5; ++i)
		CU_ASSERT_EQUAL(w[i], i % 2);
	CU_ASSERT_EQUAL(snm_cost_lpt(cost, 5, 2, NULL), 8);          /* 5+2+1 against 4+3 */
}

static void test_cache(void)
{
	char path[600];
	snm_cost_cache c, d;
	snm_cost_shape s;
	snm_error e;
	FILE *f;
	snprintf(path, sizeof path, "%s/sub/cost", tmp);
	setenv("SNM_COST_CACHE", path, 1);
	CU_ASSERT_EQUAL_FATAL(snm_cost_cache_open(&c, &e), SNM_OK);   /* none yet: empty */
	CU_ASSERT_EQUAL(c.n, 0);
	memset(&s, 0, sizeof s);
	s.epochs = 10;
	s.steps = 3;
	s.evaluated = 100;
	s.step_sig = 7;
	s.eval_sig = 8;
	CU_ASSERT(isnan(snm_cost_seconds(&c, &s, 1)));
	/* entries written by hand for this machine and build, and one of another machine */
	snm_cost_cache_free(&c);
	CU_ASSERT_EQUAL_FATAL(snm_cost_cache_open(&c, &e), SNM_OK);
	c.e = calloc(3, sizeof *c.e);
	c.n = c.cap = 3;
	c.e[0] = (snm_cost_entry){ 's', c.machine, c.build, 7, 1, 0.5, "step" };
	c.e[1] = (snm_cost_entry){ 'e', c.machine, c.build, 8, 1, 0.001, "eval" };
	c.e[2] = (snm_cost_entry){ 's', c.machine + 1, c.build, 7, 1, 99, "elsewhere" };
	c.dirty = 1;
	CU_ASSERT_EQUAL_FATAL(snm_cost_cache_save(&c, &e), SNM_OK);
	CU_ASSERT_EQUAL_FATAL(snm_cost_cache_open(&d, &e), SNM_OK);
	CU_ASSERT_EQUAL(d.n, 3);
	CU_ASSERT_STRING_EQUAL(d.e[2].label, "elsewhere");
	CU_ASSERT_DOUBLE_EQUAL(snm_cost_seconds(&d, &s, 1), 10 * (3 * 0.5 + 100 * 0.001), 1e-9);
	CU_ASSERT(isnan(snm_cost_seconds(&d, &s, 2)));              /* another thread count */
	snm_cost_cache_free(&c);
	snm_cost_cache_free(&d);
	/* a damaged line: one line naming the file and the line */
	f = fopen(path, "a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("s nonsense\n", f);
	fclose(f);
	CU_ASSERT_EQUAL(snm_cost_cache_open(&d, &e), SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, ":5: not a cost entry"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
	unsetenv("SNM_COST_CACHE");
}

/* Runs of two experiments, a and b, at 10 and 100 a class and on the whole set; a/n10 and
 * b/full measured (finished), the rest not started. */
static void estimate_fixture(snm_pipeline *p, snm_run_spec *r, snm_run_state *st)
{
	static char *keys[6] = { "e/a/n10/set1", "e/a/n100/set1", "e/a/full",
	                         "e/b/n10/set1", "e/b/n100/set1", "e/b/full" };
	static const int pc[6] = { 10, 100, 0, 10, 100, 0 };
	memset(r, 0, 6 * sizeof *r);
	memset(st, 0, 6 * sizeof *st);
	for (int i = 0; i < 6; ++i) {
		r[i].key = keys[i];
		r[i].per_class = pc[i];
		st[i].state = SNM_STATE_NOT_STARTED;
		st[i].epochs = 10;
	}
	/* a/n10: 10 epochs of 2 s at 2 threads (4 core-seconds an epoch); b/full: 10 of 100 s at 1 */
	st[0] = (snm_run_state){ .state = SNM_STATE_FINISHED, .epochs_done = 10, .epochs = 10, .threads = 2,
	                         .timed = 10, .seconds = 20, .typical = 2 };
	st[5] = (snm_run_state){ .state = SNM_STATE_FINISHED, .epochs_done = 10, .epochs = 10, .threads = 1,
	                         .timed = 10, .seconds = 1000, .typical = 100 };
	p->n_runs = 6;
	p->runs = r;
}

static void test_estimate(void)
{
	snm_pipeline p;
	snm_run_spec r[6];
	snm_run_state st[6];
	snm_estimate est;
	const double work[6] = { 1, 5, 40, 1, 5, 40 }, half[6] = { 1, NAN, 40, 1, 5, 40 };
	const unsigned char only_a100[6] = { 0, 1, 0, 0, 0, 0 };
	estimate_fixture(&p, r, st);
	/* no work: nothing of a/n100's experiment and size, nor of its size, is measured, so any run,
	 * pooled: (40 + 1000) core-seconds / 20 epochs = 52 an epoch */
	snm_run_estimate(&p, st, NULL, NULL, 1, only_a100, &est);
	CU_ASSERT_EQUAL(est.runs, 1);
	CU_ASSERT_EQUAL(est.by[3], 1);
	CU_ASSERT_EQUAL(est.scaled, 0);
	CU_ASSERT_DOUBLE_EQUAL(est.core_seconds, 10 * 52.0, 1e-9);
	/* with work: a/n100 from a/n10, scaled by 5 / 1: 4 x 5 = 20 core-seconds an epoch */
	snm_run_estimate(&p, st, NULL, work, 1, only_a100, &est);
	CU_ASSERT_EQUAL(est.by[1], 1);
	CU_ASSERT_EQUAL(est.scaled, 1);
	CU_ASSERT_DOUBLE_EQUAL(est.core_seconds, 10 * 20.0, 1e-9);
	/* every run left: a/full from a/n10 (x40: 160), a/n100 (20), b/n10 from b/full (x1/40:
	 * 2.5), b/n100 (x5/40: 12.5); 10 epochs each */
	snm_run_estimate(&p, st, NULL, work, 1, NULL, &est);
	CU_ASSERT_EQUAL(est.runs, 4);
	CU_ASSERT_EQUAL(est.epochs, 40);
	CU_ASSERT_EQUAL(est.by[1], 4);
	CU_ASSERT_EQUAL(est.scaled, 4);
	CU_ASSERT_DOUBLE_EQUAL(est.core_seconds, 10 * (160 + 20 + 2.5 + 12.5), 1e-9);
	/* several sizes of the experiment measured: pooled, each scaled by its own work */
	st[1] = st[0];
	st[1].seconds = 40;     /* a/n100 measured now: 8 core-seconds an epoch */
	st[1].typical = 4;
	st[2].epochs_done = 4;  /* a/full resumable, 6 epochs left */
	st[2].state = SNM_STATE_RESUMABLE;
	snm_run_estimate(&p, st, NULL, work, 1, NULL, &est);
	/* a/full from a/n10 (4 x 40 = 160 over 10 epochs) and a/n100 (8 x 40 / 5 = 64 over 10):
	 * pooled (1600 + 640) / 20 = 112 an epoch, 6 epochs; b/n10 and b/n100 as above */
	CU_ASSERT_EQUAL(est.runs, 3);
	CU_ASSERT_DOUBLE_EQUAL(est.core_seconds, 6 * 112.0 + 10 * (2.5 + 12.5), 1e-9);
	/* a work unknown: that run by the old order (here b/full measured at the same size: by size
	 * only, unscaled); a measured run of unknown work is left out of another size's estimate */
	estimate_fixture(&p, r, st);
	snm_run_estimate(&p, st, NULL, half, 1, only_a100, &est);
	CU_ASSERT_EQUAL(est.by[1] + est.by[2], 0);
	CU_ASSERT_EQUAL(est.by[3], 1);
	CU_ASSERT_DOUBLE_EQUAL(est.core_seconds, 10 * 52.0, 1e-9);
	/* the model first, where it knows the run */
	{
		double model[6] = { NAN, 300, NAN, NAN, NAN, NAN };
		snm_run_estimate(&p, st, model, work, 1, only_a100, &est);
		CU_ASSERT_EQUAL(est.by_model, 1);
		CU_ASSERT_DOUBLE_EQUAL(est.core_seconds, 300.0, 1e-9);
	}
}

/* A run file whose fourth epoch took 1000 s (the run was stopped with kill -STOP through it)
 * among epochs of 2-3 s: the state reads the sum and the median, and the estimate prices the runs
 * left at the median. */
static void test_paused_epoch(void)
{
	static const char *names[2] = { "seconds", "test_at_best" };
	const double secs[7] = { 2, 3, 2, 1000, 3, 2, 2 };
	const char *str_names[4] = { "status", "config_hash", "run_key", "config" };
	const char *str_values[4] = { "finished", "0000000000000000", "e/a/n10/set1", "x: 1" };
	const char *int_names[3] = { "epoch", "epochs", "threads" };
	const int64_t int_values[3] = { 7, 7, 1 };
	char path[600];
	snm_metrics *m;
	snm_store_run run;
	snm_run_spec r[2];
	snm_run_state st[2];
	snm_pipeline p;
	snm_estimate est;
	snm_error e;
	m = snm_metrics_new(2, names, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	for (int i = 0; i < 7; ++i)
		CU_ASSERT_EQUAL(snm_metrics_append(m, (double[]){ secs[i], 1.5 }, &e), SNM_OK);
	memset(&run, 0, sizeof run);
	run.n_str = 4, run.str_names = str_names, run.str_values = str_values;
	run.n_int = 3, run.int_names = int_names, run.int_values = int_values;
	run.metrics = m;
	snprintf(path, sizeof path, "%s/paused.h5", tmp);
	CU_ASSERT_EQUAL_FATAL(snm_store_save(path, &run, &e), SNM_OK);
	snm_metrics_free(m);
	memset(r, 0, sizeof r);
	r[0].key = "e/a/n10/set1";
	r[1].key = "e/a/n10/set2";
	r[0].per_class = r[1].per_class = 10;
	r[0].config_hash = 1;    /* not the file's: read as refused, its epochs timed all the same */
	r[0].config_text = "x: 2";
	CU_ASSERT_EQUAL_FATAL(snm_run_state_read(&r[0], NULL, path, &st[0], &e), SNM_OK);
	CU_ASSERT_EQUAL(st[0].state, SNM_STATE_REFUSED);
	CU_ASSERT_EQUAL(st[0].timed, 7);
	CU_ASSERT_DOUBLE_EQUAL(st[0].seconds, 1014.0, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(st[0].typical, 2.0, 1e-9);
	/* the basis counts finished, running and resumable runs: the same epochs, finished */
	st[0].state = SNM_STATE_FINISHED;
	memset(&st[1], 0, sizeof st[1]);
	st[1].state = SNM_STATE_NOT_STARTED;
	st[1].epochs = 7;
	p.n_runs = 2;
	p.runs = r;
	snm_run_estimate(&p, st, NULL, NULL, 1, NULL, &est);
	CU_ASSERT_EQUAL(est.by[0], 1);
	CU_ASSERT_DOUBLE_EQUAL(est.core_seconds, 7 * 2.0, 1e-9);     /* the mean would say 7 x 144.9 */
}

static CU_TestInfo tests[] = {
	{ "order", test_order },
	{ "lpt", test_lpt },
	{ "round_robin", test_round_robin },
	{ "cache", test_cache },
	{ "estimate", test_estimate },
	{ "paused_epoch", test_paused_epoch },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "cost", setup, teardown, NULL, NULL, tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_cost", suites);
}
