/* semantic.c: the `semantic` noise plugin -- the paper's "proposed-perturb (semantic)" row
 * (Tables 1, 3, 4; Figure 1(c), Eqs. 7-9, section 4.2), which is peers/torch_ref.py's
 * loss(..., 'semantic') and the objective pinned by tests/fixtures/mnist_step.h5.
 *
 * With z = encode(x), y = classify(z) (logits), x_R = decode_z(z), z_R = decode_y(y), CE the
 * mean softmax cross-entropy and sqerr(a, b) = (1/N) sum (a - b)^2:
 *
 *     y'   = minmax_noise(y, sd) = ((y - lo)/span + sd e) span + lo,   e ~ N(0, I)     (Eq. 9)
 *     z_e  = decode_y(y') - decode_y(y) = decode_y(y') - z_R                              (Eq. 9)
 *     z'   = z + z_e,   y^ = classify(z')                                                  (Eq. 7)
 *     loss = w0 CE(y, t) + w1 (sqerr(x_R, x) + sqerr(z_R, z)) + w2 CE(y^, t)               (Eq. 8)
 *
 * The noise is modelled on the output logits, where it keeps its meaning, and carried to the
 * latent space through the classifier's tied decoder: with sd = 0, z_e vanishes (to the rounding
 * of the min-max round trip) and CE(y^, t) = CE(y, t).
 *
 * What the paper leaves open, and what this plugin does (each an option; the defaults are
 * torch_ref.py's choices, which the fixture pins):
 *   per_example (true)  lo/span of y per example (row), as section 4.2's "the original min and max
 *                       activations of the base vector"; false: one lo/span over the whole batch.
 *   space (pre)         pre: y is the pre-softmax logit vector (section 3 says "output
 *                       (pre-softmax) logit y").  post: the noise is added to the softmax
 *                       probabilities p = softmax(y) instead: p' = minmax_noise(p, sd), and p' is
 *                       mapped back to logits with y's own normaliser,
 *                           y'_k = y_k + log max(p'_k, 1e-6) - log max(p_k, 1e-6)
 *                       (log p_k = y_k - logsumexp(y), in double), so y' = y when p' = p, and
 *                       softmax(y')_k is proportional to max(p'_k, 1e-6) where p_k >= 1e-6 (p'
 *                       clipped at 1e-6 and renormalised) and to max(p'_k, 1e-6) p_k / 1e-6 where
 *                       p_k < 1e-6: a class the clean output all but rules out keeps that much of
 *                       its distance below the floor.  The map back is computed on values, so
 *                       space post requires stop_gradient true.
 *   stop_gradient (true) z_e is detached, as torch_ref's `.detach()`: no gradient flows through
 *                       y' or decode_y into y, the classifier or b_z from CE(y^, t); z' passes
 *                       its gradient to z only.  false: z_e stays on the tape and CE(y^, t)
 *                       also trains the tied decoder (cls.w, dec.z.b) and reaches y through y'
 *                       and through z_R (with the min-max statistics' gradient, as PyTorch).
 *   clean_weight        w0 = lambda_2 of Eq. 8 as printed, the weight of the clean CE(y, t),
 *                       default 1 ("1.0 is used for lambda_2", section 4.2).
 *   perturbed_weight    w2, the weight of CE(y^, t), default 1 (Eq. 8 gives it no lambda; it is
 *                       here to study the other reading of lambda_2, or to switch the term off).
 *   weight              w1 = lambda_1, default 0.03 (MNIST; the paper uses 0.01 for CIFAR-10).
 *
 * Randomness: N*K draws of gsl_ran_gaussian(noise, 1) per batch (train.numerics 2:
 * gsl_ran_gaussian_ziggurat), in element order of y (of p for space post).  Terms (unweighted): "ce", "recon_x", "recon_z", "ce_perturbed".
 * No parameters.  The perturb entry (ABI 1.1) is z -> z' = z + z_e of Eq. 7 with every option
 * above, built by the same function the objective calls. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "snm/plugin.h"
#include "snm/regularize.h"

#define POST_FLOOR 1e-6   /* probabilities are clipped here before the log of space post */

typedef struct semantic {
	float weight, clean_weight, perturbed_weight, sd;
	int per_example, post, stop_gradient;
} semantic;

