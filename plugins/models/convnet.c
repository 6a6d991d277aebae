/* convnet.c: the `convnet` model plugin -- a stack of convolutional and fully connected layers
 * with a classifier on top and decoders whose weights are tied to the encoder's, the networks of
 * the semantic-noise paper (section 4.2, Figure 4).
 *
 * Maps (N batch; every hidden layer and z use ReLU, as the paper's reference model does):
 *   encode     x (N,C,H,W) -> h_1 -> ... -> h_L -> z (N,Z),  h_j = relu(layer_j(h_{j-1})),
 *              z = relu(layer_{L+1}(h_L)); the last layer is fully connected and gives z.
 *   classify   y = z W_cls^T + b_cls                              (N,K) logits, no activation
 *   decode_z   each layer backwards with its own weight, transposed: a fully connected layer
 *              u -> u W + b_dec (reshaped to the layer's input shape), a convolution
 *              u -> conv_transpose(u, W, b_dec) sized to the layer's recorded input; ReLU after
 *              every decoder except the last, so h_jR = relu(...) and x_R has NO activation.
 *   decode_y   z_R = relu(y W_cls + b_dec_z)                      (N,Z)
 * Hidden layers keep their natural shapes: a convolution's h_j is (N,K,P,Q) (not flattened, also
 * the last one before z), a fully connected one's (N,F); h_jR has exactly the shape of h_j.
 *
 * Presets (option `preset`):
 *   mnist     conv 3x3/2 pad 1: 32, 64, 96 -> fc 128 (z) -> 10; on 1x28x28: 28 -> 14 -> 7 -> 4,
 *             exactly Net in peers/torch_ref.py (its decoders dec_z, dec_y included)
 *   pi-mnist  fc 512, 256, 256, 128 (z) on the flattened input -> 10
 *   cifar10   conv 5x5/1 pad 2: 64, conv 3x3/2 pad 1: 64, 64, 96 -> fc 128 -> fc 128 (z) -> 10
 *   custom    the list in option `layers`: [{conv: 32, k: 3, stride: 2, pad: 1}, {fc: 128}]
 *             (conv: k default 3, stride default 1, pad default (k-1)/2; the last entry must be
 *             fc: it is z).  The number of classes always comes from the data.
 *
 * Parameters, in registration (= optimizer and checkpoint) order.  Convolutions are numbered c1,
 * c2, ... and fully connected layers f1, f2, ... separately, in input-to-output order:
 *   enc.c<i>.w (K,C,R,S)  enc.c<i>.b (K)      enc.f<i>.w (O,I)  enc.f<i>.b (O)
 *   cls.w (K,Z)  cls.b (K)
 *   dec.z.b (Z)                        bias of decode_y
 *   dec.h<j>.b, j = L..1               bias of the decoder producing h_jR: one per channel of
 *                                      h_j when the layer reading h_j is a convolution, one per
 *                                      element of h_j when it is fully connected (dec.h3.b of
 *                                      mnist has 96*4*4 = 1536 elements)
 *   dec.x.b                            bias of x_R: likewise (C) below a convolution, (C*H*W)
 *                                      below a fully connected first layer
 * With mnist these are torch_ref's c1..c3, f1, f2 (= cls), b_z, b_h3, b_h2, b_h1, b_x in that
 * order.  Initialisation: encoder and classifier weights and biases PyTorch's default
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) in registration order from the init stream; decoder biases
 * zero.  No decoder weight exists: decoders read the encoder's tensors, so their gradients add up.
 *
 * The encode hook sees each pre-activation: layer 0..L-1 for h_1..h_L, layer L for z.
 * encode_post's post hook (ABI 1.4) sees each output after its ReLU, numbered alike; what it
 * returns is the layer's output (VAT's hidden-layer noise).
 *
 * Batch normalisation (option `batchnorm`, default false; the ladder network's encoder, Rasmus et
 * al. as CuriousAI/ladder and rinuboney/ladder build it).  Every layer then computes, with u the
 * layer's input and per unit (per channel for a convolution):
 *     a = W u                         no bias: a bias before a normalisation cancels out
 *     z = (a - mean) / sqrt(var + eps)        batch statistics, BIASED variance (snm_batchnorm,
 *                                             no learnable scale)
 *     h = relu(z + beta)              beta = enc.<c|f><i>.b, a learned shift per unit, init 0
 * and the classifier  z_c = BN(W_cls z),  y = gamma (z_c + beta_c)  (logits; softmax in the loss),
 * gamma = cls.g (init 1), beta_c = cls.b (init 0), as the ladder's top layer with top_c.  With
 * option `bn_scale` (default false) every hidden layer and z also get a learned scale per unit,
 * as takerum/vat's batch normalisation (Linear-BN-ReLU with scale and shift) and PyTorch's
 * BatchNorm1d have it:  h = relu(g z + beta),  g = enc.<c|f><i>.g, init 1 (without it the
 * ladder's convention: no hidden scale; the hook sees z before g and beta either way).  Running
 * statistics (buffers, SNM_T_BUFFER) r_mean (init 0), r_var (init 1) follow
 * r = (1 - bn_momentum) r + bn_momentum batch (unbiased variance) at every training-mode
 * normalisation; evaluation mode (snm_tape_set_training(t, 0), the trainer's evaluation)
 * normalises with them instead, the ladder's test-time network.  Weights start as the ladder
 * code's: fully connected N(0, 1/fan_in), convolutions U(-sqrt(3/fan_in), sqrt(3/fan_in)) (the
 * same variance), from the init stream in registration order.  The tied decoders are unchanged.
 * Extra entries, each after its layer's w and b:
 *   enc.<c|f><i>.g (K or O)                                    parameter, bn_scale only
 *   enc.<c|f><i>.bn.mean, enc.<c|f><i>.bn.var (K or O)          buffers
 *   cls.g (K) after cls.b, then cls.bn.mean, cls.bn.var (K)      parameter, buffers
 * The hook then follows the batch-normalisation convention of snm/plugin.h: for layer i it is
 * called first in phase SNM_HOOK_RAW with the raw a = W u (what it returns is normalised), then in
 * phase SNM_HOOK_PRE with the normalised z (before beta: what the ladder corrupts and records).
 * The classifier is layer L + 1: classify calls the hook of the encode that returned its input z
 * (same tensor, same tape), once.  Without batchnorm nothing of this exists and
 * classify calls no hook. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "snm/plugin.h"

enum { LAYER_CONV = 0, LAYER_FC = 1 };

typedef struct layer {
	int kind;                 /* LAYER_CONV or LAYER_FC */
	int out;                  /* filters K or units O */
	int r, stride, pad;       /* convolution only: square kernel R = S */
	int in_n_d, in_d[3];      /* one example's input: (C,H,W), or (F) */
	int out_n_d, out_d[3];    /* one example's output: (K,P,Q), or (O) */
	snm_tensor *w, *b;        /* encoder weight and bias (batchnorm: the shift beta) */
	snm_tensor *g;            /* batchnorm with bn_scale: the scale per unit; else NULL */
	snm_tensor *db;           /* decoder bias: reconstruction of this layer's input */
	snm_tensor *rm, *rv;      /* batchnorm: running mean and variance */
} layer;

