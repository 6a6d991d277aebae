/* steps.h: the updates of one training step (steps.c) -- the runner's side of snm_noise_vt.updates
 * (snm/plugin.h, ABI 1.3), for the trainer and `snm check` alike.
 *
 * A regularizer without updates (every plugin before ABI 1.3) has one update, unnamed, over every
 * trainable entry, with one Adam state: the trainer's step as it always was (same calls, same
 * bits).  A regularizer with updates has one Adam state per update, over the entries the
 * update's selection names (snm_update.params); the main update's is the run's own.
 *
 * One training step is, for k = 0 .. snm_steps_count() - 1:
 *     snm_steps_objective(k)    the objective of update k (objective_at told at->update = k)
 *     snm_steps_apply(k)        backward from its loss, update k's Adam step, every gradient zeroed
 * The caller resets the tape and puts the batch on it before each objective (a later update
 * sees the parameters that the earlier ones moved).  A parameter outside update k's selection
 * gets its gradient computed (it flows through to the inputs of the held network) but is not
 * moved, and its moments in the other Adam states do not change. */
#ifndef SNM_RUN_STEPS_H
#define SNM_RUN_STEPS_H

#include <gsl/gsl_rng.h>
#include "snm/plugin.h"
#include "core/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct snm_steps snm_steps;

/* Reads the plan of regularizer (vt, noise) -- its updates, checked against the rules of
 * snm/plugin.h -- and makes each update's Adam state over params (b1, b2, eps as snm_adam_new).
 * who ("noise 'vib'") starts a broken rule's message: SNM_EPLUGIN "noise 'vib': update 2 ('d_z'):
 * its selection 'vib.dz.' holds no trainable parameter".  NULL on error. */
snm_steps *snm_steps_new(const snm_noise_vt *vt, void *noise, const char *who, snm_params *params,
                         double b1, double b2, double eps, snm_error *err);
void snm_steps_free(snm_steps *s);                      /* NULL is a no-op */

int snm_steps_count(const snm_steps *s);                /* updates per training step, >= 1 */
int snm_steps_main(const snm_steps *s);                 /* index of the update with the run's Adam */
const char *snm_steps_name(const snm_steps *s, int k);  /* update k's name; NULL without updates */
snm_adam *snm_steps_adam(const snm_steps *s, int k);    /* update k's Adam state */

/* The objective of update k: snm_noise_objective with at->update = k (at is modified). */
int snm_steps_objective(const snm_steps *s, int k, const snm_model *model, snm_tape *t,
                        const snm_batch *b, gsl_rng *noise, snm_progress *at, snm_objective *out,
                        snm_error *err);

/* Backpropagates loss on t, steps update k's Adam at lr, and zeroes every gradient of the
 * registry (moved or held).  Errors of snm_tape_backward and snm_adam_step. */
int snm_steps_apply(snm_steps *s, int k, snm_tape *t, snm_tensor *loss, double lr, snm_error *err);

#ifdef __cplusplus
}
#endif
#endif
