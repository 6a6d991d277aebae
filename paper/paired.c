/* paired.c: the paired comparisons of the paper stage (see paper.h and the header of
 * paper/tables.yaml).  Layout `paired`: for each pair [a, b] of experiments and each column, the
 * differences d_k = err_a(set k) - err_b(set k) over the sets k where both runs are finished and
 * trained on the same training subset (equal root attribute seed_subset).
 * Layout `ablation`: a baseline and its variants at one column, each row's mean (std) over its
 * sets and, for a variant, the paired differences variant - baseline.  Both are written as .md,
 * .tex and .csv beside the other tables.
 *
 * Statistics (GSL).  Over n >= 2 differences: the mean m (gsl_stats_mean), the sample standard
 * deviation s (gsl_stats_sd) and the interval of the paired t test at `level`,
 *     m -/+ t * s / sqrt(n),   t = gsl_cdf_tdist_Pinv((1 + level) / 2, n - 1).
 * The verdict is decided on the unrounded bounds: hi < 0 is "a lower (better) than b", lo > 0 "a
 * higher (worse) than b" (errors: lower is better), an interval that holds 0 "not resolved".
 * n = 1 (the `full` column, or one set in common) is the difference alone: no interval, no
 * verdict.  n = 0 names what is missing, as the other tables do ("b missing 3/10").  s = 0 (every
 * difference the same) gives the interval [m, m].
 *
 * Runs: every (experiment, column, set) file is read once per table with snm_paper_read_result
 * (finished runs only; one note per unreadable file), and of a finished one its seed_subset
 * (snm_store_get_int; a file without it is unreadable).  Two finished runs of set k whose
 * seed_subset differs were trained on other subsets, so their difference is no paired one: the
 * set is left out of n, the cell says so ("set 3: other training subsets": in a paired table
 * after what is missing, also in the CSV's missing field; in an ablation beside the differences,
 * whose CSV has no text field for it) and a note names both seeds.
 *
 * Escaping, column heads, the notes of what is missing and the writing of files are
 * write.c's, which table.c prints through too. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_statistics_double.h>
#include "paper.h"
#include "run/store.h"

enum { V_NONE = 0, V_LOWER, V_HIGHER, V_OPEN };   /* verdicts: no interval, lower, higher, holds 0 */

/* The paired differences of one cell. */
typedef struct diff {
	int n;                     /* sets where both runs are finished, on the same subset */
	int other;                 /* sets where both are finished on other subsets (not in n) */
	double mean, sd, t, lo, hi;  /* NaN where there is none: mean (n = 0), the others (n < 2) */
	int verdict;               /* V_* */
} diff;

typedef struct pcell {         /* layout paired: pair p, column c */
	snm_paper_count a, b;      /* how the runs of a and b went (sets 1..sets, or the full run) */
	diff d;
} pcell;

typedef struct arow {          /* layout ablation: row r (0: the baseline) */
	snm_paper_count s;         /* how its runs went */
	double mean, std;          /* over the finished runs; NaN when there are none (std: < 2) */
	diff d;                    /* variants: variant - baseline */
} arow;

typedef struct ptab {
	const snm_paper_opts *o;
	const char *id, *caption, *pipeline;
	int sets, digits, population;
	double level;
	int n_cols;
	const char **col;          /* column texts: "10", ..., "full" (ablation: the one column) */
	int n_exp;
	const char **exp;          /* the distinct experiments of the table */
	int *state;                /* [exp][col][set]: SNM_PAPER_* */
	double *err;               /* [exp][col][set]: test_at_best of the finished ones */
	int64_t *seed;             /* [exp][col][set]: seed_subset of the finished ones */
	int n_pairs, *pa, *pb;     /* paired: experiment indices of each pair */
	pcell *pc;                 /* paired: [pair][col] */
	int n_rows, *row_exp;      /* ablation: 1 + variants, experiment index of each row */
	const char **label;        /* ablation: row labels */
	arow *ar;                  /* ablation: [row] */
} ptab;

static int is_full(const char *col)
{
	return strcmp(col, "full") == 0;
}

/* Sets a cell of column c reads: 1..sets, or the one whole-set run. */
static int n_sets(const ptab *T, int c)
{
	return is_full(T->col[c]) ? 1 : T->sets;
}

static size_t run_at(const ptab *T, int e, int c, int s)
{
	return ((size_t)e * T->n_cols + c) * T->sets + s;
}

/* Index of experiment name in T->exp, added when new (exp has room for every name). */
static int exp_index(ptab *T, const char *name)
{
	for (int i = 0; i < T->n_exp; ++i)
		if (strcmp(T->exp[i], name) == 0)
			return i;
	T->exp[T->n_exp] = name;
	return T->n_exp++;
}

/* ---- the spec ---------------------------------------------------------------------------------- */

/* The column of an ablation table: a per-class size (an integer >= 1) or full. */
static int check_column(const snm_cfg *e, const char *id, snm_error *err)
{
	const snm_cfg *c = snm_cfg_get(e, "column");
	long v;
	if (snm_cfg_kind(c) == SNM_CFG_SCALAR && strcmp(snm_cfg_text(c), "full") == 0)
		return SNM_OK;
	if (snm_cfg_kind(c) != SNM_CFG_SCALAR || snm_cfg_to_int(c, &v, NULL) != SNM_OK || v < 1)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, c ? c : e, "table %s: 'column' is one per-class size "
		                    "(an integer >= 1) or 'full'", id);
	return SNM_OK;
}

