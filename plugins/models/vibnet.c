/* vibnet.c: the `vibnet` model plugin -- the encoder and classifier of the information-bottleneck
 * paper (seed 003, "Variational Information Bottleneck for Semi-Supervised Classification",
 * appendix tables A1, A5, A11; notes/seed-003-vib.md section 2), as its Keras code builds them.
 *
 * Maps (N batch; K classes; A = option a_dim, 1024):
 *   encode     x (N,C,H,W) -> h_1 -> h_2 -> h_3 -> a (N,A):
 *                h_j = leaky_relu(BN?(conv_j(h_{j-1})), slope)      conv 4x4 stride 2: 32, 64, 128
 *                a = relu(h_3 W_a^T + b_a)    (latent: relu,   tables A1, A11)
 *                a = h_3 W_a^T + b_a          (latent: linear, tables A5, A8: the D_a models, whose
 *                                              N(0, I) prior needs an unbounded a)
 *   classify   a -> logits (N,K):
 *                classifier mlp:    relu(a W_1^T + b_1) W_2^T + b_2    (FC-500-ReLU, FC-K: the HCP
 *                                   tables' "decoder"; softmax in the loss)
 *                classifier linear: a W^T + b                          (the LP tables' c head)
 * The convolutions pad 1 on every side, the third 2: 28 -> 14 -> 7 -> 4 as Keras's "same" padding,
 * whose third layer pads (1, 2) -- snm's convolution pads alike on both sides, so its third
 * layer's windows sit one pixel earlier than Keras's (a documented deviation, README).
 * BN (option batchnorm, "with BN" in the seed's tables): after each convolution, before the
 * activation, with a learned scale and shift (Keras BatchNormalization: momentum 0.99, i.e. a
 * batch weight of 0.01 in snm's running statistics, eps 1e-3); never on the fully connected layers.
 * Initialisation: Keras's glorot_uniform weights U(-l, l), l = sqrt(6 / (fan_in + fan_out)) (a
 * convolution's fans: C R S and K R S), zero biases, BN scale 1 and shift 0, from the init stream
 * in registration order.
 *
 * Parameters, in registration order: enc.c<i>.w (K,C,4,4), enc.c<i>.b (K) [batchnorm: enc.c<i>.g,
 * enc.c<i>.beta, buffers enc.c<i>.bn.mean, enc.c<i>.bn.var], i = 1..3; enc.a.w (A, 2048 on MNIST),
 * enc.a.b; then cls.f1.w (500,A), cls.f1.b, cls.w (K,500), cls.b (mlp) or cls.w (K,A), cls.b.
 *
 * The hook sees the pre-activation of each convolution (layers 0..2; after BN when on) and of a
 * (layer 3).  The model has no tied decoders: the seed's decoder is the regularizer's own
 * (noise vib_lp); decode_z and decode_y fail, naming the model, for a regularizer that needs them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "snm/plugin.h"

#define N_CONV 3

typedef struct vibnet {
	int bn, linear_a, mlp;
	float slope, bn_eps, bn_momentum;
	int pad[N_CONV];
	snm_tensor *cw[N_CONV], *cb[N_CONV], *cg[N_CONV], *cbeta[N_CONV], *rm[N_CONV], *rv[N_CONV];
	snm_tensor *aw, *ab, *w1, *b1, *w2, *b2;
} vibnet;

static const snm_option options[] = {
	{ "batchnorm", SNM_OPT_BOOL, "false", NULL,
	  "batch normalisation after each convolution (the seed's \"with BN\" encoder)", NULL },
	{ "latent", SNM_OPT_CHOICE, "relu", "relu|linear",
	  "activation of the latent a (linear for the D_a models)", NULL },
	{ "classifier", SNM_OPT_CHOICE, "mlp", "mlp|linear",
	  "mlp: FC-500-ReLU then FC-classes (the HCP models); linear: one FC (the LP models' c head)", NULL },
	{ "a_dim", SNM_OPT_INT, "1024", NULL, "width of the latent a", "[1, 65536]" },
	{ "hidden", SNM_OPT_INT, "500", NULL, "mlp: width of the classifier's hidden layer", "[1, 65536]" },
	{ "slope", SNM_OPT_DOUBLE, "0.1", NULL, "the encoder's LeakyReLU slope", "[0, 1]" },
	{ "bn_momentum", SNM_OPT_DOUBLE, "0.01", NULL,
	  "batchnorm: weight of the batch in the running statistics (Keras momentum 0.99)", "(0, 1]" },
	{ "bn_eps", SNM_OPT_DOUBLE, "1e-3", NULL, "batchnorm: epsilon inside the square root", "[0, 1]" },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static const int conv_out[N_CONV] = { 32, 64, 128 };

static void destroy(void *state)
{
	free(state);
}

static snm_tensor *param(snm_params *p, const char *name, int n_d, const int *d, snm_error *err)
{
	return snm_params_add(p, name, n_d, d, SNM_T_PARAM, err);
}

/* Keras's glorot_uniform */
static void glorot(snm_tensor *w, gsl_rng *init, int fan_in, int fan_out)
{
	double l = sqrt(6.0 / (fan_in + fan_out));
	snm_init_uniform(w, init, -l, l);
}

