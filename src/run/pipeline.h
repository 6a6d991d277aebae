/* pipeline.h: a YAML pipeline, expanded into the list of runs it defines.
 *
 * Schema (every key is checked; an unknown key, a wrong type, a missing plugin or file is one
 * line "file:line:col: ..." before any training starts):
 *
 *   name: fashion          # prefix of every run key (required when there are experiments)
 *   seed: 1                # master seed (default 1)
 *   results: results       # directory of the result files (default "results", relative to the
 *                          # directory snm runs in)
 *   include: [a.yaml]      # other pipelines (paths relative to this file) whose runs are added
 *   defaults:              # sections every experiment starts from
 *     data:  {type: idx, dir: /usr/share/datasets/fashion-mnist}
 *     model: {type: convnet, preset: mnist}
 *     noise: {type: none}
 *     train: {epochs: 120, batch: 100, lr: 0.005}
 *   grid: {per_class: [10, 100], sets: 3, full: true}
 *   experiments:
 *     - name: semantic     # [a-z0-9._-]+, unique in the pipeline
 *       noise: {type: semantic}
 *       train: {lr: 0.002} # any section, and grid, may be overridden per experiment
 *
 * An experiment's section is merged into the default one key by key, unless it names another
 * `type`, in which case it replaces it.  Runs: for each experiment, for each per-class size n and
 * set s in 1..sets, a run "name/experiment/n<n>/set<s>"; with full: true also one run
 * "name/experiment/full" on the whole training split.  Each run's effective configuration (seed,
 * key, per-class size, set, the four sections) is recorded as canonical text with its hash
 * (snm_cfg_dump / snm_cfg_hash); the training subset of a run is seeded by (seed, data section,
 * per-class size, set) only, so every experiment of a set trains on the same examples. */
#ifndef SNM_PIPELINE_H
#define SNM_PIPELINE_H

#include <stdint.h>
#include "snm/config.h"
#include "snm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct snm_run_spec {
	char *key;                /* "fashion/semantic/n100/set2" */
	char *experiment;         /* "semantic" */
	int per_class;            /* examples per class; 0 = the whole training split */
	int set;                  /* 1..sets; 0 for the whole split */
	uint64_t seed;            /* the pipeline's master seed */
	char *data_type, *model_type, *noise_type;  /* the plugins' names */
	snm_cfg *data, *model, *noise;  /* the plugins' options: effective sections without `type` */
	snm_cfg *train;           /* the effective train section */
	char *data_key;           /* canonical text of the data section (the subset's seed key) */
	char *config_text;        /* canonical text of the run's whole effective configuration */
	uint64_t config_hash;     /* snm_cfg_hash of it */
	char *result_path;        /* "<results>/<key>.h5" */
	char *where;              /* "file:line:col" of the grid entry that made the run (its
	                           * per_class size, or `full`), for errors the plugins cannot place;
	                           * "" when unknown */
} snm_run_spec;

typedef struct snm_pipeline {
	char *path;               /* the file given to snm_pipeline_load */
	int n_runs;
	snm_run_spec *runs;
	snm_cfg *root;            /* the parsed top file (included files are parsed and released) */
} snm_pipeline;

/* The length of the experiment part of r's key, the key less "/n<size>/set<k>" (or "/full"):
 * "fashion/semantic" -- a row of a results table, the runs of one experiment of one pipeline. */
size_t snm_run_row_len(const snm_run_spec *r);

/* The train section's keys, with defaults (section 4.2 of the paper where it says). */
extern const snm_option snm_train_options[];

/* Loads, validates and expands the pipeline at path.  plugin_path (colon-separated, may be NULL)
 * is searched before $SNM_PLUGIN_PATH for the model/noise/data plugins, whose option tables
 * check their sections.  Errors: SNM_EIO (file), SNM_ECONFIG (with file:line:col), SNM_EPLUGIN /
 * SNM_EABI (a plugin named by a section cannot be found or loaded, with the section's position).
 * *out is freed with snm_pipeline_free. */
int snm_pipeline_load(const char *path, const char *plugin_path, snm_pipeline **out, snm_error *err);
void snm_pipeline_free(snm_pipeline *p);

/* The one-run pipeline of a recorded configuration: config_text is a run file's `config`
 * attribute (run, seed, per_class, set and the four effective sections), source names it in
 * messages (the run file's path).  The run gets the recorded key and its result path under
 * results; its config_text and config_hash are rebuilt from the sections exactly as a pipeline
 * would make them, so a caller compares config_hash with the recorded one to know that the text
 * is the one that was hashed.  The plugin sections are checked against the plugins found on
 * plugin_path.  Errors: SNM_ECONFIG naming source (not YAML, a missing or malformed entry),
 * SNM_EPLUGIN / SNM_EABI as snm_pipeline_load. */
int snm_pipeline_from_config(const char *config_text, const char *source, const char *results,
                             const char *plugin_path, snm_pipeline **out, snm_error *err);

#ifdef __cplusplus
}
#endif
#endif