static int check_pairs(const snm_cfg *e, const char *id, snm_error *err)
{
	const snm_cfg *pairs = snm_cfg_get(e, "pairs");
	if (snm_cfg_kind(pairs) != SNM_CFG_SEQ || snm_cfg_len(pairs) == 0)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, pairs ? pairs : e, "table %s: 'pairs' must be a non-empty "
		                    "list of pairs [a, b] of experiment names", id);
	for (size_t i = 0; i < snm_cfg_len(pairs); ++i) {
		const snm_cfg *p = snm_cfg_at(pairs, i);
		if (snm_cfg_kind(p) != SNM_CFG_SEQ || snm_cfg_len(p) != 2
		    || snm_cfg_kind(snm_cfg_at(p, 0)) != SNM_CFG_SCALAR
		    || snm_cfg_kind(snm_cfg_at(p, 1)) != SNM_CFG_SCALAR)
			return SNM_CFG_FAIL(err, SNM_ECONFIG, p, "table %s: a pair is a list of two experiment "
			                    "names [a, b]", id);
		if (strcmp(snm_cfg_text(snm_cfg_at(p, 0)), snm_cfg_text(snm_cfg_at(p, 1))) == 0)
			return SNM_CFG_FAIL(err, SNM_ECONFIG, p, "table %s: a pair compares two different "
			                    "experiments, not '%s' with itself", id, snm_cfg_text(snm_cfg_at(p, 0)));
	}
	return SNM_OK;
}

static int check_variants(const snm_cfg *e, const char *id, snm_error *err)
{
	const snm_cfg *vars = snm_cfg_get(e, "variants");
	const char *base, *run;
	int rc;
	if ((rc = snm_cfg_opt_str(e, snm_paper_ablation_options, "baseline", &base, err)))
		return rc;
	if (snm_cfg_kind(vars) != SNM_CFG_SEQ || snm_cfg_len(vars) == 0)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, vars ? vars : e, "table %s: 'variants' must be a "
		                    "non-empty list of {run, label}", id);
	for (size_t i = 0; i < snm_cfg_len(vars); ++i) {
		const snm_cfg *v = snm_cfg_at(vars, i);
		if (snm_cfg_kind(v) != SNM_CFG_MAP)
			return SNM_CFG_FAIL(err, SNM_ECONFIG, v, "table %s: a variant is a mapping {run, label}", id);
		if ((rc = snm_cfg_check(v, snm_paper_variant_options, "ablation variant", err))
		    || (rc = snm_cfg_opt_str(v, snm_paper_variant_options, "run", &run, err)))
			return rc;
		if (strcmp(run, base) == 0)
			return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_get(v, "run"), "table %s: the variant '%s' "
			                    "is the baseline itself", id, run);
	}
	return SNM_OK;
}

int snm_paper_paired_check(const snm_cfg *spec, const snm_cfg *e, snm_error *err)
{
	const char *layout = snm_cfg_text(snm_cfg_get(e, "layout"));
	const snm_option *opts = layout && strcmp(layout, "ablation") == 0 ? snm_paper_ablation_options
	                                                                  : snm_paper_paired_options;
	const char *id;
	int rc;
	(void)spec;
	if ((rc = snm_cfg_check(e, opts, "table", err)) || (rc = snm_cfg_opt_str(e, opts, "id", &id, err)))
		return rc;
	if (opts == snm_paper_paired_options)
		return (rc = snm_paper_check_columns(e, "table", err)) ? rc : check_pairs(e, id, err);
	return (rc = check_column(e, id, err)) ? rc : check_variants(e, id, err);
}

/* ---- reading the runs -------------------------------------------------------------------------- */

/* The seed_subset of a finished run; a file without it is UNREADABLE (r->why), an error only for
 * want of memory. */
static int read_seed(const char *path, snm_paper_result *r, int64_t *seed, snm_error *err)
{
	snm_error e;
	if (snm_store_get_int(path, "seed_subset", seed, &e) == SNM_OK)
		return SNM_OK;
	if (e.code == SNM_ENOMEM)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	r->state = SNM_PAPER_UNREADABLE;
	r->test_at_best = NAN;
	snprintf(r->why, sizeof r->why, "%s", e.msg);
	return SNM_OK;
}

static int read_runs(ptab *T, snm_error *err)
{
	for (int e = 0; e < T->n_exp; ++e)
		for (int c = 0; c < T->n_cols; ++c)
			for (int s = 0; s < n_sets(T, c); ++s) {
				snm_paper_result res;
				char *path = snm_paper_run_path(T->o->results, T->pipeline, T->exp[e], T->col[c], s + 1);
				int rc;
				if (path == NULL)
					return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
				snm_paper_use(T->o, path);
				rc = snm_paper_read_result(path, 0, &res, err);
				if (rc == SNM_OK && res.state == SNM_PAPER_FINISHED)
					rc = read_seed(path, &res, &T->seed[run_at(T, e, c, s)], err);
				free(path);
				if (rc)
					return rc;
				T->state[run_at(T, e, c, s)] = res.state;
				T->err[run_at(T, e, c, s)] = res.test_at_best;
				if (res.state == SNM_PAPER_UNREADABLE)
					snm_paper_note(T->o, SNM_PAPER_NOTE, "%s: skipped %s", T->id, res.why);
			}
	return SNM_OK;
}

