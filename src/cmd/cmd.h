/* cmd.h (the `snm` command): what its subcommands share -- the options of run, check and plugins
 * as snm.c parses them, the run selection of --only, the one error line -- and the entry point of
 * each subcommand (one file each).  Only the command prints errors and chooses exit statuses. */
#ifndef SNM_CMD_CMD_H
#define SNM_CMD_CMD_H

#include <signal.h>
#include "snm/error.h"
#include "run/dataset.h"
#include "run/pipeline.h"
#include "run/trainer.h"
#include "console.h"

#define ROW_MAX 512          /* a run key's room (pipeline.c) */
#define SNM_CMD_MAX_JOBS 256 /* -j */

/* The options of run, check and plugins. */
typedef struct cli {
	const char *plugin_path;
	int n_only;                /* --only patterns, in the order given: a run is selected when its */
	const char *const *only;   /* key matches any of them (fnmatch) */
	int threads, jobs, force;
	int log_every;             /* --log-every: seconds between a run's progress lines in a log */
	const char *command;       /* the command line, as a shell would take it back (resuming) */
	int n_sets;                /* --set overrides, in the order given */
	const char *const *sets;
	int cost;                  /* --cost: check prints the cost model's estimates (plan.c) */
	const char *simulate;      /* --simulate N[,N]...: and the schedules on N workers */
	int shard_k, shard_n;      /* --shard K/N (1 <= K <= N), 0 and 0 without */
	const snm_run_spec *mask_base;  /* with mask: the runs' array that mask is indexed like */
	const unsigned char *mask; /* NULL, or the runs --shard keeps (mask[i] for mask_base[i]) */
} cli;

/* "snm: <message>" on stderr; returns 1. */
int snm_cmd_fail(const snm_error *e);

/* Loads the pipeline at path with the --set overrides of c (snm_pipeline_load_set). */
int snm_cmd_load(const cli *c, const char *path, snm_pipeline **out, snm_error *e);

/* 1 when run r is selected by --only (any of its patterns; every run without it) and, with
 * --shard, is in the share. */
int snm_cmd_selected(const cli *c, const snm_run_spec *r);

/* An --only pattern that selects none of the pipeline's runs is an error (a typo would otherwise
 * look like a run with nothing left to do), each pattern alone.  Says so on stderr and returns 1;
 * else 0. */
int snm_cmd_no_match(const cli *c, const snm_pipeline *p, const char *path);

/* Checks every selected run as far as it can be without training, once per distinct
 * configuration, before any run starts (check.c). */
int snm_cmd_check_runs(const cli *c, const snm_pipeline *p, snm_data_cache *cache, snm_error *e);

/* ---- plan.c: the cost model's estimates, schedules and shares ---------------------------------- */

/* The estimated seconds of every run of p at c->threads (NAN for the runs not selected), after
 * measuring what the calibration cache lacks (cost.h); *seconds is a new array (free()).  Says
 * on stderr how many signatures it measured, when any. */
int snm_cmd_estimates(const cli *c, const snm_pipeline *p, snm_data_cache *cache, double **seconds,
                      snm_error *e);

/* `snm check --cost [--simulate LIST]`: each selected run's estimate, the pipeline's core-hours
 * and, with --simulate, its schedules on each N workers.  Returns the exit status. */
int snm_cmd_cost(const cli *c, const snm_pipeline *p, snm_data_cache *cache);

/* --shard K/N: the share of every selected run, from the shard plan of the results directory
 * (made under a lock by the first process that needs it, from the estimates: longest first to the
 * least loaded share, snm_cost_lpt), so that N processes on N machines agree; with write 0 an
 * absent plan is computed and not written (snm check).  Sets c->mask and c->mask_base to the runs
 * of share K (*mask is the array, free() it).  *note: "" or where the plan came from. */
int snm_cmd_shard(cli *c, const snm_pipeline *p, snm_data_cache *cache, int write, unsigned char **mask,
                  char *note, size_t note_size, snm_error *e);

/* ---- run.c's parts that mpi.c shares ---------------------------------------------------------- */

/* SIGINT or SIGTERM once one came (snm_cmd_catch_signals), else 0: every run stops at its next
 * step. */
extern volatile sig_atomic_t snm_cmd_stop;
void snm_cmd_catch_signals(void);

/* Tells console k about the selected runs (epochs planned, done, finished), numbered among them. */
void snm_cmd_tell_console(snm_console *k, const cli *c, const snm_pipeline *p);

/* The results table of the selected runs, from their files. */
void snm_cmd_print_table(const cli *c, const snm_pipeline *p);

/* One line on stderr when runs at a time x --threads exceed the processors. */
void snm_cmd_warn_oversubscribed(const cli *c, int n_sel);

/* A trainer of one process: its options, its dataset cache, and what its reports remember. */
typedef struct snm_cmd_job {
	const cli *c;
	snm_console *k;
	snm_data_cache cache;
	snm_trainer_opts o;
	int j;                     /* the run being trained, numbered among the selected */
	int waited;                /* 1: a run skipped while waiting was finished by another process */
	char last[SNM_ERROR_MSG_MAX];   /* the last error line, not repeated */
	int same;                  /* errors equal to it since */
} snm_cmd_job;

void snm_cmd_job_init(snm_cmd_job *J, const cli *c, snm_console *k);

/* Trains run r (number j among the selected; wait: wait for another process's lock) and says
 * how it went on the console: 0 trained, resumed or skipped, 1 failed, 2 stopped by a signal
 * (before or during it), 3 busy (another process holds it; without wait only). */
int snm_cmd_job_run(snm_cmd_job *J, const snm_run_spec *r, int j, int wait);

/* The count of repeated errors, if any; the dataset cache cleared. */
void snm_cmd_job_end(snm_cmd_job *J);

/* 1 when this process was started by mpirun or srun (Open MPI's or PMIx's environment). */
int snm_cmd_mpi_launched(void);

/* mpi.c (built where configure found MPI): `mpirun -n N snm run PIPELINE`, p loaded from path. */
int snm_cmd_run_mpi(const cli *c, const char *path, snm_pipeline *p);

int snm_cmd_plugins(const cli *c);                      /* plugins.c */
int snm_cmd_check(const cli *c, const char *path);      /* check.c */
int snm_cmd_run(const cli *c, const char *path);        /* run.c */
int snm_cmd_fetch(int argc, char **argv);               /* fetch.c */
int snm_cmd_paper(int argc, char **argv);               /* paper.c */
int snm_cmd_compact(int argc, char **argv);             /* compact.c */
int snm_cmd_verify(int argc, char **argv);              /* verify.c */
int snm_cmd_status(int argc, char **argv);              /* status.c */
int snm_cmd_report(int argc, char **argv);              /* report.c */

#endif
