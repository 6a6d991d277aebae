/* plot.c: gnuplot for the paper stage (see paper.h) -- a temporary directory per figure for its
 * script and data, the gnuplot child process (src/run/spawn.h: found on PATH, its output into a
 * log), and the learning-curve figures (a metric per epoch from /metrics, one panel per
 * training-set size, one line per experiment, the mean over the sets that have metrics): drawn by
 * snm_paper_curves_draw, for the spec's curves entries (validation error) and `snm report`.
 *
 * Every figure is drawn twice by one script: pngcairo at the spec's size in pixels and pdfcairo
 * at the same size in inches / 100; text is `noenhanced` so run names print as written. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "paper.h"
#include "run/spawn.h"

/* ---- temporary files ------------------------------------------------------------------------- */

int snm_paper_tmp_open(snm_paper_tmp *t, snm_error *err)
{
	const char *base = getenv("TMPDIR");
	memset(t, 0, sizeof *t);
	snprintf(t->dir, sizeof t->dir, "%s/snm-paper-XXXXXX", base && *base ? base : "/tmp");
	if (mkdtemp(t->dir) == NULL) {
		int e = errno;
		t->dir[0] = '\0';
		return SNM_FAIL(err, SNM_EIO, "cannot create a temporary directory: %s", strerror(e));
	}
	return SNM_OK;
}

const char *snm_paper_tmp_file(snm_paper_tmp *t, const char *name)
{
	size_t n = strlen(t->dir) + strlen(name) + 2;
	char *p;
	if (t->n == (int)(sizeof t->files / sizeof *t->files) || (p = malloc(n)) == NULL)
		return NULL;
	snprintf(p, n, "%s/%s", t->dir, name);
	t->files[t->n++] = p;
	return p;
}

void snm_paper_tmp_close(snm_paper_tmp *t)
{
	for (int i = 0; i < t->n; ++i) {
		remove(t->files[i]);
		free(t->files[i]);
	}
	t->n = 0;
	if (t->dir[0])
		rmdir(t->dir);
	t->dir[0] = '\0';
}

const char *snm_paper_gp_quote(const char *s, char *buf, size_t size)
{
	size_t k = 0;
	if (size == 0)
		return buf;
	for (; *s && k + 2 < size; ++s) {
		if (*s == '\'')
			buf[k++] = '\'';
		buf[k++] = *s;
	}
	buf[k] = '\0';
	return buf;
}

/* ---- running gnuplot ------------------------------------------------------------------------- */

/* The line of gnuplot's log that says what went wrong: the first containing "error" (any case),
 * else the last non-empty one. */
static void log_reason(const char *log, char *buf, size_t size)
{
	FILE *f = fopen(log, "r");
	char line[512];
	buf[0] = '\0';
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f)) {
		char *s = line + strspn(line, " \t^");
		s[strcspn(s, "\r\n")] = '\0';
		if (*s == '\0')
			continue;
		snprintf(buf, size, "%s", s);
		for (char *p = s; *p; ++p)
			if (strncasecmp(p, "error", 5) == 0) {
				fclose(f);
				return;
			}
	}
	fclose(f);
}

static const char *gnuplot_program(const snm_paper_opts *o)
{
	const char *prog = o->gnuplot ? o->gnuplot : getenv("SNM_GNUPLOT");
	return prog == NULL || *prog == '\0' ? "gnuplot" : prog;
}

/* The search path of gnuplot: $PATH, or /usr/bin:/bin when it is unset or empty. */
static const char *search_path(void)
{
	const char *path = getenv("PATH");
	return path == NULL || *path == '\0' ? "/usr/bin:/bin" : path;
}

int snm_paper_gnuplot_found(const snm_paper_opts *o)
{
	char buf[4096];
	return snm_find_program(gnuplot_program(o), search_path(), buf, sizeof buf);
}

int snm_paper_gnuplot(const snm_paper_opts *o, snm_paper_tmp *t, const char *id, const char *script,
                      int *ran, snm_error *err)
{
	const char *prog = gnuplot_program(o);
	const char *log = snm_paper_tmp_file(t, "gnuplot.log"), *failed;
	char *argv[3];
	char why[400], exe[4096];
	int st = 0, rc;
	*ran = 0;
	if (log == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	argv[0] = (char *)prog;
	argv[1] = (char *)script;
	argv[2] = NULL;
	rc = snm_find_program(prog, search_path(), exe, sizeof exe)
	     ? snm_spawn(exe, argv, NULL, log, 0644, 1, &st, &failed) : ENOENT;
	if (rc == ENOENT || rc == EACCES || (rc == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 127)) {
		snm_paper_note(o, SNM_PAPER_NOTE, "%s: gnuplot not found ('%s'); figure not made (Debian: "
		               "apt-get install gnuplot-nox; ./bootstrap installs it)", id, prog);
		return SNM_OK;
	}
	if (rc != 0)
		return strcmp(failed, "wait") == 0
		       ? SNM_FAIL(err, SNM_EIO, "%s: waiting for %s: %s", id, prog, strerror(rc))
		       : SNM_FAIL(err, SNM_EIO, "%s: cannot start %s: %s", id, prog, strerror(rc));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		log_reason(log, why, sizeof why);
		return SNM_FAIL(err, SNM_EIO, "%s: %s failed (%s %d): %s", id, prog,
		                WIFEXITED(st) ? "exit status" : "signal",
		                WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), why[0] ? why : "no output");
	}
	*ran = 1;
	return SNM_OK;
}

