/* denoise.c: the `denoise` noise plugin -- the paper's "with denoising constraints" rows of
 * Tables 3 and 4 (appendix A3): "joint learning model with recon-one with denoising constraints",
 * "... recon-all with denoising constraints" and "proposed-base with denoising constraints".
 *
 * These are the reconstruction objectives of the recon plugin (targets x: recon-one, Eq. 11;
 * all: recon-all, Eq. 12; xz: proposed-base, Eq. 6) where the reconstruction path reads a
 * corrupted input and must reproduce the CLEAN targets.  The paper says only "Zero-mean Gaussian
 * random noise with 0.1 standard deviation is used for noise injection"; this plugin reads that
 * as the denoising autoencoder the paper builds on (Vincent et al. 2010, cited for its Eqs. 13-16):
 *
 *     clean:      z = encode(x)  (h_1..h_L recorded),  y = classify(z),  CE = CE(y, t)
 *     corrupted:  x~ = x + sd e,  e ~ N(0, I)  (corrupt: input, the default)
 *                 z~ = encode(x~),  y~ = classify(z~)
 *     reconstruct from the corrupted path:  x_R = decode_z(z~) (exposing h_jR),  z_R = decode_y(y~)
 *     loss = CE + w sqerr(x_R, x)                                    targets x
 *          = CE + w (sqerr(x_R, x) + sum_j sqerr(h_jR, h_j))         targets all
 *          = CE + w (sqerr(x_R, x) + sqerr(z_R, z))                  targets xz
 *
 * with sqerr(a, b) = (1/N) sum (a - b)^2 and the clean x, h_j, z as targets.  The classification
 * term stays on the clean input (the paper does not say otherwise, and the tables' rows differ
 * from their plain counterparts only by the constraint on the reconstructions).  As in recon,
 * nothing is detached by default: gradients reach the clean targets too (detach_targets: true puts
 * h_j and z behind a stop-gradient).  With sd = 0 the objective is exactly (bitwise) the recon
 * plugin's.
 *
 * corrupt: all also adds N(0, sd^2) to every hidden pre-activation and to z's pre-activation of
 * the corrupted pass (through the model's encode hook, before the ReLU), the ladder network's
 * corrupted encoder; it is not what the paper's rows use and is there for comparison.
 *
 * Options: targets (x), weight (lambda, 0.03 = MNIST; 0.01 for CIFAR-10), sd (0.1), corrupt
 * (input), detach_targets (false), hidden_scale (targets all: the hidden layers' lambda_j as a
 * multiple of weight; 1, as in the recon plugin).  Randomness per batch: the input's N*C*H*W
 * draws of gsl_ran_gaussian(noise, 1) (train.numerics 2: gsl_ran_gaussian_ziggurat) in element
 * order, then (corrupt: all) each corrupted layer's in encode's order.
 * Terms (unweighted): "ce", "recon_x", and "recon_h" (all) or "recon_z" (xz).  No parameters. */
#include <stdlib.h>
#include <string.h>
#include "snm/plugin.h"
#include "snm/regularize.h"

typedef struct denoise {
	int targets;              /* SNM_RECON_* */
	float weight, sd;
	int layers;               /* corrupt: all */
	int detach;               /* detach_targets */
	float hidden_scale;       /* lambda_j / lambda_0 (targets all) */
} denoise;

static const snm_option options[] = {
	{ "targets", SNM_OPT_CHOICE, "x", SNM_RECON_TARGET_CHOICES,
	  "x: recon-one, all: recon-all, xz: proposed-base, each with denoising constraints", NULL },
	{ "weight", SNM_OPT_DOUBLE, "0.03", NULL, "lambda, the weight of the reconstruction errors",
	  "[0, inf)" },
	{ "sd", SNM_OPT_DOUBLE, "0.1", NULL,
	  "standard deviation of the Gaussian noise on the reconstruction path's input", "[0, inf)" },
	{ "corrupt", SNM_OPT_CHOICE, "input", "input|all",
	  "input: the reconstruction path encodes x + noise (the paper's rows); all: also every "
	  "hidden and z pre-activation of that pass", NULL },
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
	static const char who[] = "noise 'denoise'";
	const char *targets, *corrupt;
	double weight, sd, hscale;
	denoise *d;
	int rc, detach;
	(void)params, (void)init;
	*state = NULL;
	if ((rc = snm_cfg_check(opts, options, who, err)) != 0
	    || (rc = snm_cfg_opt_str(opts, options, "targets", &targets, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "weight", &weight, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "sd", &sd, err)) != 0
	    || (rc = snm_cfg_opt_str(opts, options, "corrupt", &corrupt, err)) != 0
	    || (rc = snm_cfg_opt_bool(opts, options, "detach_targets", &detach, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "hidden_scale", &hscale, err)) != 0
	    || (rc = snm_recon_check_model(model, snm_recon_targets_parse(targets), who, err)) != 0)
		return rc;
	if (hscale != 1.0 && snm_recon_targets_parse(targets) != SNM_RECON_ALL)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_get(opts, "hidden_scale"),
		                    "%s: hidden_scale weighs the hidden layers of targets: all, not of "
		                    "targets: %s", who, targets);
	if ((d = calloc(1, sizeof *d)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for %s", who);
	d->targets = snm_recon_targets_parse(targets);
	d->weight = (float)weight;
	d->sd = (float)sd;
	d->layers = !strcmp(corrupt, "all");
	d->detach = detach;
	d->hidden_scale = (float)hscale;
	*state = d;
	return 0;
}

typedef struct corrupt_ctx {
	float sd;
	gsl_rng *rng;
} corrupt_ctx;

/* The encode hook of corrupt: all: pre + sd e on every layer's pre-activation. */
static snm_tensor *corrupt_layer(void *ctx, snm_tape *t, int layer, snm_tensor *pre)
{
	const corrupt_ctx *c = ctx;
	if (SNM_HOOK_PHASE(layer) == SNM_HOOK_RAW)   /* a batch-normalising model's: noise goes after the BN */
		return pre;
	return snm_gauss_noise(t, pre, c->sd, c->rng);
}

static int objective(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
                     gsl_rng *noise, snm_objective *out, snm_error *err)
{
	const denoise *d = state;
	corrupt_ctx c = { d->sd, noise };
	snm_recon rec;
	snm_tensor *xn = snm_gauss_noise(t, b->x, d->sd, noise);
	snm_recon_build(t, model, b, d->targets, d->weight, xn, d->layers ? corrupt_layer : NULL, &c,
	                d->detach, &rec);
	snm_recon_scale_hidden(t, &rec, d->weight, d->hidden_scale);
	snm_recon_objective(&rec, out);
	return snm_objective_check(t, out, "noise 'denoise'", err);
}

static const snm_noise_vt vt = { sizeof vt, create, destroy, objective, NULL, NULL, NULL, NULL };

SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "denoise", "1.1.0",
                  "recon-one, recon-all, proposed-base with denoising constraints (Tables 3, 4): "
                  "the reconstruction path encodes x + N(0, sd^2), the targets stay clean", &vt,
                  options);
