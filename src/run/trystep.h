/* trystep.h: one training step of a run's model and regularizer on a few examples (trystep.c),
 * for `snm check`: the plugin mistakes that only training would meet -- at its first step, or
 * hours later at the first run that uses the plugin -- surface in a second, one line each naming
 * the plugin, and nothing is written.
 *
 * The step opens what the trainer opens (run.h: the dataset through the cache, the model and the
 * regularizer created from the run's seeds) and takes SNM_TRY_EXAMPLES examples of the training
 * split (its first ones; as many more as unlabelled examples for a regularizer that wants them),
 * minus their own per-pixel mean.  Then, as training and evaluation call the plugins:
 *   1. the model, in evaluation mode: encode gives z of shape (N, Z), classify logits of shape
 *      (N, classes), both finite -- what evaluation reads;
 *   2. the regularizer's objective (snm_noise_objective, so an objective_at is told epoch 0, step
 *      0), in training mode: a loss of one element, finite; at most SNM_MAX_TERMS terms, each
 *      named and of one element;
 *   3. the backward pass from that loss: every parameter's gradient finite;
 *   4. one Adam step at the train section's lr and betas: every parameter finite after it.
 * A regularizer with updates (snm_noise_vt.updates, ABI 1.3) has 2 to 4 taken for each update in
 * turn, each stepping its own Adam state over its selection; its message names the update.
 * The first problem is the error, SNM_EPLUGIN (a broken contract: no loss, a loss or term of
 * another shape, a z or logits of another shape), SNM_ENUMERIC (a NaN or infinity) or the
 * plugin's own error, prefixed as snm_run_build prefixes a plugin's error (run.h: the section's
 * file:line:col, the run key, the plugin) and "one training step on N examples":
 *   "p.yaml:9:12: p/bad/n10/set1: noise 'nan': one training step on 4 examples: the loss is not
 *    finite (term 'ce')"
 * Problems of the model (1) name the model; of the objective, the backward pass and the step,
 * the regularizer, which builds the whole objective from the model's maps (a parameter named in
 * the message tells whose it is).  A plugin that crashes the process is not caught. */
#ifndef SNM_RUN_TRYSTEP_H
#define SNM_RUN_TRYSTEP_H

#include "snm/error.h"
#include "dataset.h"
#include "pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SNM_TRY_EXAMPLES 4       /* examples in the step (fewer when the split has fewer) */

/* One training step of run r (above); plugin_path is searched first for its plugins, cache
 * (may be NULL) holds its dataset open.  SNM_OK, or the first problem. */
int snm_run_try_step(const snm_run_spec *r, const char *plugin_path, snm_data_cache *cache,
                     snm_error *err);

/* What one training step and one evaluated example of a run cost on this machine, at the thread
 * count set now (core/blas.h), for the cost model (cost.h). */
typedef struct snm_step_timing {
	double step;               /* seconds of one training step at the train section's batch (and
	                            * unlabelled_batch; the training split's size where that is
	                            * smaller): inputs read with augmentation, the objective,
	                            * the backward pass and the Adam step -- for a regularizer
	                            * with updates (steps.h), all of them: the whole step */
	double eval;               /* seconds per example evaluated at its eval_batch: inputs read,
	                            * encode and classify without gradients, the predicted class */
	long batch, eval_batch;    /* the batches timed: the section's, or the training split's size
	                            * where it is smaller */
} snm_step_timing;

/* Times run r's step and evaluation (above) as snm_run_try_step opens them, on the first examples
 * of the training split: one untimed step and evaluation batch, then reps (1..63) of each, and
 * more (63 at most) until each kind has taken a second; the fastest of each (the cost with a
 * processor to itself: the slower repetitions measure the machine's other work).  At one thread
 * (core/blas.h) the times are the process's processor time, which other processes on a shared
 * machine do not lengthen; at more, wall time.  Nothing is written.  Errors as snm_run_try_step's. */
int snm_run_time_step(const snm_run_spec *r, const char *plugin_path, snm_data_cache *cache, int reps,
                      snm_step_timing *out, snm_error *err);

#ifdef __cplusplus
}
#endif
#endif
