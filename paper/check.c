/* check.c: the paper stage's layout `checks` (see paper.h) -- numbers checked against a published
 * reference, one row per check: which runs make it (pipeline, experiments, one column, sets), the
 * reference [mean, spread] or mean, and its source.
 *
 * Per row: the runs are <results>/<pipeline>/<experiment>/n<column>/set<k>.h5 for every experiment
 * of `runs` and k = 1..sets, or <results>/<pipeline>/<experiment>/full.h5 for column full (one run
 * per experiment: several experiments give several runs on all labels).  Once every run is
 * finished: their mean and sample standard deviation (gsl_stats_sd: the checks compare with
 * published spreads, so never `std: population`), the difference mean - reference and a verdict:
 *     within    |difference| <= tolerance
 *     misses    |difference| >  tolerance
 * with tolerance the reference's published spread, else our own sample std (n >= 2), else none
 * ("no spread to judge by"); a row without a reference says "comparison (no reference)".  The
 * wall time per run is the mean over the finished runs of their median epoch times their epochs
 * (/metrics/seconds: training and evaluation, as measured by the machine that ran them; the median,
 * so that an epoch stretched by a pause -- kill -STOP, a suspend -- does not count whole).  A row whose runs are not
 * all finished shows the mean of those finished, what is missing and the keys to run ("1.03, n=1 so
 * far; missing 2/3, run: K1 K2"), and its verdict, if any, says "so far (1 of 3)"; the CSV gives
 * that row's numbers but no verdict.
 * Output: <id>.md, .tex, .csv (one line per row: n, mean, std, reference, spread, difference,
 * tolerance, verdict, seconds per run). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_statistics_double.h>
#include "paper.h"

enum { MAX_RUNS = 64 };

typedef struct crow {
	const char *label, *source;
	double ref, spread;          /* NaN when not given */
	int n_runs;
	snm_paper_count count;
	double err[MAX_RUNS], secs[MAX_RUNS];
	int n_fin;
	char todo[1024];             /* "run: KEY KEY" for the runs not finished */
	double mean, std, diff, tol, secs_mean;
	const char *verdict;
} crow;

typedef struct ctab {
	const snm_paper_opts *o;
	const char *id, *caption;
	int digits, n_rows;
	crow *rows;
} ctab;

const snm_option snm_paper_checks_options[] = {
	{ "id", SNM_OPT_STRING, NULL, NULL, "output file name", NULL },
	{ "caption", SNM_OPT_STRING, "", NULL, "caption", NULL },
	{ "layout", SNM_OPT_CHOICE, "checks", "checks", "numbers beside their published references", NULL },
	{ "rows", SNM_OPT_NODE, NULL, NULL, "the checks", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

const snm_option snm_paper_check_row_options[] = {
	{ "label", SNM_OPT_STRING, NULL, NULL, "what is checked", NULL },
	{ "pipeline", SNM_OPT_STRING, NULL, NULL, "first component of the run keys", NULL },
	{ "runs", SNM_OPT_NODE, NULL, NULL, "experiment names (full: one run each)", NULL },
	{ "column", SNM_OPT_STRING, NULL, NULL, "one per-class size or `full`", NULL },
	{ "sets", SNM_OPT_INT, "3", NULL, "random sets per experiment (not for full)", "[1, 100]" },
	{ "reference", SNM_OPT_NODE, "~", NULL, "the published number: mean, [mean, spread] or ~", NULL },
	{ "source", SNM_OPT_STRING, "", NULL, "where the reference is published", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

/* reference: ~ (none), a number, or [mean, spread]. */
static int read_reference(const snm_cfg *n, double *ref, double *spread, snm_error *err)
{
	*ref = *spread = NAN;
	if (snm_cfg_kind(n) == SNM_CFG_NULL)
		return SNM_OK;
	if (snm_cfg_kind(n) == SNM_CFG_SCALAR)
		return snm_cfg_to_double(n, ref, err);
	if (snm_cfg_kind(n) != SNM_CFG_SEQ || snm_cfg_len(n) != 2)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, n, "'reference': expected a number, [mean, spread] or ~");
	int rc = snm_cfg_to_double(snm_cfg_at(n, 0), ref, err);
	return rc ? rc : snm_cfg_to_double(snm_cfg_at(n, 1), spread, err);
}

int snm_paper_checks_check(const snm_cfg *spec, const snm_cfg *e, snm_error *err)
{
	const snm_cfg *rows = snm_cfg_get(e, "rows");
	int rc;
	(void)spec;
	if (rows == NULL || snm_cfg_kind(rows) != SNM_CFG_SEQ || snm_cfg_len(rows) == 0)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, rows ? rows : e, "'rows': expected a non-empty list of checks");
	for (size_t i = 0; i < snm_cfg_len(rows); ++i) {
		const snm_cfg *r = snm_cfg_at(rows, i), *runs;
		const char *col;
		double ref, spread;
		long sets;
		if ((rc = snm_cfg_check(r, snm_paper_check_row_options, "check row", err))
		    || (rc = snm_cfg_opt_str(r, snm_paper_check_row_options, "column", &col, err))
		    || (rc = snm_cfg_opt_int(r, snm_paper_check_row_options, "sets", &sets, err))
		    || (rc = read_reference(snm_cfg_get(r, "reference"), &ref, &spread, err)))
			return rc;
		if (strcmp(col, "full") != 0 && atol(col) < 1)
			return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_get(r, "column"),
			                    "'column': expected a per-class size or full, got '%s'", col);
		runs = snm_cfg_get(r, "runs");
		if (snm_cfg_kind(runs) != SNM_CFG_SEQ || snm_cfg_len(runs) == 0)
			return SNM_CFG_FAIL(err, SNM_ECONFIG, runs, "'runs': expected a non-empty list of experiment names");
		for (size_t k = 0; k < snm_cfg_len(runs); ++k)
			if (snm_cfg_kind(snm_cfg_at(runs, k)) != SNM_CFG_SCALAR)
				return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_at(runs, k), "'runs': expected experiment names");
		if (snm_cfg_len(runs) * (strcmp(col, "full") ? (size_t)sets : 1) > MAX_RUNS)
			return SNM_CFG_FAIL(err, SNM_ECONFIG, runs, "more than %d runs in one check", MAX_RUNS);
	}
	return SNM_OK;
}

