/* table.c: one table of the paper stage (see paper.h and paper/tables.yaml): gathers
 * the runs of every cell, computes mean and standard deviation over the finished ones with GSL,
 * marks the best of each column, and writes the table as LaTeX (booktabs), Markdown and CSV with
 * the paper's number and the difference beside each reproduced cell.
 *
 * Cells.  A table has blocks of rows: layout `mean` one block ("mean": each cell over the sets
 * 1..sets, the `full` column the single whole-set run); layout `sets` one block per set k (each
 * cell the run of set k; the `full` column only in the block of set 1) and, with mean_block, a
 * last "mean" block like layout mean's.  A cell counts its runs by state: finished (used),
 * absent, unfinished, unreadable.  The best mark (best: bold) goes to the lowest mean of a
 * column within a block, compared at the printed precision (ties all marked), among the cells
 * whose runs are all finished. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_statistics_double.h>
#include "paper.h"

typedef struct cell {
	snm_paper_count n;         /* its runs by state */
	double mean, std;          /* over the finished runs; NaN when there are none (std: < 2) */
	double pmean, pstd;        /* the paper's numbers; NaN when it prints none */
	int blank;                 /* not a cell of this block (the full column outside set 1) */
	int best;
} cell;

typedef struct table {
	const snm_paper_opts *o;
	const char *id, *caption, *pipeline;
	int sets_layout, mean_block, bold, sets, digits, population;
	int n_cols, n_rows, n_blocks;
	const char **col;          /* column texts: "10", ..., "full" */
	const char **run, **label; /* per row */
	cell *c;                   /* [block][row][col] */
} table;

static cell *at(table *T, int b, int r, int c)
{
	return &T->c[((size_t)b * T->n_rows + r) * T->n_cols + c];
}

static int is_full(const char *col)
{
	return strcmp(col, "full") == 0;
}

/* Block b's name: "mean", or "set<k>". */
static void block_name(const table *T, int b, char *buf, size_t size)
{
	if (!T->sets_layout || b == T->sets)
		snprintf(buf, size, "mean");
	else
		snprintf(buf, size, "set%d", b + 1);
}

/* ---- the paper's numbers --------------------------------------------------------------------- */

/* One entry: a number, [mean] or [mean, std], or null. */
static int paper_entry(const snm_cfg *n, double *m, double *s, snm_error *err)
{
	*m = *s = NAN;
	switch (snm_cfg_kind(n)) {
	case SNM_CFG_NULL:
		return SNM_OK;
	case SNM_CFG_SCALAR:
		return snm_cfg_to_double(n, m, err);
	case SNM_CFG_SEQ:
		if (snm_cfg_len(n) >= 1 && snm_cfg_len(n) <= 2) {
			int rc = snm_cfg_to_double(snm_cfg_at(n, 0), m, err);
			if (rc == SNM_OK && snm_cfg_len(n) == 2)
				rc = snm_cfg_to_double(snm_cfg_at(n, 1), s, err);
			return rc;
		}
		/* fall through */
	default:
		return SNM_CFG_FAIL(err, SNM_ECONFIG, n, "a paper number is a number, [mean, std] or ~");
	}
}

/* The list of one block's numbers into the cells of row r of block b. */
static int paper_list(table *T, const snm_cfg *list, int b, int r, snm_error *err)
{
	if (snm_cfg_kind(list) == SNM_CFG_NULL)
		return SNM_OK;
	if (snm_cfg_kind(list) != SNM_CFG_SEQ || snm_cfg_len(list) > (size_t)T->n_cols)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, list, "%s: the paper's numbers of a row are a list of at "
		                    "most %d entries (one per column)", T->id, T->n_cols);
	for (size_t c = 0; c < snm_cfg_len(list); ++c) {
		cell *x = at(T, b, r, (int)c);
		int rc = paper_entry(snm_cfg_at(list, c), &x->pmean, &x->pstd, err);
		if (rc)
			return rc;
		if (x->blank && isfinite(x->pmean))
			return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_at(list, c), "%s: the 'full' column belongs "
			                    "to the block of set 1; leave it out (or ~) here", T->id);
	}
	return SNM_OK;
}

