/* status.c: `snm status`, where every run of a pipeline stands (src/run/state.h), from the files
 * alone: one line per run, a summary line, and the estimate of the core-hours left (from the
 * measured epochs, scaled across sizes by the work of an epoch, which needs the sizes of the
 * data's splits: cost.h's snm_run_estimate); with --only
 * PATTERN (as `snm run --only`), of the runs whose keys match it.  Trains, locks and writes
 * nothing.  Exit status 0 (status is information, whatever the runs' states), 1 when the
 * pipeline cannot be loaded, --results names no directory or --only matches none of its runs,
 * 2 on a usage error. */
#include <getopt.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/cost.h"
#include "run/fs.h"
#include "run/identity.h"
#include "run/state.h"
#include "cmd.h"
#include "help.h"


/* The file of run r: its own result path, or <results>/<key>.h5 under --results. */
static char *path_of(const snm_run_spec *r, const char *results)
{
	char *p;
	if (results == NULL)
		return strdup(r->result_path);
	if ((p = malloc(strlen(results) + strlen(r->key) + 8)) != NULL)
		sprintf(p, "%s/%s.h5", results, r->key);
	return p;
}

static void print_lock_note(const snm_run_state *st)
{
	if (st->lock.state != SNM_LOCK_STALE)
		return;
	if (st->lock.pid > 0)
		printf("; stale lock (left by pid %ld, which holds it no more)", st->lock.pid);
	else
		printf("; stale lock (it names no process)");
}

static void print_line(const snm_run_spec *r, const snm_run_state *st, int width, double model)
{
	printf("%-*s  ", width, r->key);
	switch (st->state) {
	case SNM_STATE_FINISHED:
		printf("finished: test error %.2f%% at best epoch %d/%d", st->test_at_best, st->best_epoch,
		       st->epochs);
		if (st->code == SNM_CODE_OTHER)
			printf("; made by other code: %s; `snm verify` checks it", st->code_what);
		else if (st->code == SNM_CODE_UNKNOWN)
			printf("; code unknown");
		break;
	case SNM_STATE_RUNNING:
		if (st->lock.pid > 0)
			printf("running, pid %ld: %d/%d epochs done", st->lock.pid, st->epochs_done, st->epochs);
		else
			printf("running (the lock's holder names no pid yet): %d/%d epochs done", st->epochs_done,
			       st->epochs);
		break;
	case SNM_STATE_RESUMABLE:
		printf("resumable: %d/%d epochs done", st->epochs_done, st->epochs);
		if (st->partial_steps > 0)
			printf(" and %ld step%s of epoch %d", st->partial_steps, st->partial_steps == 1 ? "" : "s",
			       st->epochs_done + 1);
		printf("%s", st->code == SNM_CODE_UNKNOWN ? "; code unknown" : "");
		break;
	case SNM_STATE_NOT_STARTED:
		printf("not started");
		break;
	case SNM_STATE_REFUSED:
		if (st->code == SNM_CODE_OTHER)
			printf("refused: unfinished, made by other code (%s); snm run --force retrains it", st->why);
		else
			printf("refused: made by another configuration (%s); snm run --force retrains it", st->why);
		break;
	default:
		printf("failed: %s", st->why);
		break;
	}
	print_lock_note(st);
	if (isfinite(model))
		printf("; model %.0f s", model);
	if (isfinite(model) && st->state == SNM_STATE_FINISHED && st->timed == st->epochs && st->seconds > 0)
		printf(", measured %.0f s", st->seconds);
	printf("\n");
}

static void print_estimate(const snm_estimate *est, const int *count, const char *unscaled)
{
	static const char *const basis[4] = { "by experiment and size", "by experiment at other sizes",
	                                      "by size only", "by any run" };
	double h = est->core_seconds / 3600.0;
	const char *sep = "";
	int others = count[SNM_STATE_REFUSED] + count[SNM_STATE_FAILED];
	if (est->runs == 0) {
		printf("left: nothing to train%s\n", others ? " but the refused and failed runs" : "");
		return;
	}
	printf("left: %d run%s, %d epochs", est->runs, est->runs == 1 ? "" : "s", est->epochs);
	if (est->measured == 0 && est->by_model == 0) {
		printf("; no estimate: no run of this pipeline has a measured epoch yet%s\n",
		       others ? " (refused and failed runs not counted)" : "");
		return;
	}
	if (!isfinite(est->core_seconds)) {
		printf("; no estimate: the measured seconds add up past any number (a damaged "
		       "/metrics/seconds?)\n");
		return;
	}
	if (est->core_seconds < 60)
		printf(", about %.2f core-hours (%.0f core-seconds)", h, est->core_seconds);
	else if (h >= 1e9)
		printf(", about %.3g core-hours", h);
	else if (h < 1)
		printf(", about %.2f core-hours (%.0f core-minutes)", h, est->core_seconds / 60.0);
	else
		printf(", about %.1f core-hours", h);
	if (est->by_model > 0)
		printf(", %d run%s by the cost model", est->by_model, est->by_model == 1 ? "" : "s");
	if (est->by_model < est->runs) {
		printf(", from the seconds per epoch x threads of %d measured run%s (matched ",
		       est->measured, est->measured == 1 ? "" : "s");
		for (int t = 0; t < 4; ++t)
			if (est->by[t]) {
				printf("%s%d %s", sep, est->by[t], basis[t]);
				sep = ", ";
			}
		printf(")");
		if (est->scaled > 0)
			printf(", %d scaled from runs of other sizes", est->scaled);
	}
	printf("%s\n", others ? "; refused and failed runs not counted" : "");
	if (unscaled != NULL && est->by_model < est->runs)
		printf("(epochs of other sizes not scaled: %s)\n", unscaled);
}