/* ---- learning curves ------------------------------------------------------------------------- */

static const char *const palette[] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
	"#bcbd22", "#17becf"
};

/* A line as drawn: its entry in the figure, its data block, the files and epochs behind it. */
typedef struct drawn {
	const snm_paper_line *line;
	int index, n_files, n_epochs;
} drawn;

/* Appends to f the mean of column `metric` per epoch over the files of ln that have metrics, as
 * "epoch value" lines (epochs counted from 1; with positive_only, only the epochs whose mean is
 * > 0, for a logarithmic axis); *n_files receives how many files contributed and *n_epochs how
 * many lines were written. */
static int curve(const snm_paper_opts *o, const snm_paper_line *ln, const char *metric, int positive_only,
                 FILE *f, int *n_files, int *n_epochs, snm_error *err)
{
	double *sum = NULL;
	int *cnt = NULL, len = 0, rc = SNM_OK;
	*n_files = *n_epochs = 0;
	for (int k = 0; k < ln->n_paths && rc == SNM_OK; ++k) {
		snm_paper_result res;
		int cv;
		size_t rows;
		snm_paper_use(o, ln->paths[k]);
		rc = snm_paper_read_result(ln->paths[k], 1, &res, err);
		if (rc || res.metrics == NULL)
			continue;
		cv = snm_metrics_find(res.metrics, metric);
		rows = snm_metrics_rows(res.metrics);
		if (cv >= 0 && rows > 0) {
			if ((int)rows > len) {
				double *ns = realloc(sum, rows * sizeof *ns);
				int *nc = ns ? realloc(cnt, rows * sizeof *nc) : NULL;
				if (ns) sum = ns;
				if (nc) cnt = nc;
				if (!ns || !nc) {
					snm_metrics_free(res.metrics);
					rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
					break;
				}
				for (int i = len; i < (int)rows; ++i)
					sum[i] = 0, cnt[i] = 0;
				len = (int)rows;
			}
			for (size_t i = 0; i < rows; ++i) {
				double v = snm_metrics_get(res.metrics, i, cv);
				if (isfinite(v))
					sum[i] += v, cnt[i]++;
			}
			++*n_files;
		}
		snm_metrics_free(res.metrics);
	}
	for (int i = 0; rc == SNM_OK && i < len; ++i)
		if (cnt[i] > 0 && (!positive_only || sum[i] / cnt[i] > 0)) {
			fprintf(f, "%d %.10g\n", i + 1, sum[i] / cnt[i]);   /* row i is epoch i + 1 */
			++*n_epochs;
		}
	free(sum);
	free(cnt);
	return rc;
}

static void curves_body(FILE *f, const snm_paper_curves_fig *fig, const drawn *ln, int n_ln,
                        const char *data, int n_panels)
{
	int pc = (int)ceil(sqrt((double)n_panels)), pr = (n_panels + pc - 1) / pc, most = 1, step = 1;
	char q[1024], q2[256];
	/* whole epochs on the x axis: a step of 1, 2, 5, 10, 20, ... giving at most 10 tics */
	for (int i = 0; i < n_ln; ++i)
		most = ln[i].n_epochs > most ? ln[i].n_epochs : most;
	for (int k = 0; most / step > 10; ++k)
		step = (k % 3 == 0 ? 2 : k % 3 == 1 ? 5 : 10) * (int)pow(10, k / 3);
	fprintf(f, "set multiplot layout %d,%d title '%s'\n", pr, pc,
	        snm_paper_gp_quote(fig->title, q, sizeof q));
	fprintf(f, "set grid\nset xlabel 'epoch'\nset ylabel '%s'\nset key top right\n",
	        snm_paper_gp_quote(fig->ylabel, q, sizeof q));
	fprintf(f, "set xtics %d\n", step);
	if (fig->logscale)
		fputs("set logscale y\n", f);
	for (int a = 0; a < n_ln;) {
		int b = a;
		fprintf(f, "set title '%s'\n", snm_paper_gp_quote(fig->panel_titles[ln[a].line->panel], q2,
		                                                     sizeof q2));
		fputs("plot ", f);
		for (; b < n_ln && ln[b].line->panel == ln[a].line->panel; ++b)
			fprintf(f, "%s'%s' index %d using 1:2 with lines lw 1.5 lc rgb '%s' title '%s (%d)'",
			        b > a ? ", \\\n     " : "", snm_paper_gp_quote(data, q, sizeof q), ln[b].index,
			        palette[ln[b].line->color % 10],
			        snm_paper_gp_quote(ln[b].line->label, q2, sizeof q2), ln[b].n_files);
		fputs("\n", f);
		a = b;
	}
	fputs("unset multiplot\n", f);
}

