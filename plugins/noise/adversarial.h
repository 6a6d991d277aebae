/* adversarial.h: the power iteration shared by the `vat` and `c2c` noise plugins -- private to
 * plugins/noise (static functions: each plugin compiles its own copy, nothing is exported).
 *
 * Given inputs x (N rows: one example per row, any shape after the first dimension), the clean
 * outputs c = f(x) held fixed, and a divergence D(c, f(x + r)) that is smallest at r = 0, the
 * direction in which D grows fastest is the dominant eigenvector of D's Hessian in r at r = 0.
 * Power iteration finds it with one gradient per step (Miyato et al.; takerum/vat_tf vat.py
 * l.38-50):
 *
 *     d ~ N(0, I)                                  drawn from the noise stream, in element order
 *     repeat iters times:
 *         g = grad_r D(c, f(x + r)) at r = xi unit(d)
 *         d = g
 *     r_adv = epsilon unit(d)                      a constant on the tape
 *
 * with f = classify(encode(.)) of the model and unit() vat_tf's get_normalized_vector, per row
 * (vat.py l.33-35):  d / (1e-12 + max_j |d_j|), then / sqrt(1e-6 + sum_j d_j^2).  The max-abs step
 * keeps the sum of squares in float range; the result has L2 norm 1 per row to within 1e-6 (exactly
 * 0 for a row whose gradient vanished).  iters = 0 gives a random direction of norm epsilon.
 *
 * Each gradient is taken with snm_tape_grad at a leaf r, so no parameter gradient is touched, and
 * r_adv is a constant: no gradient flows through the power iteration, as with vat_tf's
 * stop_gradient on d.  Gradient recording is switched on for the iteration (and restored), so the
 * objective can also be evaluated on a tape with gradients off (finite-difference checks).
 *
 * Hidden-layer noise (vat's option hidden_noise; adv_hidden NULL or sd 0: none): every pass these
 * helpers make adds N(0, sd^2) noise, drawn from the noise stream, to each layer's output after its
 * nonlinearity (h_1..h_L and z, the model's encode_post hook), as the later VAT paper's MNIST
 * network does (takerum/vat#3: Gaussian noise of std 0.5 on each hidden layer, after Salimans et
 * al. 2016) -- the clean passes, the probes and the perturbed pass alike; evaluation and batch
 * norm's re-estimation call the model directly, without it.
 *
 * Batch norm: every pass of x + r (the probes here, and the plugins' perturbed pass through
 * adv_logits_held) runs with the running statistics held (snm_tape_set_hold_stats), so only the
 * plugin's clean pass moves them -- takerum/vat's forward_no_update_batch_stat.  The probes still
 * normalise with their own batch statistics, as there. */
#ifndef SNM_PLUGINS_NOISE_ADVERSARIAL_H
#define SNM_PLUGINS_NOISE_ADVERSARIAL_H

#include <stddef.h>
#include "snm/plugin.h"

/* D(clean, perturbed) as a scalar on the tape (snm_kl_cat for VAT, snm_sqerr for c2c). */
typedef snm_tensor *(*adv_divergence)(snm_tape *t, snm_tensor *clean, snm_tensor *perturbed);

/* Hidden-layer noise of the passes (header comment): std sd, draws from rng. */
typedef struct adv_hidden {
	float sd;
	gsl_rng *rng;
} adv_hidden;

/* encode_post's hook for adv_hidden: h + sd e, e ~ N(0, I) (snm_gauss_noise, gradient through) */
static snm_tensor *adv_hidden_noise(void *ctx, snm_tape *t, int layer, snm_tensor *h)
{
	const adv_hidden *hn = ctx;
	(void)layer;
	return snm_gauss_noise(t, h, hn->sd, hn->rng);
}

/* The model's logits of x: classify(encode(x)), no hook, no hidden layers recorded; with hidden
 * noise (hn not NULL, sd > 0) through encode_post (the plugin checks at create that the model has
 * it; a model without it here is a tape error, not a call through NULL). */
static snm_tensor *adv_logits(const snm_model *model, snm_tape *t, snm_tensor *x,
                              const adv_hidden *hn)
{
	snm_tensor *z;
	if (hn != NULL && hn->sd > 0.0f) {
		snm_encode_post_fn post = snm_model_encode_post(model->vt);
		if (post == NULL) {
			snm_tape_fail(t, SNM_EINVAL, "hidden-layer noise: the model has no encode_post");
			return NULL;
		}
		z = post(model->state, t, x, NULL, NULL, adv_hidden_noise, (void *)hn, NULL);
	} else
		z = model->vt->encode(model->state, t, x, NULL, NULL, NULL);
	return z != NULL ? model->vt->classify(model->state, t, z) : NULL;
}

/* adv_logits with batch norm's running statistics held (the setting is restored). */
static snm_tensor *adv_logits_held(const snm_model *model, snm_tape *t, snm_tensor *x,
                                   const adv_hidden *hn)
{
	int hold_was = snm_tape_set_hold_stats(t, 1);
	snm_tensor *y = adv_logits(model, t, x, hn);
	snm_tape_set_hold_stats(t, hold_was);
	return y;
}

/* The clean passes of vat and c2c (as takerum/vat builds them): returns yl = f(x_l), the pass that
 * moves batch norm's running statistics, and sets *xv to the inputs the regularizer sees and *y to
 * their logits -- the unlabelled batch in a pass of its own with the statistics held when
 * use_unlabelled and the batch has one, else x_l and yl.  Labelled and unlabelled rows never share
 * a batch-norm batch. */
