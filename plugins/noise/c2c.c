/* c2c.c: the `c2c` noise plugin -- close-to-clean regularization (Abbas, Kivinen and Raiko,
 * "Close-to-clean regularization relates virtual adversarial training, ladder networks and
 * others", seeds/004), built from the model's encode and classify only.
 *
 * With f(x) = classify(encode(x)) the logits and sqerr(a, b) = (1/N) sum_n sum_k (a_nk - b_nk)^2
 * (snm_sqerr: summed over classes, averaged over examples), the paper's Eq. (1)
 * "R_c2c = alpha E ||f(x) - f(x + dx)||^2" gives
 *
 *     loss = CE(f(x_l), t) + alpha sqerr(f(x_v), f(x_v + dx))
 *
 *   x_l   the labelled batch;
 *   x_v   the unlabelled batch when there is one and option `unlabelled` is true (section 3.2:
 *         "close-to-clean regularization is applicable even when the output is not available: We
 *         can compute the regularization penalty R_c2c based on the input alone"), else x_l;
 *   dx    mode gauss (the paper's default: "By default, the perturbation is implemented as
 *         additive white Gaussian noise dx ~ N(0, epsilon^2 I)"): epsilon e, e ~ N(0, I) from
 *         the noise stream -- epsilon is a standard deviation per element;
 *         mode adversarial ("dx_adv = argmax_{||dx|| <= epsilon} ||h - h~||^2"): VAT's power
 *         iteration (adversarial.h) on sqerr(f(x_v) fixed, f(x_v + r)), `power_iterations` steps
 *         with radius xi -- epsilon is the L2 norm per example.  dx is a constant either way.
 *   clean_fixed  false (default): gradients flow into both f(x_v) and f(x_v + dx).  The paper
 *         penalises "the Euclidian distance between the corresponding outputs" of the clean and
 *         the nearby point and reads the penalty as "a stochastic approximation of the Jacobian
 *         penalty" alpha epsilon^2 ||J||_F^2 (section 3.1), which "penalizes the mapping f
 *         directly": nothing is held fixed.  true: f(x_v) is a constant (snm_stopgrad), as VAT
 *         and the ladder's clean targets do.  The power iteration of mode adversarial always
 *         holds the clean side fixed (it searches dx, not the weights).
 *
 * Defaults.  The paper runs no experiment and gives no values ("alpha and epsilon are positive
 * scalar hyperparameters"), so they come from the methods it relates c2c to:
 *   alpha 1         VAT's weight (takerum/vat "lambda 1.0"; vat_tf "the weight ... is 1") and the
 *                   Gamma-ladder's top-level weight for MNIST Conv-Small ("0 0 0 0 0 0 0 0 0 1",
 *                   notes/seed-002-ladder.md 1.5) -- the ladder with g = identity is c2c
 *                   (section 3.4);
 *   epsilon 0.3     the ladder's input noise, "a std of 0.3 at the input and at every layer"
 *                   (notes/seed-002-ladder.md 1.5), for mode gauss; for mode adversarial it is
 *                   also VAT's semi-supervised MNIST norm ("--epsilon=0.3",
 *                   notes/anchors-mission.md 2c).  Mind the two meanings: a Gaussian dx of std 0.3
 *                   on 784 pixels has an L2 norm of about 8.4;
 *   xi 1e-6, power_iterations 1   as VAT (vat_tf vat.py l.10-12); only read in mode adversarial.
 *
 * Forward passes as vat.c's: f(x_l) for the cross-entropy (and the clean side without an
 * unlabelled batch), f(x_u), the probes, f(x_v + dx); labelled and unlabelled rows never share a
 * batch-norm batch, and only f(x_l) moves the running statistics (vat.c says why).
 *
 * Terms (unweighted): "ce", "c2c".  No parameters.  Randomness: the noise stream, D gaussians per
 * example of x_v per batch in either mode (D = elements of one example). */
#include <stdlib.h>
#include <string.h>
#include "snm/plugin.h"
#include "adversarial.h"

enum { MODE_GAUSS = 0, MODE_ADVERSARIAL };

typedef struct c2c {
	int mode;                 /* MODE_* */
	float alpha, epsilon, xi;
	int iters;
	int clean_fixed, unlabelled;
} c2c;

