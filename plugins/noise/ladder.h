/* ladder.h: the ladder network of Rasmus et al. (NIPS 2015) as CuriousAI/ladder builds it, shared
 * by the `ladder` (ladder.c) and `advladder` (advladder.c) noise plugins -- private to
 * plugins/noise (static functions: each plugin compiles its own copy, nothing is exported).  It is
 * the network (notes/seed-002-ladder.md, notes/anchors-mission.md section 1b), the
 * semi-supervised model the semantic-noise paper compares against in its Table 2 (appendix A2,
 * 784-1000-500-250-250-250-10, there trained on labelled examples only).
 *
 * The encoder is the model's: it must batch-normalise (convnet with `batchnorm: true`) and follow
 * the hook convention of snm/plugin.h, so this plugin sees, at every layer, the raw
 * pre-activation a_l and the normalised z_l = BN(a_l) before the learned shift and the activation.
 * Layers are numbered as the ladder does: l = 0 the input, l = 1..L-1 the model's hidden layers
 * and z, l = L the classifier (the softmax layer); m_l is the width of layer l.
 *
 *   corrupted:  z~_0 = x + sd_input e,  z~_l = BN(W_l h~_{l-1}) + sd e  (noise after the batch
 *               normalisation, before the shift), h~_L = softmax of the corrupted logits;
 *   clean:      z_0 = x,  z_l = BN(W_l h_{l-1}) with mean mu_l and std sigma_l = sqrt(var + eps)
 *               of a_l over the batch (biased variance);
 *   decoder:    u_L = N(h~_L),  u_l = N(zhat_{l+1} V_{l+1}^T)      N: batch normalisation without
 *               parameters (eps), V_l (m_{l-1}, m_l) the top-down weight;
 *               zhat_l = g_l(z~_l, u_l), the "gauss" combinator per unit i:
 *                 mu_i(u) = a1_i sigmoid(a2_i u + a3_i) + a4_i u + a5_i
 *                 nu_i(u) = a6_i sigmoid(a7_i u + a8_i) + a9_i u + a10_i
 *                 zhat_i  = (z~_i - mu_i(u)) nu_i(u) + mu_i(u)
 *               a2 = a7 = 1, every other a_k = 0 at the start (so zhat = 0);
 *   cost:       C_l = (1/(N m_l)) sum_n sum_i (zhat_BN,l - z_l)^2,  zhat_BN,l = (zhat_l - mu_l)/sigma_l
 *               with the CLEAN pass's batch statistics (l >= 1; zhat_0 is compared with x as is);
 *   loss:       CE(corrupted logits of the labelled rows, t) + sum_l lambda_l C_l.
 * Nothing is detached: the clean pass, its statistics and the corrupted softmax all receive
 * gradient, as in the reference code.  Option gamma: the Gamma-model, the combinator of the top
 * layer only (no V), cost lambda_L C_L.
 *
 * Which rows: with an unlabelled batch (option unlabelled, default true, and a pipeline that has
 * one) the encoder runs separately on the labelled and on the unlabelled rows (so each has its
 * own batch statistics, as the reference normalises its two halves apart), the cross-entropy
 * comes from the corrupted labelled pass and the decoder and C_l from the unlabelled rows.
 * Without one (unlabelled: false, or a supervised pipeline: the paper's Table 2 setting) the
 * decoder runs on the labelled rows.  The running statistics the evaluation uses (the model's
 * buffers) are those of the clean pass over the labelled rows only, as in the reference: every
 * other pass of the step runs with them held (snm_tape_set_hold_stats, as VAT's and c2c's extra
 * passes); in semi-supervised steps that clean labelled pass runs without gradients, only for
 * them.  Evaluation (the trainer's: encode + classify in evaluation mode, no hook) is then
 * the clean encoder with those statistics, the ladder's test-time network.
 *
 * The cost's zhat_BN needs 1/sigma_l with its gradient, and snm/ops.h has no square root: it is
 * built as r = r0 (3 - s r0^2)/2 with s = var + eps (a tape tensor) and r0 = 1/sqrt(s) computed
 * here as a constant -- one Newton step taken at its own fixed point, whose value is r0 and whose
 * derivative in s is -r0^3/2 = d s^(-1/2)/ds exactly.  mu_l and var_l are column means taken as
 * products with a (1, N) row of 1/N.  x is the input as the trainer gives it (in [0,1] minus the
 * training subset's mean; the reference code uses [0,1] as is).
 *
 * Options and their sources (LADDER_OPTIONS, read by ladder_init):
 *   sd 0.3, sd_input 0.3   noise std on every layer's z and on the input (README
 *                          --f-local-noise-std, --super-noise-std; the 1000-label run uses sd 0.2)
 *   lambdas                lambda_0..lambda_L, one per layer; default 1000, 10, 0.1 x 5: the
 *                          100-labels setting of CuriousAI's README (and rinuboney/ladder's only
 *                          one); all labels: 1000, 1, 0.01 x 5.  Gamma-model runs: only the last
 *                          entry is read (README: 0.5 with 100 labels, 2 with all)
 *   gamma false            the Gamma-model
 *   unlabelled true        use the unlabelled batch when there is one
 *   eps 1e-10              of the decoder's normalisations (the reference's)
 *
 * Parameters (registered after the model's, in decoder order l = L..0): ladder.g<l> (10, m_l),
 * row k-1 holding a_k, and ladder.v<l> (m_{l-1}, m_l) after ladder.g<l> for l >= 1, initialised
 * N(0, 1/m_l) (randn(in, out)/sqrt(in)) from the init stream in that order.  The widths come from
 * one evaluation-mode pass of the model over a zero input at create; the model's first layer must
 * be fully connected (its first parameter, (O, I), gives the input width I), and for the full
 * ladder every layer (the decoder's V are dense).
 *
 * Randomness (noise stream), per step: the corrupted labelled pass (N I input draws, then each
 * layer's N m_l in order l = 1..L), then, semi-supervised, the corrupted unlabelled pass likewise;
 * drawn also when sd is 0, so the stream's position never depends on sd.
 * Terms (unweighted): "ce", and "denoise" = sum_l lambda_l C_l (ladder_build). */
