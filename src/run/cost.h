/* cost.h: what runs cost, before and while they train (cost.c) -- snm's one cost model, and the
 * schedules made from it: the order in which `mpirun ... snm run` hands runs out (longest first),
 * the shares of `snm run --shard K/N`, the simulations of `snm check --cost --simulate`, and the
 * time left that `snm status` prints.
 *
 * The model.  A run of E epochs costs, in wall seconds at T threads,
 *     E x (S x t_step + V x t_eval)
 *   S       training steps per epoch: ceil(n_sub / batch) (n_sub: per-class size x classes, or the
 *           whole training split), or with train.epoch 'unlabelled' ceil(n_u / unlabelled_batch),
 *           n_u the training examples outside the subset, or train.steps when set
 *   V       examples evaluated per epoch: min(n_sub, train_eval_max) + n_valid + q(E) x n_test,
 *           plus, with train.bn_stats labelled or unlabelled, the rows of the statistics'
 *           re-estimation (n_sub or n_u, whole batches: a forward pass, counted as evaluation),
 *           where q(E) = min(1, 2 / sqrt(E)) is the share of epochs whose validation error
 *           improves (the trainer evaluates the test split only then) -- an assumption, not a
 *           measurement: 2 sqrt(120) = 22 test evaluations in 120 epochs, where the committed
 *           MNIST runs made 13 to 50 (README, Beyond one machine)
 *   t_step  one training step of the run's data, model, regularizer, batch and unlabelled batch
 *   t_eval  one example evaluated by its data and model at its eval_batch
 * Checkpoints, the HDF5 writes and the process's start are left out.  t_step and t_eval are
 * measured by a short calibration (trystep.h's snm_run_time_step: at least 5 timed steps and
 * evaluation batches, a second of each, after one untimed; the fastest; processor time at one
 * thread, so that a loaded machine calibrates as an idle one would), once per distinct
 * signature (an evaluation's without the regularizer) -- the data section, the
 * model's and the regularizer's sections, the batches, and the SHA-256 of the plugins
 * (identity.h) -- and thread count, and cached in a text file with the machine (processor model,
 * processors online, OpenBLAS kernel) and the build (libsnm's SHA-256) they were measured on.  An
 * entry of another machine or build stays in the file and is never used.  The cache is
 * $SNM_COST_CACHE, else $XDG_CACHE_HOME/snm/cost, else $HOME/.cache/snm/cost; one line per entry:
 *     <kind s|e> <machine hash> <build hash> <threads> <signature> <seconds> <label>
 * after a first line "snm-cost 1"; written whole through a temporary file and a rename.
 *
 * Nothing here prints; errors are one line, naming the file. */
#ifndef SNM_RUN_COST_H
#define SNM_RUN_COST_H

#include <stdint.h>
#include "snm/error.h"
#include "dataset.h"
#include "pipeline.h"
#include "state.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A run's shape: what its cost is made of (above). */
typedef struct snm_cost_shape {
	long epochs;               /* E */
	long steps;                /* S, per epoch */
	double evaluated;          /* V, per epoch (the test split counted q(E) times) */
	long batch, unlabelled_batch, eval_batch;   /* train.batch, unlabelled_batch, eval_batch */
	int unlabelled_epoch;      /* train.epoch is 'unlabelled' */
	double work;               /* an epoch's work in example passes, for comparing the measured
	                            * epochs of runs of other sizes (snm_run_estimate):
	                            *   3 S (batch + unlabelled_batch if unlabelled_epoch) + V
	                            * (a training row counted as three passes: forward and backward) */
	uint64_t step_sig, eval_sig;   /* what t_step and t_eval depend on, hashed */
	char label[128];           /* "data idx, model convnet, noise semantic, batch 100": for the cache */
} snm_cost_shape;

/* The shape of run r: its dataset opened through cache (the splits' sizes), its plugins found on
 * plugin_path (their SHA-256 enter the signatures).  Errors: those of opening the data and of
 * finding the plugins, naming the run. */
int snm_cost_shape_of(const snm_run_spec *r, const char *plugin_path, snm_data_cache *cache,
                      snm_cost_shape *out, snm_error *err);

/* The part of run r's shape that its train section and its data's split sizes make (epochs, S,
 * V, the batches, work; no signatures, no plugin other than the data's read): cheap enough for
 * every run of a pipeline.  Errors: those of the train options and of opening the data. */
int snm_cost_epoch_of(const snm_run_spec *r, const char *plugin_path, snm_data_cache *cache,
                      snm_cost_shape *out, snm_error *err);

/* The calibration cache (above), of this machine and build. */
typedef struct snm_cost_entry {
	char kind;                 /* 's': t_step, 'e': t_eval */
	uint64_t machine, build, sig;
	int threads;
	double seconds;
	char label[128];
} snm_cost_entry;

typedef struct snm_cost_cache {
	char path[4096];           /* the cache file */
	char machine_text[256];    /* "Intel(R) Xeon(R) ..., 2 processors, OpenBLAS Haswell" */
	uint64_t machine, build;   /* this machine's and this build's hashes */
	int n, cap, dirty;
	snm_cost_entry *e;         /* every entry of the file, other machines' too */
} snm_cost_cache;