static void count_side(const ptab *T, int e, int c, snm_paper_count *x)
{
	memset(x, 0, sizeof *x);
	for (int s = 0; s < n_sets(T, c); ++s) {
		x->runs++;
		switch (T->state[run_at(T, e, c, s)]) {
		case SNM_PAPER_ABSENT: x->absent++; break;
		case SNM_PAPER_UNFINISHED: x->unfin++; break;
		case SNM_PAPER_UNREADABLE: x->bad++; break;
		default: x->fin++; break;
		}
	}
}

/* Set s (from 0) of a and b at column c: 0 when either run is not finished, 1 when both are and
 * trained on the same subset, -1 when both are but on other subsets. */
static int pairing(const ptab *T, int a, int b, int c, int s)
{
	if (T->state[run_at(T, a, c, s)] != SNM_PAPER_FINISHED || T->state[run_at(T, b, c, s)] != SNM_PAPER_FINISHED)
		return 0;
	return T->seed[run_at(T, a, c, s)] == T->seed[run_at(T, b, c, s)] ? 1 : -1;
}

/* "set 3" (from 0: s = 2), or "the full runs". */
static void set_name(const ptab *T, int c, int s, char *buf, size_t size)
{
	if (is_full(T->col[c]))
		snprintf(buf, size, "the full runs");
	else
		snprintf(buf, size, "set %d", s + 1);
}

/* The paired differences err_a - err_b at column c over the sets where both are finished on the
 * same subset; a note for each set where both are finished on other subsets. */
static void paired_diff(const ptab *T, int a, int b, int c, diff *d)
{
	double v[100];
	char where[32];
	d->n = d->other = 0;
	d->mean = d->sd = d->t = d->lo = d->hi = NAN;
	d->verdict = V_NONE;
	for (int s = 0; s < n_sets(T, c); ++s) {
		int k = pairing(T, a, b, c, s);
		if (k > 0) {
			v[d->n++] = T->err[run_at(T, a, c, s)] - T->err[run_at(T, b, c, s)];
		} else if (k < 0) {
			d->other++;
			set_name(T, c, s, where, sizeof where);
			snm_paper_note(T->o, SNM_PAPER_NOTE, "%s: %s and %s at %s, %s: other training subsets "
			               "(seed_subset %" PRId64 " and %" PRId64 "), not paired", T->id, T->exp[a],
			               T->exp[b], T->col[c], where, T->seed[run_at(T, a, c, s)],
			               T->seed[run_at(T, b, c, s)]);
		}
	}
	if (d->n == 0)
		return;
	d->mean = gsl_stats_mean(v, 1, (size_t)d->n);
	if (d->n < 2)
		return;
	d->sd = gsl_stats_sd(v, 1, (size_t)d->n);
	d->t = gsl_cdf_tdist_Pinv((1 + T->level) / 2, (double)(d->n - 1));
	d->lo = d->mean - d->t * d->sd / sqrt((double)d->n);
	d->hi = d->mean + d->t * d->sd / sqrt((double)d->n);
	d->verdict = d->hi < 0 ? V_LOWER : d->lo > 0 ? V_HIGHER : V_OPEN;
}

/* Mean (std) of experiment e's finished runs at column c (the spec's kind of std). */
static void mean_std(const ptab *T, int e, int c, double *mean, double *std)
{
	double v[100];
	int n = 0;
	*mean = *std = NAN;
	for (int s = 0; s < n_sets(T, c); ++s)
		if (T->state[run_at(T, e, c, s)] == SNM_PAPER_FINISHED)
			v[n++] = T->err[run_at(T, e, c, s)];
	if (n > 0)
		*mean = gsl_stats_mean(v, 1, (size_t)n);
	if (n > 1)
		*std = T->population ? gsl_stats_sd_with_fixed_mean(v, 1, (size_t)n, *mean)
		                     : gsl_stats_sd(v, 1, (size_t)n);
}

/* ---- text ------------------------------------------------------------------------------------ */

/* What is not used in a paired cell: "a missing 1/10; b unfinished 2/10", "" when nothing. */
static void fmt_sides(const char *a, const snm_paper_count *sa, const char *b, const snm_paper_count *sb,
                      char *buf, size_t size)
{
	char x[160], y[160];
	snm_paper_fmt_missing(a, sa, x, sizeof x);
	snm_paper_fmt_missing(b, sb, y, sizeof y);
	snprintf(buf, size, "%s%s%s", x, *x && *y ? "; " : "", y);
}

/* The sets of a and b at column c left out of d for other training subsets: "set 3: other
 * training subsets", "sets 1, 3: ..." (the full column: "other training subsets"); "" when none. */
