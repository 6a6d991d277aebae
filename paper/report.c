/* report.c: the results table and learning curves of any pipeline (report.h), for `snm report`:
 * the runs of the pipeline grouped by experiment and per-class size, each read as `snm status`
 * reads it (src/run/state.h), written as Markdown, CSV and LaTeX through write.c's helpers, and
 * drawn through plot.c's snm_paper_curves_draw. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_statistics_double.h>
#include "run/fs.h"
#include "run/identity.h"
#include "run/state.h"
#include "run/store.h"
#include "report.h"

#define DIGITS 2                 /* decimals of the errors, as the paper's tables print them */
#define KEYS_SHOWN 2             /* a cell names up to this many runs of a kind, else a count */

/* What keeps a run out of its cell's numbers, in the order the cells name them. */
enum { K_MISSING, K_UNFINISHED, K_REFUSED, K_FAILED, N_KINDS, K_USED = N_KINDS };
static const char *const kind_words[N_KINDS] = { "missing", "unfinished", "refused", "failed" };

typedef struct rcell {
	int n_runs, *runs;           /* its runs: indices into the pipeline's */
	int fin, n[N_KINDS];         /* its finished runs, and the others by kind */
	int other;                   /* its finished runs made by other code (identity.h): marked */
	double mean, std;            /* over the finished runs; NaN when none (std: fewer than 2) */
	int fin_min;                 /* its finished runs with a min_test_error (train.test not best) */
	double mean_min, std_min;    /* ... and the mean (std) of it */
	int best;
	char *brief;                 /* the runs not used, for a reader: "missing: quick/a/n10/set2" */
	char *all;                   /* every one of them, space-separated, for the CSV */
} rcell;

struct snm_report {
	const snm_paper_opts *o;
	const snm_pipeline *p;
	char *const *paths;
	char *names;                 /* the pipeline names of the run keys: "quick", "mnist, cifar10" */
	int n_rows, n_cols;
	char **row;                  /* "quick/feed-forward" */
	const char **label;          /* the row's label: the experiment, or the whole row */
	int *col;                    /* per-class sizes ascending, 0 (the whole split) last */
	rcell *c;                    /* [row][col] */
	int *pool;                   /* the cells' run lists */
	int *kind;                   /* per run: K_USED (finished) or what keeps it out */
	int *drawn;                  /* per run: 1 when its metrics are of this configuration */
	double *value;               /* per run: its result when finished */
	double *value_min;           /* per run: min_test_error at its last row, NaN when none */
	int n_min;                   /* finished runs with one */
	char **other;                /* per run: finished by other code, what differs; else NULL */
	int n_other;                 /* runs finished by other code */
};

static rcell *cell_at(const snm_report *R, int r, int c)
{
	return &R->c[(size_t)r * R->n_cols + c];
}

void snm_report_close(snm_report *R)
{
	if (R == NULL)
		return;
	for (int r = 0; R->row && r < R->n_rows; ++r)
		free(R->row[r]);
	for (int i = 0; R->c && i < R->n_rows * R->n_cols; ++i) {
		free(R->c[i].brief);
		free(R->c[i].all);
	}
	free(R->names);
	free(R->row);
	free(R->label);
	free(R->col);
	free(R->c);
	free(R->pool);
	free(R->kind);
	free(R->drawn);
	free(R->value);
	free(R->value_min);
	for (int i = 0; R->other && i < R->p->n_runs; ++i)
		free(R->other[i]);
	free(R->other);
	free(R);
}

/* ---- grouping the runs ----------------------------------------------------------------------- */

static int find_row(const snm_report *R, const char *key, size_t len)
{
	for (int r = 0; r < R->n_rows; ++r)
		if (strlen(R->row[r]) == len && strncmp(R->row[r], key, len) == 0)
			return r;
	return -1;
}

static int find_col(const snm_report *R, int size)
{
	for (int c = 0; c < R->n_cols; ++c)
		if (R->col[c] == size)
			return c;
	return -1;
}

static int col_order(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	if (x == 0 || y == 0)
		return (x == 0) - (y == 0);        /* full last */
	return (x > y) - (x < y);
}