static int paper_numbers(table *T, int r, const snm_cfg *paper, snm_error *err)
{
	if (snm_cfg_kind(paper) == SNM_CFG_NULL)
		return SNM_OK;
	if (!T->sets_layout)
		return paper_list(T, paper, 0, r, err);
	if (snm_cfg_kind(paper) != SNM_CFG_MAP)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, paper, "%s: with layout sets, 'paper' maps set1..set%d%s "
		                    "to lists", T->id, T->sets, T->mean_block ? " and mean" : "");
	for (size_t i = 0; i < snm_cfg_len(paper); ++i) {
		const char *k = snm_cfg_key_at(paper, i);
		int b = -1, rc;
		if (strcmp(k, "mean") == 0 && T->mean_block)
			b = T->sets;
		else if (strncmp(k, "set", 3) == 0 && atoi(k + 3) >= 1 && atoi(k + 3) <= T->sets)
			b = atoi(k + 3) - 1;
		if (b < 0)
			return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_value_at(paper, i), "%s: unknown block '%s' "
			                    "(set1..set%d%s)", T->id, k, T->sets, T->mean_block ? ", mean" : "");
		if ((rc = paper_list(T, snm_cfg_value_at(paper, i), b, r, err)))
			return rc;
	}
	return SNM_OK;
}

/* ---- reading the runs ------------------------------------------------------------------------ */

/* Gathers the runs of cell (b, r, c) and their statistics. */
static int fill_cell(table *T, int b, int r, int c, snm_error *err)
{
	cell *x = at(T, b, r, c);
	const int mean_cell = !T->sets_layout || b == T->sets;
	double v[100];
	int lo, hi;
	x->mean = x->std = NAN;
	if (is_full(T->col[c])) {
		lo = hi = 0;
	} else if (mean_cell) {
		lo = 1;
		hi = T->sets;
	} else {
		lo = hi = b + 1;
	}
	for (int s = lo; s <= hi; ++s) {
		snm_paper_result res;
		char *path = snm_paper_run_path(T->o->results, T->pipeline, T->run[r], T->col[c], s);
		int rc;
		if (path == NULL)
			return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		snm_paper_use(T->o, path);
		rc = snm_paper_read_result(path, 0, &res, err);
		if (rc == SNM_OK) {
			x->n.runs++;
			switch (res.state) {
			case SNM_PAPER_ABSENT: x->n.absent++; break;
			case SNM_PAPER_UNFINISHED: x->n.unfin++; break;
			case SNM_PAPER_UNREADABLE:
				x->n.bad++;
				snm_paper_note(T->o, SNM_PAPER_NOTE, "%s: skipped %s", T->id, res.why);
				break;
			default: v[x->n.fin++] = res.test_at_best; break;
			}
		}
		free(path);
		if (rc)
			return rc;
	}
	if (x->n.fin > 0)
		x->mean = gsl_stats_mean(v, 1, (size_t)x->n.fin);
	if (x->n.fin > 1)
		x->std = T->population ? gsl_stats_sd_with_fixed_mean(v, 1, (size_t)x->n.fin, x->mean)
		                       : gsl_stats_sd(v, 1, (size_t)x->n.fin);
	return SNM_OK;
}

static double rounded(double v, int digits)
{
	return round(v * pow(10, digits));
}

static void mark_best(table *T)
{
	for (int b = 0; b < T->n_blocks; ++b)
		for (int c = 0; c < T->n_cols; ++c) {
			double lo = INFINITY;
			for (int r = 0; r < T->n_rows; ++r) {
				cell *x = at(T, b, r, c);
				if (!x->blank && x->n.runs > 0 && x->n.fin == x->n.runs && rounded(x->mean, T->digits) < lo)
					lo = rounded(x->mean, T->digits);
			}
			for (int r = 0; r < T->n_rows; ++r) {
				cell *x = at(T, b, r, c);
				x->best = !x->blank && x->n.runs > 0 && x->n.fin == x->n.runs && rounded(x->mean, T->digits) == lo;
			}
		}
}

/* ---- text of a cell -------------------------------------------------------------------------- */

static double diff(const cell *x)
{
	return x->n.fin > 0 && isfinite(x->pmean) ? x->mean - x->pmean : NAN;
}

/* "+0.45" / "-1.20", "" when there is no difference to show; never "-0.00". */
static void fmt_diff(const table *T, const cell *x, char *buf, size_t size)
{
	double d = diff(x);
	buf[0] = '\0';
	if (!isfinite(d))
		return;
	if (rounded(d, T->digits) == 0)
		d = 0;
	snprintf(buf, size, "%+.*f", T->digits, d);
}

/* ---- writers --------------------------------------------------------------------------------- */

