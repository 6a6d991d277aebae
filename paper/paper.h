/* paper.h: the paper stage -- every table and figure of the semantic-noise paper regenerated
 * from the run files under results/.
 *
 * What to make is data, not code: a spec file (paper/tables.yaml) lists the tables (layout, rows,
 * columns, sets, labels, captions, the paper's published numbers) and the figures (which run,
 * which examples, t-SNE settings, sizes).  The stage reads, for a cell of pipeline P, experiment E
 * and column C, the files <results>/P/E/n<C>/set<k>.h5 (or <results>/P/E/full.h5 for C = full),
 * and uses a run only when its root attribute status is "finished": its result is
 * /metrics/test_at_best at the last row (src/run/trainer.h).
 *
 * Output, into the output directory (created when missing):
 *   <table>.tex   a booktabs `table` float (caption from the spec), for \input
 *   <table>.md    a Markdown table
 *   <table>.csv   one line per cell: counts of runs, our mean and std, the paper's numbers, the
 *                 difference, the best-in-column mark (layouts paired and ablation: one line per
 *                 pair and column / per row, with the paired differences, below)
 *   <figure>.png, <figure>.pdf   drawn by gnuplot (pngcairo, pdfcairo), run as a child process
 *                 on a script and data written to a temporary directory
 * Each reproduced cell shows the paper's number beside it and the difference (ours - paper, in
 * percentage points); a cell whose runs are not all finished says "missing k/n" or "unfinished
 * k/n" (a one-run cell just "missing" / "unfinished") and is never filled in by hand; tables whose spec says best: bold bold the lowest mean of
 * each column among complete cells.  Statistics: GSL's gsl_stats_mean, and the sample standard
 * deviation gsl_stats_sd (or the population one, spec key std: population).
 *
 * Paired comparisons (layouts paired and ablation): for two experiments a and b at one column,
 * the differences d_k = err_a(set k) - err_b(set k) over the sets k where both runs are finished
 * and trained on the same subset (equal root attribute seed_subset; a set where it differs is
 * left out of n and the cell says "set k: other training subsets", and a finished run without
 * it counts as unreadable there), their mean, and for n >= 2 the interval of the paired t test, mean -/+ t * sd / sqrt(n) with t
 * = gsl_cdf_tdist_Pinv((1 + level) / 2, n - 1) and sd = gsl_stats_sd; a verdict in words ("a
 * lower (better) than b", "a higher (worse) than b") only where that interval excludes 0, "not
 * resolved" where it holds 0.  Each paired table ends with one summary sentence per pair.
 *
 * Figures that need a trained network (the reconstructions of Figures 5/7 and the t-SNE of
 * Figures 6/8) rebuild it from its run file: the root attribute "config" gives the data, model
 * and noise plugins and their options, the /best group the weights, and the run is opened by the
 * trainer's own code (src/run/run.h), so its training subset and per-pixel mean are the ones it
 * trained on (checked against the file's n_train and seed_subset).  Their random and semantic
 * perturbations are those noise plugins' own (the perturb entry of the plugin ABI), with the
 * options of the figure's `random` and `semantic` sections.  A missing run, a missing gnuplot, or
 * a figure with no data is one note and no figure; the tables are written regardless.
 *
 * Library code: nothing here prints or exits.  Progress and notes go through the caller's note
 * callback (the `snm paper` command prints them). */
#ifndef SNM_PAPER_H
#define SNM_PAPER_H

#include <stdint.h>
#include <stdio.h>
#include <gsl/gsl_rng.h>
#include "snm/config.h"
#include "snm/error.h"
#include "snm/plugin.h"
#include "run/run.h"
#include "run/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a note reports: a file written (text is its path), or a line for the user (a figure not
 * made and why, a run that could not be read). */
enum { SNM_PAPER_WROTE = 1, SNM_PAPER_NOTE = 2 };

typedef void (*snm_paper_note_fn)(void *ctx, int kind, const char *text);

/* The run files a stage read, for `snm paper` to name those under its results directory that no
 * table or figure used (snm_paper_unused).  Zero it before use; free with snm_paper_used_free. */
typedef struct snm_paper_used {
	int n, cap;
	char **paths;              /* as read: "<results>/<run key>.h5" */
	int lost;                  /* 1 when memory ran out while recording (the list is short) */
} snm_paper_used;