#ifndef SNM_PLUGINS_NOISE_LADDER_H
#define SNM_PLUGINS_NOISE_LADDER_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "snm/plugin.h"
#include "snm/regularize.h"

#define LADDER_MAX 72         /* layers l = 0..L (convnet has at most 64 + input + classifier) */

typedef struct ladder {
	const char *who;          /* "noise 'ladder'": the plugin, in messages */
	int top;                  /* L: the classifier's index */
	int width[LADDER_MAX];    /* m_l */
	float lambda[LADDER_MAX];
	float sd, sd_input, eps;
	int gamma, unlabelled;
	snm_tensor *g[LADDER_MAX];   /* ladder.g<l>, NULL where there is no combinator */
	snm_tensor *v[LADDER_MAX];   /* ladder.v<l>, l >= 1, NULL in the Gamma-model */
} ladder;

/* The ladder's options, the first entries of the option table of every plugin built on this
 * header (ladder_init reads them). */
#define LADDER_OPTIONS \
	{ "sd", SNM_OPT_DOUBLE, "0.3", NULL, \
	  "std of the Gaussian noise on every layer's normalised pre-activation", "[0, inf)" }, \
	{ "sd_input", SNM_OPT_DOUBLE, "0.3", NULL, "std of the Gaussian noise on the input", \
	  "[0, inf)" }, \
	{ "lambdas", SNM_OPT_NODE, "[1000, 10, 0.1, 0.1, 0.1, 0.1, 0.1]", NULL, \
	  "denoising weights, input to top: 100 labels 1000, 10, 0.1 x 5; all labels 1000, 1, 0.01 x 5", \
	  NULL }, \
	{ "gamma", SNM_OPT_BOOL, "false", NULL, \
	  "Gamma-model: only the top layer's denoising cost (weight: the last lambda)", NULL }, \
	{ "unlabelled", SNM_OPT_BOOL, "true", NULL, \
	  "decode the unlabelled batch when there is one (else the labelled rows)", NULL }, \
	{ "eps", SNM_OPT_DOUBLE, "1e-10", NULL, "epsilon of the decoder's batch normalisations", \
	  "[0, 1]" },

/* ---- the encoder's hook ------------------------------------------------------------------- */

/* One encoder pass: rng non-NULL makes it a corrupted pass (noise sd on every normalised z);
 * raw/z (NULL or LADDER_MAX slots) receive a_l and z_l (z~_l after the noise) by ladder index. */
