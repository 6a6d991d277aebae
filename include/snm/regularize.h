/* snm/regularize.h: helpers for regularizer (noise plugin) authors.
 *
 * Two things recur in the semantic-noise paper's objectives and are kept here so every plugin
 * builds them the same way:
 *
 *   - the min-max noise scheme of section 4.2: a representation is scaled to [0,1], Gaussian
 *     noise is added there, and the result is scaled back with the original minimum and span
 *     (snm_minmax_noise);
 *   - the reconstruction objectives through the model's tied decoders, recon-one (Eq. 11),
 *     recon-all (Eq. 12) and proposed-base (Eq. 6), with their named terms (snm_recon_build),
 *     optionally with the reconstruction path fed a corrupted input ("denoising constraints").
 *
 * Everything here is built from the ops of snm/ops.h on the caller's tape, so gradients flow as
 * those ops define (and as the PyTorch reference, peers/torch_ref.py, has them).  Like the ops,
 * these functions return NULL on failure with the reason kept on the tape; build the whole
 * objective, then check it once with snm_objective_check.  Nothing here allocates outside the
 * tape's arena, so the helpers are fit for the per-step loop. */
#ifndef SNM_REGULARIZE_H
#define SNM_REGULARIZE_H

#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "snm/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the min-max noise scheme ------------------------------------------------------------- */

/* v' = ((v - lo)/span + sd e) span + lo  with  lo = min v,  span = max(max v - lo, 1e-12),
 * the statistics taken per row of v (per_example = 1) or over the whole tensor (per_example = 0),
 * and e a standard normal tensor of v's shape.  Built as snm_minmax_stats -> snm_minmax_scale ->
 * add sd e -> snm_minmax_descale, so gradients reach v through the scaled value and through
 * the statistics (arg-min/arg-max elements), as PyTorch's v.min(1)/v.max(1)/clamp_min do.
 * The noise is a constant: sd e is rounded to float before it is added, as torch's
 * `sd * torch.randn_like(v)` is.  With sd = 0 (or e = 0) the result equals v up to float
 * rounding of the scale/descale round trip (one or two ulps of span), not bitwise.
 * snm_minmax_noise draws e from rng: snm_tensor_len(v) draws of gsl_ran_gaussian(rng, 1)
 * (snm_randn: gsl_ran_gaussian_ziggurat at the tape's numeric version 2, snm/tape.h) in element
 * order (also when sd = 0, so the stream position never depends on sd); a NULL rng is
 * an error on the tape.  Shapes: v any (rows first); the result has v's shape. */
snm_tensor *snm_minmax_noise(snm_tape *t, snm_tensor *v, float sd, int per_example, gsl_rng *rng);

/* The same with the unit-normal noise given: e has v's element count (its values are read, no
 * gradient reaches it).  snm_minmax_noise calls this; tests call it with noise drawn elsewhere
 * (tests/fixtures/mnist_step.h5 holds PyTorch's). */
snm_tensor *snm_minmax_noise_with(snm_tape *t, snm_tensor *v, float sd, int per_example,
                                  snm_tensor *e);

/* ---- reconstruction objectives ------------------------------------------------------------ */

/* What is reconstructed besides the input x (the recon plugin's `targets` option). */
typedef enum {
	SNM_RECON_X = 0,     /* "x":   recon-one (Eq. 11):    CE + w sqerr(x_R, x) */
	SNM_RECON_ALL,       /* "all": recon-all (Eq. 12):    CE + w (sqerr(x_R, x) + sum_j sqerr(h_jR, h_j)) */
	SNM_RECON_XZ         /* "xz":  proposed-base (Eq. 6): CE + w (sqerr(x_R, x) + sqerr(z_R, z)) */
} snm_recon_targets;

/* The choices string of a `targets` option, in enum order. */
#define SNM_RECON_TARGET_CHOICES "x|all|xz"

/* "x", "all", "xz" -> SNM_RECON_*; -1 for anything else. */
int snm_recon_targets_parse(const char *name);

/* SNM_ECONFIG "<who>: targets 'all' needs a model with hidden layers (this one has none)" when
 * targets is SNM_RECON_ALL and the model has no hidden layer; else 0.  For create(). */
int snm_recon_check_model(const snm_model *model, int targets, const char *who, snm_error *err);

/* The pieces of a reconstruction objective, all on the tape (valid until its reset). */
typedef struct snm_recon {
	snm_tensor *z, *y;        /* clean latent z = encode(x) and logits y = classify(z) */
	snm_tensor *ce;           /* softmax_ce(y, labels) */
	snm_tensor *xr;           /* x_R = decode_z(z_in) */
	snm_tensor *zr;           /* z_R = decode_y(y_in) (targets xz), else NULL */
	snm_tensor *recon_x;      /* sqerr(x_R, x) */
	snm_tensor *recon_extra;  /* sum_j sqerr(h_jR, h_j) (all), sqerr(z_R, z) (xz), else NULL */
	const char *extra_name;   /* "recon_h", "recon_z" or NULL */
	snm_tensor *loss;         /* ce + weight (recon_x + recon_extra), or ce + weight recon_x */
} snm_recon;