typedef struct convnet {
	int n_layers;             /* hidden layers + the z layer */
	layer *l;
	snm_tensor *cls_w, *cls_b, *dec_z_b;
	int bn, bn_scale;         /* options batchnorm, bn_scale */
	float bn_eps, bn_momentum;
	snm_tensor *cls_g, *cls_rm, *cls_rv;   /* batchnorm: classifier scale, running statistics */
	/* batchnorm: the hook of the last encode, for classify of the z it returned */
	snm_tape *hook_t;
	snm_tensor *hook_z;
	snm_layer_hook hook;
	void *hook_ctx;
} convnet;

/* The preset tables, input-to-output; the last entry is z. */
typedef struct layer_spec { int kind, out, r, stride, pad; } layer_spec;

static const layer_spec preset_mnist[] = {
	{ LAYER_CONV, 32, 3, 2, 1 }, { LAYER_CONV, 64, 3, 2, 1 }, { LAYER_CONV, 96, 3, 2, 1 },
	{ LAYER_FC, 128, 0, 0, 0 },
};
static const layer_spec preset_pi_mnist[] = {
	{ LAYER_FC, 512, 0, 0, 0 }, { LAYER_FC, 256, 0, 0, 0 }, { LAYER_FC, 256, 0, 0, 0 },
	{ LAYER_FC, 128, 0, 0, 0 },
};
static const layer_spec preset_cifar10[] = {
	{ LAYER_CONV, 64, 5, 1, 2 }, { LAYER_CONV, 64, 3, 2, 1 }, { LAYER_CONV, 64, 3, 2, 1 },
	{ LAYER_CONV, 96, 3, 2, 1 }, { LAYER_FC, 128, 0, 0, 0 }, { LAYER_FC, 128, 0, 0, 0 },
};