typedef struct pass {
	const char *who;
	float sd;
	gsl_rng *rng;
	snm_tensor **raw, **z;
	int n_raw, n_z;           /* calls seen */
} pass;

/* Layer i of the model is ladder layer i + 1. */
static snm_tensor *hook(void *ctx, snm_tape *t, int layer, snm_tensor *pre)
{
	pass *p = ctx;
	const char *who = p->who;
	int l = SNM_HOOK_LAYER(layer) + 1;
	if (l >= LADDER_MAX) {
		snm_tape_fail(t, SNM_EINVAL, "%s: more than %d layers", who, LADDER_MAX - 2);
		return NULL;
	}
	if (SNM_HOOK_PHASE(layer) == SNM_HOOK_RAW) {
		p->n_raw++;
		if (p->raw != NULL)
			p->raw[l] = pre;
		return pre;
	}
	if (p->rng != NULL)
		pre = snm_gauss_noise(t, pre, p->sd, p->rng);
	p->n_z++;
	if (p->z != NULL)
		p->z[l] = pre;
	return pre;
}

/* logits of x through the model with the hook of p. */
static snm_tensor *forward(const snm_model *m, snm_tape *t, snm_tensor *x, pass *p)
{
	return m->vt->classify(m->state, t, m->vt->encode(m->state, t, x, hook, p, NULL));
}

/* ---- creation ----------------------------------------------------------------------------- */

/* Reads option lambdas (lambda_0..lambda_top). */
static int read_lambdas(const snm_cfg *opts, const snm_option *options, ladder *ld, snm_error *err)
{
	const char *who = ld->who;
	const snm_cfg *node = snm_cfg_opt_node(opts, options, "lambdas"), *where = node;
	snm_cfg *def = NULL;
	size_t n;
	int rc = 0;
	if (node == NULL) {
		const char *text = snm_cfg_option_find(options, "lambdas")->def;
		if ((rc = snm_cfg_parse(text, strlen(text), "<default lambdas>", &def, err)) != 0)
			return rc;
		node = def;
		where = snm_cfg_kind(opts) == SNM_CFG_MAP ? opts : NULL;   /* the defaults: at the section */
	}
	n = snm_cfg_len(node);
	if (snm_cfg_kind(node) != SNM_CFG_SEQ || n != (size_t)ld->top + 1) {
		char got[48];
		if (snm_cfg_kind(node) == SNM_CFG_SEQ)
			snprintf(got, sizeof got, "a list of %zu", n);
		else
			snprintf(got, sizeof got, "a %s", snm_cfg_kind_name(snm_cfg_kind(node)));
		rc = SNM_CFG_FAIL(err, SNM_ECONFIG, where, "%s: 'lambdas' needs a list of %d numbers, one "
		                  "per layer from the input to the classifier (this model has %d hidden "
		                  "layers and z)%s, got %s", who, ld->top + 1, ld->top - 2,
		                  def ? " and the default is for 784-1000-500-250-250-250-10" : "", got);
		goto done;
	}
	for (size_t i = 0; i < n; ++i) {
		double v;
		if ((rc = snm_cfg_to_double(snm_cfg_at(node, i), &v, err)) != 0)
			goto done;
		if (!(v >= 0)) {
			rc = SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_at(node, i), "%s: lambdas[%zu] is "
			                  "negative (%g)", who, i, v);
			goto done;
		}
		ld->lambda[i] = (float)v;
	}
done:
	snm_cfg_free(def);
	return rc;
}

/* The widths m_0..m_L from an evaluation-mode pass over a zero input of two rows; checks that the
 * model follows the batch-normalisation hook convention. */