/* Reads row r's runs and makes its numbers. */
static int read_row(ctab *T, const snm_cfg *r, crow *w, snm_error *err)
{
	const snm_cfg *runs = snm_cfg_get(r, "runs");
	const char *pipeline, *col;
	long sets;
	size_t used = 0;
	int rc, full;
	if ((rc = snm_cfg_opt_str(r, snm_paper_check_row_options, "label", &w->label, err))
	    || (rc = snm_cfg_opt_str(r, snm_paper_check_row_options, "source", &w->source, err))
	    || (rc = snm_cfg_opt_str(r, snm_paper_check_row_options, "pipeline", &pipeline, err))
	    || (rc = snm_cfg_opt_str(r, snm_paper_check_row_options, "column", &col, err))
	    || (rc = snm_cfg_opt_int(r, snm_paper_check_row_options, "sets", &sets, err))
	    || (rc = read_reference(snm_cfg_get(r, "reference"), &w->ref, &w->spread, err)))
		return rc;
	full = strcmp(col, "full") == 0;
	if (full)
		sets = 1;
	for (size_t k = 0; k < snm_cfg_len(runs); ++k)
		for (int s = 1; s <= sets; ++s) {
			const char *exp = snm_cfg_text(snm_cfg_at(runs, k));
			char *path = snm_paper_run_path(T->o->results, pipeline, exp, col, s);
			snm_paper_result res;
			if (path == NULL || (rc = snm_paper_read_result(path, 1, &res, err)) != SNM_OK) {
				free(path);
				return path == NULL ? SNM_FAIL(err, SNM_ENOMEM, "out of memory") : rc;
			}
			snm_paper_use(T->o, path);
			w->count.runs++;
			if (res.state == SNM_PAPER_FINISHED) {
				double median = 0;
				int timed = 0;
				if (res.metrics != NULL
				    && (rc = snm_metrics_timed(res.metrics, snm_metrics_find(res.metrics, "seconds"), &timed,
				                               NULL, &median, err)) != SNM_OK) {
					snm_metrics_free(res.metrics);
					free(path);
					return rc;
				}
				w->err[w->n_fin] = res.test_at_best;
				w->secs[w->n_fin++] = timed > 0 ? median * (double)snm_metrics_rows(res.metrics) : NAN;
				w->count.fin++;
			} else {
				if (res.state == SNM_PAPER_ABSENT)
					w->count.absent++;
				else if (res.state == SNM_PAPER_UNFINISHED)
					w->count.unfin++;
				else
					w->count.bad++;
				char key[512];
				if (full)
					snprintf(key, sizeof key, "%s/%s/full", pipeline, exp);
				else
					snprintf(key, sizeof key, "%s/%s/n%s/set%d", pipeline, exp, col, s);
				if (used < sizeof w->todo)
					used += (size_t)snprintf(w->todo + used, sizeof w->todo - used, "%s%s",
					                         used ? " " : "run: ", key);
			}
			snm_metrics_free(res.metrics);
			free(path);
		}
	w->mean = w->std = w->diff = w->tol = w->secs_mean = NAN;
	w->verdict = "";
	if (w->n_fin > 0) {
		double s = 0;
		int ns = 0;
		for (int i = 0; i < w->n_fin; ++i)
			if (isfinite(w->secs[i]))
				s += w->secs[i], ns++;
		w->secs_mean = ns ? s / ns : NAN;
	}
	if (w->n_fin == 0)
		return SNM_OK;
	w->mean = gsl_stats_mean(w->err, 1, (size_t)w->n_fin);
	w->std = w->n_fin >= 2 ? gsl_stats_sd(w->err, 1, (size_t)w->n_fin) : NAN;
	if (!isfinite(w->ref)) {
		w->verdict = "comparison (no reference)";
		return SNM_OK;
	}
	w->diff = w->mean - w->ref;
	w->tol = isfinite(w->spread) ? w->spread : w->std;
	w->verdict = !isfinite(w->tol) ? "no spread to judge by"
	             : fabs(w->diff) <= w->tol ? "within" : "misses";
	return SNM_OK;
}