static void fmt_other(const ptab *T, int a, int b, int c, const diff *d, char *buf, size_t size)
{
	size_t len = 0;
	int first = 1;
	buf[0] = '\0';
	if (d->other == 0)
		return;
	if (!is_full(T->col[c])) {
		len += (size_t)snprintf(buf, size, "set%s", d->other > 1 ? "s" : "");
		for (int s = 0; s < n_sets(T, c) && len < size; ++s)
			if (pairing(T, a, b, c, s) < 0) {
				len += (size_t)snprintf(buf + len, size - len, "%s%d", first ? " " : ", ", s + 1);
				first = 0;
			}
		if (len < size)
			len += (size_t)snprintf(buf + len, size - len, ": ");
	}
	if (len < size)
		snprintf(buf + len, size - len, "other training subsets");
}

/* "<mean> [<lo>, <hi>]" signed, the mean alone for n = 1, "" for n = 0. */
static void fmt_diff(const ptab *T, const diff *d, char *buf, size_t size)
{
	buf[0] = '\0';
	if (d->n >= 2)
		snprintf(buf, size, "%+.*f [%+.*f, %+.*f]", T->digits, d->mean, T->digits, d->lo, T->digits, d->hi);
	else if (d->n == 1)
		snprintf(buf, size, "%+.*f", T->digits, d->mean);
}

/* The verdict column: the words only where the interval excludes 0; "not resolved" where it
 * holds 0; none (the caller's dash) without an interval. */
static void fmt_verdict(const diff *d, const char *a, const char *b, char *buf, size_t size)
{
	switch (d->verdict) {
	case V_LOWER: snprintf(buf, size, "%s lower (better) than %s", a, b); break;
	case V_HIGHER: snprintf(buf, size, "%s higher (worse) than %s", a, b); break;
	case V_OPEN: snprintf(buf, size, "not resolved"); break;
	default: buf[0] = '\0';
	}
}

/* The CSV's verdict: lower, higher, not resolved, or empty. */
static const char *verdict_key(const diff *d)
{
	return d->verdict == V_LOWER ? "lower" : d->verdict == V_HIGHER ? "higher"
	       : d->verdict == V_OPEN ? "not resolved" : "";
}

/* "95%" for level 0.95. */
static void fmt_level(const ptab *T, char *buf, size_t size)
{
	snprintf(buf, size, "%g%%", 100 * T->level);
}

/* The summary of pair p after "a − b: ", in plain text: the columns grouped by outcome, e.g.
 * "lower (better) at 10, 100; not resolved at 20 (interval includes 0); no data at 500." */