static int probe(const snm_model *model, snm_params *params, ladder *ld, snm_error *err)
{
	const char *who = ld->who;
	snm_tensor *w = NULL, *z[LADDER_MAX] = { 0 }, *y;
	pass p = { ld->who, 0.0f, NULL, NULL, z, 0, 0 };
	snm_tape *t;
	int rc = 0, I;
	for (int i = 0; i < snm_params_count(params) && w == NULL; ++i)
		if (snm_params_at(params, i)->flags & SNM_T_PARAM)
			w = snm_params_at(params, i);
	if (w == NULL || w->n_d != 2)
		return SNM_FAIL(err, SNM_ECONFIG, "%s: the model's first layer must be fully connected "
		                "(its first parameter%s%s is not a (units, inputs) weight)", who,
		                w ? " " : "", w ? w->name : "");
	I = w->d[1];
	if ((t = snm_tape_new(1u << 20, err)) == NULL)
		return SNM_ENOMEM;
	snm_tape_set_grad(t, 0);
	snm_tape_set_training(t, 0);
	y = forward(model, t, snm_tape_const(t, 2, (int[]){ 2, I }, NULL), &p);
	if (y == NULL) {
		rc = snm_tape_error(t, err);
		if (rc == 0)
			rc = SNM_FAIL(err, SNM_EINVAL, "%s: the model returned no output", who);
		snm_error_prefix(err, "%s: trying the model on %d inputs", who, I);
		goto done;
	}
	if (p.n_raw == 0) {
		rc = SNM_FAIL(err, SNM_ECONFIG, "%s: the model does not batch-normalise its layers "
		              "(convnet: set batchnorm: true)", who);
		goto done;
	}
	if (p.n_z != model->vt->n_hidden(model->state) + 2 || p.n_raw != p.n_z) {
		rc = SNM_FAIL(err, SNM_ECONFIG, "%s: the model's hook calls (%d raw, %d normalised) do "
		              "not cover its %d hidden layers, z and the classifier", who, p.n_raw, p.n_z,
		              model->vt->n_hidden(model->state));
		goto done;
	}
	ld->top = p.n_z;
	ld->width[0] = I;
	for (int l = 1; l <= ld->top; ++l) {
		if (z[l] == NULL || (z[l]->n_d != 2 && !ld->gamma)) {
			rc = SNM_FAIL(err, SNM_ECONFIG, "%s: layer %d is not fully connected; the full ladder "
			              "decodes fully connected layers only (gamma: true decodes only the "
			              "classifier)", who, l);
			goto done;
		}
		ld->width[l] = (int)snm_tensor_cols(z[l]);
	}
done:
	snm_tape_free(t);
	return rc;
}

static int register_params(ladder *ld, snm_params *params, gsl_rng *init, snm_error *err)
{
	char name[32];
	for (int l = ld->top; l >= 0; --l) {
		int m = ld->width[l];
		if (ld->gamma && l != ld->top)
			break;
		snprintf(name, sizeof name, "ladder.g%d", l);
		if ((ld->g[l] = snm_params_add(params, name, 2, (int[]){ 10, m }, SNM_T_PARAM, err)) == NULL)
			return err != NULL ? err->code : SNM_EINVAL;
		for (int i = 0; i < m; ++i)                     /* a2 = a7 = 1 */
			ld->g[l]->x[1 * m + i] = ld->g[l]->x[6 * m + i] = 1.0f;
		if (ld->gamma || l == 0)
			continue;
		snprintf(name, sizeof name, "ladder.v%d", l);
		if ((ld->v[l] = snm_params_add(params, name, 2, (int[]){ ld->width[l - 1], m },
		                               SNM_T_PARAM, err)) == NULL)
			return err != NULL ? err->code : SNM_EINVAL;
		snm_init_normal(ld->v[l], init, 1.0 / sqrt((double)m));
	}
	return 0;
}

/* Reads the ladder's options from opts (checked against `options`, whose first entries are
 * LADDER_OPTIONS), probes the model and registers the decoder's parameters; *ld is the caller's
 * (zeroed here), `who` names the plugin in messages. */
static int ladder_init(ladder *ld, const char *who, const snm_cfg *opts,
                       const snm_option *options, const snm_model *model, snm_params *params,
                       gsl_rng *init, snm_error *err)
{
	double sd, sd_input, eps;
	int rc;
	memset(ld, 0, sizeof *ld);
	ld->who = who;
	if ((rc = snm_cfg_opt_double(opts, options, "sd", &sd, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "sd_input", &sd_input, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "eps", &eps, err)) != 0
	    || (rc = snm_cfg_opt_bool(opts, options, "gamma", &ld->gamma, err)) != 0
	    || (rc = snm_cfg_opt_bool(opts, options, "unlabelled", &ld->unlabelled, err)) != 0)
		return rc;
	ld->sd = (float)sd;
	ld->sd_input = (float)sd_input;
	ld->eps = (float)eps;
	if ((rc = probe(model, params, ld, err)) != 0
	    || (rc = read_lambdas(opts, options, ld, err)) != 0)
		return rc;
	if (init == NULL && !ld->gamma)
		return SNM_FAIL(err, SNM_EINVAL, "%s: no init stream for the decoder's weights", who);
	return register_params(ld, params, init, err);
}