/* Reads the cache file (none yet is an empty cache) and identifies this machine and build.
 * Errors: SNM_EIO (a file that cannot be read, or a line that is not an entry: "<file>:<line>:
 * not a cost entry"), SNM_ENOMEM. */
int snm_cost_cache_open(snm_cost_cache *c, snm_error *err);

/* Writes the cache when entries were added (parent directories made), through a temporary file and
 * a rename.  SNM_EIO naming the file. */
int snm_cost_cache_save(snm_cost_cache *c, snm_error *err);
void snm_cost_cache_free(snm_cost_cache *c);

/* The seconds run shape s costs at threads (above); NAN when the cache of this machine and build
 * has no t_step or t_eval for it. */
double snm_cost_seconds(const snm_cost_cache *c, const snm_cost_shape *s, int threads);

/* Measures what the cache lacks for run r of shape s at the thread count set now (core/blas.h's,
 * recorded as threads): *measured is 1 when it did, 0 when the cache had both.  Errors those of
 * snm_run_time_step. */
int snm_cost_calibrate(snm_cost_cache *c, const snm_run_spec *r, const snm_cost_shape *s,
                       const char *plugin_path, snm_data_cache *cache, int threads, int *measured,
                       snm_error *err);

/* The estimate of every run i of p with sel[i] (sel NULL: every run): seconds[i] at threads,
 * NAN for the others and for the runs the cache cannot estimate.  With calibrate, what the cache
 * lacks is measured first (at the thread count set now) and the cache saved; *n_measured counts
 * the signatures measured (may be NULL).  Errors: those of the shapes, the calibration and the
 * cache. */
int snm_cost_pipeline(const snm_pipeline *p, const unsigned char *sel, const char *plugin_path,
                      snm_data_cache *cache, int threads, int calibrate, snm_cost_cache *c,
                      double *seconds, int *n_measured, snm_error *err);

/* ---- schedules --------------------------------------------------------------------------------- */

/* order[0..n) = 0..n-1 sorted by cost, longest first, the earlier index first among equals (a NaN
 * cost counts as 0). */
void snm_cost_order(const double *cost, int n, int *order);

/* Longest processing time first: runs in snm_cost_order's order, each to the worker whose load is
 * least (the lowest index among equals), as `mpirun` hands them out when every run takes its
 * estimate.  worker_of[i] (may be NULL) receives run i's worker; returns the makespan, the largest
 * load.  The same costs give the same assignment. */
double snm_cost_lpt(const double *cost, int n, int workers, int *worker_of);

/* Round robin: run i (pipeline order) to worker i mod workers, as `snm run -j` deals them;
 * returns the makespan. */
double snm_cost_round_robin(const double *cost, int n, int workers, int *worker_of);

/* ---- the time left, for `snm status` ------------------------------------------------------------ */

/* The estimate of what is left: for every run that is not started, resumable or running, its
 * epochs left (planned less done) times the cost of one epoch in core-seconds.  With model (the
 * per-run seconds of snm_cost_pipeline at threads; NULL: none), a run the model estimates costs
 * model[i] / epochs x threads an epoch.  Otherwise (and for the runs the model cannot estimate)
 * the measured basis: wall seconds per epoch times the thread count, over the measured epochs of
 * comparable runs of the pipeline, each run's epochs counted at its median epoch (snm_run_state's
 * typical: an epoch stretched by a pause does not price the rest) and pooled by their number
 * -- of the same experiment (its run key less
 * the per-class size and set) and per-class size; else of the same experiment at other sizes
 * (only with work); else of the same per-class size; else of any run.  work (NULL: none; else
 * one per run, snm_cost_shape's work, NAN where unknown) scales each measured epoch of run j
 * counted for run i by work[i] / work[j] when both are known: an epoch of the whole training set
 * is not priced as one of 10 examples a class.  Runs measured: those whose files have timed epochs
 * and whose state is finished, running or resumable (refused and failed files are another
 * configuration or unusable).  Refused and failed runs are not counted: each needs a decision
 * first (--force, a fix).  sel: NULL, every run; or one flag per run (sel[i] != 0: counted among
 * the runs left -- `snm status --only`); the measured basis is every run's either way. */
typedef struct snm_estimate {
	double core_seconds;       /* the estimate (0 when nothing is left or nothing was measured) */
	int runs, epochs;          /* runs left and their epochs left */
	int by[4];                 /* runs estimated from: the same experiment and size, the same
	                            * experiment at other sizes, the same size, any run */
	int scaled;                /* runs whose estimate counted an epoch of another work */
	int by_model;              /* runs estimated by the model */
	int unmeasured;            /* runs left with no measured run to go by (none measured at all) */
	int measured;              /* runs with timed epochs: the basis */
} snm_estimate;

void snm_run_estimate(const snm_pipeline *p, const snm_run_state *st, const double *model,
                      const double *work, int threads, const unsigned char *sel, snm_estimate *out);

#ifdef __cplusplus
}
#endif
#endif