/* The work of an epoch of every run (cost.h's snm_cost_shape work), from its train section and
 * its data's split sizes, NAN where they cannot be read; *why: the first reason, else "". */
static double *load_work(const snm_pipeline *p, const char *plugin_path, char *why, size_t size)
{
	snm_data_cache cache = { plugin_path, 0, 0, NULL };
	double *work = malloc(((size_t)p->n_runs + 1) * sizeof *work);
	why[0] = '\0';
	for (int i = 0; work != NULL && i < p->n_runs; ++i) {
		snm_cost_shape sh;
		snm_error e;
		work[i] = NAN;
		if (snm_cost_epoch_of(&p->runs[i], plugin_path, &cache, &sh, &e) == SNM_OK)
			work[i] = sh.work;
		else if (why[0] == '\0')
			snprintf(why, size, "%s", e.msg);
	}
	snm_data_cache_clear(&cache);
	return work;
}

/* --cost: the model's seconds of every run at 1 thread from the calibration cache of this machine
 * and build (measuring nothing: status trains nothing), NAN where the cache has none.  One line on
 * stderr and -1 when the cache or a run's data cannot be read. */
static int load_model(const snm_pipeline *p, const char *plugin_path, double **model)
{
	snm_data_cache cache = { plugin_path, 0, 0, NULL };
	snm_cost_cache cc;
	snm_error e;
	int rc, known = 0;
	if ((*model = malloc(((size_t)p->n_runs + 1) * sizeof **model)) == NULL) {
		fprintf(stderr, "snm: out of memory\n");
		return -1;
	}
	if ((rc = snm_cost_cache_open(&cc, &e)) == SNM_OK) {
		rc = snm_cost_pipeline(p, NULL, plugin_path, &cache, 1, 0, &cc, *model, NULL, &e);
		snm_cost_cache_free(&cc);
	}
	snm_data_cache_clear(&cache);
	if (rc != SNM_OK) {
		free(*model);
		*model = NULL;
		snm_cmd_fail(&e);
		return -1;
	}
	for (int i = 0; i < p->n_runs; ++i)
		known += isfinite((*model)[i]);
	if (known < p->n_runs)
		fprintf(stderr, "snm status: the cost model knows %d of %d runs on this machine and build "
		        "(`snm check PIPELINE --cost` calibrates it)\n", known, p->n_runs);
	return 0;
}

/* --cost: the model against the measured wall seconds of the finished runs trained at 1 thread
 * whose every epoch is timed: the median and the extremes of model / measured. */
static void print_check(const snm_pipeline *p, const snm_run_state *st, const double *model,
                        const unsigned char *sel)
{
	double *ratio = malloc(((size_t)p->n_runs + 1) * sizeof *ratio), lo, hi, worst;
	size_t n = 0;
	if (ratio == NULL)
		return;
	for (int i = 0; i < p->n_runs; ++i)
		if (sel[i] && st[i].state == SNM_STATE_FINISHED && st[i].threads == 1 && st[i].timed == st[i].epochs
		    && st[i].seconds > 0 && isfinite(model[i]))
			ratio[n++] = model[i] / st[i].seconds;
	if (n == 0) {
		printf("cost model: no finished run trained at 1 thread to check it against\n");
		free(ratio);
		return;
	}
	gsl_sort(ratio, 1, n);
	lo = ratio[0];
	hi = ratio[n - 1];
	worst = hi > 1 / lo ? hi : 1 / lo;
	printf("cost model against the measured wall seconds of %zu finished runs: model / measured median "
	       "%.2f, from %.2f to %.2f (worst: off by a factor of %.2f)\n", n,
	       gsl_stats_median_from_sorted_data(ratio, 1, n), lo, hi, worst);
	free(ratio);
}