static int make(vibnet *m, const snm_data_info *in, long a_dim, long hidden, snm_params *p,
                gsl_rng *init, snm_error *err)
{
	char name[40];
	int C = in->d[0], H = in->d[1], W = in->d[2], K = in->n_classes;
	for (int i = 0; i < N_CONV; ++i) {
		int k = conv_out[i];
		m->pad[i] = i == N_CONV - 1 ? 2 : 1;
		snprintf(name, sizeof name, "enc.c%d.w", i + 1);
		if ((m->cw[i] = param(p, name, 4, (int[]){ k, C, 4, 4 }, err)) == NULL)
			return err ? err->code : SNM_EINVAL;
		glorot(m->cw[i], init, C * 16, k * 16);
		snprintf(name, sizeof name, "enc.c%d.b", i + 1);
		if ((m->cb[i] = param(p, name, 1, (int[]){ k }, err)) == NULL)
			return err ? err->code : SNM_EINVAL;
		if (m->bn) {
			snprintf(name, sizeof name, "enc.c%d.g", i + 1);
			m->cg[i] = param(p, name, 1, (int[]){ k }, err);
			snprintf(name, sizeof name, "enc.c%d.beta", i + 1);
			m->cbeta[i] = m->cg[i] ? param(p, name, 1, (int[]){ k }, err) : NULL;
			snprintf(name, sizeof name, "enc.c%d.bn.mean", i + 1);
			m->rm[i] = m->cbeta[i] ? snm_params_add(p, name, 1, (int[]){ k }, SNM_T_BUFFER, err) : NULL;
			snprintf(name, sizeof name, "enc.c%d.bn.var", i + 1);
			m->rv[i] = m->rm[i] ? snm_params_add(p, name, 1, (int[]){ k }, SNM_T_BUFFER, err) : NULL;
			if (m->rv[i] == NULL)
				return err ? err->code : SNM_EINVAL;
			snm_init_fill(m->cg[i], 1.0f);
			snm_init_fill(m->rv[i], 1.0f);
		}
		if (H + 2 * m->pad[i] < 4 || W + 2 * m->pad[i] < 4)
			return SNM_FAIL(err, SNM_ECONFIG, "model 'vibnet': convolution %d: a 4x4 kernel does not "
			                "fit its %dx%d input", i + 1, H, W);
		H = (H + 2 * m->pad[i] - 4) / 2 + 1;
		W = (W + 2 * m->pad[i] - 4) / 2 + 1;
		C = k;
	}
	if ((m->aw = param(p, "enc.a.w", 2, (int[]){ (int)a_dim, C * H * W }, err)) == NULL
	    || (m->ab = param(p, "enc.a.b", 1, (int[]){ (int)a_dim }, err)) == NULL)
		return err ? err->code : SNM_EINVAL;
	glorot(m->aw, init, C * H * W, (int)a_dim);
	if (m->mlp) {
		if ((m->w1 = param(p, "cls.f1.w", 2, (int[]){ (int)hidden, (int)a_dim }, err)) == NULL
		    || (m->b1 = param(p, "cls.f1.b", 1, (int[]){ (int)hidden }, err)) == NULL)
			return err ? err->code : SNM_EINVAL;
		glorot(m->w1, init, (int)a_dim, (int)hidden);
	}
	{
		int I = m->mlp ? (int)hidden : (int)a_dim;
		if ((m->w2 = param(p, "cls.w", 2, (int[]){ K, I }, err)) == NULL
		    || (m->b2 = param(p, "cls.b", 1, (int[]){ K }, err)) == NULL)
			return err ? err->code : SNM_EINVAL;
		glorot(m->w2, init, I, K);
	}
	return SNM_OK;
}

