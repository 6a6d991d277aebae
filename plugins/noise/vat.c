/* vat.c: the `vat` noise plugin -- virtual adversarial training (Miyato et al., "Distributional
 * smoothing with virtual adversarial training"), built from the model's encode and classify only.
 *
 * With f(x) = classify(encode(x)) the logits, P = softmax(f(x)) held fixed (snm_stopgrad) and
 * KL(P || Q) = (1/N) sum_n sum_k P_nk (log P_nk - log Q_nk) (snm_kl_cat):
 *
 *     loss = CE(f(x_l), t) + alpha KL(P(x_v) || softmax(f(x_v + r_adv)))  [+ H(softmax(f(x_v)))]
 *
 *   x_l      the labelled batch;
 *   x_v      the inputs the VAT term sees: the unlabelled batch when the batch has one and option
 *            `unlabelled` is true (takerum/vat's semi-supervised cost: the labelled batch gives
 *            the cross-entropy, the unlabelled one the VAT term), else x_l;
 *   r_adv    epsilon times the unit (per example, L2) direction found by `power_iterations` steps
 *            of power iteration on KL(P || softmax(f(x_v + r))) from d ~ N(0, I) drawn from the
 *            noise stream, with finite-difference radius xi (adversarial.h has the algorithm; it
 *            is vat_tf's vat.py l.33-59).  r_adv is a constant: no gradient flows through it,
 *            and its search never touches a parameter gradient (snm_tape_grad at a leaf);
 *   H        option `entropy` (vat_tf's --method=vatent, layers.py l.145-147): the mean entropy
 *            -(1/N) sum_n sum_k p_nk log p_nk of p = softmax(f(x_v)), weight 1 as in vat_tf,
 *            with gradient.
 * Option `hidden_noise` sd > 0 (default 0: none) adds N(0, sd^2) noise to every layer's output
 * after its ReLU (z's too) in each of these passes (adversarial.h): the later VAT paper's MNIST
 * network (Miyato et al., TPAMI 2018, appendix C; takerum/vat#3: 784-1200-600-300-150-10, std 0.5,
 * epsilon 5.0), whose recipe reproduces at 100 labels where takerum/vat's ICLR one does not
 * (README).  It needs a model with encode_post (convnet; refused otherwise, at create).
 * Forward passes, as takerum/vat's train.py builds them: f(x_l) (the cross-entropy and, without an
 * unlabelled batch, the clean target), f(x_u) (the clean target of the unlabelled batch), the
 * probes f(x_v + xi d) and f(x_v + r_adv).  With a batch-normalised model each pass normalises with
 * its own batch statistics -- the labelled rows are never mixed with unlabelled ones in one batch,
 * which, measured on Fashion-MNIST with 100 labels, let a network fit its 100 examples with
 * batch-relative features and sent the validation error from 44% to 75% (README) -- and only
 * f(x_l) moves the running statistics (forward_no_update_batch_stat for the others).
 *
 * Defaults and their sources (notes/anchors-mission.md, section 2):
 *   epsilon 2.1        takerum/vat (the Theano ICLR-2016 code, "the only official MNIST code"):
 *                      "README: supervised --cost_type=VAT_finite_diff --epsilon=2.1" and
 *                      "train_mnist_sup.py defaults: ... lambda 1.0, eps 2.1, L2, Ip 1".  It is an
 *                      L2 norm per example on MNIST pixels in [0,1]; subtracting the training mean
 *                      (as snm does) shifts every input alike and leaves the norm's meaning
 *                      unchanged.  The semi-supervised 100-label setting used "--epsilon=0.3";
 *                      CIFAR-10 (ZCA inputs, vat_tf README) 8.0 or 10.0.
 *   xi 1e-6            vat_tf vat.py l.10-12 "num_power_iterations 1, xi 1e-6" (and vat_chainer).
 *   power_iterations 1 the same line.
 *   alpha 1            "lambda 1.0" (train_mnist_sup.py); vat_tf: "The weight of both the VAT and
 *                      entropy terms is 1 (no alpha)".
 *   entropy false      plain VAT (vatent is vat_tf's separate --method).
 *   unlabelled true    the VAT term needs no labels: semi-supervised runs compute it on every input.
 *
 * A caution on xi: the perturbation xi unit(d) has elements of about 1e-6/sqrt(D), near float32's
 * resolution of a pixel value, so the gradient direction carries rounding noise (as in vat_tf,
 * which also runs in float32); a larger xi (1e-3 .. 10, as some reimplementations use) trades
 * that noise for a coarser finite difference.
 *
 * Terms (unweighted): "ce", "vat", and "ent" when entropy is on.  No parameters.  Randomness: the
 * noise stream, D gaussians per example of x_v per batch (D = elements of one example), and with
 * hidden_noise one per unit of every layer of every pass, in the order of the passes. */
#include <stdlib.h>
#include "snm/plugin.h"
#include "adversarial.h"

typedef struct vat {
	float epsilon, xi, alpha, hidden_noise;
	int iters;                /* power iterations */
	int entropy, unlabelled;
} vat;