static void fmt_summary(const ptab *T, int p, char *buf, size_t size)
{
	static const char *const what[5] = { "lower (better) at", "higher (worse) at", "not resolved at",
	                                     "n = 1 at", "no data at" };
	static const char *const why[5] = { "", "", " (interval includes 0)", " (one run each, no interval)",
	                                    "" };
	size_t len = 0;
	char h[32];
	buf[0] = '\0';
	for (int g = 0; g < 5; ++g) {
		int first = 1;
		for (int c = 0; c < T->n_cols && len < size; ++c) {
			const diff *d = &T->pc[(size_t)p * T->n_cols + c].d;
			int k = d->verdict == V_LOWER ? 0 : d->verdict == V_HIGHER ? 1 : d->verdict == V_OPEN ? 2
			        : d->n == 1 ? 3 : 4;
			if (k != g)
				continue;
			snm_paper_col_head(T->col[c], h, sizeof h);
			len += (size_t)snprintf(buf + len, size - len, "%s%s %s", first ? (len ? "; " : "") : ",",
			                        first ? what[g] : "", h);
			first = 0;
		}
		if (!first && len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s", why[g]);
	}
	if (len < size)
		snprintf(buf + len, size - len, ".");
}

/* ---- writers ------------------------------------------------------------------------------------ */

/* A cell of differences in LaTeX: "$-0.52$ [$-0.90$, $-0.14$]", "$+0.03$" for n = 1, nothing
 * for n = 0. */
static void tex_diff(const ptab *T, FILE *f, const diff *d)
{
	if (d->n >= 2)
		fprintf(f, "$%+.*f$ [$%+.*f$, $%+.*f$]", T->digits, d->mean, T->digits, d->lo, T->digits, d->hi);
	else if (d->n == 1)
		fprintf(f, "$%+.*f$", T->digits, d->mean);
}

static void tex_head(const ptab *T, FILE *f, const char *cols)
{
	snm_paper_tex_banner(f, T->o, T->id);
	snm_paper_tex_fit(f);
	fputs("\\begin{table}[htbp]\n\\centering\n\\caption{", f);
	snm_paper_tex_escape(f, T->caption);
	fprintf(f, "}\n\\label{tab:%s}\n\\snmfit{\\begin{tabular}{%s}\n\\toprule\n", T->id, cols);
}

static void md_head(const ptab *T, FILE *f)
{
	snm_paper_md_banner(f, T->o, T->id);
	snm_paper_md_text(f, T->caption);
	fputs("\n\n", f);
}

/* The diff fields of a CSV line: n, mean, sd, lo, hi, level, verdict. */
static void csv_diff(const ptab *T, FILE *f, const diff *d)
{
	fprintf(f, ",%d", d->n);
	snm_paper_csv_num(f, d->mean);
	snm_paper_csv_num(f, d->sd);
	snm_paper_csv_num(f, d->lo);
	snm_paper_csv_num(f, d->hi);
	fprintf(f, ",%g,%s", T->level, verdict_key(d));
}

/* The end of a line of differences: " & <n> & <verdict> \\\\" / " | <n> | <verdict> |", a dash
 * for no verdict. */
static void tex_tail(FILE *f, int n, const char *verdict)
{
	fprintf(f, " & %d & ", n);
	if (*verdict)
		snm_paper_tex_escape(f, verdict);
	else
		fputs("--", f);
	fputs(" \\\\\n", f);
}

static void md_tail(FILE *f, int n, const char *verdict)
{
	fprintf(f, " | %d | ", n);
	snm_paper_md_text(f, *verdict ? verdict : "–");
	fputs(" |\n", f);
}

/* -- layout paired -- */

static const char *pair_a(const ptab *T, int p) { return T->exp[T->pa[p]]; }
static const char *pair_b(const ptab *T, int p) { return T->exp[T->pb[p]]; }

/* The texts of one line of a paired or ablation table, which each writer prints in its syntax. */
typedef struct line {
	char h[32];                /* paired: the column head */
	char ms[64];               /* ablation: the row's mean (std), fmt_mean_std */
	char d[96];                /* the differences, fmt_diff ("" for the baseline) */
	char v[300];               /* the verdict in words, fmt_verdict */
	char other[400];           /* the sets not paired for other subsets, fmt_other */
	char miss[800];            /* paired: fmt_sides and other joined by "; "; ablation: the row's
	                            * fmt_missing */
} line;

/* Pair p at column c. */
static void pair_line(const ptab *T, int p, int c, line *t)
{
	const pcell *x = &T->pc[(size_t)p * T->n_cols + c];
	snm_paper_col_head(T->col[c], t->h, sizeof t->h);
	t->ms[0] = '\0';
	fmt_diff(T, &x->d, t->d, sizeof t->d);
	fmt_verdict(&x->d, pair_a(T, p), pair_b(T, p), t->v, sizeof t->v);
	fmt_sides(pair_a(T, p), &x->a, pair_b(T, p), &x->b, t->miss, sizeof t->miss);
	fmt_other(T, T->pa[p], T->pb[p], c, &x->d, t->other, sizeof t->other);
	if (*t->other) {
		size_t len = strlen(t->miss);
		snprintf(t->miss + len, sizeof t->miss - len, "%s%s", len ? "; " : "", t->other);
	}
}

static void paired_md(const void *arg, FILE *f)
{
	const ptab *T = arg;
	char lv[16], sum[2048];
	line t;
	fmt_level(T, lv, sizeof lv);
	md_head(T, f);
	fprintf(f, "Each row: the paired differences d = a − b of the test error (percentage points) over "
	        "the sets where both runs are finished: their mean, the %s interval of the paired t test "
	        "(mean ± t · sd / √n, t of n − 1 degrees of freedom) and n. The verdict names the lower "
	        "error only where the interval excludes 0; \"not resolved\": it includes 0; –: no interval "
	        "(n = 1, one run each; n = 0, no pair of finished runs).\n\n", lv);
	fprintf(f, "| a − b | per-class examples | mean d [%s interval] | n | verdict |\n", lv);
	fputs("| --- | ---: | ---: | ---: | --- |\n", f);
	for (int p = 0; p < T->n_pairs; ++p)
		for (int c = 0; c < T->n_cols; ++c) {
			const pcell *x = &T->pc[(size_t)p * T->n_cols + c];
			pair_line(T, p, c, &t);
			fputs("| ", f);
			snm_paper_md_text(f, pair_a(T, p));
			fputs(" − ", f);
			snm_paper_md_text(f, pair_b(T, p));
			fprintf(f, " | %s | ", t.h);
			if (*t.d)
				fputs(t.d, f);
			if (*t.miss) {
				fprintf(f, "%s*", *t.d ? " · " : "");
				snm_paper_md_text(f, t.miss);
				fputs("*", f);
			}
			md_tail(f, x->d.n, t.v);
		}
	fputs("\n", f);
	for (int p = 0; p < T->n_pairs; ++p) {
		fmt_summary(T, p, sum, sizeof sum);
		fputs("- ", f);
		snm_paper_md_text(f, pair_a(T, p));
		fputs(" − ", f);
		snm_paper_md_text(f, pair_b(T, p));
		fputs(": ", f);
		snm_paper_md_text(f, sum);
		fputs("\n", f);
	}
}

static void paired_tex(const void *arg, FILE *f)
{
	const ptab *T = arg;
	char lv[16], sum[2048];
	line t;
	fmt_level(T, lv, sizeof lv);
	tex_head(T, f, "llrrl");
	fputs("$a - b$ & per-class examples & mean $d$ [", f);
	snm_paper_tex_escape(f, lv);
	fputs(" interval] & $n$ & verdict \\\\\n", f);
	for (int p = 0; p < T->n_pairs; ++p) {
		fputs("\\midrule\n", f);
		for (int c = 0; c < T->n_cols; ++c) {
			const pcell *x = &T->pc[(size_t)p * T->n_cols + c];
			pair_line(T, p, c, &t);
			if (c == 0) {
				snm_paper_tex_escape(f, pair_a(T, p));
				fputs(" $-$ ", f);
				snm_paper_tex_escape(f, pair_b(T, p));
			}
			fprintf(f, " & %s & ", t.h);
			tex_diff(T, f, &x->d);
			if (*t.miss) {
				fputs(*t.d ? " \\textit{" : "\\textit{", f);
				snm_paper_tex_escape(f, t.miss);
				fputs("}", f);
			}
			tex_tail(f, x->d.n, t.v);
		}
	}
	fputs("\\bottomrule\n\\end{tabular}}\n\n\\smallskip\n\\begin{minipage}{\\textwidth}\\footnotesize\n", f);
	fputs("Paired differences $d = a - b$ of the test error (percentage points) over the sets where "
	      "both runs are finished: mean, ", f);
	snm_paper_tex_escape(f, lv);
	fputs(" interval of the paired $t$ test, $n$; a verdict only where the interval excludes 0.\\\\\n", f);
	for (int p = 0; p < T->n_pairs; ++p) {
		fmt_summary(T, p, sum, sizeof sum);
		snm_paper_tex_escape(f, pair_a(T, p));
		fputs(" $-$ ", f);
		snm_paper_tex_escape(f, pair_b(T, p));
		fputs(": ", f);
		snm_paper_tex_escape(f, sum);
		fputs(p + 1 < T->n_pairs ? "\\\\\n" : "\n", f);
	}
	fputs("\\end{minipage}\n\\end{table}\n", f);
}

static void paired_csv(const void *arg, FILE *f)
{
	const ptab *T = arg;
	line t;
	fputs("table,a,b,column,runs,a_finished,b_finished,n,mean,sd,lo,hi,level,verdict,missing\n", f);
	for (int p = 0; p < T->n_pairs; ++p)
		for (int c = 0; c < T->n_cols; ++c) {
			const pcell *x = &T->pc[(size_t)p * T->n_cols + c];
			fprintf(f, "%s,", T->id);
			snm_paper_csv_text(f, pair_a(T, p));
			fputc(',', f);
			snm_paper_csv_text(f, pair_b(T, p));
			fprintf(f, ",%s,%d,%d,%d", T->col[c], x->a.runs, x->a.fin, x->b.fin);
			csv_diff(T, f, &x->d);
			pair_line(T, p, c, &t);
			fputc(',', f);
			snm_paper_csv_text(f, t.miss);
			fputc('\n', f);
		}
}

/* -- layout ablation -- */

/* Row r (0: the baseline, whose d has n = 0: no differences, no verdict). */
static void ablation_line(const ptab *T, int r, line *t)
{
	const arow *x = &T->ar[r];
	t->h[0] = '\0';
	snm_paper_fmt_mean_std(T->digits, x->mean, x->std, t->ms, sizeof t->ms);
	snm_paper_fmt_missing(NULL, &x->s, t->miss, sizeof t->miss);
	fmt_diff(T, &x->d, t->d, sizeof t->d);
	fmt_verdict(&x->d, T->exp[T->row_exp[r]], T->exp[T->row_exp[0]], t->v, sizeof t->v);
	fmt_other(T, T->row_exp[r], T->row_exp[0], 0, &x->d, t->other, sizeof t->other);
}

static void ablation_md(const void *arg, FILE *f)
{
	const ptab *T = arg;
	const char *base = T->exp[T->row_exp[0]];
	char lv[16], h[32];
	line t;
	fmt_level(T, lv, sizeof lv);
	snm_paper_col_head(T->col[0], h, sizeof h);
	md_head(T, f);
	fprintf(f, "Each row: the test error (%%) at %s per-class examples, mean (std) over the sets (std %s) "
	        "and n, its finished runs; Δ: the paired differences row − baseline (percentage points) over "
	        "the sets where both runs are finished: their mean, the %s interval of the paired t test and "
	        "n. The verdict names the lower error only where the interval excludes 0; \"not resolved\": "
	        "it includes 0; –: no interval.\n\n", h, snm_paper_std_kind(T->population), lv);
	fputs("| row | run | test error (%) | n | Δ vs ", f);
	snm_paper_md_text(f, base);
	fprintf(f, " [%s interval] | pairs | verdict |\n", lv);
	fputs("| --- | --- | ---: | ---: | ---: | ---: | --- |\n", f);
	for (int r = 0; r < T->n_rows; ++r) {
		const arow *x = &T->ar[r];
		const char *run = T->exp[T->row_exp[r]];
		ablation_line(T, r, &t);
		fputs("| ", f);
		if (r == 0)
			fputs("baseline: ", f);
		snm_paper_md_text(f, T->label[r]);
		fputs(" | ", f);
		snm_paper_md_text(f, run);
		fputs(" | ", f);
		if (*t.ms)
			fputs(t.ms, f);
		if (*t.miss)
			fprintf(f, "%s*%s*", *t.ms ? " · " : "", t.miss);
		fprintf(f, " | %d | ", x->s.fin);
		if (r == 0) {
			fputs("– | – | – |\n", f);
			continue;
		}
		if (*t.d)
			fputs(t.d, f);
		if (*t.other) {
			fprintf(f, "%s*", *t.d ? " · " : "");
			snm_paper_md_text(f, t.other);
			fputs("*", f);
		}
		if (!*t.d && !*t.other)
			fputs("–", f);
		md_tail(f, x->d.n, t.v);
	}
}

static void ablation_tex(const void *arg, FILE *f)
{
	const ptab *T = arg;
	const char *base = T->exp[T->row_exp[0]];
	char lv[16], h[32];
	line t;
	fmt_level(T, lv, sizeof lv);
	snm_paper_col_head(T->col[0], h, sizeof h);
	tex_head(T, f, "llrrrrl");
	fputs("row & run & test error (\\%) & $n$ & $\\Delta$ vs ", f);
	snm_paper_tex_escape(f, base);
	fputs(" [", f);
	snm_paper_tex_escape(f, lv);
	fputs(" interval] & pairs & verdict \\\\\n\\midrule\n", f);
	for (int r = 0; r < T->n_rows; ++r) {
		const arow *x = &T->ar[r];
		const char *run = T->exp[T->row_exp[r]];
		ablation_line(T, r, &t);
		if (r == 0)
			fputs("baseline: ", f);
		snm_paper_tex_escape(f, T->label[r]);
		fputs(" & ", f);
		snm_paper_tex_escape(f, run);
		fprintf(f, " & %s", t.ms);
		if (*t.miss)
			fprintf(f, "%s\\textit{%s}", *t.ms ? " " : "", t.miss);
		fprintf(f, " & %d & ", x->s.fin);
		if (r == 0) {
			fputs("-- & -- & -- \\\\\n\\midrule\n", f);
			continue;
		}
		tex_diff(T, f, &x->d);
		if (*t.other) {
			fputs(*t.d ? " \\textit{" : "\\textit{", f);
			snm_paper_tex_escape(f, t.other);
			fputs("}", f);
		}
		if (!*t.d && !*t.other)
			fputs("--", f);
		tex_tail(f, x->d.n, t.v);
	}
	fprintf(f, "\\bottomrule\n\\end{tabular}}\n\n\\smallskip\n\\begin{minipage}{\\textwidth}\\footnotesize\n"
	        "Test error (\\%%) at %s per-class examples: mean (std) over the sets (std %s), $n$ finished "
	        "runs; $\\Delta$: paired differences row $-$ baseline over the sets where both runs are "
	        "finished, mean and ", h, snm_paper_std_kind(T->population));
	snm_paper_tex_escape(f, lv);
	fputs(" interval of the paired $t$ test; a verdict only where the interval excludes 0.\n"
	      "\\end{minipage}\n\\end{table}\n", f);
}

static void ablation_csv(const void *arg, FILE *f)
{
	const ptab *T = arg;
	fputs("table,role,run,label,column,runs,finished,absent,unfinished,unreadable,mean,std,"
	      "n,diff_mean,diff_sd,lo,hi,level,verdict\n", f);
	for (int r = 0; r < T->n_rows; ++r) {
		const arow *x = &T->ar[r];
		fprintf(f, "%s,%s,", T->id, r == 0 ? "baseline" : "variant");
		snm_paper_csv_text(f, T->exp[T->row_exp[r]]);
		fputc(',', f);
		snm_paper_csv_text(f, T->label[r]);
		fprintf(f, ",%s,%d,%d,%d,%d,%d", T->col[0], x->s.runs, x->s.fin, x->s.absent, x->s.unfin, x->s.bad);
		snm_paper_csv_num(f, x->mean);
		snm_paper_csv_num(f, x->std);
		if (r == 0)
			fputs(",,,,,,,", f);
		else
			csv_diff(T, f, &x->d);
		fputc('\n', f);
	}
}

/* ---- the tables -------------------------------------------------------------------------------- */

/* The keys both layouts share, and room for n_names experiments and n_cols columns. */
static int begin(ptab *T, const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *e,
                 const snm_option *opts, size_t n_names, size_t n_cols, snm_error *err)
{
	const char *std;
	long sets, digits;
	int rc;
	memset(T, 0, sizeof *T);
	T->o = o;
	if ((rc = snm_paper_paired_check(spec, e, err))
	    || (rc = snm_cfg_opt_str(e, opts, "id", &T->id, err))
	    || (rc = snm_cfg_opt_str(e, opts, "caption", &T->caption, err))
	    || (rc = snm_cfg_opt_str(e, opts, "pipeline", &T->pipeline, err))
	    || (rc = snm_cfg_opt_int(e, opts, "sets", &sets, err))
	    || (rc = snm_cfg_opt_double(e, opts, "level", &T->level, err))
	    || (rc = snm_cfg_opt_str(spec, snm_paper_spec_options, "std", &std, err))
	    || (rc = snm_cfg_opt_int(spec, snm_paper_spec_options, "digits", &digits, err)))
		return rc;
	T->sets = (int)sets;
	T->digits = (int)digits;
	T->population = strcmp(std, "population") == 0;
	T->n_cols = (int)n_cols;
	T->col = calloc(n_cols, sizeof *T->col);
	T->exp = calloc(n_names, sizeof *T->exp);
	T->state = calloc(n_names * n_cols * (size_t)T->sets, sizeof *T->state);
	T->err = calloc(n_names * n_cols * (size_t)T->sets, sizeof *T->err);
	T->seed = calloc(n_names * n_cols * (size_t)T->sets, sizeof *T->seed);
	if (!T->col || !T->exp || !T->state || !T->err || !T->seed)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	return SNM_OK;
}

static void end(ptab *T)
{
	free(T->col), free(T->exp), free(T->state), free(T->err), free(T->seed);
	free(T->pa), free(T->pb), free(T->pc);
	free(T->row_exp), free(T->label), free(T->ar);
}

int snm_paper_paired(const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *e, snm_error *err)
{
	const snm_cfg *cols = snm_cfg_get(e, "columns"), *pairs = snm_cfg_get(e, "pairs");
	size_t n_pairs = snm_cfg_len(pairs);
	ptab T;
	int rc;
	if ((rc = begin(&T, o, spec, e, snm_paper_paired_options, 2 * n_pairs, snm_cfg_len(cols), err)))
		goto done;
	T.n_pairs = (int)n_pairs;
	T.pa = calloc(n_pairs, sizeof *T.pa);
	T.pb = calloc(n_pairs, sizeof *T.pb);
	T.pc = calloc(n_pairs * (size_t)T.n_cols, sizeof *T.pc);
	if (!T.pa || !T.pb || !T.pc) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		goto done;
	}
	for (int c = 0; c < T.n_cols; ++c)
		T.col[c] = snm_cfg_text(snm_cfg_at(cols, (size_t)c));
	for (int p = 0; p < T.n_pairs; ++p) {
		const snm_cfg *pair = snm_cfg_at(pairs, (size_t)p);
		T.pa[p] = exp_index(&T, snm_cfg_text(snm_cfg_at(pair, 0)));
		T.pb[p] = exp_index(&T, snm_cfg_text(snm_cfg_at(pair, 1)));
	}
	if ((rc = read_runs(&T, err)))
		goto done;
	for (int p = 0; p < T.n_pairs; ++p)
		for (int c = 0; c < T.n_cols; ++c) {
			pcell *x = &T.pc[(size_t)p * T.n_cols + c];
			count_side(&T, T.pa[p], c, &x->a);
			count_side(&T, T.pb[p], c, &x->b);
			paired_diff(&T, T.pa[p], T.pb[p], c, &x->d);
		}
	if ((rc = snm_paper_write_file(o, T.id, "tex", paired_tex, &T, err))
	    || (rc = snm_paper_write_file(o, T.id, "md", paired_md, &T, err)))
		goto done;
	rc = snm_paper_write_file(o, T.id, "csv", paired_csv, &T, err);
done:
	end(&T);
	return rc;
}