static snm_tensor *adv_clean_passes(const snm_model *model, snm_tape *t, const snm_batch *b,
                                    int use_unlabelled, const adv_hidden *hn, snm_tensor **xv,
                                    snm_tensor **y)
{
	snm_tensor *yl = adv_logits(model, t, b->x, hn);
	if (use_unlabelled && b->xu != NULL) {
		*xv = b->xu;
		*y = adv_logits_held(model, t, b->xu, hn);
	} else {
		*xv = b->x;
		*y = yl;
	}
	return yl;
}

/* unit(d) per row: d / (1e-12 + max|d|) / sqrt(1e-6 + sum d^2), vat_tf's constants. */
static snm_tensor *adv_unit_rows(snm_tape *t, snm_tensor *d)
{
	return snm_l2_normalize(t, snm_maxabs_normalize(t, d, 1e-12f), 1e-6f);
}

/* r_adv of the header comment for inputs x with clean outputs `clean` (a constant: wrap the
 * logits in snm_stopgrad).  Returns a constant of x's shape, or NULL with the reason on the tape. */
static snm_tensor *adv_perturbation(const snm_model *model, snm_tape *t, snm_tensor *x,
                                    snm_tensor *clean, adv_divergence div, int iters, float xi,
                                    float epsilon, gsl_rng *noise, const adv_hidden *hn)
{
	snm_tensor *d;
	snm_error e;
	int grad_was = snm_tape_set_grad(t, 1);
	d = x != NULL ? snm_randn(t, x->n_d, x->d, 1.0f, noise) : NULL;
	for (int it = 0; it < iters && d != NULL; ++it) {
		snm_tensor *u = adv_unit_rows(t, d), *r, *dist;
		if (u == NULL) {
			d = NULL;
			break;
		}
		r = snm_tape_leaf(t, x->n_d, x->d, NULL);
		if (r == NULL) {
			d = NULL;
			break;
		}
		for (size_t i = 0, n = snm_tensor_len(r); i < n; ++i)
			r->x[i] = xi * u->x[i];
		dist = div(t, clean, adv_logits_held(model, t, snm_add(t, x, r), hn));
		if (dist == NULL) {
			d = NULL;
			break;
		}
		if (snm_tape_grad(t, dist, 1, &r, &e) != 0) {
			snm_tape_fail(t, e.code, "%s", e.msg);
			d = NULL;
			break;
		}
		d = snm_tape_const(t, x->n_d, x->d, r->g);
	}
	snm_tape_set_grad(t, grad_was);
	return snm_scale(t, adv_unit_rows(t, d), epsilon);
}

/* ---- the gradient at the input (the adversarial ladder, advladder.c) ------------------------ */

/* A forward pass of the model to logits, as the caller builds it (a corrupted pass, say); it
 * must hold batch norm's running statistics itself. */
typedef snm_tensor *(*adv_forward)(const snm_model *model, snm_tape *t, snm_tensor *x, void *ctx);

/* U = grad_r CE(f(x + r), labels) at r = 0: the gradient of the batch-mean cross-entropy
 * (1/N) sum_n -log softmax(f(x_n))_{t_n} at the inputs (row n is (1/N) dCE_n/dx_n without batch
 * norm; with it, the rows of a pass also meet through its batch statistics).
 * f = fwd(model, t, ., ctx), or adv_logits_held when fwd is NULL.  labels NULL: each row's
 * pseudo-label, the argmax of its own logits in that pass (the first of equal maxima).
 * Taken with snm_tape_grad at a leaf r, so no parameter gradient is touched; U is a constant of
 * x's shape (NULL with the reason on the tape).  Gradient recording is switched on for it and
 * restored, as in adv_perturbation.  (inline: vat.c and c2c.c include it unused.) */
static inline snm_tensor *adv_input_grad(const snm_model *model, snm_tape *t, snm_tensor *x,
                                         const int32_t *labels, adv_forward fwd, void *ctx)
{
	snm_tensor *r, *xr, *y, *ce, *u = NULL;
	snm_error e;
	int grad_was = snm_tape_set_grad(t, 1);
	r = x != NULL ? snm_tape_leaf(t, x->n_d, x->d, NULL) : NULL;
	xr = r != NULL ? snm_add(t, x, r) : NULL;
	y = xr == NULL ? NULL
	    : fwd != NULL ? fwd(model, t, xr, ctx) : adv_logits_held(model, t, xr, NULL);
	if (y != NULL && labels == NULL) {
		int N = y->d[0], K = (int)snm_tensor_cols(y);
		int32_t *pseudo = snm_tape_alloc(t, (size_t)N * sizeof *pseudo);
		for (int n = 0; pseudo != NULL && n < N; ++n) {
			pseudo[n] = 0;
			for (int k = 1; k < K; ++k)
				if (y->x[(size_t)n * K + k] > y->x[(size_t)n * K + pseudo[n]])
					pseudo[n] = k;
		}
		labels = pseudo;
	}
	ce = y != NULL && labels != NULL ? snm_softmax_ce(t, y, labels) : NULL;
	if (ce != NULL) {
		if (snm_tape_grad(t, ce, 1, &r, &e) != 0)
			snm_tape_fail(t, e.code, "%s", e.msg);
		else
			u = snm_tape_const(t, x->n_d, x->d, r->g);
	}
	snm_tape_set_grad(t, grad_was);
	return u;
}

#endif