static const snm_option options[] = {
	{ "weight", SNM_OPT_DOUBLE, "0.03", NULL,
	  "lambda_1, weight of the reconstruction errors sqerr(x_R, x) + sqerr(z_R, z)", "[0, inf)" },
	{ "clean_weight", SNM_OPT_DOUBLE, "1", NULL,
	  "lambda_2 of Eq. 8, weight of the clean CE(y, t) (1.0 in the paper)", "[0, inf)" },
	{ "perturbed_weight", SNM_OPT_DOUBLE, "1", NULL,
	  "weight of CE(classify(z + z_e), t) (1 in Eq. 8)", "[0, inf)" },
	{ "sd", SNM_OPT_DOUBLE, "0.2", NULL,
	  "standard deviation of the Gaussian noise added to y scaled to [0, 1]", "[0, inf)" },
	{ "per_example", SNM_OPT_BOOL, "true", NULL,
	  "min-max scaling of y per example (true) or over the whole batch (false)", NULL },
	{ "space", SNM_OPT_CHOICE, "pre", "pre|post",
	  "pre: perturb the logits y; post: perturb softmax(y) and map back, "
	  "y' = y + log max(p', 1e-6) - log max(p, 1e-6) (needs stop_gradient)", NULL },
	{ "stop_gradient", SNM_OPT_BOOL, "true", NULL,
	  "detach the semantic noise z_e = decode_y(y') - decode_y(y), as the PyTorch reference",
	  NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static void destroy(void *state)
{
	free(state);
}

static int create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	static const char who[] = "noise 'semantic'";
	double weight, cweight, pweight, sd;
	int per_example, stop, rc;
	const char *space;
	semantic *s;
	(void)model, (void)params, (void)init;
	*state = NULL;
	if ((rc = snm_cfg_check(opts, options, who, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "weight", &weight, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "clean_weight", &cweight, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "perturbed_weight", &pweight, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "sd", &sd, err)) != 0
	    || (rc = snm_cfg_opt_bool(opts, options, "per_example", &per_example, err)) != 0
	    || (rc = snm_cfg_opt_str(opts, options, "space", &space, err)) != 0
	    || (rc = snm_cfg_opt_bool(opts, options, "stop_gradient", &stop, err)) != 0)
		return rc;
	if (!strcmp(space, "post") && !stop)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_get(opts, "stop_gradient"),
		                    "%s: space 'post' maps the perturbed probabilities back to logits "
		                    "on values only and needs stop_gradient: true", who);
	if ((s = calloc(1, sizeof *s)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for %s", who);
	s->weight = (float)weight;
	s->clean_weight = (float)cweight;
	s->perturbed_weight = (float)pweight;
	s->sd = (float)sd;
	s->per_example = per_example;
	s->post = !strcmp(space, "post");
	s->stop_gradient = stop;
	*state = s;
	return 0;
}

/* space post (values only): p = softmax(y), p' = minmax_noise(p, sd), and per row n
 * y'_k = y_k + log max(p'_k, F) - max(y_k - lse_n, log F),  lse_n = logsumexp(y_n) in double. */
static snm_tensor *perturb_post(const semantic *s, snm_tape *t, snm_tensor *y, gsl_rng *noise)
{
	snm_tensor *pp = snm_minmax_noise(t, snm_softmax(t, y), s->sd, s->per_example, noise), *yp;
	size_t N, K;
	if (pp == NULL || (yp = snm_tape_const(t, y->n_d, y->d, NULL)) == NULL)
		return NULL;
	N = (size_t)y->d[0];
	K = snm_tensor_cols(y);
	for (size_t n = 0; n < N; ++n) {
		const float *yn = y->x + n * K, *pn = pp->x + n * K;
		double mx = yn[0], se = 0, lse;
		for (size_t k = 1; k < K; ++k)
			mx = fmax(mx, yn[k]);
		for (size_t k = 0; k < K; ++k)
			se += exp(yn[k] - mx);
		lse = mx + log(se);
		for (size_t k = 0; k < K; ++k)
			yp->x[n * K + k] = (float)(yn[k] + log(fmax(pn[k], POST_FLOOR))
			                           - fmax(yn[k] - lse, log(POST_FLOOR)));
	}
	return yp;
}

/* z_e = decode_y(y') - z_R of logits y and their z_R = decode_y(y), y' drawn from noise.  With
 * stop_gradient it is computed with recording off, which is the same as detaching it (no node,
 * no gradient) without keeping nodes that backward would skip. */
static snm_tensor *semantic_noise(const semantic *s, const snm_model *model, snm_tape *t, snm_tensor *y,
                                  snm_tensor *zr, gsl_rng *noise)
{
	int grad = s->stop_gradient ? snm_tape_set_grad(t, 0) : snm_tape_grad_enabled(t);
	snm_tensor *yp = s->post ? perturb_post(s, t, y, noise)
	                         : snm_minmax_noise(t, y, s->sd, s->per_example, noise);
	snm_tensor *ze = snm_sub(t, model->vt->decode_y(model->state, t, yp), zr);
	snm_tape_set_grad(t, grad);
	return ze;
}

/* z' = z + z_e with y = classify(z), z_R = decode_y(y): the perturbation the objective trains
 * with (the perturb entry), built by the same calls on the same values. */
static snm_tensor *perturb(void *state, const snm_model *model, snm_tape *t, snm_tensor *z,
                           gsl_rng *noise)
{
	snm_tensor *y = model->vt->classify(model->state, t, z);
	snm_tensor *zr = model->vt->decode_y(model->state, t, y);
	return snm_add(t, z, semantic_noise(state, model, t, y, zr, noise));
}

static int objective(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
                     gsl_rng *noise, snm_objective *out, snm_error *err)
{
	const semantic *s = state;
	const snm_model_vt *m = model->vt;
	snm_recon rec;
	snm_tensor *ze, *cep, *wcep;
	snm_recon_build(t, model, b, SNM_RECON_XZ, s->weight, NULL, NULL, NULL, 0, &rec);
	snm_recon_scale_ce(t, &rec, s->weight, s->clean_weight);
	ze = semantic_noise(s, model, t, rec.y, rec.zr, noise);
	cep = snm_softmax_ce(t, m->classify(model->state, t, snm_add(t, rec.z, ze)), b->labels);
	wcep = s->perturbed_weight == 1.0f ? cep : snm_scale(t, cep, s->perturbed_weight);
	snm_recon_objective(&rec, out);
	snm_objective_add(out, "ce_perturbed", cep);
	out->loss = snm_add(t, rec.loss, wcep);
	return snm_objective_check(t, out, "noise 'semantic'", err);
}

static const snm_noise_vt vt = { sizeof vt, create, destroy, objective, NULL, perturb, NULL, NULL };

SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "semantic", "1.0.0",
                  "proposed-perturb (semantic): proposed-base (Eq. 6) plus the cross-entropy of z "
                  "+ z_e, z_e = decode_y(y') - decode_y(y) from min-max noise on the logits "
                  "(Eqs. 7-9, Figure 1(c))", &vt, options);