/* Rows, columns, the pipeline names and the labels. */
static int group(snm_report *R, snm_error *err)
{
	const snm_pipeline *p = R->p;
	size_t names_len = 1;
	int n_names = 0;
	R->row = calloc((size_t)p->n_runs + 1, sizeof *R->row);
	R->label = calloc((size_t)p->n_runs + 1, sizeof *R->label);
	R->col = calloc((size_t)p->n_runs + 1, sizeof *R->col);
	if (R->row == NULL || R->label == NULL || R->col == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	for (int i = 0; i < p->n_runs; ++i) {
		const snm_run_spec *q = &p->runs[i];
		size_t len = snm_run_row_len(q);
		if (find_row(R, q->key, len) < 0) {
			if ((R->row[R->n_rows] = strndup(q->key, len)) == NULL)
				return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
			R->n_rows++;
		}
		if (find_col(R, q->per_class) < 0)
			R->col[R->n_cols++] = q->per_class;
		names_len += strcspn(q->key, "/") + 2;
	}
	qsort(R->col, (size_t)R->n_cols, sizeof *R->col, col_order);
	if ((R->names = malloc(names_len)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	R->names[0] = '\0';
	for (int r = 0; r < R->n_rows; ++r) {
		size_t n = strcspn(R->row[r], "/");
		int seen = 0;
		for (int k = 0; k < r && !seen; ++k)
			seen = strcspn(R->row[k], "/") == n && strncmp(R->row[k], R->row[r], n) == 0;
		if (!seen) {
			if (n_names++)
				strcat(R->names, ", ");
			strncat(R->names, R->row[r], n);
		}
	}
	for (int r = 0; r < R->n_rows; ++r) {
		const char *slash = strchr(R->row[r], '/');
		R->label[r] = n_names == 1 && slash ? slash + 1 : R->row[r];
	}
	return SNM_OK;
}

/* The cells' run lists, from one pool. */
static int fill_cells(snm_report *R, snm_error *err)
{
	const snm_pipeline *p = R->p;
	int *at = calloc((size_t)p->n_runs + 1, sizeof *at), used = 0;
	R->c = calloc((size_t)R->n_rows * R->n_cols + 1, sizeof *R->c);
	R->pool = calloc((size_t)p->n_runs + 1, sizeof *R->pool);
	if (at == NULL || R->c == NULL || R->pool == NULL) {
		free(at);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	for (int i = 0; i < p->n_runs; ++i) {
		at[i] = find_row(R, p->runs[i].key, snm_run_row_len(&p->runs[i])) * R->n_cols
		        + find_col(R, p->runs[i].per_class);
		R->c[at[i]].n_runs++;
	}
	for (int k = 0; k < R->n_rows * R->n_cols; ++k) {
		R->c[k].runs = R->pool + used;
		used += R->c[k].n_runs;
		R->c[k].n_runs = 0;
	}
	for (int i = 0; i < p->n_runs; ++i) {
		rcell *x = &R->c[at[i]];
		x->runs[x->n_runs++] = i;
	}
	free(at);
	return SNM_OK;
}

/* ---- the cells' numbers and texts ------------------------------------------------------------ */

typedef struct text {
	char *s;
	size_t len, cap;
	int failed;
} text;

static void put(text *t, const char *s)
{
	size_t n = strlen(s);
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = (t->len + n + 1) * 2;
		char *p = realloc(t->s, cap);
		if (p == NULL) {
			t->failed = 1;
			return;
		}
		t->s = p;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n + 1);
	t->len += n;
}

/* The runs of x that are not used: brief ("missing: k1, k2; unfinished 3 of 3: k1, ...") and
 * all (every key, space-separated). */
static int name_runs(const snm_report *R, rcell *x, snm_error *err)
{
	text brief = { NULL, 0, 0, 0 }, all = { NULL, 0, 0, 0 };
	put(&brief, "");
	put(&all, "");
	for (int k = 0; k < N_KINDS; ++k) {
		int shown = 0;
		char head[64];
		if (x->n[k] == 0)
			continue;
		if (x->n[k] <= KEYS_SHOWN)
			snprintf(head, sizeof head, "%s%s: ", brief.len ? "; " : "", kind_words[k]);
		else
			snprintf(head, sizeof head, "%s%s %d of %d: ", brief.len ? "; " : "", kind_words[k], x->n[k],
			         x->n_runs);
		put(&brief, head);
		for (int i = 0; i < x->n_runs; ++i) {
			const char *key = R->p->runs[x->runs[i]].key;
			if (R->kind[x->runs[i]] != k)
				continue;
			if (all.len)
				put(&all, " ");
			put(&all, key);
			if (x->n[k] <= KEYS_SHOWN || shown == 0) {
				put(&brief, shown ? ", " : "");
				put(&brief, key);
			} else if (shown == 1) {
				put(&brief, ", ...");
			}
			shown++;
		}
	}
	x->brief = brief.s;
	x->all = all.s;
	if (brief.failed || all.failed)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	return SNM_OK;
}

static double rounded(double v)
{
	return round(v * pow(10, DIGITS));
}

static int stats(snm_report *R, snm_error *err)
{
	double *v = calloc((size_t)R->p->n_runs + 1, sizeof *v);
	int rc = SNM_OK;
	if (v == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	for (int k = 0; k < R->n_rows * R->n_cols && rc == SNM_OK; ++k) {
		rcell *x = &R->c[k];
		x->mean = x->std = x->mean_min = x->std_min = NAN;
		for (int i = 0; i < x->n_runs; ++i) {
			int run = x->runs[i];
			if (R->kind[run] == K_USED) {
				v[x->fin++] = R->value[run];
				x->other += R->other[run] != NULL;
			} else
				x->n[R->kind[run]]++;
		}
		if (x->fin > 0)
			x->mean = gsl_stats_mean(v, 1, (size_t)x->fin);
		if (x->fin > 1)
			x->std = gsl_stats_sd(v, 1, (size_t)x->fin);
		for (int i = 0; i < x->n_runs; ++i)
			if (R->kind[x->runs[i]] == K_USED && !isnan(R->value_min[x->runs[i]]))
				v[x->fin_min++] = R->value_min[x->runs[i]];
		if (x->fin_min > 0)
			x->mean_min = gsl_stats_mean(v, 1, (size_t)x->fin_min);
		if (x->fin_min > 1)
			x->std_min = gsl_stats_sd(v, 1, (size_t)x->fin_min);
		rc = name_runs(R, x, err);
	}
	free(v);
	for (int c = 0; c < R->n_cols; ++c) {
		double lo = INFINITY;
		for (int r = 0; r < R->n_rows; ++r)
			if (cell_at(R, r, c)->fin > 0 && rounded(cell_at(R, r, c)->mean) < lo)
				lo = rounded(cell_at(R, r, c)->mean);
		for (int r = 0; r < R->n_rows; ++r)
			cell_at(R, r, c)->best = cell_at(R, r, c)->fin > 0 && rounded(cell_at(R, r, c)->mean) == lo;
	}
	return rc;
}

/* Reads run i as `snm status` does: its kind, result, and whether its curves may be drawn. */
static int read_run(snm_report *R, int i, snm_error *err)
{
	static const int kinds[SNM_N_STATES] = {
		[SNM_STATE_FINISHED] = K_USED, [SNM_STATE_RUNNING] = K_UNFINISHED,
		[SNM_STATE_RESUMABLE] = K_UNFINISHED, [SNM_STATE_NOT_STARTED] = K_MISSING,
		[SNM_STATE_REFUSED] = K_REFUSED, [SNM_STATE_FAILED] = K_FAILED
	};
	const snm_run_spec *r = &R->p->runs[i];
	snm_run_state st;
	int rc;
	snm_paper_use(R->o, R->paths[i]);
	if ((rc = snm_run_state_read(r, R->o->plugin_path, R->paths[i], &st, err)))
		return rc;
	R->kind[i] = kinds[st.state];
	R->value[i] = st.test_at_best;
	R->value_min[i] = NAN;
	if (st.state == SNM_STATE_FINISHED) {      /* train.test checkpoints or every: the seed's number */
		snm_metrics *m = NULL;
		snm_error e;
		if (snm_store_read_metrics(R->paths[i], &m, &e) == SNM_OK) {
			int c = snm_metrics_find(m, "min_test_error");
			if (c >= 0 && snm_metrics_rows(m) > 0)
				R->value_min[i] = snm_metrics_get(m, snm_metrics_rows(m) - 1, c);
			R->n_min += !isnan(R->value_min[i]);
		}
		snm_metrics_free(m);
	}
	R->drawn[i] = st.state == SNM_STATE_FINISHED || st.state == SNM_STATE_RUNNING
	              || st.state == SNM_STATE_RESUMABLE;
	if (st.state == SNM_STATE_FAILED)
		snm_paper_note(R->o, SNM_PAPER_NOTE, "%s: failed: %s", r->key, st.why);
	else if (st.state == SNM_STATE_REFUSED && st.code == SNM_CODE_OTHER)
		snm_paper_note(R->o, SNM_PAPER_NOTE, "%s: unfinished, made by other code (%s); left out",
		               r->key, st.why);
	else if (st.state == SNM_STATE_REFUSED)
		snm_paper_note(R->o, SNM_PAPER_NOTE, "%s: made by another configuration (%s); left out",
		               r->key, st.why);
	if (st.state == SNM_STATE_FINISHED && st.code == SNM_CODE_OTHER) {
		if ((R->other[i] = strdup(st.code_what)) == NULL)
			return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		R->n_other++;
		snm_paper_note(R->o, SNM_PAPER_NOTE, "%s: finished, made by other code (%s); in its cell, "
		               "marked; `snm verify %s` checks it", r->key, st.code_what, R->paths[i]);
	}
	return SNM_OK;
}

int snm_report_open(const snm_paper_opts *o, const snm_pipeline *p, char *const *paths,
                    snm_report **out, snm_error *err)
{
	snm_report *R = calloc(1, sizeof *R);
	int rc;
	*out = NULL;
	if (R == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	R->o = o;
	R->p = p;
	R->paths = paths;
	R->kind = calloc((size_t)p->n_runs + 1, sizeof *R->kind);
	R->drawn = calloc((size_t)p->n_runs + 1, sizeof *R->drawn);
	R->value = calloc((size_t)p->n_runs + 1, sizeof *R->value);
	R->value_min = calloc((size_t)p->n_runs + 1, sizeof *R->value_min);
	R->other = calloc((size_t)p->n_runs + 1, sizeof *R->other);
	if (R->kind == NULL || R->drawn == NULL || R->value == NULL || R->value_min == NULL || R->other == NULL) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = group(R, err)) || (rc = fill_cells(R, err)))
		goto fail;
	for (int i = 0; i < p->n_runs; ++i)
		if ((rc = read_run(R, i, err)))
			goto fail;
	if ((rc = stats(R, err)))
		goto fail;
	*out = R;
	return SNM_OK;
fail:
	snm_report_close(R);
	return rc;
}

void snm_report_counts(const snm_report *R, int *runs, int *finished)
{
	*runs = R->p->n_runs;
	*finished = 0;
	for (int i = 0; i < R->p->n_runs; ++i)
		*finished += R->kind[i] == K_USED;
}

/* ---- writers --------------------------------------------------------------------------------- */

#define OTHER_MARK "†"           /* a cell with a finished run made by other code */
#define OTHER_SHOWN 3            /* such runs named in the note under the table */

/* The note under the table on the runs made by other code, through text (which escapes). */
static void other_note(const snm_report *R, FILE *f, void (*text)(FILE *, const char *))
{
	char buf[600];
	int shown = 0;
	snprintf(buf, sizeof buf, "%d finished run%s made by other code than the plugins and libsnm found "
	         "now (`snm verify RUNFILE` checks %s): ", R->n_other, R->n_other == 1 ? "" : "s",
	         R->n_other == 1 ? "it" : "them");
	text(f, buf);
	for (int i = 0; i < R->p->n_runs && shown < OTHER_SHOWN; ++i)
		if (R->other[i] != NULL) {
			snprintf(buf, sizeof buf, "%s%s (%s)", shown ? ", " : "", R->p->runs[i].key, R->other[i]);
			text(f, buf);
			shown++;
		}
	if (R->n_other > shown) {
		snprintf(buf, sizeof buf, " and %d more", R->n_other - shown);
		text(f, buf);
	}
	text(f, ".");
}

static void col_head(const snm_report *R, int c, char *buf, size_t size)
{
	char col[32];
	snprintf(col, sizeof col, "%d", R->col[c]);
	snm_paper_col_head(R->col[c] ? col : "full", buf, size);
}

/* The Markdown table of R's rows and columns: the header, the rule and a row a row label, each
 * cell " " + what cell writes for it + " |". */
static void md_table(const snm_report *R, FILE *f, void (*cell)(const rcell *x, FILE *f))
{
	char h[32];
	fputs("| experiment |", f);
	for (int c = 0; c < R->n_cols; ++c) {
		col_head(R, c, h, sizeof h);
		fprintf(f, " %s |", h);
	}
	fputs("\n| --- |", f);
	for (int c = 0; c < R->n_cols; ++c)
		fputs(" ---: |", f);
	fputs("\n", f);
	for (int r = 0; r < R->n_rows; ++r) {
		fputs("| ", f);
		snm_paper_md_text(f, R->label[r]);
		fputs(" |", f);
		for (int c = 0; c < R->n_cols; ++c) {
			fputs(" ", f);
			cell(cell_at(R, r, c), f);
			fputs(" |", f);
		}
		fputs("\n", f);
	}
}

/* A cell of the results table: mean (std) at the best validation epoch, n, the mark of runs made
 * by other code, and the runs not used. */
static void md_best_cell(const rcell *x, FILE *f)
{
	char ms[64];
	if (x->n_runs == 0) {
		fputs("–", f);
		return;
	}
	if (x->fin > 0) {
		snm_paper_fmt_mean_std(DIGITS, x->mean, x->std, ms, sizeof ms);
		fprintf(f, x->best ? "**%s**, n=%d" : "%s, n=%d", ms, x->fin);
		if (x->other > 0)
			fputs(" " OTHER_MARK, f);
	}
	if (*x->brief) {
		fputs(x->fin > 0 ? " · *" : "*", f);
		snm_paper_md_text(f, x->brief);
		fputs("*", f);
	}
}

/* A cell of the least-test-error table: mean (std), n of the runs that have it. */
static void md_min_cell(const rcell *x, FILE *f)
{
	char ms[64];
	if (x->fin_min > 0) {
		snm_paper_fmt_mean_std(DIGITS, x->mean_min, x->std_min, ms, sizeof ms);
		fprintf(f, "%s, n=%d", ms, x->fin_min);
	} else {
		fputs("–", f);
	}
}

/* The second number of runs trained with train.test checkpoints or every (seed 003's protocol):
 * the least test error over the test epochs -- a selection on the test set, NOT the table's
 * result above -- one table of the cells that have it. */
static void md_min(const snm_report *R, FILE *f)
{
	fputs("\nThe same runs' least test error (%) over their test epochs (train.test: the seed-003 "
	      "checkpoints, epochs 1-10 and every 10th, or every epoch): the seed's own selection, ON THE "
	      "TEST SET, for comparison with its tables; mean (sample std), n runs.\n\n", f);
	md_table(R, f, md_min_cell);
}

static void md_body(const snm_report *R, FILE *f)
{
	snm_paper_md_text(f, R->names);
	fputs(": test error (%) at the best validation epoch, mean (sample std) over the finished runs of "
	      "each cell, n of them; bold: the lowest mean of the column. The other runs are named: missing "
	      "(no file), unfinished (running or resumable), refused (made by another configuration), "
	      "failed (`snm status` says why).\n\n", f);
	md_table(R, f, md_best_cell);
	if (R->n_other > 0) {
		fputs("\n" OTHER_MARK " ", f);
		other_note(R, f, snm_paper_md_text);
		fputs("\n", f);
	}
	if (R->n_min > 0)
		md_min(R, f);
}

static void banner_md(const snm_report *R, FILE *f)
{
	fprintf(f, "<!-- results.md: generated by `snm report` from %s and the runs under %s; do not "
	        "edit. -->\n\n", R->o->spec, R->o->results);
}

static void write_md(const void *arg, FILE *f)
{
	banner_md(arg, f);
	md_body(arg, f);
}

void snm_report_print(const snm_report *R, FILE *f)
{
	md_body(R, f);
}

static void write_csv(const void *arg, FILE *f)
{
	const snm_report *R = arg;
	char col[32];
	fputs("row,label,column,runs,finished,missing,unfinished,refused,failed,mean,std,best,not_used,"
	      "other_code\n", f);
	for (int r = 0; r < R->n_rows; ++r)
		for (int c = 0; c < R->n_cols; ++c) {
			const rcell *x = cell_at(R, r, c);
			if (x->n_runs == 0)
				continue;
			snprintf(col, sizeof col, "%d", R->col[c]);
			snm_paper_csv_text(f, R->row[r]);
			fputc(',', f);
			snm_paper_csv_text(f, R->label[r]);
			fprintf(f, ",%s,%d,%d,%d,%d,%d,%d", R->col[c] ? col : "full", x->n_runs, x->fin,
			        x->n[K_MISSING], x->n[K_UNFINISHED], x->n[K_REFUSED], x->n[K_FAILED]);
			snm_paper_csv_num(f, x->mean);
			snm_paper_csv_num(f, x->std);
			fprintf(f, ",%d,", x->best);
			snm_paper_csv_text(f, x->all);
			fprintf(f, ",%d\n", x->other);
		}
}

static void write_tex(const void *arg, FILE *f)
{
	const snm_report *R = arg;
	char h[32], ms[64];
	fprintf(f, "%% results.tex: generated by `snm report` from %s and the runs under %s; do not edit.\n",
	        R->o->spec, R->o->results);
	fputs("% A cell: mean (sample std) of the test error over its finished runs; below it, small, their\n"
	      "% number n and the runs not finished.\n", f);
	fputs("\\providecommand{\\snmrcell}[2]{\\begin{tabular}[t]{@{}r@{}}#1\\\\[-2pt]{\\scriptsize #2}"
	      "\\end{tabular}}\n", f);
	snm_paper_tex_fit(f);
	fputs("\\begin{table}[htbp]\n\\centering\n\\caption{", f);
	snm_paper_tex_escape(f, R->names);
	fputs(": test error (\\%) at the best validation epoch, mean (sample std) over the finished runs "
	      "of each cell; bold: the lowest mean of the column.}\n\\label{tab:report}\n", f);
	fprintf(f, "\\snmfit{\\begin{tabular}{l*{%d}{r}}\n\\toprule\nper-class examples", R->n_cols);
	for (int c = 0; c < R->n_cols; ++c) {
		col_head(R, c, h, sizeof h);
		fprintf(f, " & %s", h);
	}
	fputs(" \\\\\n\\midrule\n", f);
	for (int r = 0; r < R->n_rows; ++r) {
		snm_paper_tex_escape(f, R->label[r]);
		for (int c = 0; c < R->n_cols; ++c) {
			const rcell *x = cell_at(R, r, c);
			if (x->n_runs == 0) {
				fputs(" &", f);
				continue;
			}
			fputs(" & \\snmrcell{", f);
			if (x->fin > 0) {
				snm_paper_fmt_mean_std(DIGITS, x->mean, x->std, ms, sizeof ms);
				fprintf(f, x->best ? "\\textbf{%s}" : "%s", ms);
				if (x->other > 0)
					fputs("$^\\dagger$", f);
			} else {
				fputs("--", f);
			}
			fprintf(f, "}{n=%d", x->fin);
			if (*x->brief) {
				fputs("; \\textit{", f);
				snm_paper_tex_escape(f, x->brief);
				fputs("}", f);
			}
			fputs("}", f);
		}
		fputs(" \\\\\n", f);
	}
	fputs("\\bottomrule\n\\end{tabular}}\n", f);
	if (R->n_other > 0) {
		fputs("\\par\\smallskip{\\footnotesize $^\\dagger$ ", f);
		other_note(R, f, snm_paper_tex_escape);
		fputs("}\n", f);
	}
	fputs("\\end{table}\n", f);
}

/* ---- the learning curves --------------------------------------------------------------------- */

static int curves(const snm_report *R, const char *id, const char *metric, const char *what,
                  const char *ylabel, snm_error *err)
{
	snm_paper_line *lines = calloc((size_t)R->n_rows * R->n_cols + 1, sizeof *lines);
	char **titles = calloc((size_t)R->n_cols + 1, sizeof *titles);
	char title[600], empty[600];
	int n = 0, rc = SNM_OK, pc, pr;
	snm_paper_curves_fig fig;
	if (R->n_cols == 0) {
		free(lines);
		free(titles);
		snm_paper_note(R->o, SNM_PAPER_NOTE, "%s: the pipeline has no runs; figure not made", id);
		return SNM_OK;
	}
	if (lines == NULL || titles == NULL) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		goto done;
	}
	pc = (int)ceil(sqrt((double)R->n_cols));   /* the panels' grid, as plot.c lays them out */
	pr = (R->n_cols + pc - 1) / pc;
	for (int c = 0; c < R->n_cols; ++c) {
		if ((titles[c] = malloc(48)) == NULL) {
			rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
			goto done;
		}
		if (R->col[c])
			snprintf(titles[c], 48, "%d examples per class", R->col[c]);
		else
			snprintf(titles[c], 48, "whole training set");
		for (int r = 0; r < R->n_rows; ++r) {
			const rcell *x = cell_at(R, r, c);
			if (x->n_runs == 0)
				continue;
			char **mine = malloc((size_t)x->n_runs * sizeof *mine);   /* the cell's run files */
			if (mine == NULL) {
				rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
				goto done;
			}
			int k = 0;
			for (int i = 0; i < x->n_runs; ++i)
				if (R->drawn[x->runs[i]])
					mine[k++] = R->paths[x->runs[i]];
			lines[n++] = (snm_paper_line){ c, r, R->label[r], k, mine };
		}
	}
	snprintf(title, sizeof title, "Learning curves, %s: %s, per epoch (mean over the runs with metrics)",
	         R->names, what);
	snprintf(empty, sizeof empty, "no run of %s has metrics", R->names);
	fig = (snm_paper_curves_fig){ id, title, ylabel, metric, R->n_cols, (const char *const *)titles, n,
	                              lines, 100 + 480 * pc, 80 + 360 * pr, empty, 0 };
	rc = snm_paper_curves_draw(R->o, &fig, err);
done:
	for (int i = 0; lines && i < n; ++i)
		free((void *)lines[i].paths);
	for (int c = 0; titles && c < R->n_cols; ++c)
		free(titles[c]);
	free(lines);
	free(titles);
	return rc;
}

int snm_report_write(const snm_report *R, snm_error *err)
{
	snm_error e;
	int rc, first = SNM_OK;
	if ((rc = snm_mkdirs(R->o->out, err)))
		return rc;
	if ((rc = snm_paper_write_file(R->o, "results", "md", write_md, R, err))
	    || (rc = snm_paper_write_file(R->o, "results", "csv", write_csv, R, err))
	    || (rc = snm_paper_write_file(R->o, "results", "tex", write_tex, R, err)))
		first = rc;
	if (R->o->no_figures)
		return first;
	if ((rc = curves(R, "curves-valid", "valid_error", "validation error", "validation error (%)", &e))
	    && first == SNM_OK) {
		first = rc;
		*err = e;
	}
	if ((rc = curves(R, "curves-test", "test_at_best", "test error at the best validation epoch so far",
	                 "test error at best validation (%)", &e)) && first == SNM_OK) {
		first = rc;
		*err = e;
	}
	return first;
}