static const snm_option options[] = {
	{ "epsilon", SNM_OPT_DOUBLE, "2.1", NULL,
	  "L2 norm of the adversarial perturbation per example (MNIST supervised: 2.1)", "[0, inf)" },
	{ "xi", SNM_OPT_DOUBLE, "1e-6", NULL, "finite-difference radius of the power iteration",
	  "(0, inf)" },
	{ "power_iterations", SNM_OPT_INT, "1", NULL,
	  "power-iteration steps (0: a random direction of norm epsilon)", "[0, 1000]" },
	{ "alpha", SNM_OPT_DOUBLE, "1", NULL, "weight of the VAT term", "[0, inf)" },
	{ "entropy", SNM_OPT_BOOL, "false", NULL,
	  "add the mean entropy of p(y|x) (vat_tf's vatent)", NULL },
	{ "unlabelled", SNM_OPT_BOOL, "true", NULL,
	  "compute the VAT term on the unlabelled batch too, when the pipeline has one", NULL },
	{ "hidden_noise", SNM_OPT_DOUBLE, "0", NULL,
	  "std of Gaussian noise added to every layer's output after its ReLU in the training passes "
	  "(the later VAT paper's MNIST network: 0.5); 0: none", "[0, inf)" },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static void destroy(void *state)
{
	free(state);
}

static int create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	double epsilon, xi, alpha, hidden_noise;
	long iters;
	int entropy, unlabelled, rc;
	vat *v;
	(void)params, (void)init;
	*state = NULL;
	if ((rc = snm_cfg_check(opts, options, "noise 'vat'", err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "epsilon", &epsilon, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "xi", &xi, err)) != 0
	    || (rc = snm_cfg_opt_int(opts, options, "power_iterations", &iters, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "alpha", &alpha, err)) != 0
	    || (rc = snm_cfg_opt_bool(opts, options, "entropy", &entropy, err)) != 0
	    || (rc = snm_cfg_opt_bool(opts, options, "unlabelled", &unlabelled, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "hidden_noise", &hidden_noise, err)) != 0)
		return rc;
	if (hidden_noise > 0 && snm_model_encode_post(model->vt) == NULL)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_get(opts, "hidden_noise"),
		                    "noise 'vat': hidden_noise needs a model whose encode takes a "
		                    "post-activation hook (encode_post, plugin ABI 1.4; convnet has it), "
		                    "and this model has none");
	if ((v = calloc(1, sizeof *v)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for noise 'vat'");
	v->epsilon = (float)epsilon;
	v->xi = (float)xi;
	v->alpha = (float)alpha;
	v->iters = (int)iters;
	v->entropy = entropy;
	v->unlabelled = unlabelled;
	v->hidden_noise = (float)hidden_noise;
	*state = v;
	return 0;
}

/* Mean entropy of softmax(y) over rows: -(1/N) sum_n sum_k p log p, with gradient. */
static snm_tensor *mean_entropy(snm_tape *t, snm_tensor *y)
{
	if (y == NULL)
		return NULL;
	return snm_scale(t, snm_sum(t, snm_mul(t, snm_softmax(t, y), snm_log_softmax(t, y))),
	                 -1.0f / (float)y->d[0]);
}

static int objective(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
                     gsl_rng *noise, snm_objective *out, snm_error *err)
{
	vat *v = state;
	snm_tensor *xv, *y, *yl, *clean, *r, *ce, *kl, *ent = NULL, *loss;
	adv_hidden hn = { v->hidden_noise, noise };
	int rc;
	if (noise == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "noise 'vat': no noise stream given");
	yl = adv_clean_passes(model, t, b, v->unlabelled, &hn, &xv, &y);
	ce = snm_softmax_ce(t, yl, b->labels);
	clean = snm_stopgrad(t, y);
	r = adv_perturbation(model, t, xv, clean, snm_kl_cat, v->iters, v->xi, v->epsilon, noise, &hn);
	kl = snm_kl_cat(t, clean, adv_logits_held(model, t, snm_add(t, xv, r), &hn));
	loss = snm_add(t, ce, snm_scale(t, kl, v->alpha));
	if (v->entropy) {
		ent = mean_entropy(t, y);
		loss = snm_add(t, loss, ent);
	}
	if (loss == NULL) {
		rc = snm_tape_error(t, err);
		return rc != 0 ? rc
		               : SNM_FAIL(err, SNM_EINVAL, "noise 'vat': the model returned no output");
	}
	out->loss = loss;
	out->n_terms = 2;
	out->term_names[0] = "ce";
	out->terms[0] = ce;
	out->term_names[1] = "vat";
	out->terms[1] = kl;
	if (ent != NULL) {
		out->term_names[2] = "ent";
		out->terms[2] = ent;
		out->n_terms = 3;
	}
	return 0;
}

static int wants_unlabelled(void *state)
{
	const vat *v = state;
	return v->unlabelled;
}

static const snm_noise_vt vt = { sizeof vt, create, destroy, objective, wants_unlabelled,
                                 NULL, NULL, NULL };

SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "vat", "1.0.0",
                  "virtual adversarial training: CE + alpha KL(p(y|x) || p(y|x + r_adv)) "
                  "(Miyato et al.)", &vt, options);