typedef struct snm_paper_opts {
	const char *spec;          /* the spec file; NULL: "paper/tables.yaml" */
	const char *results;       /* directory of run files; NULL: "results" */
	const char *out;           /* output directory; NULL: "paper/out" */
	const char *plugin_path;   /* searched first for the plugins of the figures' runs; may be NULL */
	const char *gnuplot;       /* program to run; NULL: $SNM_GNUPLOT, else "gnuplot" */
	const char *only;          /* NULL, or the id of the one table or figure to make */
	int no_tables;             /* 1: skip the tables */
	int no_figures;            /* 1: skip the figures */
	snm_paper_note_fn note;    /* may be NULL */
	void *ctx;
	snm_paper_used *used;      /* NULL, or where every run file read is recorded */
} snm_paper_opts;

/* Makes every table and figure of the spec (or only o->only).  Returns SNM_OK when every output
 * was written or skipped for a reason given in a note (missing runs, no gnuplot).  Errors: the
 * spec (SNM_EIO, SNM_ECONFIG with file:line:col), a results directory that does not exist or is
 * no directory (SNM_EIO, before anything is written), an output that cannot be written (SNM_EIO), a
 * gnuplot that fails on its script (SNM_EIO with its first error line), a run file that cannot
 * be used for a figure (its error).  On an error in one table or figure the others are still
 * made; the first error is returned. */
int snm_paper_run(const snm_paper_opts *o, snm_error *err);

/* The run files under results (every "*.h5" below it but superseded files, src/run/supersede.h,
 * as run keys: the path under results less ".h5") that are not among used's paths, sorted: *keys (n of them) is a new array of new strings,
 * freed with snm_paper_keys_free.  Errors: SNM_EIO when results cannot be read, SNM_ENOMEM (also
 * when used->lost). */
int snm_paper_unused(const char *results, const snm_paper_used *used, char ***keys, int *n,
                     snm_error *err);
void snm_paper_keys_free(char **keys, int n);
void snm_paper_used_free(snm_paper_used *u);      /* zeroes *u; NULL is a no-op */

/* ---- building blocks (used by the stage's modules and its tests) ---------------------------- */

/* Records that the run file at path is read (into o->used, when not NULL).  Every reader of run
 * files in the stage calls it, so that `snm paper` can say which runs it did not use. */
void snm_paper_use(const snm_paper_opts *o, const char *path);