static const snm_option options[] = {
	{ "alpha", SNM_OPT_DOUBLE, "1", NULL, "weight of the close-to-clean term", "[0, inf)" },
	{ "epsilon", SNM_OPT_DOUBLE, "0.3", NULL,
	  "gauss: std of the input noise per element; adversarial: L2 norm per example", "[0, inf)" },
	{ "mode", SNM_OPT_CHOICE, "gauss", "gauss|adversarial",
	  "random Gaussian dx (the paper's default) or the adversarial dx of norm epsilon", NULL },
	{ "power_iterations", SNM_OPT_INT, "1", NULL,
	  "mode adversarial: power-iteration steps", "[0, 1000]" },
	{ "xi", SNM_OPT_DOUBLE, "1e-6", NULL, "mode adversarial: finite-difference radius",
	  "(0, inf)" },
	{ "clean_fixed", SNM_OPT_BOOL, "false", NULL,
	  "hold f(x) fixed (stop-gradient) in the penalty; the paper does not", NULL },
	{ "unlabelled", SNM_OPT_BOOL, "true", NULL,
	  "compute the penalty on the unlabelled batch too, when the pipeline has one", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static void destroy(void *state)
{
	free(state);
}

static int create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	static const char *const adv_only[] = { "power_iterations", "xi" };
	double alpha, epsilon, xi;
	const char *mode;
	long iters;
	int clean_fixed, unlabelled, rc;
	c2c *c;
	(void)model, (void)params, (void)init;
	*state = NULL;
	if ((rc = snm_cfg_check(opts, options, "noise 'c2c'", err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "alpha", &alpha, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "epsilon", &epsilon, err)) != 0
	    || (rc = snm_cfg_opt_str(opts, options, "mode", &mode, err)) != 0
	    || (rc = snm_cfg_opt_int(opts, options, "power_iterations", &iters, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "xi", &xi, err)) != 0
	    || (rc = snm_cfg_opt_bool(opts, options, "clean_fixed", &clean_fixed, err)) != 0
	    || (rc = snm_cfg_opt_bool(opts, options, "unlabelled", &unlabelled, err)) != 0)
		return rc;
	if (strcmp(mode, "adversarial") != 0)
		for (size_t k = 0; k < sizeof adv_only / sizeof *adv_only; ++k) {
			const snm_cfg *n = snm_cfg_get(opts, adv_only[k]);
			if (n != NULL)
				return SNM_CFG_FAIL(err, SNM_ECONFIG, n, "noise 'c2c': '%s' is only read with "
				                    "mode adversarial (mode is '%s')", adv_only[k], mode);
		}
	if ((c = calloc(1, sizeof *c)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for noise 'c2c'");
	c->mode = strcmp(mode, "adversarial") == 0 ? MODE_ADVERSARIAL : MODE_GAUSS;
	c->alpha = (float)alpha;
	c->epsilon = (float)epsilon;
	c->xi = (float)xi;
	c->iters = (int)iters;
	c->clean_fixed = clean_fixed;
	c->unlabelled = unlabelled;
	*state = c;
	return 0;
}

static int objective(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
                     gsl_rng *noise, snm_objective *out, snm_error *err)
{
	c2c *c = state;
	snm_tensor *xv, *y, *yl, *dx, *ce, *pen, *loss;
	int rc;
	if (noise == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "noise 'c2c': no noise stream given");
	yl = adv_clean_passes(model, t, b, c->unlabelled, NULL, &xv, &y);
	ce = snm_softmax_ce(t, yl, b->labels);
	if (c->mode == MODE_ADVERSARIAL)
		dx = adv_perturbation(model, t, xv, snm_stopgrad(t, y), snm_sqerr, c->iters, c->xi,
		                      c->epsilon, noise, NULL);
	else
		dx = xv != NULL ? snm_randn(t, xv->n_d, xv->d, c->epsilon, noise) : NULL;
	pen = snm_sqerr(t, c->clean_fixed ? snm_stopgrad(t, y) : y,
	                adv_logits_held(model, t, snm_add(t, xv, dx), NULL));
	loss = snm_add(t, ce, snm_scale(t, pen, c->alpha));
	if (loss == NULL) {
		rc = snm_tape_error(t, err);
		return rc != 0 ? rc
		               : SNM_FAIL(err, SNM_EINVAL, "noise 'c2c': the model returned no output");
	}
	out->loss = loss;
	out->n_terms = 2;
	out->term_names[0] = "ce";
	out->terms[0] = ce;
	out->term_names[1] = "c2c";
	out->terms[1] = pen;
	return 0;
}

static int wants_unlabelled(void *state)
{
	const c2c *c = state;
	return c->unlabelled;
}

static const snm_noise_vt vt = { sizeof vt, create, destroy, objective, wants_unlabelled,
                                 NULL, NULL, NULL };

SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "c2c", "1.0.0",
                  "close-to-clean: CE + alpha ||f(x) - f(x + dx)||^2, dx Gaussian or adversarial "
                  "(Abbas et al.)", &vt, options);