/* ---- the decoder -------------------------------------------------------------------------- */

/* An (N, F) tensor whose every row is v (F elements): snm_linear's bias on a zero product, so dv
 * gets the column sums of dy. */
static snm_tensor *rows_of(snm_tape *t, int N, snm_tensor *v)
{
	int F;
	if (v == NULL)
		return NULL;
	F = (int)snm_tensor_len(v);
	return snm_linear(t, snm_tape_const(t, 2, (int[]){ N, 1 }, NULL),
	                  snm_tape_const(t, 2, (int[]){ 1, F }, NULL), v, 1);
}

/* x (N,F) times / plus the vector row k of a (10, F), every row. */
static snm_tensor *mul_a(snm_tape *t, snm_tensor *x, snm_tensor *a, int k)
{
	return x ? snm_mul(t, x, rows_of(t, x->d[0], snm_slice_rows(t, a, k - 1, 1))) : NULL;
}
static snm_tensor *add_a(snm_tape *t, snm_tensor *x, snm_tensor *a, int k)
{
	return x ? snm_add(t, x, rows_of(t, x->d[0], snm_slice_rows(t, a, k - 1, 1))) : NULL;
}

/* The gauss combinator g(z~, u) of the file comment, a = ladder.g<l> (10, F); z~, u (N, F). */
static snm_tensor *combinator(snm_tape *t, snm_tensor *a, snm_tensor *zt, snm_tensor *u)
{
	snm_tensor *mu, *nu;
	mu = snm_add(t, mul_a(t, snm_sigmoid(t, add_a(t, mul_a(t, u, a, 2), a, 3)), a, 1),
	             add_a(t, mul_a(t, u, a, 4), a, 5));
	nu = snm_add(t, mul_a(t, snm_sigmoid(t, add_a(t, mul_a(t, u, a, 7), a, 8)), a, 6),
	             add_a(t, mul_a(t, u, a, 9), a, 10));
	return snm_add(t, snm_mul(t, snm_sub(t, zt, mu), nu), mu);
}

/* (zhat - mu) / sqrt(var + eps) with mu, var the batch mean and biased variance of the clean raw
 * pre-activation a (N, F), differentiable in a (see the file comment for 1/sqrt).  a must be
 * 2-D: the probe at create admits only fully connected layers (and the classifier). */
static snm_tensor *clean_normalise(snm_tape *t, snm_tensor *zhat, snm_tensor *a, float eps)
{
	snm_tensor *avg, *mean, *c, *var, *ca, *cb, *r;
	int N, F;
	if (zhat == NULL || a == NULL)
		return NULL;
	N = a->d[0];
	F = (int)snm_tensor_cols(a);
	if ((avg = snm_tape_const(t, 2, (int[]){ 1, N }, NULL)) == NULL)
		return NULL;
	for (int n = 0; n < N; ++n)
		avg->x[n] = 1.0f / (float)N;
	mean = snm_linear(t, avg, a, NULL, 1);                  /* (1, F) = (1/N) 1^T a */
	c = snm_sub(t, a, rows_of(t, N, mean));
	var = snm_linear(t, avg, snm_mul(t, c, c), NULL, 1);
	ca = snm_tape_const(t, 2, (int[]){ 1, F }, NULL);
	cb = snm_tape_const(t, 2, (int[]){ 1, F }, NULL);
	if (var == NULL || ca == NULL || cb == NULL)
		return NULL;
	for (int i = 0; i < F; ++i) {    /* r = r0 (3 - (var + eps) r0^2) / 2 = ca + cb var */
		double s = (double)var->x[i] + eps, r0 = 1.0 / sqrt(s);
		ca->x[i] = (float)(1.5 * r0 - 0.5 * r0 * r0 * r0 * eps);
		cb->x[i] = (float)(-0.5 * r0 * r0 * r0);
	}
	r = snm_add(t, snm_mul(t, var, cb), ca);
	return snm_mul(t, snm_sub(t, zhat, rows_of(t, N, mean)), rows_of(t, N, r));
}

/* Batch normalisation without parameters (the decoder's u). */
static snm_tensor *norm(snm_tape *t, snm_tensor *x, float eps)
{
	return snm_batchnorm(t, x, NULL, NULL, NULL, NULL, 0.0f, eps, 0);
}