/* Checks that gnuplot left a non-empty file at path and reports it. */
static int check_output(const snm_paper_opts *o, const char *id, const char *path, snm_error *err)
{
	struct stat sb;
	if (stat(path, &sb) != 0 || sb.st_size == 0)
		return SNM_FAIL(err, SNM_EIO, "%s: gnuplot exited normally but wrote no %s", id, path);
	snm_paper_note(o, SNM_PAPER_WROTE, "%s", path);
	return SNM_OK;
}

int snm_paper_curves_draw(const snm_paper_opts *o, const snm_paper_curves_fig *fig, snm_error *err)
{
	const char *data, *script;
	char png[1024], pdf[1024], q[1024];
	snm_paper_tmp t;
	drawn *ln = NULL;
	int rc, n_ln = 0, n_panels = 0, ran = 0, last_panel = -1;
	FILE *f;
	if (!snm_paper_gnuplot_found(o)) {
		snm_paper_note(o, SNM_PAPER_NOTE, "%s: gnuplot not found; figure not made (Debian: apt-get install "
		               "gnuplot-nox; ./bootstrap installs it)", fig->id);
		return SNM_OK;
	}
	for (int i = 1; i < fig->n_lines; ++i)
		if (fig->lines[i].panel < fig->lines[i - 1].panel)
			return SNM_FAIL(err, SNM_EINVAL, "%s: the lines of a figure come panel by panel", fig->id);
	if ((rc = snm_paper_tmp_open(&t, err)))
		return rc;
	data = snm_paper_tmp_file(&t, "curves.dat");
	script = snm_paper_tmp_file(&t, "curves.gp");
	ln = calloc((size_t)fig->n_lines + 1, sizeof *ln);
	if (data == NULL || script == NULL || ln == NULL) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		goto done;
	}
	if ((f = fopen(data, "w")) == NULL) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: cannot create: %s", data, strerror(errno));
		goto done;
	}
	for (int i = 0; i < fig->n_lines && rc == SNM_OK; ++i) {
		int n_files, n_epochs;
		rc = curve(o, &fig->lines[i], fig->metric, fig->logscale, f, &n_files, &n_epochs, err);
		if (rc || n_epochs == 0)
			continue;
		fputs("\n\n", f);
		ln[n_ln] = (drawn){ &fig->lines[i], n_ln, n_files, n_epochs };
		++n_ln;
		n_panels += fig->lines[i].panel != last_panel;
		last_panel = fig->lines[i].panel;
	}
	if (fclose(f) != 0 && rc == SNM_OK)
		rc = SNM_FAIL(err, SNM_EIO, "%s: write error", data);
	if (rc)
		goto done;
	if (n_ln == 0) {
		snm_paper_note(o, SNM_PAPER_NOTE, "%s: %s; figure not made", fig->id, fig->empty);
		goto done;
	}
	snprintf(png, sizeof png, "%s/%s.png", o->out, fig->id);
	snprintf(pdf, sizeof pdf, "%s/%s.pdf", o->out, fig->id);
	if ((f = fopen(script, "w")) == NULL) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: cannot create: %s", script, strerror(errno));
		goto done;
	}
	fprintf(f, "set terminal pngcairo noenhanced size %d,%d font 'sans,10'\nset output '%s'\n", fig->width,
	        fig->height, snm_paper_gp_quote(png, q, sizeof q));
	curves_body(f, fig, ln, n_ln, data, n_panels);
	fprintf(f, "set output\nset terminal pdfcairo noenhanced size %g,%g font 'sans,7'\nset output '%s'\n",
	        fig->width / 100.0, fig->height / 100.0, snm_paper_gp_quote(pdf, q, sizeof q));
	curves_body(f, fig, ln, n_ln, data, n_panels);
	fputs("set output\n", f);
	if (fclose(f) != 0) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: write error", script);
		goto done;
	}
	if ((rc = snm_paper_gnuplot(o, &t, fig->id, script, &ran, err)) || !ran)
		goto done;
	if ((rc = check_output(o, fig->id, png, err)) == SNM_OK)
		rc = check_output(o, fig->id, pdf, err);
