/* report.h: the results of any pipeline (report.c), for `snm report` -- where paper.h makes the
 * paper's own tables from its spec, this makes one table and its learning curves from whatever
 * runs a pipeline defines.
 *
 * The table: one row per experiment (a run key less "/n<size>/set<k>" or "/full"; labelled by the
 * experiment's name, or by "pipeline/experiment" when the pipeline includes runs of several
 * names), one column per per-class size of the grid, ascending, then `full` when a run has it.  A
 * cell holds the runs of its experiment and column (every set), each read as `snm status` reads
 * it (src/run/state.h); its number is the mean (sample standard deviation, GSL) of the test error
 * at the best validation epoch (/metrics/test_at_best at the last row) over its finished runs, with
 * their count n.  Its other runs are named by their keys, by what keeps them out: "missing" (not
 * started), "unfinished" (running or resumable), "refused" (made by another configuration than the
 * pipeline's now: its result is not this configuration's), "failed" (unreadable, another run's
 * file, ...: a note says why) -- up to two keys, else the count and the first key.  A cell of an
 * experiment that has no runs of that column is empty ("–").  The lowest mean of each column (at
 * the printed precision; ties all) is bold, among the cells with a finished run.  A finished run
 * made by other code than the plugins and libsnm found now (identity.h) counts in its cell, which
 * is marked (†), and a note under the table names it and what changed: `snm verify` checks it.
 *
 * Output, into o->out (made when missing), through write.c:
 *   results.md    the table in Markdown, a caption above it
 *   results.csv   one line per cell: row, label, column, runs, finished, missing, unfinished,
 *                 refused, failed, mean, std, best, the keys of the runs not used, and other_code
 *                 (its finished runs made by other code)
 *   results.tex   a booktabs table float (\snmfit: shrunk to the text width when wider)
 *   curves-valid.png/.pdf   validation error per epoch, mean over each cell's finished, running
 *                 and resumable runs that have metrics: one panel per column, one line per
 *                 experiment
 *   curves-test.png/.pdf    the test error at the best validation epoch so far, per epoch, alike
 * The figures go through plot.c (gnuplot; none, and a note, when it is missing, or with
 * o->no_figures).
 *
 * Library code: nothing is printed but through the caller's FILE (snm_report_print) and note
 * callback. */
#ifndef SNM_PAPER_REPORT_H
#define SNM_PAPER_REPORT_H

#include <stdio.h>
#include "run/pipeline.h"
#include "paper.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct snm_report snm_report;

/* Reads every run of p from paths[i] (the file of run i: its result path, or the same key under
 * another results directory) and computes the table.  o is borrowed until snm_report_close:
 * o->spec names the pipeline file and o->results the results directory in the files' banners;
 * o->out, o->gnuplot, o->no_figures, o->note serve snm_report_write; o->plugin_path is where the
 * plugins the runs' code is compared with are found; a failed or refused run, and a finished run
 * made by other code, is a note.  Errors: SNM_ENOMEM only (what a run file holds is a cell's text, never an error). */
int snm_report_open(const snm_paper_opts *o, const snm_pipeline *p, char *const *paths,
                    snm_report **out, snm_error *err);
void snm_report_close(snm_report *r);                   /* NULL is a no-op */

/* How many runs the table holds, and how many of them are finished. */
void snm_report_counts(const snm_report *r, int *runs, int *finished);

/* Writes results.md, .csv, .tex and (unless o->no_figures) the curves into o->out.  Errors:
 * SNM_EIO (the directory or a file cannot be written, gnuplot failing), SNM_ENOMEM; the figures
 * are still tried after a table's error, the first error is returned. */
int snm_report_write(const snm_report *r, snm_error *err);

/* The Markdown table (results.md less its banner) to f. */
void snm_report_print(const snm_report *r, FILE *f);

#ifdef __cplusplus
}
#endif
#endif