static int create(const snm_cfg *opts, const snm_data_info *in, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	const char *latent, *classifier;
	long a_dim, hidden;
	double slope, mom, eps;
	vibnet *m;
	int rc, bn;
	*state = NULL;
	if ((rc = snm_cfg_check(opts, options, "model 'vibnet'", err))
	    || (rc = snm_cfg_opt_bool(opts, options, "batchnorm", &bn, err))
	    || (rc = snm_cfg_opt_str(opts, options, "latent", &latent, err))
	    || (rc = snm_cfg_opt_str(opts, options, "classifier", &classifier, err))
	    || (rc = snm_cfg_opt_int(opts, options, "a_dim", &a_dim, err))
	    || (rc = snm_cfg_opt_int(opts, options, "hidden", &hidden, err))
	    || (rc = snm_cfg_opt_double(opts, options, "slope", &slope, err))
	    || (rc = snm_cfg_opt_double(opts, options, "bn_momentum", &mom, err))
	    || (rc = snm_cfg_opt_double(opts, options, "bn_eps", &eps, err)))
		return rc;
	if (in->n_d != 3 || in->n_classes < 2)
		return SNM_FAIL(err, SNM_EINVAL, "model 'vibnet': examples must be (C,H,W) with at least 2 "
		                "classes");
	if ((m = calloc(1, sizeof *m)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for model 'vibnet'");
	m->bn = bn;
	m->linear_a = strcmp(latent, "linear") == 0;
	m->mlp = strcmp(classifier, "mlp") == 0;
	m->slope = (float)slope;
	m->bn_momentum = (float)mom;
	m->bn_eps = (float)eps;
	if ((rc = make(m, in, a_dim, hidden, params, init, err))) {
		free(m);
		return rc;
	}
	*state = m;
	return SNM_OK;
}

static int n_hidden(void *state)
{
	(void)state;
	return N_CONV;
}

static snm_tensor *encode(void *state, snm_tape *t, snm_tensor *x, snm_layer_hook hook, void *ctx,
                          snm_tensor **hidden)
{
	vibnet *m = state;
	snm_tensor *h = x, *a;
	for (int i = 0; i < N_CONV; ++i) {
		snm_tensor *pre = snm_conv2d(t, h, m->cw[i], m->cb[i], 2, m->pad[i]);
		if (m->bn)
			pre = snm_batchnorm(t, pre, m->cg[i], m->cbeta[i], m->rm[i], m->rv[i], m->bn_momentum,
			                    m->bn_eps, 0);
		if (pre != NULL && hook != NULL)
			pre = hook(ctx, t, SNM_HOOK_ARG(i, SNM_HOOK_PRE), pre);
		h = snm_leaky_relu(t, pre, m->slope);
		if (hidden != NULL)
			hidden[i] = h;
	}
	a = snm_linear(t, h, m->aw, m->ab, 0);
	if (a != NULL && hook != NULL)
		a = hook(ctx, t, SNM_HOOK_ARG(N_CONV, SNM_HOOK_PRE), a);
	return m->linear_a ? a : snm_relu(t, a);
}

static snm_tensor *classify(void *state, snm_tape *t, snm_tensor *a)
{
	vibnet *m = state;
	if (m->mlp)
		a = snm_relu(t, snm_linear(t, a, m->w1, m->b1, 0));
	return snm_linear(t, a, m->w2, m->b2, 0);
}

static snm_tensor *decode_z(void *state, snm_tape *t, snm_tensor *z, snm_tensor **hidden_r)
{
	(void)state, (void)z, (void)hidden_r;
	snm_tape_fail(t, SNM_EINVAL, "model 'vibnet' has no tied decoder (decode_z): use it with a "
	              "regularizer that owns its decoder (vib_lp) or none");
	return NULL;
}

static snm_tensor *decode_y(void *state, snm_tape *t, snm_tensor *y)
{
	(void)state, (void)y;
	snm_tape_fail(t, SNM_EINVAL, "model 'vibnet' has no tied decoder (decode_y)");
	return NULL;
}

static const snm_model_vt vt = {         /* no encode_post: no post-activation hook */
	sizeof vt, create, destroy, n_hidden, encode, classify, decode_z, decode_y, NULL
};

SNM_PLUGIN_DEFINE(SNM_KIND_MODEL, "vibnet", "1.0.0",
                  "the information-bottleneck paper's encoder (conv 32-64-128, FC-1024 latent a) and "
                  "classifier (FC-500-FC or one FC), optional batch norm", &vt, options);
