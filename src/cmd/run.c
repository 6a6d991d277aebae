/* run.c: `snm run`, every selected run of a pipeline trained (resumed, or skipped when finished),
 * in -j worker processes, then the table of results. */
#include "config.h"
#include <gsl/gsl_statistics_double.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <signal.h>
#include <sys/prctl.h>
#endif
#include <sys/wait.h>
#include <unistd.h>
#include "core/blas.h"
#include "run/trainer.h"
#include "cmd.h"

/* One run's outcome on stdout (a finished run of other code flagged; first, with --force, where
 * the file it replaces was kept), or its error on stderr: "snm: <run key>: <message>", the key
 * added where the message lacks it.  An error equal to the one before (a results directory that cannot
 * be made fails every run alike) is counted in *same, not printed again. */
static int report(const snm_run_spec *r, int rc, const snm_run_result *res, snm_error *e,
                  char *last, int *same)
{
	if (res->superseded[0] != '\0')
		printf("%-44s --force: the file it replaces is kept as %s\n", r->key, res->superseded);
	if (rc != SNM_OK) {
		if (strcmp(e->msg, last) == 0) {
			++*same;
			return 1;
		}
		snprintf(last, SNM_ERROR_MSG_MAX, "%s", e->msg);
		if (strstr(e->msg, r->key) == NULL)
			snm_error_prefix(e, "%s", r->key);
		snm_cmd_fail(e);
		return 1;
	}
	if (res->status == SNM_RUN_SKIPPED && res->code == SNM_CODE_OTHER)
		printf("%-44s finished before, made by other code (%s; `snm verify` checks it): test error "
		       "%.2f%%\n", r->key, res->code_what, res->test_at_best);
	else if (res->status == SNM_RUN_SKIPPED)
		printf("%-44s finished before: test error %.2f%%\n", r->key, res->test_at_best);
	else
		printf("%-44s %s: test error %.2f%% at epoch %d (valid %.2f%%), %.1f s\n", r->key,
		       res->status == SNM_RUN_RESUMED ? "resumed" : "trained", res->test_at_best,
		       res->best_epoch + 1, res->best_valid, res->seconds);
	fflush(stdout);
	return 0;
}

/* Trains the selected runs whose index is worker (mod jobs).  Returns the number of failures.
 * A run that another process is training (another `snm run` on the same results) is put off; when
 * this worker's other runs are done, it waits for each such run's lock and takes the run as the
 * other process left it: finished ("finished by another process", not a failure), or else
 * resumed here.  So two `snm run` that split a pipeline both exit 0 once every run is finished. */
static int run_share(const cli *c, const snm_pipeline *p, int worker, int jobs)
{
	snm_data_cache cache = { c->plugin_path, 0, 0, NULL };
	snm_trainer_opts o = { c->plugin_path, &cache, c->threads, c->force, 0, jobs == 1 && isatty(2),
	                       PACKAGE_VERSION, 0 };
	char last[SNM_ERROR_MSG_MAX] = "";
	int failures = 0, k = 0, same = 0, n_busy = 0, *busy = malloc((size_t)p->n_runs * sizeof *busy);
	if (busy == NULL) {
		fprintf(stderr, "snm: out of memory\n");
		return 1;
	}
	for (int i = 0; i < p->n_runs; ++i) {
		snm_run_result res;
		snm_error e;
		int rc;
		if (!snm_cmd_selected(c, &p->runs[i]) || k++ % jobs != worker)
			continue;
		rc = snm_train(&p->runs[i], &o, &res, &e);
		if (rc != SNM_OK && res.status == SNM_RUN_BUSY)
			busy[n_busy++] = i;
		else
			failures += report(&p->runs[i], rc, &res, &e, last, &same);
	}
	o.wait = 1;
	for (int j = 0; j < n_busy; ++j) {
		const snm_run_spec *r = &p->runs[busy[j]];
		snm_run_result res;
		snm_error e;
		int rc = snm_train(r, &o, &res, &e);
		if (rc == SNM_OK && res.status == SNM_RUN_SKIPPED) {
			printf("%-44s finished by another process: test error %.2f%%\n", r->key, res.test_at_best);
			fflush(stdout);
		} else {
			failures += report(r, rc, &res, &e, last, &same);
		}
	}
	if (same > 0)
		fprintf(stderr, "snm: the same error for %d more run%s\n", same, same == 1 ? "" : "s");
	free(busy);
	snm_data_cache_clear(&cache);
	return failures;
}

/* The table row of a run: its key less "/set<k>" and, for a per-class size, "/n<size>". */
static void row_of(const snm_run_spec *r, char *row, size_t size)
{
	char *slash;
	snprintf(row, size, "%s", r->key);
	if ((slash = strrchr(row, '/')) != NULL)
		*slash = '\0';
	if (r->per_class && (slash = strrchr(row, '/')) != NULL)
		*slash = '\0';
}

/* The results table: one row per experiment, one column per per-class size, mean (std) of the
 * test error at the best validation epoch over the sets. */
