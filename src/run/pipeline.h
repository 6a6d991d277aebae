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
 *   sweep: {train.lr: [0.001, 0.01]}   # every experiment whose section takes the key, once per value
 *   experiments:
 *     - name: semantic     # [a-z0-9._-]+, unique in the pipeline
 *       noise: {type: semantic}
 *       train: {lr: 0.002} # any section, and grid, may be overridden per experiment
 *       sweep: {noise.sd: [0.1, 0.2]}  # this experiment, once per value (it must take the key)
 *
 * An experiment's section is merged into the default one key by key, unless it names another
 * `type`, in which case it replaces it.  Runs: for each experiment, for each per-class size n and
 * set s in 1..sets, a run "name/experiment/n<n>/set<s>"; with full: true also one run
 * "name/experiment/full" on the whole training split.
 *
 * Sweeps and overrides change keys of the merged sections (override.h: "<section>.<key>", the
 * key one its section's option table has).  A sweep's keys are the experiment's own `sweep`
 * (each must be taken by its section) and the top level's (applied to the experiments whose
 * section takes the key; an experiment's own sweep of the same key replaces it; a key no
 * experiment takes is an error), the experiment's own first, each in its file order; the
 * experiment's runs are made once for every combination of their values, the first key's value
 * changing slowest.  The --set overrides of snm_pipeline_load_set then apply to every run whose
 * section takes their key (none may be a swept key), in the order of section and key.  Each
 * change names itself in the experiment part of the run key: the experiment's name, then per
 * change "-<key><value>" (override.h's snm_override_name; "<section>.<key>" instead of the key
 * when two changed keys of a run share a name), e.g. "semantic-sd0.1-lr0.001", up to 160
 * characters.  So a run key names its values, an overridden run never takes the file of the run
 * without the override, and a run that a --set does not touch keeps its key and configuration.
 * Each run's effective configuration (seed,
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

/* snm_pipeline_load with the overrides set[0..n_set-1], --set arguments "<section>.<key>=<value>"
 * (override.h): each applies to every run whose section takes the key, wherever the run is
 * defined (included pipelines too).  Errors besides snm_pipeline_load's (SNM_ECONFIG, one line
 * that begins "--set <argument>: "): a malformed argument, a key given twice, a value its option
 * refuses, a key the pipeline sweeps, a key no run takes. */
int snm_pipeline_load_set(const char *path, const char *plugin_path, int n_set, const char *const *set,
                          snm_pipeline **out, snm_error *err);
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
