/* vib_hcp.c: the `vib_hcp` noise plugin -- the information-bottleneck regularizers with
 * hand-crafted priors of seed 003 (notes/seed-003-vib.md sections 1.2, 3.3; the Keras scripts
 * train_model_Dcc_Dc.py, _Dcc_Da.py, _Dcc_Da_Dc.py), semi-supervised:
 *
 *   D_cc^ + alpha_c D_c + alpha_a D_a
 *
 *   D_cc^   cross-entropy of the labelled batch
 *   D_c     adversarial: a discriminator (vib.disc_c, an MLP, vib.h) tells the classifier's
 *           softmax on the unlabelled batch from one-hot rows of the categorical prior
 *           (snm_onehot_tile: B/K of each class)
 *   D_a     adversarial: a discriminator (vib.disc_a) tells the latent a = encode(x_u) from
 *           N(0, I) samples of its width (snm_randn from the noise stream); the model's latent must
 *           be unbounded (vibnet latent: linear)
 * alpha_c = 0 and alpha_a = 0 is the baseline (the seed's "alpha_c = 0" runs: cross-entropy only,
 * with the same epochs over the unlabelled stream).
 *
 * Updates of a training step, in the seed's order (snm_update, snm/plugin.h), each with its own
 * Adam state:
 *   d_a   (alpha_a > 0) moves vib.disc_a:  L = mean_{2B} BCE(D_a([z ~ N(0,I); a(x_u)]), [1; 0])
 *   d_c   (alpha_c > 0) moves vib.disc_c:  L = mean_{2B} BCE(D_c([onehot; softmax(c(x_u))]), [1; 0])
 *         the fakes are constants (gradients off, batch-norm statistics held)
 *   cls   (main) moves everything but the discriminators, which are held:
 *         L = CE(c(x_l), y_l) + alpha_a mean BCE(D_a(a(x_u)), 1) + alpha_c mean BCE(D_c(softmax(c(x_u))), 1)
 * Terms: d_a, d_c, ce, g_a, g_c (those whose weight is not zero).  Every step draws B x a_dim
 * normals from the noise stream for d_a, and with label_noise > 0 (the stochastic encoder [S],
 * vib.h) one version per labelled row for cls. */
#include <stdlib.h>
#include <string.h>
#include "vib.h"

typedef struct hcp {
	double alpha_c, alpha_a;
	vib_mlp dc, da;
	int K, A;
	snm_update upd[3];
	int n_upd, k_da, k_dc, k_cls;
	vib_copies cp;                  /* [S]: the labelled set's noisy copies (vib.h) */
} hcp;