/* ---- text ------------------------------------------------------------------------------------- */

/* A row whose runs are not all finished (a partial mean, if any, says "so far"). */
static int partial(const crow *w)
{
	return w->n_fin < w->count.runs || w->n_fin == 0;
}

static void fmt_ours(const ctab *T, const crow *w, char *buf, size_t size)
{
	char miss[128], ms[64];
	if (w->n_fin > 0)
		snm_paper_fmt_mean_std(T->digits, w->mean, w->std, ms, sizeof ms);
	if (!partial(w)) {
		snprintf(buf, size, "%s, n=%d", ms, w->n_fin);
		return;
	}
	snm_paper_fmt_missing(NULL, &w->count, miss, sizeof miss);
	if (w->n_fin > 0)
		snprintf(buf, size, "%s, n=%d so far; %s, %.800s", ms, w->n_fin, miss, w->todo);
	else
		snprintf(buf, size, "%s, %.800s", miss, w->todo);
}

static void fmt_ref(const ctab *T, const crow *w, char *buf, size_t size)
{
	snm_paper_fmt_mean_std(T->digits, w->ref, w->spread, buf, size);
	if (!isfinite(w->ref))
		snprintf(buf, size, "-");
}

static void fmt_verdict(const ctab *T, const crow *w, char *buf, size_t size)
{
	char sofar[64] = "";
	if (partial(w) && w->n_fin > 0 && *w->verdict)
		snprintf(sofar, sizeof sofar, "so far (%d of %d), ", w->n_fin, w->count.runs);
	if (!isfinite(w->diff)) {
		snprintf(buf, size, "%s%s", sofar, w->verdict);
		return;
	}
	if (!isfinite(w->tol)) {            /* one run, no published spread */
		snprintf(buf, size, "%s%s (difference %+.*f)", sofar, w->verdict, T->digits, w->diff);
		return;
	}
	snprintf(buf, size, "%s%s: %+.*f %s %.*f (%s)", sofar, w->verdict, T->digits, w->diff,
	         fabs(w->diff) <= w->tol ? "<=" : ">", T->digits, w->tol,
	         isfinite(w->spread) ? "the reference's spread" : "our sample std");
}

static void fmt_time(const crow *w, char *buf, size_t size)
{
	if (!isfinite(w->secs_mean))
		snprintf(buf, size, "-");
	else if (w->secs_mean >= 3600)
		snprintf(buf, size, "%.1f h", w->secs_mean / 3600);
	else
		snprintf(buf, size, "%.0f min", w->secs_mean / 60);
}