/* Sends a formatted note through o->note (nothing when it is NULL). */
void snm_paper_note(const snm_paper_opts *o, int kind, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

/* Where the result of a run lives: "<results>/<pipeline>/<experiment>/n<column>/set<set>.h5", or
 * ".../full.h5" when column is "full".  A new string the caller frees; NULL on ENOMEM. */
char *snm_paper_run_path(const char *results, const char *pipeline, const char *experiment,
                         const char *column, int set);

/* The state of one run file. */
enum {
	SNM_PAPER_ABSENT = 0,      /* no file */
	SNM_PAPER_UNFINISHED,      /* status is not "finished" (running, failed) */
	SNM_PAPER_FINISHED,        /* finished: test_at_best is its result */
	SNM_PAPER_UNREADABLE       /* the file exists but is not a readable run file */
};

typedef struct snm_paper_result {
	int state;                 /* SNM_PAPER_* */
	double test_at_best;       /* % at the last row; NaN unless finished */
	snm_metrics *metrics;      /* /metrics when asked for and readable (any state); else NULL */
	char why[SNM_ERROR_MSG_MAX]; /* UNREADABLE: the reason */
} snm_paper_result;

/* Reads the run file at path.  Never fails for a bad file (that is state UNREADABLE, also for a
 * file whose run_key is not the one its path names: <results>/<key>.h5); returns SNM_ENOMEM only.  With want_metrics the caller frees r->metrics with snm_metrics_free. */
int snm_paper_read_result(const char *path, int want_metrics, snm_paper_result *r, snm_error *err);

/* Makes one table (an item of the spec's `tables` list) / one figure (an item of figures.curves,
 * figures.reconstructions, figures.tsne).  spec is the whole spec (global keys: std, digits,
 * labels).  snm_paper_table makes the layouts mean and sets (table.c), snm_paper_paired
 * and snm_paper_ablation the layouts paired and ablation (paired.c); snm_paper_run picks
 * the one of each table's `layout`. */
int snm_paper_table(const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *table, snm_error *err);
int snm_paper_paired(const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *table, snm_error *err);
int snm_paper_ablation(const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *table,
                       snm_error *err);
/* Checks a table of layout mean or sets without reading a run: its keys, columns and rows (each a
 * mapping run, label, paper with numbers for its columns).  SNM_ECONFIG with file:line:col. */
int snm_paper_table_check(const snm_cfg *spec, const snm_cfg *table, snm_error *err);
/* Checks a table of layout paired or ablation without reading a run: its keys, columns, pairs
 * (a non-empty list of [a, b], two different experiment names), column, baseline and variants
 * (a non-empty list of {run, label}, none the baseline).  SNM_ECONFIG with file:line:col. */
int snm_paper_paired_check(const snm_cfg *spec, const snm_cfg *table, snm_error *err);
/* Layout checks (check.c): each row a number of our runs beside a published reference, with the
 * verdict (within or beyond the reference's spread) and the wall time per run; rows whose runs
 * are not all finished give the mean so far and name the run keys left.  snm_paper_checks_check checks the entry and its
 * rows without reading a run (SNM_ECONFIG with file:line:col). */
int snm_paper_checks(const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *table, snm_error *err);
int snm_paper_checks_check(const snm_cfg *spec, const snm_cfg *table, snm_error *err);
int snm_paper_curves(const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *fig, snm_error *err);

/* A figure of learning curves (plot.c): panels, each with lines; a line is the mean per epoch
 * (counted from 1) of one /metrics column over the run files behind it that have metrics, titled
 * "<label> (<files with metrics>)".  The spec's curves entries (snm_paper_curves: one /metrics
 * column, validation error unless `metric` names another, one line per experiment and column) and
 * `snm report` draw through it. */
typedef struct snm_paper_line {
	int panel;                 /* index into the figure's panel titles; lines come panel by panel */
	int color;                 /* palette index (one per experiment, the same in every panel) */
	const char *label;
	int n_paths;
	char *const *paths;        /* its run files (absent, unfinished or unreadable ones are passed over) */
} snm_paper_line;

typedef struct snm_paper_curves_fig {
	const char *id;            /* output files <o->out>/<id>.png and .pdf */
	const char *title, *ylabel;
	const char *metric;        /* the /metrics column drawn: "valid_error", "test_at_best", ... */
	int n_panels;
	const char *const *panel_titles;
	int n_lines;
	const snm_paper_line *lines;
	int width, height;         /* pixels (the PDF: inches / 100) */
	const char *empty;         /* the note's reason when no line has data ("no run ... has metrics") */
	int logscale;              /* 1: a logarithmic y axis (epochs whose mean is <= 0 are left out; a
	                            * line left with none is not drawn) */
} snm_paper_curves_fig;

/* Draws fig as PNG and PDF (gnuplot's pngcairo and pdfcairo), only the panels with data, laid out
 * in a near-square grid.  Notes and no figure: gnuplot not found, no line with data (fig->empty).
 * Errors: SNM_EINVAL (lines not panel by panel), SNM_EIO (temporary files, gnuplot failing, an
 * output missing), SNM_ENOMEM. */
int snm_paper_curves_draw(const snm_paper_opts *o, const snm_paper_curves_fig *fig, snm_error *err);
int snm_paper_reconstructions(const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *fig,
                              snm_error *err);
int snm_paper_tsne(const snm_paper_opts *o, const snm_cfg *spec, const snm_cfg *fig, snm_error *err);

/* Option tables of the spec's entries (for snm_cfg_check and the getters). */
extern const snm_option snm_paper_spec_options[];
extern const snm_option snm_paper_table_options[];
extern const snm_option snm_paper_row_options[];
extern const snm_option snm_paper_paired_options[];
extern const snm_option snm_paper_ablation_options[];
extern const snm_option snm_paper_variant_options[];
extern const snm_option snm_paper_checks_options[];
extern const snm_option snm_paper_check_row_options[];
extern const snm_option snm_paper_curves_options[];
extern const snm_option snm_paper_recon_options[];
extern const snm_option snm_paper_tsne_options[];

/* Checks that `columns` of an entry is a list of per-class sizes (integers >= 1) and `full`. */
int snm_paper_check_columns(const snm_cfg *entry, const char *what, snm_error *err);

/* Reads a [width, height] size option (pixels; both in [16, 20000]). */
int snm_paper_size(const snm_cfg *entry, const snm_option *opts, const char *name, int *w, int *h,
                   snm_error *err);

/* A temporary directory for one figure's script and data (under $TMPDIR or /tmp), its files
 * removed by snm_paper_tmp_close. */
typedef struct snm_paper_tmp {
	char dir[512];
	int n;
	char *files[16];
} snm_paper_tmp;

int snm_paper_tmp_open(snm_paper_tmp *t, snm_error *err);
/* The path of a new file `name` in t (registered for removal); NULL on ENOMEM or too many. */
const char *snm_paper_tmp_file(snm_paper_tmp *t, const char *name);
void snm_paper_tmp_close(snm_paper_tmp *t);

/* Runs gnuplot on the script file: `<gnuplot> script`, stdout and stderr into a log in t.  Returns
 * SNM_OK with *ran = 1 when it exited with status 0; SNM_OK with *ran = 0 when the program cannot
 * be found (a note names the figure id); SNM_EIO with gnuplot's first error line otherwise. */
int snm_paper_gnuplot(const snm_paper_opts *o, snm_paper_tmp *t, const char *id, const char *script,
                      int *ran, snm_error *err);

/* 1 when the gnuplot program (as snm_paper_gnuplot would choose it) is an executable file on
 * $PATH, or at the path given; the figures ask first, so that no work is done for nothing. */
int snm_paper_gnuplot_found(const snm_paper_opts *o);

/* Escapes a string for a gnuplot single-quoted string (doubles each '). Writes into buf. */
const char *snm_paper_gp_quote(const char *s, char *buf, size_t size);

/* ---- the text of the tables (write.c; table.c and paired.c print through it) */

/* How the runs of one cell (or one experiment's side of a paired cell) went: runs read, and of
 * those the finished (used), absent, unfinished and unreadable ones. */
typedef struct snm_paper_count {
	int runs, fin, absent, unfin, bad;
} snm_paper_count;

/* A column's head: "all" for full, "10k" for 10000 (a multiple of 1000), else the column text. */
void snm_paper_col_head(const char *col, char *buf, size_t size);

/* "3.79 (0.23)" at `digits` decimals, the mean alone when std is not finite, "" when mean is not
 * finite (no finished run, no published number). */
void snm_paper_fmt_mean_std(int digits, double mean, double std, char *buf, size_t size);

/* The runs of x that are not used: "missing 2/10, unreadable 1/10, unfinished 1/10" (those that
 * apply), a one-run cell just "missing"; "" when every run is finished.  With a name (not NULL)
 * it leads: "b missing 2/10". */
void snm_paper_fmt_missing(const char *name, const snm_paper_count *x, char *buf, size_t size);

/* The words for the standard deviation the cells hold (spec key std), for the tables' notes. */
const char *snm_paper_std_kind(int population);

/* s escaped for LaTeX text (% & _ # $ { } ~ ^ \) / for a Markdown table cell (|) / as one CSV
 * field (quoted, its quotes doubled, when it holds a comma, a quote or a newline). */
void snm_paper_tex_escape(FILE *f, const char *s);
void snm_paper_md_text(FILE *f, const char *s);
void snm_paper_csv_text(FILE *f, const char *s);
/* ",<v>" (%.10g), or "," alone when v is not finite. */
void snm_paper_csv_num(FILE *f, double v);

/* The first line of <id>.tex / the first line and a blank one of <id>.md: generated from o->spec
 * and o->results, do not edit. */
void snm_paper_tex_banner(FILE *f, const snm_paper_opts *o, const char *id);
void snm_paper_md_banner(FILE *f, const snm_paper_opts *o, const char *id);

/* The LaTeX preamble of \snmfit{...}: its argument shrunk to the text width and to 0.85 of the
 * text height when it is larger, never enlarged (\providecommand: once per document). */
void snm_paper_tex_fit(FILE *f);

/* Writes <o->out>/<id>.<ext>: fn(arg, f) prints it into "<path>.tmp", renamed to the path when
 * the writes succeeded (else removed); a WROTE note names the path.  SNM_EIO (cannot create,
 * write error, cannot rename), SNM_ENOMEM. */
typedef void (*snm_paper_write_fn)(const void *arg, FILE *f);
int snm_paper_write_file(const snm_paper_opts *o, const char *id, const char *ext, snm_paper_write_fn fn,
                         const void *arg, snm_error *err);

/* ---- a trained network rebuilt from its run file -------------------------------------------- */

typedef struct snm_paper_model snm_paper_model;

/* Opens the run file at path: data, model (and noise, whose parameters /best may hold) plugins
 * from the recorded config, weights from /best, the training subset and its mean recomputed as
 * the trainer drew them.  The run need not be finished (then /best holds the best weights so
 * far).  Errors: SNM_EIO (file, or a subset that does not match the file's n_train/seed_subset),
 * SNM_ECONFIG, SNM_EPLUGIN, the plugins' own errors. */
int snm_paper_model_open(const char *path, const char *plugin_path, snm_paper_model **out,
                         snm_error *err);
void snm_paper_model_close(snm_paper_model *m);

/* The opened run (src/run/run.h): its dataset, subset, mean, model and regularizer. */
const snm_run *snm_paper_model_run(const snm_paper_model *m);
const snm_data_info *snm_paper_model_info(const snm_paper_model *m);
int snm_paper_model_finished(const snm_paper_model *m);       /* status is "finished" */
int snm_paper_model_zdim(const snm_paper_model *m);           /* length of z */
/* The training subset (sorted indices into the train split) and the train split's labels. */
long snm_paper_model_subset(const snm_paper_model *m, const long **idx);
const int32_t *snm_paper_model_labels(const snm_paper_model *m);
/* The subset's per-pixel mean, C*H*W floats (what the trainer subtracted from every input). */
const float *snm_paper_model_mean(const snm_paper_model *m);

/* Inputs of n train-split examples idx, in [0, 1] (no mean subtracted): x (n * C*H*W). */
int snm_paper_model_read(snm_paper_model *m, const long *idx, long n, float *x, snm_error *err);
/* z = encode(x - mean) of n train-split examples: z (n * zdim). */
int snm_paper_model_encode(snm_paper_model *m, const long *idx, long n, float *z, snm_error *err);

/* The predicted class argmax classify(z) of n latent vectors: pred (n). */
int snm_paper_model_classify(snm_paper_model *m, const float *z, long n, int32_t *pred, snm_error *err);

/* A perturbation of latent vectors as a regularizer draws it in training: noise plugin `type`
 * created with options opts (a map of the plugin's options, checked by the plugin; NULL = its
 * defaults) on m's model, and its perturb entry (snm_noise_vt.perturb, ABI 1.1).  The figures
 * open the `random` and `semantic` plugins so, and show exactly the perturbations those
 * regularizers train with, every option included.  SNM_EPLUGIN when the plugin has no perturb
 * entry (or is not found); the plugin's errors about its options. */
typedef struct snm_paper_perturb {
	snm_plugin_handle h;
	const snm_noise_vt *vt;
	snm_noise_perturb_fn perturb;
	void *state;               /* the plugin instance */
	snm_params *params;        /* what it registers, if anything (untrained; unused) */
	const snm_model *model;    /* the run's model */
} snm_paper_perturb;
int snm_paper_perturb_open(snm_paper_model *m, const char *type, const snm_cfg *opts, snm_paper_perturb **out,
                           snm_error *err);
void snm_paper_perturb_close(snm_paper_perturb *p);     /* NULL is a no-op */

/* The two perturbations of a reconstruction or t-SNE figure, out[0] random and out[1] semantic:
 * those noise plugins created with the spec entry's sections `random` and `semantic` (maps of the
 * plugins' options, opts being the entry's option table), sd defaulting to the entry's sd.
 * Errors are prefixed with the entry's id. */
int snm_paper_figure_perturbations(snm_paper_model *m, const snm_cfg *entry, const snm_option *opts,
                                   snm_paper_perturb *out[2], snm_error *err);

/* zp (n * zdim) = p's perturbation of n latent vectors z, drawing from rng as the plugin's
 * objective draws, in batches of the run's training batch size. */
int snm_paper_model_perturb(snm_paper_model *m, const snm_paper_perturb *p, const float *z, long n,
                            gsl_rng *rng, float *zp, snm_error *err);
/* x = decode_z(z) + mean, clipped to [0, 1]: x (n * C*H*W), an image one can show. */
int snm_paper_model_decode(snm_paper_model *m, const float *z, long n, float *x, snm_error *err);

#ifdef __cplusplus
}
#endif
#endif