static const snm_option options[] = {
	{ "preset", SNM_OPT_CHOICE, "mnist", "mnist|pi-mnist|cifar10|custom",
	  "architecture of the paper's section 4.2, or custom (from layers)", NULL },
	{ "layers", SNM_OPT_NODE, "[]", NULL,
	  "custom only: [{conv: K, k: 3, stride: 1, pad: 1}, ..., {fc: Z}]; the last fc is z", NULL },
	{ "batchnorm", SNM_OPT_BOOL, "false", NULL,
	  "ladder-style batch normalisation of every layer and the classifier (see convnet.c)", NULL },
	{ "bn_eps", SNM_OPT_DOUBLE, "1e-10", NULL,
	  "batchnorm: epsilon inside the square root (the ladder codes' 1e-10)", "[0, 1]" },
	{ "bn_momentum", SNM_OPT_DOUBLE, "0.1", NULL,
	  "batchnorm: weight of the batch in the running statistics (rinuboney/ladder: 0.01)",
	  "(0, 1]" },
	{ "bn_scale", SNM_OPT_BOOL, "false", NULL,
	  "batchnorm: a learned scale per unit on every hidden layer and z, h = relu(g z + beta) "
	  "(takerum/vat's batch norm); false: the ladder's, none", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static void destroy(void *state)
{
	convnet *m = state;
	if (m == NULL)
		return;
	free(m->l);
	free(m);
}

/* "file:line:col: layers[i]: " prefix for a message about node n. */
static int layer_fail(snm_error *err, const snm_cfg *n, size_t i, const char *what)
{
	return SNM_CFG_FAIL(err, SNM_ECONFIG, n, "layers[%zu]: %s", i, what);
}

/* Reads the integer under key in layer entry n, in [lo, 65536]; def when the key is absent. */
static int layer_int(const snm_cfg *n, const char *key, long def, long lo, long *out, size_t i,
                     snm_error *err)
{
	const snm_cfg *v = snm_cfg_get(n, key);
	int rc;
	char msg[96];
	if (v == NULL) {
		*out = def;
		return 0;
	}
	if ((rc = snm_cfg_to_int(v, out, err)) != 0)
		return rc;
	if (*out < lo || *out > 65536) {
		snprintf(msg, sizeof msg, "'%s' must be in [%ld, 65536], got %ld", key, lo, *out);
		return layer_fail(err, v, i, msg);
	}
	return 0;
}

/* Parses the `layers` list of preset custom into spec[0..*n) (malloc'd, caller frees). */
static int parse_layers(const snm_cfg *list, layer_spec **spec, int *n, snm_error *err)
{
	size_t len = snm_cfg_len(list), i, k;
	layer_spec *s;
	int rc;
	*spec = NULL;
	if (snm_cfg_kind(list) != SNM_CFG_SEQ || len == 0)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, list, "model 'convnet': preset custom needs a "
		                    "non-empty list 'layers' such as [{conv: 32, k: 3, stride: 2}, {fc: 128}]");
	if (len > 64)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, list, "model 'convnet': %zu layers (64 at most)", len);
	if ((s = calloc(len, sizeof *s)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for %zu layers", len);
	for (i = 0; i < len; ++i) {
		const snm_cfg *e = snm_cfg_at(list, i);
		long v, r, stride, pad;
		int is_conv = snm_cfg_get(e, "conv") != NULL, is_fc = snm_cfg_get(e, "fc") != NULL;
		if (snm_cfg_kind(e) != SNM_CFG_MAP || is_conv == is_fc) {
			rc = layer_fail(err, e, i, "expected a mapping with exactly one of 'conv' or 'fc'");
			goto fail;
		}
		for (k = 0; k < snm_cfg_len(e); ++k) {
			const char *key = snm_cfg_key_at(e, k);
			int ok = is_conv ? (!strcmp(key, "conv") || !strcmp(key, "k") || !strcmp(key, "stride")
			                    || !strcmp(key, "pad"))
			                 : !strcmp(key, "fc");
			if (!ok) {
				const snm_cfg *v = snm_cfg_value_at(e, k);
				rc = SNM_FAIL(err, SNM_ECONFIG, "%s:%d:%d: layers[%zu]: unknown key '%s' in a%s "
				              "layer (known: %s)", snm_cfg_file(v), snm_cfg_key_line(v),
				              snm_cfg_key_col(v), i, key, is_conv ? " conv" : "n fc",
				              is_conv ? "conv, k, stride, pad" : "fc");
				goto fail;
			}
		}
		if ((rc = layer_int(e, is_conv ? "conv" : "fc", -1, 1, &v, i, err)) != 0)
			goto fail;
		s[i].kind = is_conv ? LAYER_CONV : LAYER_FC;
		s[i].out = (int)v;
		if (is_conv) {
			if ((rc = layer_int(e, "k", 3, 1, &r, i, err)) != 0
			    || (rc = layer_int(e, "stride", 1, 1, &stride, i, err)) != 0
			    || (rc = layer_int(e, "pad", (r - 1) / 2, 0, &pad, i, err)) != 0)
				goto fail;
			s[i].r = (int)r;
			s[i].stride = (int)stride;
			s[i].pad = (int)pad;
		}
	}
	if (s[len - 1].kind != LAYER_FC) {
		rc = layer_fail(err, snm_cfg_at(list, len - 1), len - 1,
		                "the last layer gives z and must be fc");
		goto fail;
	}
	*spec = s;
	*n = (int)len;
	return 0;
fail:
	free(s);
	return rc;
}

static snm_tensor *add_param(snm_params *p, const char *name, int n_d, const int *d, snm_error *err)
{
	return snm_params_add(p, name, n_d, d, SNM_T_PARAM, err);
}

/* batchnorm: the running statistics "<prefix>.bn.mean" (0) and "<prefix>.bn.var" (1) of n units. */
static int add_running(snm_params *p, const char *prefix, int n, snm_tensor **rm, snm_tensor **rv,
                       snm_error *err)
{
	char name[48];
	snprintf(name, sizeof name, "%s.bn.mean", prefix);
	if ((*rm = snm_params_add(p, name, 1, (int[]){ n }, SNM_T_BUFFER, err)) == NULL)
		return err != NULL ? err->code : SNM_EINVAL;
	snprintf(name, sizeof name, "%s.bn.var", prefix);
	if ((*rv = snm_params_add(p, name, 1, (int[]){ n }, SNM_T_BUFFER, err)) == NULL)
		return err != NULL ? err->code : SNM_EINVAL;
	snm_init_fill(*rv, 1.0f);
	return 0;
}

/* Works out every layer's input and output shape from the example shape, checking that each
 * kernel fits. */
static int plan(convnet *m, const layer_spec *spec, const snm_data_info *in, snm_error *err)
{
	int n_d = 3, d[3] = { in->d[0], in->d[1], in->d[2] };
	for (int i = 0; i < m->n_layers; ++i) {
		layer *l = &m->l[i];
		l->kind = spec[i].kind;
		l->out = spec[i].out;
		l->in_n_d = n_d;
		memcpy(l->in_d, d, sizeof d);
		if (l->kind == LAYER_CONV) {
			int P, Q;
			l->r = spec[i].r;
			l->stride = spec[i].stride;
			l->pad = spec[i].pad;
			if (n_d != 3)
				return SNM_FAIL(err, SNM_ECONFIG, "model 'convnet': layer %d is a convolution "
				                "after a fully connected layer", i + 1);
			if (d[1] + 2 * l->pad < l->r || d[2] + 2 * l->pad < l->r)
				return SNM_FAIL(err, SNM_ECONFIG, "model 'convnet': layer %d: a %dx%d kernel does "
				                "not fit its %dx%dx%d input padded by %d", i + 1, l->r, l->r, d[0],
				                d[1], d[2], l->pad);
			P = (d[1] + 2 * l->pad - l->r) / l->stride + 1;
			Q = (d[2] + 2 * l->pad - l->r) / l->stride + 1;
			d[0] = l->out, d[1] = P, d[2] = Q;
		} else {
			n_d = 1;
			d[0] = l->out, d[1] = d[2] = 0;
		}
		l->out_n_d = n_d;
		memcpy(l->out_d, d, sizeof d);
	}
	return 0;
}

static int elems(int n_d, const int *d)
{
	int e = 1;
	for (int i = 0; i < n_d; ++i)
		e *= d[i];
	return e;
}

/* Registers and initialises the parameters in the documented order. */
static int make_params(convnet *m, int n_classes, snm_params *p, gsl_rng *init, snm_error *err)
{
	char name[32];
	int n_conv = 0, n_fc = 0, L = m->n_layers - 1, Z = m->l[L].out, rc;
	for (int i = 0; i < m->n_layers; ++i) {
		layer *l = &m->l[i];
		int fan_in;
		if (l->kind == LAYER_CONV) {
			int C = l->in_d[0];
			snprintf(name, sizeof name, "enc.c%d.w", ++n_conv);
			l->w = add_param(p, name, 4, (int[]){ l->out, C, l->r, l->r }, err);
			snprintf(name, sizeof name, "enc.c%d.b", n_conv);
			fan_in = C * l->r * l->r;
		} else {
			fan_in = elems(l->in_n_d, l->in_d);
			snprintf(name, sizeof name, "enc.f%d.w", ++n_fc);
			l->w = add_param(p, name, 2, (int[]){ l->out, fan_in }, err);
			snprintf(name, sizeof name, "enc.f%d.b", n_fc);
		}
		if (l->w == NULL || (l->b = add_param(p, name, 1, (int[]){ l->out }, err)) == NULL)
			return err != NULL ? err->code : SNM_EINVAL;
		if (!m->bn) {
			snm_init_torch_default(l->w, init, fan_in);
			snm_init_torch_default(l->b, init, fan_in);
			continue;
		}
		if (l->kind == LAYER_CONV)
			snm_init_uniform(l->w, init, -sqrt(3.0 / fan_in), sqrt(3.0 / fan_in));
		else
			snm_init_normal(l->w, init, 1.0 / sqrt(fan_in));
		name[strlen(name) - 2] = '\0';            /* "enc.f1.b" -> "enc.f1" */
		if (m->bn_scale) {
			char gname[40];
			snprintf(gname, sizeof gname, "%s.g", name);
			if ((l->g = add_param(p, gname, 1, (int[]){ l->out }, err)) == NULL)
				return err != NULL ? err->code : SNM_EINVAL;
			snm_init_fill(l->g, 1.0f);
		}
		if ((rc = add_running(p, name, l->out, &l->rm, &l->rv, err)) != 0)
			return rc;
	}
	if ((m->cls_w = add_param(p, "cls.w", 2, (int[]){ n_classes, Z }, err)) == NULL
	    || (m->cls_b = add_param(p, "cls.b", 1, (int[]){ n_classes }, err)) == NULL)
		return err != NULL ? err->code : SNM_EINVAL;
	if (m->bn) {
		snm_init_normal(m->cls_w, init, 1.0 / sqrt(Z));
		if ((m->cls_g = add_param(p, "cls.g", 1, (int[]){ n_classes }, err)) == NULL)
			return err != NULL ? err->code : SNM_EINVAL;
		snm_init_fill(m->cls_g, 1.0f);
		if ((rc = add_running(p, "cls", n_classes, &m->cls_rm, &m->cls_rv, err)) != 0)
			return rc;
	} else {
		snm_init_torch_default(m->cls_w, init, Z);
		snm_init_torch_default(m->cls_b, init, Z);
	}
	if ((m->dec_z_b = add_param(p, "dec.z.b", 1, (int[]){ Z }, err)) == NULL)
		return err != NULL ? err->code : SNM_EINVAL;
	for (int i = L; i >= 0; --i) {
		layer *l = &m->l[i];
		/* a convolution's decoder bias is per channel, a fully connected one's per element */
		int n = l->kind == LAYER_CONV ? l->in_d[0] : elems(l->in_n_d, l->in_d);
		if (i > 0)
			snprintf(name, sizeof name, "dec.h%d.b", i);
		else
			snprintf(name, sizeof name, "dec.x.b");
		if ((l->db = add_param(p, name, 1, (int[]){ n }, err)) == NULL)
			return err != NULL ? err->code : SNM_EINVAL;
	}
	return 0;
}

static int create(const snm_cfg *opts, const snm_data_info *in, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	const char *preset;
	const layer_spec *spec = NULL;
	layer_spec *custom = NULL;
	const snm_cfg *list;
	convnet *m;
	double bn_eps, bn_momentum;
	int n = 0, rc, bn, bn_scale;
	*state = NULL;
	if ((rc = snm_cfg_check(opts, options, "model 'convnet'", err)) != 0
	    || (rc = snm_cfg_opt_str(opts, options, "preset", &preset, err)) != 0
	    || (rc = snm_cfg_opt_bool(opts, options, "batchnorm", &bn, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "bn_eps", &bn_eps, err)) != 0
	    || (rc = snm_cfg_opt_double(opts, options, "bn_momentum", &bn_momentum, err)) != 0
	    || (rc = snm_cfg_opt_bool(opts, options, "bn_scale", &bn_scale, err)) != 0)
		return rc;
	if (bn_scale && !bn)
		return SNM_CFG_FAIL(err, SNM_ECONFIG, snm_cfg_get(opts, "bn_scale"), "model 'convnet': "
		                    "bn_scale scales the batch-normalised layers: it needs batchnorm: true");
	list = snm_cfg_opt_node(opts, options, "layers");
	if (!strcmp(preset, "custom")) {
		if ((rc = parse_layers(list, &custom, &n, err)) != 0)
			return rc;
		spec = custom;
	} else if (snm_cfg_len(list) > 0) {
		return SNM_CFG_FAIL(err, SNM_ECONFIG, list, "model 'convnet': 'layers' is only read with "
		                    "preset custom (preset is '%s')", preset);
	} else if (!strcmp(preset, "mnist")) {
		spec = preset_mnist, n = sizeof preset_mnist / sizeof *spec;
	} else if (!strcmp(preset, "pi-mnist")) {
		spec = preset_pi_mnist, n = sizeof preset_pi_mnist / sizeof *spec;
	} else {
		spec = preset_cifar10, n = sizeof preset_cifar10 / sizeof *spec;
	}
	if (in->n_d != 3 || in->d[0] < 1 || in->d[1] < 1 || in->d[2] < 1 || in->n_classes < 2) {
		free(custom);
		return SNM_FAIL(err, SNM_EINVAL, "model 'convnet': examples must be (C,H,W) with at least "
		                "2 classes (got %d dimensions, %d classes)", in->n_d, in->n_classes);
	}
	if ((m = calloc(1, sizeof *m)) == NULL || (m->l = calloc((size_t)n, sizeof *m->l)) == NULL) {
		free(m);
		free(custom);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory for model 'convnet'");
	}
	m->n_layers = n;
	m->bn = bn;
	m->bn_scale = bn_scale;
	m->bn_eps = (float)bn_eps;
	m->bn_momentum = (float)bn_momentum;
	rc = plan(m, spec, in, err);
	free(custom);
	if (rc == 0)
		rc = make_params(m, in->n_classes, params, init, err);
	if (rc != 0) {
		destroy(m);
		return rc;
	}
	*state = m;
	return 0;
}

static int n_hidden(void *state)
{
	return ((convnet *)state)->n_layers - 1;
}

/* x + v broadcast along dimension 1: v has one value per unit of an (N,F) x or per channel of an
 * (N,C,H,W) x.  Built from snm_linear's bias (y = 0 w + b repeats b on every row), so dv gets
 * the sums over rows (and positions) of dy:  for (N,C,H,W), v is first spread over the H*W
 * positions of its channel by a (C,1) x (1,H*W) product with ones.  mul: x * v instead. */
static snm_tensor *bcast(snm_tape *t, snm_tensor *x, snm_tensor *v)
{
	snm_tensor *row = v, *zx, *zw;
	int N, C, S;
	if (x == NULL)
		return NULL;
	N = x->d[0];
	C = (int)snm_tensor_len(v);
	S = (int)(snm_tensor_len(x) / (size_t)N / (size_t)C);
	if (S > 1) {      /* row (C,S) = v (C rows of 1) x ones (1,S) */
		snm_tensor *ones = snm_tape_const(t, 2, (int[]){ 1, S }, NULL);
		if (ones == NULL)
			return NULL;
		for (int i = 0; i < S; ++i)
			ones->x[i] = 1.0f;
		row = snm_linear(t, v, ones, NULL, 1);
	}
	zx = snm_tape_const(t, 2, (int[]){ N, 1 }, NULL);
	zw = snm_tape_const(t, 2, (int[]){ 1, C * S }, NULL);
	return snm_linear(t, zx, zw, row, 1);
}

static snm_tensor *shift(snm_tape *t, snm_tensor *x, snm_tensor *v)
{
	return snm_add(t, x, bcast(t, x, v));
}

static snm_tensor *scale(snm_tape *t, snm_tensor *x, snm_tensor *v)
{
	return snm_mul(t, x, bcast(t, x, v));
}

/* batchnorm: z = BN(a) with the running statistics rm, rv, seen by the hook as documented at the
 * top (raw first, then normalised). */
static snm_tensor *normalise(const convnet *m, snm_tape *t, snm_tensor *a, snm_tensor *rm,
                             snm_tensor *rv, int i, snm_layer_hook hook, void *ctx)
{
	if (a != NULL && hook != NULL)
		a = hook(ctx, t, SNM_HOOK_ARG(i, SNM_HOOK_RAW), a);
	a = snm_batchnorm(t, a, NULL, NULL, rm, rv, m->bn_momentum, m->bn_eps, 0);
	if (a != NULL && hook != NULL)
		a = hook(ctx, t, SNM_HOOK_ARG(i, SNM_HOOK_PRE), a);
	return a;
}

/* h_j = post(relu(hook(layer_j(h_{j-1})))), z likewise; see the file comment.  batchnorm:
 * h_j = post(relu(BN(W_j h_{j-1}) + beta_j)) with the hook around the normalisation.  post NULL:
 * h_j = relu(...), encode's. */
static snm_tensor *encode_post(void *state, snm_tape *t, snm_tensor *x, snm_layer_hook hook,
                               void *ctx, snm_layer_hook post, void *post_ctx, snm_tensor **hidden)
{
	convnet *m = state;
	snm_tensor *h = x;
	for (int i = 0; i < m->n_layers; ++i) {
		layer *l = &m->l[i];
		snm_tensor *b = m->bn ? NULL : l->b, *pre;
		if (!m->bn && hook == NULL) {   /* nothing sees the pre-activation: product and ReLU fused */
			h = l->kind == LAYER_CONV ? snm_conv2d_relu(t, h, l->w, b, l->stride, l->pad)
			                          : snm_linear_relu(t, h, l->w, b, 0);
			if (h != NULL && post != NULL)
				h = post(post_ctx, t, i, h);
			if (i < m->n_layers - 1 && hidden != NULL)
				hidden[i] = h;
			continue;
		}
		pre = l->kind == LAYER_CONV ? snm_conv2d(t, h, l->w, b, l->stride, l->pad)
		                            : snm_linear(t, h, l->w, b, 0);
		if (m->bn && l->g != NULL)   /* bn_scale: g z + beta */
			pre = shift(t, scale(t, normalise(m, t, pre, l->rm, l->rv, i, hook, ctx), l->g), l->b);
		else if (m->bn)
			pre = shift(t, normalise(m, t, pre, l->rm, l->rv, i, hook, ctx), l->b);
		else if (pre != NULL && hook != NULL)
			pre = hook(ctx, t, SNM_HOOK_ARG(i, SNM_HOOK_PRE), pre);
		h = snm_relu(t, pre);
		if (h != NULL && post != NULL)
			h = post(post_ctx, t, i, h);
		if (i < m->n_layers - 1 && hidden != NULL)
			hidden[i] = h;
	}
	if (m->bn) {
		m->hook_t = t;
		m->hook_z = h;
		m->hook = h != NULL ? hook : NULL;
		m->hook_ctx = ctx;
	}
	return h;
}

static snm_tensor *encode(void *state, snm_tape *t, snm_tensor *x, snm_layer_hook hook, void *ctx,
                          snm_tensor **hidden)
{
	return encode_post(state, t, x, hook, ctx, NULL, NULL, hidden);
}

/* y = z W_cls^T + b_cls;  batchnorm: y = gamma (BN(z W_cls^T) + beta), with the hook of the
 * encode that returned z (layer n_layers). */
static snm_tensor *classify(void *state, snm_tape *t, snm_tensor *z)
{
	convnet *m = state;
	snm_layer_hook hook = NULL;
	snm_tensor *a;
	if (!m->bn)
		return snm_linear(t, z, m->cls_w, m->cls_b, 0);
	if (m->hook != NULL && m->hook_t == t && m->hook_z == z && z != NULL)
		hook = m->hook;
	m->hook = NULL;
	a = normalise(m, t, snm_linear(t, z, m->cls_w, NULL, 0), m->cls_rm, m->cls_rv, m->n_layers,
	              hook, m->hook_ctx);
	a = shift(t, a, m->cls_b);
	return snm_mul(t, a, bcast(t, a, m->cls_g));
}

/* From the z layer down: each decoder maps a layer's output space back to its input space. */
static snm_tensor *decode_z(void *state, snm_tape *t, snm_tensor *z, snm_tensor **hidden_r)
{
	convnet *m = state;
	snm_tensor *u = z;
	for (int i = m->n_layers - 1; i >= 0 && u != NULL; --i) {
		layer *l = &m->l[i];
		int N = u->d[0];
		if (l->kind == LAYER_CONV) {
			u = snm_conv2d_t(t, u, l->w, l->db, l->stride, l->pad, l->in_d[1], l->in_d[2]);
		} else {
			u = snm_linear(t, u, l->w, l->db, 1);
			if (l->in_n_d == 3)
				u = snm_reshape(t, u, 4, (int[]){ N, l->in_d[0], l->in_d[1], l->in_d[2] });
		}
		if (i > 0) {
			u = snm_relu(t, u);
			if (hidden_r != NULL)
				hidden_r[i - 1] = u;
		}
	}
	return u;
}

static snm_tensor *decode_y(void *state, snm_tape *t, snm_tensor *y)
{
	convnet *m = state;
	return snm_linear_relu(t, y, m->cls_w, m->dec_z_b, 1);
}

static const snm_model_vt vt = {
	sizeof vt, create, destroy, n_hidden, encode, classify, decode_z, decode_y, encode_post
};

SNM_PLUGIN_DEFINE(SNM_KIND_MODEL, "convnet", "1.1.0",
                  "conv/fc stacks with tied decoders (paper presets mnist, pi-mnist, cifar10; optional "
                  "ladder-style batch normalisation)", &vt,
                  options);