static void checks_md(const void *arg, FILE *f)
{
	const ctab *T = arg;
	snm_paper_md_banner(f, T->o, T->id);
	snm_paper_md_text(f, T->caption);
	fputs("\n\n| check | ours: mean (sample std), n | reference | source | verdict | wall time per run |\n"
	      "| --- | ---: | ---: | --- | --- | ---: |\n", f);
	for (int i = 0; i < T->n_rows; ++i) {
		const crow *w = &T->rows[i];
		char ours[1200], ref[64], v[160], tm[32];
		fmt_ours(T, w, ours, sizeof ours);
		fmt_ref(T, w, ref, sizeof ref);
		fmt_verdict(T, w, v, sizeof v);
		fmt_time(w, tm, sizeof tm);
		fputs("| ", f);
		snm_paper_md_text(f, w->label);
		fputs(" | ", f);
		snm_paper_md_text(f, ours);
		fprintf(f, " | %s | ", ref);
		snm_paper_md_text(f, w->source);
		fputs(" | ", f);
		snm_paper_md_text(f, v);
		fprintf(f, " | %s |\n", tm);
	}
}

static void checks_tex(const void *arg, FILE *f)
{
	const ctab *T = arg;
	snm_paper_tex_banner(f, T->o, T->id);
	snm_paper_tex_fit(f);
	fputs("\\begin{table}[ht]\n\\centering\n\\caption{", f);
	snm_paper_tex_escape(f, T->caption);
	fprintf(f, "}\\label{tab:%s}\n\\snmfit{\\begin{tabular}{lrrllr}\n\\toprule\n"
	        "check & ours & reference & source & verdict & time/run \\\\\n\\midrule\n", T->id);
	for (int i = 0; i < T->n_rows; ++i) {
		const crow *w = &T->rows[i];
		char ours[1200], ref[64], v[160], tm[32];
		fmt_ours(T, w, ours, sizeof ours);
		fmt_ref(T, w, ref, sizeof ref);
		fmt_verdict(T, w, v, sizeof v);
		fmt_time(w, tm, sizeof tm);
		const char *cells[6] = { w->label, ours, ref, w->source, v, tm };
		for (int c = 0; c < 6; ++c) {
			if (c)
				fputs(" & ", f);
			snm_paper_tex_escape(f, cells[c]);
		}
		fputs(" \\\\\n", f);
	}
	fputs("\\bottomrule\n\\end{tabular}}\n\\end{table}\n", f);
}

static void checks_csv(const void *arg, FILE *f)
{
	const ctab *T = arg;
	fputs("check,runs,finished,mean,std,reference,spread,difference,tolerance,verdict,seconds_per_run\n", f);
	for (int i = 0; i < T->n_rows; ++i) {
		const crow *w = &T->rows[i];
		snm_paper_csv_text(f, w->label);
		fprintf(f, ",%d,%d", w->count.runs, w->n_fin);
		snm_paper_csv_num(f, w->mean);
		snm_paper_csv_num(f, w->std);
		snm_paper_csv_num(f, w->ref);
		snm_paper_csv_num(f, w->spread);
		snm_paper_csv_num(f, w->diff);
		snm_paper_csv_num(f, w->tol);
		fputc(',', f);
		snm_paper_csv_text(f, partial(w) ? "" : w->verdict);
		snm_paper_csv_num(f, w->secs_mean);
		fputc('\n', f);
	}
}

int snm_paper_checks(const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *e, snm_error *err)
{
	const snm_cfg *rows = snm_cfg_get(e, "rows");
	ctab T;
	long digits;
	int rc;
	memset(&T, 0, sizeof T);
	T.o = o;
	if ((rc = snm_paper_checks_check(spec, e, err))
	    || (rc = snm_cfg_opt_str(e, snm_paper_checks_options, "id", &T.id, err))
	    || (rc = snm_cfg_opt_str(e, snm_paper_checks_options, "caption", &T.caption, err))
	    || (rc = snm_cfg_opt_int(spec, snm_paper_spec_options, "digits", &digits, err)))
		return rc;
	T.digits = (int)digits;
	T.n_rows = (int)snm_cfg_len(rows);
	if ((T.rows = calloc((size_t)T.n_rows, sizeof *T.rows)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	for (int i = 0; i < T.n_rows && rc == SNM_OK; ++i)
		rc = read_row(&T, snm_cfg_at(rows, (size_t)i), &T.rows[i], err);
	if (rc == SNM_OK && (rc = snm_paper_write_file(o, T.id, "md", checks_md, &T, err)) == SNM_OK
	    && (rc = snm_paper_write_file(o, T.id, "tex", checks_tex, &T, err)) == SNM_OK)
		rc = snm_paper_write_file(o, T.id, "csv", checks_csv, &T, err);
	free(T.rows);
	return rc;
}
