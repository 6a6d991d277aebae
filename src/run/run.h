/* run.h: an opened run (run.c) -- what the trainer and the paper stage both need before the first
 * batch, made in one place so that a figure sees exactly the network and the inputs the trainer
 * trained:
 *
 *   data     the run's dataset, opened through a cache (dataset.h) shared by the runs of a process
 *   subset   the balanced training subset (subset.h) from the "subset" stream, seeded by the master
 *            seed, the data section, the per-class size and the set alone, so every method of a
 *            set trains on the same examples; all of the training split for a full run
 *   mean     the per-pixel mean of the subset's inputs, summed in double over the examples in
 *            subset order and divided once in float; every input a network sees is x - mean
 *   build    the model and the regularizer, created on the dataset's shape from the plugins the
 *            run names, their parameters initialised from the run's "init" stream
 *
 * The seeds of a run are derived from its key (snm_seed_derive), each stream by its own name, so
 * that a new consumer of randomness never shifts another: subset (above), init, order, noise.
 * A caller opens the steps in this order, or all at once with snm_run_open; snm_run_close
 * releases whatever was opened.  The trainer goes step by step because it checks between them
 * (snm_run_check: everything but the mean). */
#ifndef SNM_RUN_RUN_H
#define SNM_RUN_RUN_H

#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "snm/plugin.h"
#include "dataset.h"
#include "pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { SNM_SEED_SUBSET, SNM_SEED_INIT, SNM_SEED_ORDER, SNM_SEED_NOISE, SNM_N_SEEDS };

typedef struct snm_run {
	const snm_run_spec *spec;          /* borrowed */
	const char *plugin_path;           /* borrowed; searched before $SNM_PLUGIN_PATH */
	snm_data_cache own_cache;          /* the cache when the caller gives none */
	snm_data_source *ds;               /* the dataset (owned by the cache) */
	size_t dim;                        /* C*H*W of one example */
	long *subset, n_sub;               /* training examples: sorted indices into the train split */
	float *mean;                       /* dim floats */
	snm_plugin_handle mh, nh;
	snm_model model;                   /* state NULL until built */
	const snm_noise_vt *nvt;
	void *noise;                       /* the regularizer's state, NULL until built */
	snm_params *params;                /* the model's and the regularizer's parameters and buffers */
	int n_model_params;                /* the first entries of params, the model's (its create's) */
	uint64_t seeds[SNM_N_SEEDS];       /* the subset's is 0 for a full run */
} snm_run;

/* data: *R zeroed, then the dataset of spec opened through cache (NULL: a cache of R's own,
 * closed with R).  Errors of the data plugin are prefixed with its section's file:line:col. */
int snm_run_data(snm_run *R, const snm_run_spec *spec, const char *plugin_path, snm_data_cache *cache,
                 snm_error *err);

/* subset: R->subset, R->n_sub and R->seeds[SNM_SEED_SUBSET].  SNM_EINVAL when a class has fewer
 * training examples than the per-class size (the message names the class, not the run). */
int snm_run_subset(snm_run *R, snm_error *err);

/* mean: R->mean over the subset, reading `batch` examples at a time (any batch gives the same
 * bits: the sum runs over the examples in subset order). */
int snm_run_mean(snm_run *R, long batch, snm_error *err);

/* build: the model and the regularizer, and R->seeds[SNM_SEED_INIT .. SNM_SEED_NOISE].  A plugin's
 * error is prefixed "<who>: model '<name>'" (or noise), without the plugin part when the message
 * names the plugin already, and that by the section's file:line:col where the message does not
 * name the file; who is the run key for the trainer, the run file for the paper.  A create that
 * fails without a message (or with a code that is no SNM_E*) is SNM_EPLUGIN "create failed
 * (returned N) without saying why"; a model's create that succeeds but leaves its state NULL is
 * SNM_EPLUGIN too (every model method is handed that state; a regularizer may keep none). */
int snm_run_build(snm_run *R, const char *who, snm_error *err);

/* The prefix snm_run_build puts before a plugin's error (kind "model" or "noise", name the
 * plugin's, sec its section), for the other places that call a run's plugins. */
void snm_run_plugin_prefix(snm_error *err, const char *who, const char *kind, const char *name,
                           const snm_cfg *sec);

/* All four, the mean in batches of `batch`, plugin errors prefixed with the run key. */
int snm_run_open(snm_run *R, const snm_run_spec *spec, const char *plugin_path, snm_data_cache *cache,
                 long batch, snm_error *err);

/* Releases what R holds (the regularizer, the model, their plugins and parameters, the subset,
 * the mean, R's own cache); R is zeroed.  A zeroed R is fine. */
void snm_run_close(snm_run *R);

/* n examples idx of a split, as the data plugin gives them (values in [0, 1]): x (n * dim) and y
 * (n labels; may be NULL).  aug: the augmentation stream of training reads, NULL otherwise. */
int snm_run_examples(const snm_run *R, int split, const long *idx, long n, gsl_rng *aug, float *x,
                     int32_t *y, snm_error *err);

/* The same minus the mean: the inputs the network sees. */
int snm_run_inputs(const snm_run *R, int split, const long *idx, long n, gsl_rng *aug, float *x,
                   int32_t *y, snm_error *err);

/* The training-split examples outside the subset, in index order, into out (room for the split's
 * size); returns how many (0 for a full run). */
long snm_run_outside(const snm_run *R, long *out);

/* The index of the largest of v[0..K) (the first of equals): the predicted class of logits. */
int snm_argmax(const float *v, int K);

#ifdef __cplusplus
}
#endif
#endif