/* sum_l lambda_l C_l, from the clean raw a_l and z_l, the corrupted z~_l and logits. */
static snm_tensor *denoise(const ladder *ld, snm_tape *t, snm_tensor **raw, snm_tensor **zc,
                           snm_tensor **zn, snm_tensor *logits)
{
	snm_tensor *u = norm(t, snm_softmax(t, logits), ld->eps), *zhat = NULL, *total = NULL;
	for (int l = ld->top; l >= 0 && ld->g[l] != NULL; --l) {
		snm_tensor *c;
		if (l < ld->top)
			u = norm(t, snm_linear(t, zhat, ld->v[l + 1], NULL, 0), ld->eps);
		zhat = combinator(t, ld->g[l], zn[l], u);
		if (ld->lambda[l] == 0.0f)
			continue;
		c = snm_sqerr(t, l == 0 ? zhat : clean_normalise(t, zhat, raw[l], ld->eps), zc[l]);
		c = snm_scale(t, c, ld->lambda[l] / (float)ld->width[l]);
		total = total == NULL ? c : snm_add(t, total, c);
	}
	return total != NULL ? total : snm_tape_const(t, 1, (int[]){ 1 }, NULL);
}

/* ---- the objective ------------------------------------------------------------------------ */

/* The ladder's objective of one batch (the file comment), with the corrupted passes' inputs
 * shifted: x~_0 = x + shift + sd_input e for the labelled rows (shift_l) and the unlabelled ones
 * (shift_u), each NULL for no shift or a constant of its rows' shape -- what the adversarial
 * ladder (advladder.c) adds.  The clean passes and the layer-0 target see x unshifted.  Terms
 * "ce" and "denoise". */
static int ladder_build(const ladder *ld, const snm_model *model, snm_tape *t, const snm_batch *b,
                        gsl_rng *noise, snm_tensor *shift_l, snm_tensor *shift_u,
                        snm_objective *out, snm_error *err)
{
	snm_tensor *raw[LADDER_MAX] = { 0 }, *zc[LADDER_MAX] = { 0 }, *zn[LADDER_MAX] = { 0 };
	snm_tensor *x0, *xn, *logits_l, *logits, *ce, *cost;
	int semi = ld->unlabelled && b->xu != NULL, N;
	pass clean = { ld->who, 0.0f, NULL, raw, zc, 0, 0 };
	pass corr_l = { ld->who, ld->sd, noise, NULL, semi ? NULL : zn, 0, 0 };
	pass corr_u = { ld->who, ld->sd, noise, NULL, zn, 0, 0 };
	int hold;

	/* the clean labelled pass: the running statistics (and, supervised, the targets) */
	if (semi) {
		int g = snm_tape_set_grad(t, 0);
		model->vt->classify(model->state, t, model->vt->encode(model->state, t, b->x, NULL,
		                                                       NULL, NULL));
		snm_tape_set_grad(t, g);
	} else {
		forward(model, t, b->x, &clean);
	}
	hold = snm_tape_set_hold_stats(t, 1);      /* the other passes leave the statistics alone */
	xn = snm_gauss_noise(t, shift_l ? snm_add(t, b->x, shift_l) : b->x, ld->sd_input, noise);
	logits = logits_l = forward(model, t, xn, &corr_l);
	ce = snm_softmax_ce(t, logits_l, b->labels);
	x0 = b->x;
	if (semi) {
		xn = snm_gauss_noise(t, shift_u ? snm_add(t, b->xu, shift_u) : b->xu, ld->sd_input, noise);
		logits = forward(model, t, xn, &corr_u);
		forward(model, t, b->xu, &clean);
		x0 = b->xu;
	}
	snm_tape_set_hold_stats(t, hold);

	N = x0->d[0];
	zc[0] = snm_reshape(t, x0, 2, (int[]){ N, ld->width[0] });
	zn[0] = xn != NULL ? snm_reshape(t, xn, 2, (int[]){ N, ld->width[0] }) : NULL;
	cost = denoise(ld, t, raw, zc, zn, logits);

	memset(out, 0, sizeof *out);
	out->loss = snm_add(t, ce, cost);
	snm_objective_add(out, "ce", ce);
	snm_objective_add(out, "denoise", cost);
	return snm_objective_check(t, out, ld->who, err);
}

#endif
