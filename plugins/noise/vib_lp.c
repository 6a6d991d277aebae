/* vib_lp.c: the `vib_lp` noise plugin -- the information-bottleneck regularizer with learnable
 * priors of seed 003 (a semi-supervised adversarial autoencoder on the classifier's latent space;
 * notes/seed-003-vib.md sections 1.2, 2 (tables A11, A14), 3.3; the Keras scripts
 * train_model_Dcc_Dz_Dc_Dxx.py and _Dcc_Dz_Dc_Dxx_Dx.py), for the model vibnet with
 * `classifier: linear` (the c head) on MNIST-shaped data (C,28,28):
 *
 *   D_cc^ + alpha_c D_c + alpha_z D_z + beta_x D_xx^ [+ alpha_x D_x]
 *
 * Networks the plugin owns (every parameter under "vib."; vib.h):
 *   z head       z = a W_z^T + b_z                   (N,Z), Z = 10: vib.zhead.w (Z,A), .b
 *   decoder      x^ = Dec([z, c]):  FC to 128x7x7, then [BN, ReLU, ConvT 128 k5 s2] -> 14x14,
 *                [BN, ReLU, ConvT 128 k5 s2] -> 28x28, [BN, ReLU, ConvT 64 k5 s1],
 *                [BN, ReLU, ConvT C k5 s1], sigmoid (table A11; always with BN: Keras momentum
 *                0.99, eps 1e-3).  The FC on the concatenation [z, c] is computed as
 *                z W_z'^T + c W_c'^T + b (vib.dec.fz.w (6272,Z), vib.dec.fc.w (6272,K), vib.dec.f.b),
 *                the same map; then vib.dec.bn<i>.{g,beta,mean,var}, vib.dec.t<i>.{w,b}.
 *                Transposed convolutions pad 2 on every side (Keras "same" pads (1, 2) for k5
 *                s2: the windows sit one pixel off Keras's, a documented deviation).
 *   D_z, D_c     MLP discriminators (vib.disc_z, vib.disc_c) on z and on c = softmax(logits)
 *   D_x          (alpha_x > 0 and dx: true) vib.disc_x: conv k5 s2 64, s2 64, s2 128, s1 256,
 *                LeakyReLU 0.2, no BN, then FC-1 on the 4096 features (table A14)
 *
 * Updates of a training step (snm_update; each its own Adam state, as each Keras model compiled
 * its own), in the seed's order, all on the same batch:
 *   d_x  (dx)   moves vib.disc_x:   BCE(D_x([x_u; Dec([z_p, c_p])]), [1; 0]), z_p ~ N(0, I_Z) and
 *               c_p = onehot tile (B/K of each class), the fakes constants
 *   ae          moves all but the discriminators:
 *               beta_x MSE(Dec([z(x_u), softmax(c(x_u))]), x_u) [+ alpha_x BCE(D_x(Dec([z_p, c_p])), 1)]
 *               with the same z_p as d_x's; MSE is the mean over pixels and batch
 *   d_z         moves vib.disc_z:   BCE(D_z([N(0, I_Z); z(x_u)]), [1; 0])
 *   d_c         moves vib.disc_c:   BCE(D_c([onehot; softmax(c(x_u))]), [1; 0])
 *   adv         moves the encoder and its heads (not the decoder, not the discriminators):
 *               alpha_z BCE(D_z(z(x_u)), 1) + alpha_c BCE(D_c(softmax(c(x_u))), 1)
 *   cls (main)  moves the encoder and the classifier:  CE(c(x_l), y_l)
 * x_u here is the example as the data plugin gave it, in [0, 1]: the network's input plus the
 * mean the runner subtracted (snm_batch.mean).  Terms: d_x, mse, g_x, d_z, d_c, g_z, g_c, ce.
 * Randomness: d_x draws B x Z normals, d_z another B x Z, from the noise stream; with
 * label_noise > 0 (the stochastic encoder [S], vib.h) cls one version per labelled row. */
#include <stdlib.h>
#include <string.h>
#include "vib.h"

#define ZDIM 10
#define DEC_C 128
#define N_T 4

