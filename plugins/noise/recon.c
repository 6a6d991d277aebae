/* recon.c: the `recon` noise plugin -- joint learning with reconstruction losses through the
 * model's tied decoders.  With y = classify(z), z = encode(x) (recording h_1..h_L),
 * x_R = decode_z(z) (exposing h_1R..h_LR), z_R = decode_y(y), CE = softmax_ce(y, t) and
 * sqerr(a, b) = (1/N) sum (a - b)^2 (PyTorch mse_loss(reduction='sum') / N):
 *
 *   targets: x    recon-one (Eq. 11):      CE + w sqerr(x_R, x)
 *   targets: all  recon-all (Eq. 12):      CE + w (sqerr(x_R, x) + sum_j sqerr(h_jR, h_j))
 *   targets: xz   proposed-base (Eq. 6):   CE + w (sqerr(x_R, x) + sqerr(z_R, z))
 *
 * w is option `weight` (default 0.03, the paper's lambda for MNIST; 0.01 for CIFAR-10).  Eq. 12
 * allows one lambda per layer; the paper uses one value for all, and so does this plugin by
 * default.  Option hidden_scale (targets all; default 1) gives the hidden layers lambda_j =
 * hidden_scale w while the input keeps lambda_0 = w: CE + w (sqerr(x_R, x) + hidden_scale
 * sum_j sqerr(h_jR, h_j)).
 * Gradients flow into both sides of every reconstruction error (h_j, z included), as in
 * peers/torch_ref.py: nothing is detached.  Option detach_targets (default false) puts the hidden
 * and latent targets h_j and z behind a stop-gradient instead: their errors then train the
 * decoders, and the encoder only through the reconstructions and the tied weights, with no
 * direct pull that shrinks the targets themselves.  (It does not cure the collapse of recon-all
 * with denoising on Fashion-MNIST: see the README.)
 *
 * Terms (each UNweighted): "ce", "recon_x", and "recon_h" (targets all: the sum over j) or
 * "recon_z" (targets xz).  No parameters, no randomness.  The objective itself is
 * snm_recon_build (snm/regularize.h), which the denoise, random and semantic plugins share. */
#include <stdlib.h>
#include "snm/plugin.h"
#include "snm/regularize.h"

typedef struct recon {
	int targets;              /* SNM_RECON_* */
	float weight;
	int detach;               /* detach_targets */
	float hidden_scale;       /* lambda_j / lambda_0 (targets all) */
} recon;

static const snm_option options[] = {
	{ "targets", SNM_OPT_CHOICE, "x", SNM_RECON_TARGET_CHOICES,
	  "x: recon-one (Eq. 11), all: recon-all (Eq. 12), xz: proposed-base (Eq. 6)", NULL },
	{ "weight", SNM_OPT_DOUBLE, "0.03", NULL, "lambda, the weight of the reconstruction errors",
	  "[0, inf)" },
	{ "detach_targets", SNM_OPT_BOOL, "false", NULL,
	  "stop-gradient on the hidden and latent targets h_j, z (false: Eq. 6/12 as printed)", NULL },
	{ "hidden_scale", SNM_OPT_DOUBLE, "1", NULL,
	  "targets all: lambda_j of the hidden layers' errors as a multiple of weight (1: one lambda "
	  "for every layer)", "[0, inf)" },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static void destroy(void *state)
{
	free(state);
}

static int create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	const char *targets;
	double weight, hscale;
	recon *r;
	int rc, detach;
	(void)params, (void)init;
	*state = NULL;
	if ((rc = snm_cfg_check(opts, options, "noise 'recon'", err)) != 0
	    || (rc = snm_cfg_opt_str(opts, options, "targets", &targets, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "weight", &weight, err)) != 0
	    || (rc = snm_cfg_opt_bool(opts, options, "detach_targets", &detach, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "hidden_scale", &hscale, err)) != 0
	    || (rc = snm_recon_check_model(model, snm_recon_targets_parse(targets), "noise 'recon'",
	                                   err)) != 0)
		return rc;
	if (hscale != 1.0 && snm_recon_targets_parse(targets) != SNM_RECON_ALL)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_get(opts, "hidden_scale"),
		                    "noise 'recon': hidden_scale weighs the hidden layers of targets: all, "
		                    "not of targets: %s", targets);
	if ((r = calloc(1, sizeof *r)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for noise 'recon'");
	r->targets = snm_recon_targets_parse(targets);
	r->weight = (float)weight;
	r->detach = detach;
	r->hidden_scale = (float)hscale;
	*state = r;
	return 0;
}

static int objective(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
                     gsl_rng *noise, snm_objective *out, snm_error *err)
{
	const recon *r = state;
	snm_recon rec;
	(void)noise;
	snm_recon_build(t, model, b, r->targets, r->weight, NULL, NULL, NULL, r->detach, &rec);
	snm_recon_scale_hidden(t, &rec, r->weight, r->hidden_scale);
	snm_recon_objective(&rec, out);
	return snm_objective_check(t, out, "noise 'recon'", err);
}

static const snm_noise_vt vt = { sizeof vt, create, destroy, objective, NULL, NULL, NULL, NULL };

SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "recon", "1.1.0",
                  "reconstruction through tied decoders: recon-one, recon-all, proposed-base "
                  "(Eqs. 11, 12, 6)", &vt, options);