/* Builds the reconstruction objective of batch b on t and returns out->loss (NULL on failure,
 * with out's other members as far as they got).  sqerr(a, c) = (1/N) sum (a - c)^2.
 *
 * Clean path: z = encode(b->x) (recording h_1..h_L for targets all), y = classify(z),
 * CE = softmax_ce(y, b->labels).  Reconstruction path: when x_in and hook are both NULL it is
 * the clean path itself (z_in = z, y_in = y: the recon plugin, torch_ref's 'base'); otherwise
 * z_in = encode(x_in ? x_in : b->x, hook, ctx) and y_in = classify(z_in) (the denoising
 * constraints: corrupted input, and/or corrupted layers through the hook).  Then
 * x_R = decode_z(z_in) (exposing h_jR), z_R = decode_y(y_in), and the reconstruction errors are
 * always taken against the CLEAN x, h_j and z.  detach = 0 (Eq. 6 and 12 as printed): nothing is
 * detached, gradients reach both sides of every error.  detach = 1: the hidden and latent targets
 * h_j and z enter their errors through snm_stopgrad, so those errors train the decoders (and the
 * encoder through the reconstructions and the tied weights) without pulling the targets towards
 * the reconstructions.  The loss is
 * assembled as ce + weight (recon_x + recon_extra) (one scale op), the order peers/torch_ref.py
 * uses. */
snm_tensor *snm_recon_build(snm_tape *t, const snm_model *model, const snm_batch *b, int targets,
                            float weight, snm_tensor *x_in, snm_layer_hook hook, void *ctx,
                            int detach, snm_recon *out);

/* Eq. 12 with a weight of its own for the hidden layers: r->loss (of snm_recon_build, targets
 * all) rebuilt as ce + weight (recon_x + hidden_scale recon_extra), i.e. lambda_0 = weight and
 * lambda_j = hidden_scale weight for every hidden layer j.  Returns the new r->loss (NULL on
 * failure, or when r has no recon_extra).  At hidden_scale 1 it returns r->loss as built:
 * snm_recon_build's loss is that objective already (a rebuild would only add ops to the tape). */
snm_tensor *snm_recon_scale_hidden(snm_tape *t, snm_recon *r, float weight, float hidden_scale);

/* Eq. 8's lambda_2 on the clean cross-entropy: r->loss rebuilt as
 * ce_weight ce + weight (recon_x + recon_extra) (recon_x alone for targets x).  Returns the new
 * r->loss (NULL on failure); at ce_weight 1 it returns r->loss as built. */
snm_tensor *snm_recon_scale_ce(snm_tape *t, snm_recon *r, float weight, float ce_weight);

/* Fills o from r: loss = r->loss and the terms "ce", "recon_x" and r->extra_name (when set), in
 * that order, replacing whatever o held.  The recon plugin's whole objective. */
void snm_recon_objective(const snm_recon *r, snm_objective *o);

/* ---- adversarial terms (adversarial.c) ------------------------------------------------------ */

/* The pieces of a term estimated by a discriminator D (a GAN's density-ratio estimate, the
 * information-bottleneck regularizers' D_c, D_a, D_z, D_x): D is trained to tell samples of a
 * prior ("real", target 1) from the network's ("fake", target 0), and the network to make D take
 * its samples for real (the non-saturating generator loss -log D(fake)).  D's output is a logit,
 * one per row; the sigmoid is inside the loss (snm_bce_logits).
 *
 * Prior samples: N(0, I) of width w is snm_randn(t, 2, (int[]){ n, w }, 1.0f, rng) (ops.h: n*w
 * draws in row order); the categorical prior is snm_onehot_tile. */

/* A constant of shape d[0..n_d) with every element v. */
snm_tensor *snm_fill(snm_tape *t, int n_d, const int *d, float v);

/* A constant (n, k) whose row i is the one-hot vector of class i mod k: n/k rows of each class
 * when k divides n, the same at every call (the seed-003 code's tile(eye(k), n/k)).  Draws
 * nothing.  n, k >= 1 (else SNM_EINVAL on the tape). */
snm_tensor *snm_onehot_tile(snm_tape *t, int n, int k);

/* The discriminator's loss: mean over the nr + nf rows of BCE(logit, target), the logits of real
 * samples (nr elements, any shape) against 1 and of fakes (nf elements) against 0 -- Keras's
 * binary cross-entropy on the batch [real; fake] of the seed's code.  Hold the fakes' makers
 * fixed with snm_stopgrad (or compute the fakes with gradients off). */
snm_tensor *snm_adv_d_loss(snm_tape *t, snm_tensor *real, snm_tensor *fake);

/* The generator's loss: mean BCE(fake logit, 1) = mean -log sigmoid(fake).  Its gradient reaches
 * the fakes through D (whose parameters the update holds). */
snm_tensor *snm_adv_g_loss(snm_tape *t, snm_tensor *fake);

/* ---- objectives (objective.c) --------------------------------------------------------------- */

/* Appends the term (name, term) to o; SNM_EINVAL when o already holds SNM_MAX_TERMS terms. */
int snm_objective_add(snm_objective *o, const char *name, snm_tensor *term);

/* 0 when o->loss and every term are non-NULL.  Otherwise the tape's error (its code, copied into
 * err), or, when the tape holds none, SNM_EINVAL "<who>: the model returned no output".  The one
 * check at the end of an objective function. */
int snm_objective_check(snm_tape *t, const snm_objective *o, const char *who, snm_error *err);

#ifdef __cplusplus
}
#endif
#endif