/* The head of one LaTeX float: caption (with a block name for the per-set layout), label, the
 * column heads. */
static void tex_head(const table *T, FILE *f, int b)
{
	char h[32];
	fputs("\\begin{table}[htbp]\n\\centering\n\\caption{", f);
	snm_paper_tex_escape(f, T->caption);
	if (T->sets_layout && b == T->sets)
		fprintf(f, " Mean over the %d random sets.}\n\\label{tab:%s-mean}\n", T->sets, T->id);
	else if (T->sets_layout)
		fprintf(f, " Set %d.}\n\\label{tab:%s-set%d}\n", b + 1, T->id, b + 1);
	else
		fprintf(f, "}\n\\label{tab:%s}\n", T->id);
	fprintf(f, "\\snmfit{\\begin{tabular}{l*{%d}{r}}\n\\toprule\n", T->n_cols);
	fputs(T->sets_layout && b < T->sets ? "per-class examples (one run)" : "per-class examples", f);
	for (int c = 0; c < T->n_cols; ++c) {
		snm_paper_col_head(T->col[c], h, sizeof h);
		fprintf(f, " & %s", h);
	}
	fputs(" \\\\\n\\midrule\n", f);
}

/* One float per block (a per-set table of nine rows already fills a page), each shrunk to the
 * text width and height when it is larger, never enlarged. */
static void write_tex(const void *arg, FILE *f)
{
	const table *T = arg;
	char ours[64], paper[64], d[32], miss[64];
	snm_paper_tex_banner(f, T->o, T->id);
	fprintf(f, "%% A cell: ours (mean (std) over sets, or the single run; std %s); below it,\n"
	        "%% small, the paper's number and in parentheses ours minus the paper's, in percentage "
	        "points.\n", snm_paper_std_kind(T->population));
	fputs("\\providecommand{\\snmcell}[3]{\\begin{tabular}[t]{@{}r@{}}#1\\\\[-2pt]"
	      "{\\scriptsize #2\\if\\relax\\detokenize{#3}\\relax\\else\\ (#3)\\fi}\\end{tabular}}\n", f);
	snm_paper_tex_fit(f);
	for (int b = 0; b < T->n_blocks; ++b) {
		if (b == 0 || T->sets_layout)
			tex_head(T, f, b);
		for (int r = 0; r < T->n_rows; ++r) {
			snm_paper_tex_escape(f, T->label[r]);
			for (int c = 0; c < T->n_cols; ++c) {
				const cell *x = &T->c[((size_t)b * T->n_rows + r) * T->n_cols + c];
				if (x->blank) {
					fputs(" &", f);
					continue;
				}
				snm_paper_fmt_mean_std(T->digits, x->mean, x->std, ours, sizeof ours);
				snm_paper_fmt_mean_std(T->digits, x->pmean, x->pstd, paper, sizeof paper);
				fmt_diff(T, x, d, sizeof d);
				snm_paper_fmt_missing(NULL, &x->n, miss, sizeof miss);
				fputs(" & \\snmcell{", f);
				if (*ours)
					fprintf(f, x->best ? "\\textbf{%s}" : "%s", ours);
				if (*ours && *miss)
					fputs(" ", f);
				if (*miss)
					fprintf(f, "\\textit{%s}", miss);
				if (!*ours && !*miss)
					fputs("--", f);
				fprintf(f, "}{%s}{%s%s%s}", paper, *d ? "$" : "", d, *d ? "$" : "");
			}
			fputs(" \\\\\n", f);
		}
		if (b == T->n_blocks - 1 || T->sets_layout)
			fputs("\\bottomrule\n\\end{tabular}}\n\\end{table}\n", f);
	}
}

