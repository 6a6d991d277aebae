/* cmd.h (the `snm` command): what its subcommands share -- the options of run, check and plugins
 * as snm.c parses them, the run selection of --only, the one error line -- and the entry point of
 * each subcommand (one file each).  Only the command prints errors and chooses exit statuses. */
#ifndef SNM_CMD_CMD_H
#define SNM_CMD_CMD_H

#include "snm/error.h"
#include "run/dataset.h"
#include "run/pipeline.h"

#define ROW_MAX 512          /* a run key's room (pipeline.c) */
#define SNM_CMD_MAX_JOBS 256 /* -j */

/* The options of run, check and plugins. */
typedef struct cli {
	const char *plugin_path, *only;
	int threads, jobs, force;
	int log_every;             /* --log-every: seconds between a run's progress lines in a log */
	const char *command;       /* the command line, as a shell would take it back (resuming) */
	int n_sets;                /* --set overrides, in the order given */
	const char *const *sets;
} cli;

/* "snm: <message>" on stderr; returns 1. */
int snm_cmd_fail(const snm_error *e);

/* Loads the pipeline at path with the --set overrides of c (snm_pipeline_load_set). */
int snm_cmd_load(const cli *c, const char *path, snm_pipeline **out, snm_error *e);

/* 1 when run r is selected by --only (every run without it). */
int snm_cmd_selected(const cli *c, const snm_run_spec *r);

/* An --only pattern that selects none of the pipeline's runs is an error (a typo would otherwise
 * look like a run with nothing left to do).  Says so on stderr and returns 1; else 0. */
int snm_cmd_no_match(const cli *c, const snm_pipeline *p, const char *path);

/* Checks every selected run as far as it can be without training, once per distinct
 * configuration, before any run starts (check.c). */
int snm_cmd_check_runs(const cli *c, const snm_pipeline *p, snm_data_cache *cache, snm_error *e);

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
