/* advladder.c: the `advladder` noise plugin -- the adversarial ladder of seed 002 (Maroñas
 * Molano, "Adversarial Learning with Ladder Networks", 2016; notes/seed-002-ladder.md sections 2
 * and 4.8): the ladder network of ladder.h whose corrupted passes see adversarially perturbed
 * inputs,
 *
 *     labelled rows:    x~_0 = x + tau_s u_s(U_s) + n,   U_s = grad_x C_s(x, t)
 *     unlabelled rows:  x~_0 = x + tau_u u_u(U_u) + n,   U_u = grad_x C_s(x, argmax softmax f(x))
 *
 * n the ladder's input noise (sd_input), C_s the batch-mean cross-entropy (eq. 35), U one row per
 * example (adversarial.h's adv_input_grad), and u one of the thesis's four kinds (eq. 56-59),
 * per row of k = elements of one example:
 *
 *     sign    u = sgn(U)                     (u_SGN, FGSM; sgn(0) = 0)
 *     grad    u = U                          (u_UDG, the raw gradient)
 *     unit    u = U / ||U||_2                (u_1N)
 *     qnorm   u = sqrt(k) U / ||U||_2        (u_qN; q = sqrt(784) = 28 on MNIST: u_28N, the L2
 *                                            norm of a sign perturbation with no zero element)
 *
 * ||.|| is adversarial.h's adv_unit_rows (VAT's normalisation: max-abs, then L2 with 1e-6 under
 * the root), so a row's norm is 1 to within 1e-6 and a row whose gradient vanished stays 0.  The
 * perturbations are constants: no gradient flows through them, and finding them touches no
 * parameter gradient (snm_tape_grad at a leaf, as vat).  Only the corrupted passes' inputs are
 * perturbed; the clean passes, which give the denoising targets, and the layer-0 target see x
 * (the thesis: "it was only added to the input" of the corrupted path).  Everything else --
 * passes, noise, decoder, costs, running statistics -- is the ladder's (ladder.h).
 *
 * What the thesis leaves open (notes/seed-002-ladder.md section 6, items 9 and 10), as options:
 *   grad_pass corrupted (default): U and the pseudo-labels come from a corrupted pass of their
 *             own (input noise sd_input and the ladder's noise sd after every normalisation,
 *             fresh draws): the gradient of C_s as eq. 35 defines it, on the noisy path the
 *             network is trained on.  clean: from a clean pass (Goodfellow's dC/dx at x).
 *             Either pass normalises with its own batch statistics (labelled and unlabelled rows
 *             apart, as the ladder's passes) and leaves the running statistics alone.
 *   The pseudo-label is the argmax of that same pass's softmax (the first of equal maxima).
 *
 * Options (besides the ladder's, ladder.h) and their sources -- the defaults are the thesis's
 * final configuration for MNIST FC with all labels, Table 19 (the one it tuned the rest from):
 *   tau_s 0.00045    Tables 8, 10, 18, 19 ("sign noise with tau = 0.00045, 150 epochs")
 *   kind_s sign      the final recipe: sign noise on labelled inputs (section 6.2)
 *   tau_u 4.5e-8     Table 11's best and Table 19's caption (its list of tables prints 4.5e-7)
 *   kind_u qnorm     "we decided to try only the normalized noise" for unlabelled data (u_28N)
 *   grad_pass corrupted   see above
 * The other settings of the thesis: 100 labels tau_s 0.045, tau_u 0.00045 (Table 22; Table 21
 * repeats the all-labels pair); 1000 labels 4.5e-5 and 4.5e-5 (Table 24); all labels without the
 * unlabelled term tau_u 0 (Table 18).  tau 0 skips its gradient pass: advladder with tau_s =
 * tau_u = 0 is the ladder, bit for bit.  kind_u and tau_u are read only when the step has an
 * unlabelled batch (ladder option unlabelled and a semi-supervised pipeline).
 *
 * Randomness (noise stream), per step: with grad_pass corrupted, the labelled gradient pass (N I
 * input draws, then N m_l per layer l = 1..L), then the unlabelled one (M I, M m_l), each only
 * when its tau is not 0; then the ladder's own draws (ladder.h).  grad_pass clean draws nothing
 * more.  Terms: the ladder's "ce" and "denoise". */
#include "ladder.h"
#pragma GCC diagnostic push      /* adversarial.h's power iteration is vat's and c2c's, unused here */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "adversarial.h"
#pragma GCC diagnostic pop

static const char who[] = "noise 'advladder'";

enum { KIND_SIGN = 0, KIND_GRAD, KIND_UNIT, KIND_QNORM };
static const char *const kind_names[] = { "sign", "grad", "unit", "qnorm" };

typedef struct advladder {
	ladder ld;                /* first: the ladder's state */
	float tau_s, tau_u;
	int kind_s, kind_u;
	int grad_clean;           /* grad_pass clean */
} advladder;