static const snm_option options[] = {
	{ "alpha_c", SNM_OPT_DOUBLE, "0.005", NULL,
	  "weight of D_c, the adversarial categorical prior on the classifier's output (0: none)", "[0, inf)" },
	{ "alpha_a", SNM_OPT_DOUBLE, "0.0005", NULL,
	  "weight of D_a, the adversarial N(0, I) prior on the latent a (0: none; needs vibnet "
	  "latent: linear)", "[0, inf)" },
	VIB_COPIES_OPTIONS,
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static void destroy(void *state)
{
	hcp *h = state;
	if (h == NULL)
		return;
	vib_copies_free(&h->cp);
	free(h);
}

static int create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	hcp *h;
	int rc;
	(void)model;
	*state = NULL;
	if ((h = calloc(1, sizeof *h)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for noise 'vib_hcp'");
	if ((rc = snm_cfg_check(opts, options, "noise 'vib_hcp'", err))
	    || (rc = snm_cfg_opt_double(opts, options, "alpha_c", &h->alpha_c, err))
	    || (rc = snm_cfg_opt_double(opts, options, "alpha_a", &h->alpha_a, err)))
		goto fail;
	if ((rc = vib_widths(params, "noise 'vib_hcp'", &h->A, &h->K, err)))
		goto fail;
	h->n_upd = 0;
	h->k_da = h->k_dc = -1;
	if (h->alpha_a > 0) {
		if ((rc = vib_mlp_make(&h->da, params, "vib.disc_a", h->A, init, err)))
			goto fail;
		h->k_da = h->n_upd;
		h->upd[h->n_upd++] = (snm_update){ "d_a", "vib.disc_a.", 0 };
	}
	if (h->alpha_c > 0) {
		if ((rc = vib_mlp_make(&h->dc, params, "vib.disc_c", h->K, init, err)))
			goto fail;
		h->k_dc = h->n_upd;
		h->upd[h->n_upd++] = (snm_update){ "d_c", "vib.disc_c.", 0 };
	}
	h->k_cls = h->n_upd;
	h->upd[h->n_upd++] = (snm_update){ "cls", "-vib.disc", 1 };
	if ((rc = vib_copies_make(&h->cp, opts, options, init, err)))
		goto fail;
	*state = h;
	return SNM_OK;
fail:
	destroy(h);
	return rc;
}

static int wants_unlabelled(void *state)
{
	(void)state;
	return 1;
}

static int updates(void *state, const snm_update **out)
{
	hcp *h = state;
	*out = h->upd;
	return h->n_upd;
}

static int objective_at(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
                        gsl_rng *noise, const snm_progress *at, snm_objective *out, snm_error *err)
{
	hcp *h = state;
	const snm_model_vt *m = model->vt;
	int k = at->size >= sizeof *at ? at->update : h->k_cls, old[2];
	int B = b->xu != NULL ? b->xu->d[0] : 0;
	memset(out, 0, sizeof *out);
	if (b->xu == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "noise 'vib_hcp': no unlabelled batch");
	if (k == h->k_da || k == h->k_dc) {
		snm_tensor *fake, *real;
		vib_no_grad_begin(t, old);
		fake = m->encode(model->state, t, b->xu, NULL, NULL, NULL);
		if (k == h->k_dc)
			fake = snm_softmax(t, m->classify(model->state, t, fake));
		vib_no_grad_end(t, old);
		if (k == h->k_da) {
			real = snm_randn(t, 2, (int[]){ B, h->A }, 1.0f, noise);
			out->loss = snm_adv_d_loss(t, vib_mlp_logits(t, &h->da, real), vib_mlp_logits(t, &h->da, fake));
			snm_objective_add(out, "d_a", out->loss);
		} else {
			real = snm_onehot_tile(t, B, h->K);
			out->loss = snm_adv_d_loss(t, vib_mlp_logits(t, &h->dc, real), vib_mlp_logits(t, &h->dc, fake));
			snm_objective_add(out, "d_c", out->loss);
		}
	} else {
		static const char *const names[3] = { "ce", "g_a", "g_c" };
		snm_tensor *terms[3] = { NULL, NULL, NULL }, *a;
		float w[3] = { 1.0f, (float)h->alpha_a, (float)h->alpha_c };
		terms[0] = snm_softmax_ce(t, m->classify(model->state, t,
		                          m->encode(model->state, t, vib_labelled(t, &h->cp, b, noise), NULL, NULL,
		                                    NULL)), b->labels);
		a = h->alpha_a > 0 || h->alpha_c > 0 ? m->encode(model->state, t, b->xu, NULL, NULL, NULL) : NULL;
		if (h->alpha_a > 0)
			terms[1] = snm_adv_g_loss(t, vib_mlp_logits(t, &h->da, a));
		if (h->alpha_c > 0)
			terms[2] = snm_adv_g_loss(t, vib_mlp_logits(t, &h->dc,
			                          snm_softmax(t, m->classify(model->state, t, a))));
		vib_weighted(t, out, 3, names, terms, w);
	}
	return snm_objective_check(t, out, "noise 'vib_hcp'", err);
}

static const snm_noise_vt vt = {
	.size = sizeof vt, .create = create, .destroy = destroy, .wants_unlabelled = wants_unlabelled,
	.objective_at = objective_at, .updates = updates
};

SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "vib_hcp", "1.0.0",
                  "information bottleneck with hand-crafted priors (seed 003): cross-entropy + "
                  "adversarial D_c (categorical) and D_a (N(0,I) latent), own Adam per discriminator",
                  &vt, options);