done:
	free(ln);
	snm_paper_tmp_close(&t);
	return rc;
}

/* A curves entry of the spec: one panel per column, one line per experiment of the list `runs`,
 * each the mean of the /metrics column `metric` (default the validation error) over the sets
 * 1..sets of (experiment, column) (the full run alone for the column full); `log`: a logarithmic
 * y axis. */
int snm_paper_curves(const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *e, snm_error *err)
{
	const snm_option *op = snm_paper_curves_options;
	const snm_cfg *cols = snm_cfg_get(e, "columns"), *runs = snm_cfg_get(e, "runs");
	const char *id, *pipeline, *metric, *ylabel, **titles = NULL;
	char title[512], empty[512], **paths = NULL, **heads = NULL;
	snm_paper_line *lines = NULL;
	snm_paper_curves_fig fig;
	long sets;
	int w, h, rc, n_cols, n_runs, n_paths = 0, logscale;
	(void)spec;
	if ((rc = snm_cfg_opt_str(e, op, "id", &id, err)) || (rc = snm_cfg_opt_str(e, op, "pipeline", &pipeline, err))
	    || (rc = snm_cfg_opt_str(e, op, "metric", &metric, err)) || (rc = snm_cfg_opt_str(e, op, "ylabel", &ylabel, err))
	    || (rc = snm_cfg_opt_bool(e, op, "log", &logscale, err))
	    || (rc = snm_cfg_opt_int(e, op, "sets", &sets, err)) || (rc = snm_paper_size(e, op, "size", &w, &h, err))
	    || (rc = snm_paper_check_columns(e, "curves figure", err)))
		return rc;
	if (snm_cfg_kind(runs) != SNM_CFG_SEQ || snm_cfg_len(runs) == 0)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, runs ? runs : e, "%s: 'runs' must be a non-empty list of "
		                    "experiment names", id);
	for (size_t i = 0; i < snm_cfg_len(runs); ++i)
		if (snm_cfg_kind(snm_cfg_at(runs, i)) != SNM_CFG_SCALAR)
			return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_at(runs, i), "%s: an experiment name", id);
	n_cols = (int)snm_cfg_len(cols);
	n_runs = (int)snm_cfg_len(runs);
	lines = calloc((size_t)n_cols * n_runs, sizeof *lines);
	paths = calloc((size_t)n_cols * n_runs * sets + 1, sizeof *paths);
	heads = calloc((size_t)n_cols, sizeof *heads);
	titles = calloc((size_t)n_cols, sizeof *titles);
	if (lines == NULL || paths == NULL || heads == NULL || titles == NULL) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		goto done;
	}
	for (int c = 0; c < n_cols; ++c) {
		const char *col = snm_cfg_text(snm_cfg_at(cols, (size_t)c));
		int full = strcmp(col, "full") == 0;
		if ((heads[c] = malloc(strlen(col) + 32)) == NULL) {
			rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
			goto done;
		}
		if (full)
			strcpy(heads[c], "whole training set");
		else
			sprintf(heads[c], "%s examples per class", col);
		titles[c] = heads[c];
		for (int r = 0; r < n_runs; ++r) {
			snm_paper_line *ln = &lines[c * n_runs + r];
			*ln = (snm_paper_line){ c, r, snm_cfg_text(snm_cfg_at(runs, (size_t)r)), 0, paths + n_paths };
			for (int s = full ? 0 : 1; s <= (full ? 0 : (int)sets); ++s) {
				if ((paths[n_paths] = snm_paper_run_path(o->results, pipeline, ln->label, col, s)) == NULL) {
					rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
					goto done;
				}
				n_paths++;
				ln->n_paths++;
			}
		}
	}
	if (strcmp(metric, "valid_error") == 0)
		snprintf(title, sizeof title, "Learning curves, %s: validation error per epoch (mean over the sets "
		         "with metrics)", pipeline);
	else
		snprintf(title, sizeof title, "%s: %s per epoch (mean over the sets with metrics)", pipeline,
		         metric);
	snprintf(empty, sizeof empty, "no run of %s/* has metrics under %s", pipeline, o->results);
	fig = (snm_paper_curves_fig){ id, title, ylabel, metric, n_cols, titles, n_cols * n_runs, lines, w, h,
	                              empty, logscale };
	rc = snm_paper_curves_draw(o, &fig, err);
done:
	for (int i = 0; paths && i < n_paths; ++i)
		free(paths[i]);
	for (int c = 0; heads && c < n_cols; ++c)
		free(heads[c]);
	free(paths);
	free(heads);
	free(titles);
	free(lines);
	return rc;
}
