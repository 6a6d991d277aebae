/* random.c: the `random` noise plugin -- the paper's "proposed-perturb (random)" row (Tables 1,
 * 3, 4; Figure 1(c) with z_e drawn directly on the latent space, section 3 and 4.2), which is
 * peers/torch_ref.py's loss(..., 'random').
 *
 * With z = encode(x), y = classify(z), x_R = decode_z(z), z_R = decode_y(y), CE the mean softmax
 * cross-entropy and sqerr(a, b) = (1/N) sum (a - b)^2:
 *
 *     z' = minmax_noise(z, sd) = ((z - lo)/span + sd e) span + lo,   e ~ N(0, I)
 *     loss = w0 CE(y, t) + w (sqerr(x_R, x) + sqerr(z_R, z)) + w2 CE(classify(z'), t)
 *
 * i.e. proposed-base (Eq. 6) plus the cross-entropy of the randomly perturbed latent vector
 * (Eq. 8 with z_e = z' - z).  lo and span are z's minimum and max - min per example (option
 * per_example, default true; false: over the whole batch), as section 4.2 describes ("z is the
 * base vector for the random perturbation ... scaled to [0.0, 1.0] ... de-scaled with the original
 * min and max").  Gradients flow through z' into z and through the min/max statistics, as in the
 * PyTorch reference: nothing is detached.
 *
 * Options: weight (lambda_1, default 0.03 = MNIST; the paper uses 0.01 for CIFAR-10), sd (0.2),
 * per_example (true), clean_weight (w0, Eq. 8's lambda_2 on the clean CE(y, t), default 1 as
 * section 4.2 sets it), perturbed_weight (w2, default 1: torch_ref adds CE(classify(z'), t) with
 * weight 1, and Eq. 8 as printed weights it by 1 too).
 * Randomness: N*Z draws of gsl_ran_gaussian(noise, 1) per batch (train.numerics 2:
 * gsl_ran_gaussian_ziggurat), in element order of z.
 * Terms (unweighted): "ce", "recon_x", "recon_z", "ce_perturbed".  No parameters.
 * The perturb entry (ABI 1.1) is z -> z' above, the very function the objective calls. */
#include <stdlib.h>
#include "snm/plugin.h"
#include "snm/regularize.h"

typedef struct perturb_random {
	float weight, clean_weight, perturbed_weight, sd;
	int per_example;
} perturb_random;

static const snm_option options[] = {
	{ "weight", SNM_OPT_DOUBLE, "0.03", NULL,
	  "lambda_1, weight of the reconstruction errors sqerr(x_R, x) + sqerr(z_R, z)", "[0, inf)" },
	{ "clean_weight", SNM_OPT_DOUBLE, "1", NULL,
	  "lambda_2 of Eq. 8, weight of the clean CE(y, t) (1.0 in the paper)", "[0, inf)" },
	{ "perturbed_weight", SNM_OPT_DOUBLE, "1", NULL,
	  "weight of CE(classify(z'), t), the perturbed latent's cross-entropy (1 in the paper)",
	  "[0, inf)" },
	{ "sd", SNM_OPT_DOUBLE, "0.2", NULL,
	  "standard deviation of the Gaussian noise added to z scaled to [0, 1]", "[0, inf)" },
	{ "per_example", SNM_OPT_BOOL, "true", NULL,
	  "min-max scaling per example (true) or over the whole batch (false)", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static void destroy(void *state)
{
	free(state);
}

static int create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	static const char who[] = "noise 'random'";
	double weight, cweight, pweight, sd;
	int per_example, rc;
	perturb_random *r;
	(void)model, (void)params, (void)init;
	*state = NULL;
	if ((rc = snm_cfg_check(opts, options, who, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "weight", &weight, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "clean_weight", &cweight, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "perturbed_weight", &pweight, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "sd", &sd, err)) != 0
	    || (rc = snm_cfg_opt_bool(opts, options, "per_example", &per_example, err)) != 0)
		return rc;
	if ((r = calloc(1, sizeof *r)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for %s", who);
	r->weight = (float)weight;
	r->clean_weight = (float)cweight;
	r->perturbed_weight = (float)pweight;
	r->sd = (float)sd;
	r->per_example = per_example;
	*state = r;
	return 0;
}

/* z' = minmax_noise(z, sd): the perturbation the objective trains with (the perturb entry). */
static snm_tensor *perturb(void *state, const snm_model *model, snm_tape *t, snm_tensor *z,
                           gsl_rng *noise)
{
	const perturb_random *r = state;
	(void)model;
	return snm_minmax_noise(t, z, r->sd, r->per_example, noise);
}

static int objective(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
                     gsl_rng *noise, snm_objective *out, snm_error *err)
{
	const perturb_random *r = state;
	snm_recon rec;
	snm_tensor *zp, *cep, *wcep;
	snm_recon_build(t, model, b, SNM_RECON_XZ, r->weight, NULL, NULL, NULL, 0, &rec);
	snm_recon_scale_ce(t, &rec, r->weight, r->clean_weight);
	zp = perturb(state, model, t, rec.z, noise);
	cep = snm_softmax_ce(t, model->vt->classify(model->state, t, zp), b->labels);
	wcep = r->perturbed_weight == 1.0f ? cep : snm_scale(t, cep, r->perturbed_weight);
	snm_recon_objective(&rec, out);
	snm_objective_add(out, "ce_perturbed", cep);
	out->loss = snm_add(t, rec.loss, wcep);
	return snm_objective_check(t, out, "noise 'random'", err);
}

static const snm_noise_vt vt = { sizeof vt, create, destroy, objective, NULL, perturb, NULL, NULL };

SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "random", "1.0.0",
                  "proposed-perturb (random): proposed-base (Eq. 6) plus the cross-entropy of z "
                  "perturbed by min-max-scaled Gaussian noise (Eq. 8, Figure 1(c))", &vt, options);