int snm_paper_ablation(const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *e, snm_error *err)
{
	const snm_cfg *vars = snm_cfg_get(e, "variants");
	const snm_cfg *labels = snm_cfg_opt_node(spec, snm_paper_spec_options, "labels");
	const snm_option *vo = snm_paper_variant_options;
	size_t n_rows = 1 + snm_cfg_len(vars);
	const char *base;
	ptab T;
	int rc;
	if ((rc = begin(&T, o, spec, e, snm_paper_ablation_options, n_rows, 1, err))
	    || (rc = snm_cfg_opt_str(e, snm_paper_ablation_options, "column", &T.col[0], err))
	    || (rc = snm_cfg_opt_str(e, snm_paper_ablation_options, "baseline", &base, err)))
		goto done;
	T.n_rows = (int)n_rows;
	T.row_exp = calloc(n_rows, sizeof *T.row_exp);
	T.label = calloc(n_rows, sizeof *T.label);
	T.ar = calloc(n_rows, sizeof *T.ar);
	if (!T.row_exp || !T.label || !T.ar) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		goto done;
	}
	T.row_exp[0] = exp_index(&T, base);
	T.label[0] = snm_cfg_text(snm_cfg_get(labels, base));
	for (int r = 1; r < T.n_rows; ++r) {
		const snm_cfg *v = snm_cfg_at(vars, (size_t)r - 1);
		const char *run, *label;
		if ((rc = snm_cfg_opt_str(v, vo, "run", &run, err)) || (rc = snm_cfg_opt_str(v, vo, "label", &label, err)))
			goto done;
		T.row_exp[r] = exp_index(&T, run);
		T.label[r] = *label ? label : snm_cfg_text(snm_cfg_get(labels, run));
	}
	for (int r = 0; r < T.n_rows; ++r)
		if (T.label[r] == NULL)
			T.label[r] = T.exp[T.row_exp[r]];
	if ((rc = read_runs(&T, err)))
		goto done;
	for (int r = 0; r < T.n_rows; ++r) {
		arow *x = &T.ar[r];
		count_side(&T, T.row_exp[r], 0, &x->s);
		mean_std(&T, T.row_exp[r], 0, &x->mean, &x->std);
		if (r > 0)
			paired_diff(&T, T.row_exp[r], T.row_exp[0], 0, &x->d);
	}
	if ((rc = snm_paper_write_file(o, T.id, "tex", ablation_tex, &T, err))
	    || (rc = snm_paper_write_file(o, T.id, "md", ablation_md, &T, err)))
		goto done;
	rc = snm_paper_write_file(o, T.id, "csv", ablation_csv, &T, err);
done:
	end(&T);
	return rc;
}