static void print_table(const cli *c, const snm_pipeline *p)
{
	int sizes[64], n_sizes = 0;
	static char seen_row[256][ROW_MAX];
	int n_rows = 0, any_missing = 0;
	for (int i = 0; i < p->n_runs; ++i) {
		int s = p->runs[i].per_class, have = 0;
		if (!snm_cmd_selected(c, &p->runs[i]))
			continue;
		for (int k = 0; k < n_sizes; ++k)
			have |= sizes[k] == s;
		if (!have && n_sizes < 64) {
			int k = n_sizes++;
			while (k > 0 && (sizes[k - 1] == 0 || (s != 0 && sizes[k - 1] > s))) {
				sizes[k] = sizes[k - 1];
				--k;
			}
			sizes[k] = s;
		}
	}
	printf("\ntest error (%%) at the best validation epoch, mean (std) over sets\n%-32s", "run");
	for (int k = 0; k < n_sizes; ++k) {
		char h[32];
		if (sizes[k])
			snprintf(h, sizeof h, "n=%d", sizes[k]);
		else
			snprintf(h, sizeof h, "all");
		printf(" %16s", h);
	}
	printf("\n");
	for (int i = 0; i < p->n_runs; ++i) {
		const snm_run_spec *r = &p->runs[i];
		char row[ROW_MAX];
		int dup = 0;
		if (!snm_cmd_selected(c, r))
			continue;
		row_of(r, row, sizeof row);
		for (int k = 0; k < n_rows; ++k)
			dup |= strcmp(seen_row[k], row) == 0;
		if (dup || n_rows == 256)
			continue;
		strcpy(seen_row[n_rows++], row);
		printf("%-32s", row);
		for (int k = 0; k < n_sizes; ++k) {
			double v[64];
			int n = 0, missing = 0;
			char cell[40];
			for (int j = 0; j < p->n_runs; ++j) {
				const snm_run_spec *q = &p->runs[j];
				char qrow[ROW_MAX];
				snm_run_result res;
				snm_error e;
				if (!snm_cmd_selected(c, q) || q->per_class != sizes[k])
					continue;
				row_of(q, qrow, sizeof qrow);
				if (strcmp(qrow, row) != 0)
					continue;
				if (snm_run_read_result(q->result_path, &res, &e) == SNM_OK && n < 64)
					v[n++] = res.test_at_best;
				else
					++missing;
			}
			any_missing |= missing > 0;
			if (n == 0)
				snprintf(cell, sizeof cell, missing ? "missing" : "-");
			else if (n == 1)
				snprintf(cell, sizeof cell, "%.2f%s", v[0], missing ? "*" : "");
			else
				snprintf(cell, sizeof cell, "%.2f (%.2f)%s", gsl_stats_mean(v, 1, (size_t)n),
				         gsl_stats_sd(v, 1, (size_t)n), missing ? "*" : "");
			printf(" %16s", cell);
		}
		printf("\n");
	}
	if (any_missing)
		printf("(missing, * : some runs of the cell are missing or unfinished)\n");
}

/* Threads that wait for one another spin for a while first (libgomp's and OpenBLAS's default), so
 * with more threads than processors every barrier can wait on a thread that is not running, and
 * runs take several times as long (README, "What a run does", has the timings).  One line on stderr when the runs at a time times --threads exceed the
 * processors; the bits are the same either way. */
static void warn_oversubscribed(const cli *c, int n_sel)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long at_once = c->jobs < n_sel ? c->jobs : n_sel;
#ifdef _OPENMP
	const char *alt = ", or set OMP_WAIT_POLICY=passive";
	if (getenv("OMP_WAIT_POLICY") != NULL)      /* the user chose how OpenMP's threads wait */
		return;
#else
	const char *alt = "";
#endif
	if (c->threads < 2 || cpus < 1 || at_once * c->threads <= cpus)
		return;
	fprintf(stderr, "snm: warning: %ld run%s at a time x %d threads on %ld processors: waiting "
	        "threads spin, so runs can take several times as long; use -j N --threads 1%s\n",
	        at_once, at_once == 1 ? "" : "s", c->threads, cpus, alt);
}

int snm_cmd_run(const cli *c, const char *path)
{
	snm_pipeline *p;
	snm_data_cache cache = { c->plugin_path, 0, 0, NULL };
	snm_error e;
	int failures = 0, n_sel = 0;
	if (snm_pipeline_load(path, c->plugin_path, &p, &e))
		return snm_cmd_fail(&e);
	if (snm_cmd_no_match(c, p, path)) {
		snm_pipeline_free(p);
		return 1;
	}
	/* every run is checked (datasets opened, models created) before any training starts */
	if (snm_cmd_check_runs(c, p, &cache, &e)) {
		snm_data_cache_clear(&cache);
		snm_pipeline_free(p);
		return snm_cmd_fail(&e);
	}
	snm_data_cache_clear(&cache);
	for (int i = 0; i < p->n_runs; ++i)
		n_sel += snm_cmd_selected(c, &p->runs[i]);
	warn_oversubscribed(c, n_sel);
	snm_blas_set_threads(c->threads);
	if (c->jobs <= 1) {
		failures = run_share(c, p, 0, 1);
	} else {
		pid_t parent = getpid();
		for (int w = 0; w < c->jobs; ++w) {
			pid_t pid = fork();
			if (pid == 0) {
#ifdef __linux__
				/* workers end with the process that started them (a kill -9 of it would
				 * otherwise leave them training); a checkpoint is never half written */
				if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
					_exit(1);
#endif
				_exit(run_share(c, p, w, c->jobs) ? 1 : 0);
			}
			if (pid < 0) {
				fprintf(stderr, "snm: cannot start worker %d\n", w);
				++failures;
			}
		}
		for (int w = 0; w < c->jobs; ++w) {
			int st;
			if (wait(&st) > 0 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
				++failures;
		}
	}
	print_table(c, p);
	printf("%d runs selected, %s\n", n_sel, failures ? "some failed" : "all finished");
	snm_pipeline_free(p);
	return failures ? 1 : 0;
}
