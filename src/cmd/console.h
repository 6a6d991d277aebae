/* console.h (the `snm` command): what `snm run` shows while it trains (console.c).
 *
 * On a terminal (live), status lines on stderr, redrawn in place (carriage return and the ANSI
 * erase-line and cursor-up sequences, nothing else) at every event: one line per worker with its
 * run, epoch, loss and errors, and under them one line for the pipeline: runs done of the total,
 * time elapsed, and the time left (ETA).  Without a terminal (a log file), timestamped lines on
 * stdout instead, at most one per run every log_every seconds, always its first and last epoch:
 *
 *   2026-12-06T10:11:12Z quick/feed-forward/n10/set1 epoch 7/10 loss 0.2345 valid 12.30%
 *     best 11.90% 1.9 s/epoch                                                    (one line)
 *
 * and after each run one line for the pipeline.  Other output -- the result and error lines --
 * goes through the console too (snm_console_out, snm_console_err), so that the status lines are
 * erased first and drawn again below it.  Epochs count from 1.
 *
 * The time left: each unfinished run's epochs left times its measured seconds per epoch in this
 * process (a run not started yet: the mean of the runs of its cost group -- its per-class size --
 * else of all runs), summed per worker (run j goes to worker j % jobs, as snm run deals them), the
 * largest sum.  Unknown ("ETA ?") until an epoch has been measured.
 *
 * With -j, workers call the same functions on their copy of the console after
 * snm_console_forward: each call is then one line written to a pipe (PIPE_BUF bytes at most, so
 * that the workers' lines never mix), and the parent's snm_console_pump shows them.  A worker
 * whose parent is gone writes its result and error lines itself.  Nothing here exits. */
#ifndef SNM_CMD_CONSOLE_H
#define SNM_CMD_CONSOLE_H

#include "run/trainer.h"

typedef struct snm_console snm_console;

/* A console for n runs dealt to jobs workers, named title in the pipeline line (the pipeline
 * file).  live: status lines on stderr (a terminal); 0: timestamped lines on stdout, a run's
 * epoch lines at least log_every seconds apart (0: every epoch).  NULL when out of memory. */
snm_console *snm_console_new(const char *title, int n, int jobs, int live, double log_every);
void snm_console_free(snm_console *k);            /* NULL is a no-op */

/* Run j (0..n-1): its key (borrowed: it must outlive the console), epochs planned, epochs its
 * file holds already (all of them when finished is 1: it is counted as done), and its cost
 * group (runs of one group cost about the same per epoch). */
void snm_console_run(snm_console *k, int j, const char *key, int epochs, int done, int finished,
                     int group);

/* A trainer's progress report for run j (snm_trainer_opts.progress). */
void snm_console_progress(snm_console *k, int j, const snm_train_progress *p);

/* Run j ended in this process, trained or skipped (ok = 1) or failed (0); a run is counted once. */
void snm_console_end(snm_console *k, int j, int ok);

/* One line (no newline in it) on stdout or on stderr, above the status lines. */
void snm_console_out(snm_console *k, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
void snm_console_err(snm_console *k, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* In a -j worker: from now on every call above is written to fd (the pipe's write end). */
void snm_console_forward(snm_console *k, int fd);

/* The same, each message (one line, its newline included) handed to fn(ctx, msg) instead of
 * written to a pipe: an MPI rank's (mpi.c) sends it to rank 0, which shows it with
 * snm_console_show. */
void snm_console_sink(snm_console *k, void (*fn)(void *ctx, const char *msg), void *ctx);

/* Shows one message of a worker (a line without its newline), as snm_console_pump does. */
void snm_console_show(snm_console *k, const char *msg);

/* In the parent: shows what the workers write to fd (the pipe's read end) until every writer has
 * closed it.  A signal interrupting the read is not an end. */
void snm_console_pump(snm_console *k, int fd);

/* Erases the status lines (before the results table). */
void snm_console_close(snm_console *k);

#endif