static const snm_option options[] = {
	LADDER_OPTIONS
	{ "tau_s", SNM_OPT_DOUBLE, "0.00045", NULL,
	  "factor of the labelled rows' adversarial perturbation (0: none)", "[0, inf)" },
	{ "kind_s", SNM_OPT_CHOICE, "sign", "sign|grad|unit|qnorm",
	  "labelled perturbation: sgn(U), U, U/||U|| or sqrt(k) U/||U|| per example", NULL },
	{ "tau_u", SNM_OPT_DOUBLE, "4.5e-8", NULL,
	  "factor of the unlabelled rows' perturbation, from pseudo-labels (0: none)", "[0, inf)" },
	{ "kind_u", SNM_OPT_CHOICE, "qnorm", "sign|grad|unit|qnorm",
	  "unlabelled perturbation, as kind_s", NULL },
	{ "grad_pass", SNM_OPT_CHOICE, "corrupted", "corrupted|clean",
	  "the pass whose cross-entropy gives the gradient (and the pseudo-labels)", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static void destroy(void *state)
{
	free(state);
}

static int read_kind(const snm_cfg *opts, const char *name, int *kind, snm_error *err)
{
	const char *s;
	int rc = snm_cfg_opt_str(opts, options, name, &s, err);
	for (int k = 0; rc == 0 && k < (int)(sizeof kind_names / sizeof *kind_names); ++k)
		if (strcmp(s, kind_names[k]) == 0)
			*kind = k;
	return rc;
}

static int create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	double tau_s, tau_u;
	const char *pass_name;
	advladder *a;
	int rc;
	*state = NULL;
	if ((rc = snm_cfg_check(opts, options, who, err)) != 0)
		return rc;
	if ((a = malloc(sizeof *a)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for %s", who);
	if ((rc = ladder_init(&a->ld, who, opts, options, model, params, init, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "tau_s", &tau_s, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "tau_u", &tau_u, err)) != 0
	    || (rc = read_kind(opts, "kind_s", &a->kind_s, err)) != 0
	    || (rc = read_kind(opts, "kind_u", &a->kind_u, err)) != 0
	    || (rc = snm_cfg_opt_str(opts, options, "grad_pass", &pass_name, err)) != 0) {
		destroy(a);
		return rc;
	}
	a->tau_s = (float)tau_s;
	a->tau_u = (float)tau_u;
	a->grad_clean = strcmp(pass_name, "clean") == 0;
	*state = a;
	return 0;
}

static int wants_unlabelled(void *state)
{
	return ((const advladder *)state)->ld.unlabelled;
}

/* The ladder's corrupted pass to logits (adv_forward): x + sd_input e, noise sd after every
 * normalisation, running statistics held. */
typedef struct corrupted { const ladder *ld; gsl_rng *noise; } corrupted;

static snm_tensor *corrupted_logits(const snm_model *model, snm_tape *t, snm_tensor *x, void *ctx)
{
	const corrupted *c = ctx;
	pass p = { c->ld->who, c->ld->sd, c->noise, NULL, NULL, 0, 0 };
	snm_tensor *y;
	int hold = snm_tape_set_hold_stats(t, 1);
	y = forward(model, t, snm_gauss_noise(t, x, c->ld->sd_input, c->noise), &p);
	snm_tape_set_hold_stats(t, hold);
	return y;
}

/* tau u(U) for rows x (labels NULL: pseudo-labels), a constant; NULL with the reason on the tape.
 *   sign: tau sgn(U);  grad: tau U;  unit: tau U/||U||;  qnorm: tau sqrt(k) U/||U||, per row. */
static snm_tensor *perturbation(const advladder *a, const snm_model *model, snm_tape *t,
                                gsl_rng *noise, snm_tensor *x, const int32_t *labels, int kind,
                                float tau)
{
	corrupted c = { &a->ld, noise };
	snm_tensor *U = adv_input_grad(model, t, x, labels, a->grad_clean ? NULL : corrupted_logits,
	                               &c), *s;
	size_t n;
	if (U == NULL)
		return NULL;
	switch (kind) {
	case KIND_SIGN:
		if ((s = snm_tape_const(t, U->n_d, U->d, NULL)) == NULL)
			return NULL;
		n = snm_tensor_len(U);
		for (size_t i = 0; i < n; ++i)
			s->x[i] = tau * (float)((U->x[i] > 0.0f) - (U->x[i] < 0.0f));
		return s;
	case KIND_GRAD:
		return snm_scale(t, U, tau);
	case KIND_UNIT:
		return snm_scale(t, adv_unit_rows(t, U), tau);
	default:
		return snm_scale(t, adv_unit_rows(t, U),
		                 (float)(tau * sqrt((double)snm_tensor_cols(U))));
	}
}

static int objective(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
                     gsl_rng *noise, snm_objective *out, snm_error *err)
{
	const advladder *a = state;
	snm_tensor *shift_l = NULL, *shift_u = NULL;
	int rc;
	if (noise == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "%s: no noise stream given", who);
	if (a->tau_s != 0.0f
	    && (shift_l = perturbation(a, model, t, noise, b->x, b->labels, a->kind_s, a->tau_s)) == NULL)
		goto failed;
	if (a->tau_u != 0.0f && a->ld.unlabelled && b->xu != NULL
	    && (shift_u = perturbation(a, model, t, noise, b->xu, NULL, a->kind_u, a->tau_u)) == NULL)
		goto failed;
	return ladder_build(&a->ld, model, t, b, noise, shift_l, shift_u, out, err);
failed:
	rc = snm_tape_error(t, err);
	return rc != 0 ? rc : SNM_FAIL(err, SNM_EINVAL, "%s: the model returned no output", who);
}

static const snm_noise_vt vt = { sizeof vt, create, destroy, objective, wants_unlabelled,
                                 NULL, NULL, NULL };

SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "advladder", "1.0.0",
                  "adversarial ladder (seed 002): the ladder with tau sgn/grad/unit/qnorm input "
                  "perturbations from the labels' and the pseudo-labels' gradient", &vt, options);