static void write_md(const void *arg, FILE *f)
{
	const table *T = arg;
	char ours[64], paper[64], d[32], miss[64], h[32];
	snm_paper_md_banner(f, T->o, T->id);
	snm_paper_md_text(f, T->caption);
	fprintf(f, "\n\nEach cell: ours (mean (std) over the sets, or the single run; std %s) · the "
	        "paper's number · Δ = ours − paper (percentage points).", snm_paper_std_kind(T->population));
	if (T->bold)
		fputs(" Bold: the lowest mean of the column among cells whose runs are all finished.", f);
	fputs("\n\n| per-class examples |", f);
	for (int c = 0; c < T->n_cols; ++c) {
		snm_paper_col_head(T->col[c], h, sizeof h);
		fprintf(f, " %s |", h);
	}
	fputs("\n| --- |", f);
	for (int c = 0; c < T->n_cols; ++c)
		fputs(" ---: |", f);
	fputs("\n", f);
	for (int b = 0; b < T->n_blocks; ++b) {
		if (T->sets_layout) {
			if (b == T->sets)
				fprintf(f, "| *mean over %d random sets* |", T->sets);
			else
				fprintf(f, "| *set %d* |", b + 1);
			for (int c = 0; c < T->n_cols; ++c)
				fputs(" |", f);
			fputs("\n", f);
		}
		for (int r = 0; r < T->n_rows; ++r) {
			fputs("| ", f);
			snm_paper_md_text(f, T->label[r]);
			fputs(" |", f);
			for (int c = 0; c < T->n_cols; ++c) {
				const cell *x = &T->c[((size_t)b * T->n_rows + r) * T->n_cols + c];
				const char *sep = "";
				if (x->blank) {
					fputs(" |", f);
					continue;
				}
				snm_paper_fmt_mean_std(T->digits, x->mean, x->std, ours, sizeof ours);
				snm_paper_fmt_mean_std(T->digits, x->pmean, x->pstd, paper, sizeof paper);
				fmt_diff(T, x, d, sizeof d);
				snm_paper_fmt_missing(NULL, &x->n, miss, sizeof miss);
				fputs(" ", f);
				if (*ours) {
					fprintf(f, x->best ? "**%s**" : "%s", ours);
					sep = " · ";
				} else if (*miss) {
					fprintf(f, "*%s*", miss);     /* nothing of ours: the reason first */
					miss[0] = '\0';
					sep = " · ";
				}
				if (*paper) {
					fprintf(f, "%spaper %s", sep, paper);
					sep = " · ";
				}
				if (*d) {
					fprintf(f, "%sΔ %s", sep, d);
					sep = " · ";
				}
				if (*miss) {
					fprintf(f, "%s*%s*", sep, miss);
					sep = " · ";
				}
				if (!*sep)
					fputs("–", f);
				fputs(" |", f);
			}
			fputs("\n", f);
		}
	}
}

static void write_csv(const void *arg, FILE *f)
{
	const table *T = arg;
	char bn[16];
	fputs("table,block,row,label,column,runs,finished,absent,unfinished,unreadable,mean,std,"
	      "paper_mean,paper_std,diff,best\n", f);
	for (int b = 0; b < T->n_blocks; ++b) {
		block_name(T, b, bn, sizeof bn);
		for (int r = 0; r < T->n_rows; ++r)
			for (int c = 0; c < T->n_cols; ++c) {
				const cell *x = &T->c[((size_t)b * T->n_rows + r) * T->n_cols + c];
				if (x->blank)
					continue;
				fprintf(f, "%s,%s,", T->id, bn);
				snm_paper_csv_text(f, T->run[r]);
				fputc(',', f);
				snm_paper_csv_text(f, T->label[r]);
				fprintf(f, ",%s,%d,%d,%d,%d,%d", T->col[c], x->n.runs, x->n.fin, x->n.absent, x->n.unfin, x->n.bad);
				snm_paper_csv_num(f, x->mean);
				snm_paper_csv_num(f, x->std);
				snm_paper_csv_num(f, x->pmean);
				snm_paper_csv_num(f, x->pstd);
				snm_paper_csv_num(f, diff(x));
				fprintf(f, ",%d\n", x->best);
			}
	}
}

/* ---- the table ------------------------------------------------------------------------------- */

static void table_free(table *T)
{
	free(T->col);
	free(T->run);
	free(T->label);
	free(T->c);
}

/* Reads table entry e into T (every key, column and row checked; no run read); T is freed by
 * table_free whatever the outcome. */
