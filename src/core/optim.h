/* optim.h: the Adam optimizer and the learning-rate schedules.
 *
 * Adam follows torch.optim.Adam (no weight decay, amsgrad off) step for step, so a run and its
 * PyTorch reference stay within rounding of each other.  For every trainable entry p of a
 * parameter registry, at step t = 1, 2, ... (elementwise, in float32 as PyTorch computes it):
 *
 *     m = b1 m + (1 - b1) g
 *     v = b2 v + (1 - b2) g^2
 *     p = p - (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps),   bc1 = 1 - b1^t,  bc2 = 1 - b2^t
 *
 * with bc1, bc2, lr / bc1 and sqrt(bc2) computed in double.  At t = 1 the correction makes the
 * first update ~ lr sign(g) whatever the gradient's scale.
 *
 * The moments m and v live in two registries of their own (snm/param.h) whose entries carry the
 * SAME names and shapes as the trainable parameters and are of kind SNM_T_BUFFER, so the store
 * checkpoints them by name beside the parameters; the step count t is saved with them and given
 * back with snm_adam_set_steps() on resume.
 *
 * The schedules map a 0-based epoch to a learning rate; the trainer asks once per epoch. */
#ifndef SNM_OPTIM_H
#define SNM_OPTIM_H

#include <stdint.h>
#include "snm/error.h"
#include "snm/param.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Adam ---------------------------------------------------------------------------------- */

typedef struct snm_adam snm_adam;

/* New optimizer over the SNM_T_PARAM entries of params (buffers are skipped), with zeroed moments
 * and step count 0.  params is borrowed: it must outlive the optimizer and gain or lose no
 * entries meanwhile.  b1, b2 in [0, 1), eps > 0 (PyTorch's defaults: 0.9, 0.999, 1e-8);
 * otherwise SNM_EINVAL.  NULL on error (SNM_EINVAL, SNM_ENOMEM) with err filled. */
snm_adam *snm_adam_new(snm_params *params, double b1, double b2, double eps, snm_error *err);

/* The same over the trainable entries for which keep(entry, ctx) is non-zero (keep NULL: all of
 * them), in registry order: the moments hold those entries alone, and a step moves those alone
 * (the others are held, whatever their gradients).  For the several Adam states of a regularizer
 * with updates (snm/plugin.h, snm_update). */
snm_adam *snm_adam_new_select(snm_params *params, int (*keep)(const snm_tensor *p, void *ctx),
                              void *ctx, double b1, double b2, double eps, snm_error *err);

/* Frees the optimizer and its moment registries (not params).  NULL is a no-op. */
void snm_adam_free(snm_adam *a);

/* One step with learning rate lr (finite, >= 0): increments the step count and updates every
 * trainable entry from its gradient g as above.  Gradients are read, not zeroed (the caller
 * zeroes them before the next backward pass).  Every gradient is checked first: a NaN or
 * infinite element is SNM_ENUMERIC naming the parameter and element, and then nothing (values,
 * moments, step count) is changed.  SNM_ESTATE when params gained or lost entries since
 * snm_adam_new, SNM_EINVAL for a bad lr. */
int snm_adam_step(snm_adam *a, double lr, snm_error *err);

/* The first and second moment registries (owned by the optimizer; same names, shapes and order
 * as the trainable entries of params, kind SNM_T_BUFFER).  Their values may be overwritten, e.g.
 * by a checkpoint load, between steps. */
snm_params *snm_adam_m(snm_adam *a);
snm_params *snm_adam_v(snm_adam *a);

/* Steps taken so far (t of the last step; 0 before the first).  snm_adam_set_steps restores it
 * on resume: SNM_EINVAL (nothing changed) when t < 0, else SNM_OK. */
int64_t snm_adam_steps(const snm_adam *a);
int snm_adam_set_steps(snm_adam *a, int64_t t);

/* ---- learning-rate schedules --------------------------------------------------------------- */

enum {
	SNM_LR_CONST = 0,   /* lr at every epoch */
	SNM_LR_STEP,        /* lr factor^floor(epoch / every): the paper's "divided by 5 every 40" */
	SNM_LR_LINEAR       /* lr until epoch `start`, then lr (total - epoch) / (total - start),
	                       reaching 0 at epoch `total` and staying there */
};

typedef struct snm_schedule {
	int kind;           /* SNM_LR_* */
	double lr;          /* base learning rate, > 0 */
	double factor;      /* SNM_LR_STEP: multiplier in (0, 1] */
	int every;          /* SNM_LR_STEP: epochs between multiplications, >= 1 */
	int start, total;   /* SNM_LR_LINEAR: 0 <= start < total */
} snm_schedule;

/* The learning rate for the 0-based epoch (a negative epoch counts as 0).  s must have passed
 * snm_schedule_check. */
double snm_schedule_lr(const snm_schedule *s, int epoch);

/* SNM_OK, or SNM_EINVAL naming the offending field: an unknown kind, lr not finite and > 0, and
 * for the fields the kind uses: factor outside (0, 1], every < 1, start < 0 or start >= total.
 * Fields the kind does not use are not checked. */
int snm_schedule_check(const snm_schedule *s, snm_error *err);

#ifdef __cplusplus
}
#endif
#endif