int snm_cmd_status(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "results", required_argument, 0, 'r' }, { "plugin-path", required_argument, 0, 'p' },
		{ "help", no_argument, 0, 'h' }, { "cost", no_argument, 0, 'c' },
		{ "only", required_argument, 0, 'o' }, { 0, 0, 0, 0 }
	};
	const char *results = NULL, *plugin_path = NULL;
	const char *only[argc + 1];
	cli sel_cli = { .only = only };   /* --only: the selection of `snm run --only` (cmd.h) */
	unsigned char *sel;
	snm_pipeline *p;
	snm_run_state *st;
	snm_estimate est;
	snm_error e;
	double *model = NULL, *work;
	char why[SNM_ERROR_MSG_MAX];
	int opt, width = 0, count[SNM_N_STATES] = { 0 }, other_code = 0, cost = 0, n_sel = 0;
#ifdef __GLIBC__
	optind = 0;               /* glibc: full re-initialisation (the caller may have used getopt) */
#else
	optind = 1;
#endif
	opterr = 0;                  /* one line of our own for a bad option, below */
	while ((opt = getopt_long(argc, argv, ":r:p:hco:", longs, NULL)) != -1) {
		switch (opt) {
		case 'c': cost = 1; break;
		case 'o': only[sel_cli.n_only++] = optarg; break;
		case 'r': results = optarg; break;
		case 'p': plugin_path = optarg; break;
		case 'h': snm_cmd_help("status", stdout); return 0;
		case ':':
			fprintf(stderr, "snm status: %s needs a value (snm status --help)\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "snm status: unknown option '%s' (snm status --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "snm status: needs a pipeline file (snm status --help)\n");
		return 2;
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "snm status: unexpected argument '%s' (snm status --help)\n", argv[optind + 1]);
		return 2;
	}
	if (results != NULL && snm_results_dir_check(results, &e))   /* else: nothing has run yet */
		return snm_cmd_fail(&e);
	if (snm_pipeline_load(argv[optind], plugin_path, &p, &e))
		return snm_cmd_fail(&e);
	if (snm_cmd_no_match(&sel_cli, p, argv[optind])) {
		snm_pipeline_free(p);
		return 1;
	}
	st = calloc((size_t)p->n_runs + 1, sizeof *st);
	sel = calloc((size_t)p->n_runs + 1, 1);
	if (st == NULL || sel == NULL) {
		free(st);
		free(sel);
		snm_pipeline_free(p);
		fprintf(stderr, "snm: out of memory\n");
		return 1;
	}
	for (int i = 0; i < p->n_runs; ++i) {
		int w = (int)strlen(p->runs[i].key);
		sel[i] = (unsigned char)snm_cmd_selected(&sel_cli, &p->runs[i]);
		n_sel += sel[i];
		width = sel[i] && w > width ? w : width;
	}
	if (cost && load_model(p, plugin_path, &model) != 0) {
		free(st);
		free(sel);
		snm_pipeline_free(p);
		return 1;
	}
	for (int i = 0; i < p->n_runs; ++i) {   /* every run: the estimate's basis is all of them */
		char *path = path_of(&p->runs[i], results);
		if (path == NULL || snm_run_state_read(&p->runs[i], plugin_path, path, &st[i], &e) != SNM_OK) {
			free(path);
			free(model);
			free(st);
			free(sel);
			snm_pipeline_free(p);
			fprintf(stderr, "snm: out of memory\n");
			return 1;
		}
		free(path);
		if (!sel[i])
			continue;
		count[st[i].state]++;
		other_code += st[i].state == SNM_STATE_FINISHED && st[i].code == SNM_CODE_OTHER;
		print_line(&p->runs[i], &st[i], width, model ? model[i] : NAN);
		fflush(stdout);
	}
	printf("%d run%s: %d finished", n_sel, n_sel == 1 ? "" : "s", count[SNM_STATE_FINISHED]);
	if (other_code > 0)
		printf(" (%d made by other code)", other_code);
	printf(", %d running, %d resumable, %d not started, %d refused, %d failed\n", count[SNM_STATE_RUNNING],
	       count[SNM_STATE_RESUMABLE], count[SNM_STATE_NOT_STARTED], count[SNM_STATE_REFUSED],
	       count[SNM_STATE_FAILED]);
	why[0] = '\0';
	work = count[SNM_STATE_NOT_STARTED] + count[SNM_STATE_RESUMABLE] + count[SNM_STATE_RUNNING] > 0
	       ? load_work(p, plugin_path, why, sizeof why) : NULL;
	snm_run_estimate(p, st, model, work, 1, sel, &est);
	print_estimate(&est, count, why[0] ? why : NULL);
	free(work);
	if (model != NULL)
		print_check(p, st, model, sel);
	free(model);
	free(st);
	free(sel);
	snm_pipeline_free(p);
	return 0;
}