typedef struct lp {
	double alpha_c, alpha_z, beta_x, alpha_x;
	int dx;
	int A, K, C;
	snm_tensor *zw, *zb;
	snm_tensor *fzw, *fcw, *fb;
	snm_tensor *bg[N_T], *bb[N_T], *rm[N_T], *rv[N_T], *tw[N_T], *tb[N_T];
	vib_mlp dz, dc;
	snm_tensor *xw[4], *xb[4], *xfw, *xfb;
	float *zp;                       /* the step's z_p, drawn by d_x for ae (B x Z) */
	int zp_rows;
	snm_update upd[6];
	int n_upd, k_dx, k_ae, k_dz, k_dc, k_adv, k_cls;
	vib_copies cp;                   /* [S]: the labelled set's noisy copies (vib.h) */
} lp;

static const snm_option options[] = {
	{ "alpha_c", SNM_OPT_DOUBLE, "1", NULL, "weight of D_c (the categorical prior on c)", "(0, inf)" },
	{ "alpha_z", SNM_OPT_DOUBLE, "1", NULL, "weight of D_z (the N(0, I) prior on z)", "(0, inf)" },
	{ "beta_x", SNM_OPT_DOUBLE, "1", NULL, "weight of D_xx^ (the MSE reconstruction)", "(0, inf)" },
	{ "dx", SNM_OPT_BOOL, "false", NULL,
	  "add D_x, the image discriminator on decoded prior samples (table A14)", NULL },
	{ "alpha_x", SNM_OPT_DOUBLE, "0.005", NULL, "dx: weight of D_x", "(0, inf)" },
	VIB_COPIES_OPTIONS,
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static void destroy(void *state)
{
	lp *l = state;
	if (l == NULL)
		return;
	vib_copies_free(&l->cp);
	free(l->zp);
	free(l);
}

static snm_tensor *param(snm_params *p, const char *name, int n_d, const int *d, snm_error *err)
{
	return snm_params_add(p, name, n_d, d, SNM_T_PARAM, err);
}

/* The z head, the decoder and D_x, registered and initialised in the documented order. */
static int make_nets(lp *l, snm_params *p, gsl_rng *init, snm_error *err)
{
	static const int t_out[N_T] = { DEC_C, DEC_C, 64, 0 }, t_in[N_T] = { DEC_C, DEC_C, DEC_C, 64 };
	static const int x_out[4] = { 64, 64, 128, 256 };
	char name[48];
	int F = DEC_C * 7 * 7;
	if ((l->zw = param(p, "vib.zhead.w", 2, (int[]){ ZDIM, l->A }, err)) == NULL
	    || (l->zb = param(p, "vib.zhead.b", 1, (int[]){ ZDIM }, err)) == NULL
	    || (l->fzw = param(p, "vib.dec.fz.w", 2, (int[]){ F, ZDIM }, err)) == NULL
	    || (l->fcw = param(p, "vib.dec.fc.w", 2, (int[]){ F, l->K }, err)) == NULL
	    || (l->fb = param(p, "vib.dec.f.b", 1, (int[]){ F }, err)) == NULL)
		return err ? err->code : SNM_EINVAL;
	vib_glorot(l->zw, init, l->A, ZDIM);
	vib_glorot(l->fzw, init, ZDIM + l->K, F);
	vib_glorot(l->fcw, init, ZDIM + l->K, F);
	for (int i = 0; i < N_T; ++i) {
		int c_in = t_in[i], c_out = i == N_T - 1 ? l->C : t_out[i];
		snprintf(name, sizeof name, "vib.dec.bn%d.g", i + 1);
		l->bg[i] = param(p, name, 1, (int[]){ c_in }, err);
		snprintf(name, sizeof name, "vib.dec.bn%d.beta", i + 1);
		l->bb[i] = l->bg[i] ? param(p, name, 1, (int[]){ c_in }, err) : NULL;
		snprintf(name, sizeof name, "vib.dec.bn%d.mean", i + 1);
		l->rm[i] = l->bb[i] ? snm_params_add(p, name, 1, (int[]){ c_in }, SNM_T_BUFFER, err) : NULL;
		snprintf(name, sizeof name, "vib.dec.bn%d.var", i + 1);
		l->rv[i] = l->rm[i] ? snm_params_add(p, name, 1, (int[]){ c_in }, SNM_T_BUFFER, err) : NULL;
		snprintf(name, sizeof name, "vib.dec.t%d.w", i + 1);
		l->tw[i] = l->rv[i] ? param(p, name, 4, (int[]){ c_in, c_out, 5, 5 }, err) : NULL;
		snprintf(name, sizeof name, "vib.dec.t%d.b", i + 1);
		l->tb[i] = l->tw[i] ? param(p, name, 1, (int[]){ c_out }, err) : NULL;
		if (l->tb[i] == NULL)
			return err ? err->code : SNM_EINVAL;
		snm_init_fill(l->bg[i], 1.0f);
		snm_init_fill(l->rv[i], 1.0f);
		vib_glorot(l->tw[i], init, 25 * c_in, 25 * c_out);
	}
	if (!l->dx)
		return SNM_OK;
	for (int i = 0, c = l->C; i < 4; c = x_out[i++]) {
		snprintf(name, sizeof name, "vib.disc_x.c%d.w", i + 1);
		l->xw[i] = param(p, name, 4, (int[]){ x_out[i], c, 5, 5 }, err);
		snprintf(name, sizeof name, "vib.disc_x.c%d.b", i + 1);
		if (l->xw[i] == NULL || (l->xb[i] = param(p, name, 1, (int[]){ x_out[i] }, err)) == NULL)
			return err ? err->code : SNM_EINVAL;
		vib_glorot(l->xw[i], init, 25 * c, 25 * x_out[i]);
	}
	if ((l->xfw = param(p, "vib.disc_x.f.w", 2, (int[]){ 1, 256 * 4 * 4 }, err)) == NULL
	    || (l->xfb = param(p, "vib.disc_x.f.b", 1, (int[]){ 1 }, err)) == NULL)
		return err ? err->code : SNM_EINVAL;
	vib_glorot(l->xfw, init, 256 * 4 * 4, 1);
	return SNM_OK;
}

static int create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	const snm_tensor *c1;
	lp *l;
	int rc;
	(void)model;
	*state = NULL;
	if ((l = calloc(1, sizeof *l)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for noise 'vib_lp'");
	if ((rc = snm_cfg_check(opts, options, "noise 'vib_lp'", err))
	    || (rc = snm_cfg_opt_double(opts, options, "alpha_c", &l->alpha_c, err))
	    || (rc = snm_cfg_opt_double(opts, options, "alpha_z", &l->alpha_z, err))
	    || (rc = snm_cfg_opt_double(opts, options, "beta_x", &l->beta_x, err))
	    || (rc = snm_cfg_opt_double(opts, options, "alpha_x", &l->alpha_x, err))
	    || (rc = snm_cfg_opt_bool(opts, options, "dx", &l->dx, err))
	    || (rc = vib_widths(params, "noise 'vib_lp'", &l->A, &l->K, err)))
		goto fail;
	c1 = snm_params_find(params, "enc.c1.w");
	l->C = c1 != NULL ? c1->d[1] : 1;
	if ((rc = make_nets(l, params, init, err))
	    || (rc = vib_mlp_make(&l->dz, params, "vib.disc_z", ZDIM, init, err))
	    || (rc = vib_mlp_make(&l->dc, params, "vib.disc_c", l->K, init, err)))
		goto fail;
	l->k_dx = -1;
	if (l->dx) {
		l->k_dx = l->n_upd;
		l->upd[l->n_upd++] = (snm_update){ "d_x", "vib.disc_x.", 0 };
	}
	l->k_ae = l->n_upd;
	l->upd[l->n_upd++] = (snm_update){ "ae", "-vib.disc", 0 };
	l->k_dz = l->n_upd;
	l->upd[l->n_upd++] = (snm_update){ "d_z", "vib.disc_z.", 0 };
	l->k_dc = l->n_upd;
	l->upd[l->n_upd++] = (snm_update){ "d_c", "vib.disc_c.", 0 };
	l->k_adv = l->n_upd;
	l->upd[l->n_upd++] = (snm_update){ "adv", "-vib.disc -vib.dec.", 0 };
	l->k_cls = l->n_upd;
	l->upd[l->n_upd++] = (snm_update){ "cls", "-vib.", 1 };
	if ((rc = vib_copies_make(&l->cp, opts, options, init, err)))
		goto fail;
	*state = l;
	return SNM_OK;
fail:
	destroy(l);
	return rc;
}

static int wants_unlabelled(void *state)
{
	(void)state;
	return 1;
}

static int updates(void *state, const snm_update **out)
{
	lp *l = state;
	*out = l->upd;
	return l->n_upd;
}

/* x^ = Dec([z, c]) (N, C, 28, 28) */
static snm_tensor *decode(snm_tape *t, const lp *l, snm_tensor *z, snm_tensor *c)
{
	static const int stride[N_T] = { 2, 2, 1, 1 }, side[N_T + 1] = { 7, 14, 28, 28, 28 };
	snm_tensor *u;
	int N;
	if (z == NULL || c == NULL)
		return NULL;
	N = z->d[0];
	u = snm_add(t, snm_linear(t, z, l->fzw, l->fb, 0), snm_linear(t, c, l->fcw, NULL, 0));
	u = snm_reshape(t, u, 4, (int[]){ N, DEC_C, 7, 7 });
	for (int i = 0; i < N_T; ++i) {
		u = snm_relu(t, snm_batchnorm(t, u, l->bg[i], l->bb[i], l->rm[i], l->rv[i], 0.01f, 1e-3f, 0));
		u = snm_conv2d_t(t, u, l->tw[i], l->tb[i], stride[i], 2, side[i + 1], side[i + 1]);
	}
	return snm_sigmoid(t, u);
}

/* A parameter as an update that holds it uses it: with held, a constant copy of its values, so
 * that the backward pass computes no gradient for it (the engine's update would discard it) --
 * the gradient still flows through it to its input, with the same bits; else p itself. */
static snm_tensor *use(snm_tape *t, snm_tensor *p, int held)
{
	return held ? snm_tape_const(t, p->n_d, p->d, p->x) : p;
}

/* D_x's logits (N, 1) of images (N, C, 28, 28); held: its parameters as constants (use) */
static snm_tensor *disc_x(snm_tape *t, const lp *l, snm_tensor *x, int held)
{
	static const int stride[4] = { 2, 2, 2, 1 };
	for (int i = 0; i < 4; ++i)
		x = snm_leaky_relu(t, snm_conv2d(t, x, use(t, l->xw[i], held), use(t, l->xb[i], held), stride[i],
		                                 2), 0.2f);
	return snm_linear(t, x, use(t, l->xfw, held), use(t, l->xfb, held), 0);
}

/* vib_mlp_logits of a held discriminator (its parameters as constants: use) */
static snm_tensor *mlp_held(snm_tape *t, const vib_mlp *d, snm_tensor *x)
{
	vib_mlp h;
	for (int i = 0; i < 3; ++i) {
		h.w[i] = use(t, d->w[i], 1);
		h.b[i] = use(t, d->b[i], 1);
	}
	return vib_mlp_logits(t, &h, x);
}

/* x_u as the data plugin gave it: the input plus the runner's mean (a constant). */
static snm_tensor *data_xu(snm_tape *t, const snm_batch *b)
{
	snm_tensor *u = snm_tape_const(t, b->xu->n_d, b->xu->d, b->xu->x);
	size_t dim = snm_tensor_cols(b->xu), n = snm_tensor_len(b->xu);
	if (u != NULL && b->mean != NULL)
		for (size_t i = 0; i < n; ++i)
			u->x[i] += b->mean[i % dim];
	return u;
}

/* z_p for d_x and ae: drawn by d_x from the noise stream, kept for ae of the same step. */
static snm_tensor *prior_z(snm_tape *t, lp *l, int B, int draw, gsl_rng *noise)
{
	snm_tensor *z;
	if (draw) {
		float *zp = l->zp_rows >= B ? l->zp : realloc(l->zp, (size_t)B * ZDIM * sizeof *zp);
		if (zp == NULL) {
			snm_tape_fail(t, SNM_ENOMEM, "noise 'vib_lp': out of memory");
			return NULL;
		}
		l->zp = zp;
		l->zp_rows = l->zp_rows >= B ? l->zp_rows : B;
		if ((z = snm_randn(t, 2, (int[]){ B, ZDIM }, 1.0f, noise)) != NULL)
			memcpy(l->zp, z->x, (size_t)B * ZDIM * sizeof *l->zp);
		return z;
	}
	if (l->zp == NULL || l->zp_rows < B) {
		snm_tape_fail(t, SNM_ESTATE, "noise 'vib_lp': update ae before d_x drew z_p");
		return NULL;
	}
	return snm_tape_const(t, 2, (int[]){ B, ZDIM }, l->zp);
}

static int objective_at(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
                        gsl_rng *noise, const snm_progress *at, snm_objective *out, snm_error *err)
{
	lp *l = state;
	const snm_model_vt *m = model->vt;
	int k = at->size >= sizeof *at ? at->update : l->k_cls, old[2], B;
	snm_tensor *a, *z, *c;
	memset(out, 0, sizeof *out);
	if (b->xu == NULL || b->xu->n_d != 4 || b->xu->d[1] != l->C || b->xu->d[2] != 28 || b->xu->d[3] != 28)
		return SNM_FAIL(err, SNM_EINVAL, "noise 'vib_lp': needs unlabelled examples of shape (%d,28,28)",
		                l->C);
	B = b->xu->d[0];
	if (k == l->k_cls) {
		out->loss = snm_softmax_ce(t, m->classify(model->state, t,
		                           m->encode(model->state, t, vib_labelled(t, &l->cp, b, noise), NULL, NULL,
		                                     NULL)), b->labels);
		snm_objective_add(out, "ce", out->loss);
	} else if (k == l->k_dx) {
		snm_tensor *fake;
		z = prior_z(t, l, B, 1, noise);
		vib_no_grad_begin(t, old);
		fake = decode(t, l, z, snm_onehot_tile(t, B, l->K));
		vib_no_grad_end(t, old);
		out->loss = snm_adv_d_loss(t, disc_x(t, l, data_xu(t, b), 0), disc_x(t, l, fake, 0));
		snm_objective_add(out, "d_x", out->loss);
	} else if (k == l->k_dz || k == l->k_dc) {
		snm_tensor *fake, *real;
		vib_no_grad_begin(t, old);
		a = m->encode(model->state, t, b->xu, NULL, NULL, NULL);
		fake = k == l->k_dz ? snm_linear(t, a, l->zw, l->zb, 0)
		                    : snm_softmax(t, m->classify(model->state, t, a));
		vib_no_grad_end(t, old);
		if (k == l->k_dz) {
			real = snm_randn(t, 2, (int[]){ B, ZDIM }, 1.0f, noise);
			out->loss = snm_adv_d_loss(t, vib_mlp_logits(t, &l->dz, real), vib_mlp_logits(t, &l->dz, fake));
			snm_objective_add(out, "d_z", out->loss);
		} else {
			real = snm_onehot_tile(t, B, l->K);
			out->loss = snm_adv_d_loss(t, vib_mlp_logits(t, &l->dc, real), vib_mlp_logits(t, &l->dc, fake));
			snm_objective_add(out, "d_c", out->loss);
		}
	} else {
		a = m->encode(model->state, t, b->xu, NULL, NULL, NULL);
		z = snm_linear(t, a, l->zw, l->zb, 0);
		c = snm_softmax(t, m->classify(model->state, t, a));
		if (k == l->k_ae) {
			static const char *const names[2] = { "mse", "g_x" };
			snm_tensor *terms[2] = { NULL, NULL };
			float w[2] = { (float)l->beta_x, l->dx ? (float)l->alpha_x : 0.0f };
			snm_tensor *xr = decode(t, l, z, c);
			terms[0] = snm_scale(t, snm_sqerr(t, xr, data_xu(t, b)), 1.0f / (float)snm_tensor_cols(b->xu));
			if (l->dx)
				terms[1] = snm_adv_g_loss(t, disc_x(t, l, decode(t, l, prior_z(t, l, B, 0, noise),
				                                                 snm_onehot_tile(t, B, l->K)), 1));
			vib_weighted(t, out, 2, names, terms, w);
		} else {
			static const char *const names[2] = { "g_z", "g_c" };
			snm_tensor *terms[2];
			float w[2] = { (float)l->alpha_z, (float)l->alpha_c };
			terms[0] = snm_adv_g_loss(t, mlp_held(t, &l->dz, z));
			terms[1] = snm_adv_g_loss(t, mlp_held(t, &l->dc, c));
			vib_weighted(t, out, 2, names, terms, w);
		}
	}
	return snm_objective_check(t, out, "noise 'vib_lp'", err);
}

static const snm_noise_vt vt = {
	.size = sizeof vt, .create = create, .destroy = destroy, .wants_unlabelled = wants_unlabelled,
	.objective_at = objective_at, .updates = updates
};

SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "vib_lp", "1.0.0",
                  "information bottleneck with learnable priors (seed 003): a semi-supervised "
                  "adversarial autoencoder on the classifier's latent (z head, [z,c] decoder, D_z, "
                  "D_c, optional D_x), own Adam per update", &vt, options);