static int table_parse(const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *e, table *T,
                       snm_error *err)
{
	const snm_option *to = snm_paper_table_options, *ro = snm_paper_row_options;
	const snm_cfg *cols = snm_cfg_get(e, "columns"), *rows = snm_cfg_get(e, "rows");
	const snm_cfg *labels = snm_cfg_opt_node(spec, snm_paper_spec_options, "labels");
	const char *layout, *best, *std;
	long sets, digits;
	int rc;
	memset(T, 0, sizeof *T);
	T->o = o;
	if ((rc = snm_cfg_check(e, to, "table", err))
	    || (rc = snm_cfg_opt_str(e, to, "id", &T->id, err))
	    || (rc = snm_cfg_opt_str(e, to, "caption", &T->caption, err))
	    || (rc = snm_cfg_opt_str(e, to, "layout", &layout, err))
	    || (rc = snm_cfg_opt_str(e, to, "pipeline", &T->pipeline, err))
	    || (rc = snm_cfg_opt_int(e, to, "sets", &sets, err))
	    || (rc = snm_cfg_opt_str(e, to, "best", &best, err))
	    || (rc = snm_cfg_opt_bool(e, to, "mean_block", &T->mean_block, err))
	    || (rc = snm_cfg_opt_str(spec, snm_paper_spec_options, "std", &std, err))
	    || (rc = snm_cfg_opt_int(spec, snm_paper_spec_options, "digits", &digits, err))
	    || (rc = snm_paper_check_columns(e, "table", err)))
		return rc;
	if (snm_cfg_kind(rows) != SNM_CFG_SEQ || snm_cfg_len(rows) == 0)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, rows ? rows : e, "table %s: 'rows' must be a non-empty list",
		                    T->id);
	T->sets_layout = strcmp(layout, "sets") == 0;
	T->mean_block = T->mean_block && T->sets_layout;
	T->bold = strcmp(best, "bold") == 0;
	T->sets = (int)sets;
	T->digits = (int)digits;
	T->population = strcmp(std, "population") == 0;
	T->n_cols = (int)snm_cfg_len(cols);
	T->n_rows = (int)snm_cfg_len(rows);
	T->n_blocks = T->sets_layout ? T->sets + T->mean_block : 1;
	T->col = calloc((size_t)T->n_cols, sizeof *T->col);
	T->run = calloc((size_t)T->n_rows, sizeof *T->run);
	T->label = calloc((size_t)T->n_rows, sizeof *T->label);
	T->c = calloc((size_t)T->n_blocks * T->n_rows * T->n_cols, sizeof *T->c);
	if (!T->col || !T->run || !T->label || !T->c)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	for (int c = 0; c < T->n_cols; ++c)
		T->col[c] = snm_cfg_text(snm_cfg_at(cols, (size_t)c));
	for (int b = 0; b < T->n_blocks; ++b)
		for (int r = 0; r < T->n_rows; ++r)
			for (int c = 0; c < T->n_cols; ++c) {
				cell *x = at(T, b, r, c);
				x->pmean = x->pstd = x->mean = x->std = NAN;
				x->blank = T->sets_layout && b > 0 && b < T->sets && is_full(T->col[c]);
			}
	for (int r = 0; r < T->n_rows; ++r) {
		const snm_cfg *row = snm_cfg_at(rows, (size_t)r);
		const char *label;
		if (snm_cfg_kind(row) != SNM_CFG_MAP)
			return SNM_CFG_FAIL(err, SNM_ECONFIG, row, "table %s: a row is a mapping (run, label, paper)",
			                    T->id);
		if ((rc = snm_cfg_check(row, ro, "table row", err))
		    || (rc = snm_cfg_opt_str(row, ro, "run", &T->run[r], err))
		    || (rc = snm_cfg_opt_str(row, ro, "label", &label, err))
		    || (rc = paper_numbers(T, r, snm_cfg_opt_node(row, ro, "paper"), err)))
			return rc;
		if (*label == '\0')
			label = snm_cfg_text(snm_cfg_get(labels, T->run[r]));
		T->label[r] = label ? label : T->run[r];
	}
	return SNM_OK;
}

int snm_paper_table_check(const snm_cfg *spec, const snm_cfg *e, snm_error *err)
{
	table T;
	int rc = table_parse(NULL, spec, e, &T, err);
	table_free(&T);
	return rc;
}

int snm_paper_table(const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *e, snm_error *err)
{
	table T;
	int rc;
	if ((rc = table_parse(o, spec, e, &T, err)))
		goto done;
	for (int b = 0; b < T.n_blocks; ++b)
		for (int r = 0; r < T.n_rows; ++r)
			for (int c = 0; c < T.n_cols; ++c)
				if (!at(&T, b, r, c)->blank && (rc = fill_cell(&T, b, r, c, err)))
					goto done;
	if (T.bold)
		mark_best(&T);
	if ((rc = snm_paper_write_file(o, T.id, "tex", write_tex, &T, err))
	    || (rc = snm_paper_write_file(o, T.id, "md", write_md, &T, err))
	    || (rc = snm_paper_write_file(o, T.id, "csv", write_csv, &T, err)))
		goto done;
done:
	table_free(&T);
	return rc;
}
