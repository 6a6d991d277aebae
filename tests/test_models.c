/* test_models.c: the convnet model plugin and the none and recon noise plugins, loaded from the
 * build tree through the plugin loader.
 *
 * convnet with batchnorm (the ladder's encoder): the 784-1000-500-250-250-250-10 registry (names,
 * kinds, count by hand, initial values), a conv + fc network against naive loops in double in
 * training and evaluation mode (batch vs running statistics, their update, the hook's raw and
 * normalised calls), and its gradients against central differences -- with and without
 * bn_scale's hidden scales (their registry, and at g = 1 the bits of the network without them).
 *
 * convnet: shapes of every map on the mnist preset (and the hook's view of each pre-activation),
 * parameter names, order, shapes and counts of the three presets worked out by hand from the
 * paper's architectures, tied decoders (the decoder owns no weight, reads the encoder's, and its
 * gradient reaches it), a small custom network against naive loops in double, configuration
 * errors, and the mnist preset's forward pass and reconstructions against PyTorch (the parameters
 * and loss terms of tests/fixtures/mnist_step.h5, made from peers/torch_ref.py).  none/recon: each
 * objective against its formula recomputed here from the model's maps, and parameter gradients
 * against central differences on a small custom network. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "run/loader.h"
#include "gradcheck.h"
#include "snm/plugin.h"
#include "snm/rng.h"

/* ---- loading and building ------------------------------------------------------------------ */

static const snm_model_vt *model_vt(void)
{
	const snm_plugin *p = snm_test_plugin(SNM_KIND_MODEL, "convnet");
	return p ? p->vtable : NULL;
}

static const snm_noise_vt *noise_vt(const char *name)
{
	const snm_plugin *p = snm_test_plugin(SNM_KIND_NOISE, name);
	return p ? p->vtable : NULL;
}

typedef struct fixture {
	snm_cfg *cfg;
	snm_params *params;
	gsl_rng *init;
	snm_model model;
	snm_error err;
	int rc;
} fixture;

/* Creates convnet from the YAML text of its options for examples (C,H,W) of n_classes classes;
 * f->rc holds create's result. */
static void model_new(fixture *f, const char *yaml, int C, int H, int W, int n_classes)
{
	snm_data_info in = { 3, { C, H, W }, n_classes, { 100, 10, 10 } };
	memset(f, 0, sizeof *f);
	f->model.vt = model_vt();
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->model.vt);
	CU_ASSERT_EQUAL_FATAL(snm_cfg_parse(yaml, strlen(yaml), "test.yaml", &f->cfg, &f->err), 0);
	f->params = snm_params_new(NULL);
	f->init = snm_rng_new(42, NULL);
	f->rc = f->model.vt->create(f->cfg, &in, f->params, f->init, &f->model.state, &f->err);
}

static void model_free(fixture *f)
{
	if (f->model.state)
		f->model.vt->destroy(f->model.state);
	snm_params_free(f->params);
	gsl_rng_free(f->init);
	snm_cfg_free(f->cfg);
}

static snm_tensor *param(const fixture *f, const char *name)
{
	snm_tensor *p = snm_params_find(f->params, name);
	if (p == NULL)
		fprintf(stderr, "test_models: no parameter '%s'\n", name);
	return p;
}

static int shape_is(const snm_tensor *t, int n_d, const int *d)
{
	if (t == NULL || t->n_d != n_d)
		return 0;
	for (int i = 0; i < n_d; ++i)
		if (t->d[i] != d[i])
			return 0;
	return 1;
}
#define SHAPE_IS(t, ...) shape_is((t), (int)(sizeof((int[]){ __VA_ARGS__ }) / sizeof(int)), \
	(int[]){ __VA_ARGS__ })

/* ---- the mnist preset ---------------------------------------------------------------------- */

typedef struct hook_log {
	int n, layer[8];
	snm_tensor *pre[8];
	int fail_at;          /* return NULL at this layer (-1: never) */
	float add;            /* added to the z pre-activation (layer 3 of mnist) */
	int z_layer;
} hook_log;

static snm_tensor *hook(void *ctx, snm_tape *t, int layer, snm_tensor *pre)
{
	hook_log *h = ctx;
	if (h->n < 8) {
		h->layer[h->n] = layer;
		h->pre[h->n] = pre;
	}
	h->n++;
	if (layer == h->fail_at)
		return NULL;
	if (layer == h->z_layer && h->add != 0.0f) {
		snm_tensor *c = snm_tape_const(t, pre->n_d, pre->d, NULL);
		for (size_t i = 0; i < snm_tensor_len(c); ++i)
			c->x[i] = h->add;
		return snm_add(t, pre, c);
	}
	return pre;
}

static void test_mnist_shapes(void)
{
	fixture f;
	enum { N = 3 };
	float x[N * 784];
	snm_tensor *h[3] = { 0 }, *hr[3] = { 0 };
	hook_log log = { .fail_at = -1, .z_layer = 3 };
	model_new(&f, "preset: mnist", 1, 28, 28, 10);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	const snm_model_vt *m = f.model.vt;
	void *s = f.model.state;
	CU_ASSERT_EQUAL(m->n_hidden(s), 3);
	snm_tape *t = snm_tape_new(0, NULL);
	gc_fill(x, N * 784, 0, 1, 1);
	snm_tensor *tx = snm_tape_const(t, 4, (int[]){ N, 1, 28, 28 }, x);
	snm_tensor *z = m->encode(s, t, tx, hook, &log, h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z);
	CU_ASSERT(SHAPE_IS(z, N, 128));
	CU_ASSERT(SHAPE_IS(h[0], N, 32, 14, 14));
	CU_ASSERT(SHAPE_IS(h[1], N, 64, 7, 7));
	CU_ASSERT(SHAPE_IS(h[2], N, 96, 4, 4));
	/* the hook saw four pre-activations, in order, the last one z's */
	CU_ASSERT_EQUAL_FATAL(log.n, 4);
	for (int i = 0; i < 4; ++i)
		CU_ASSERT_EQUAL(log.layer[i], i);
	CU_ASSERT(SHAPE_IS(log.pre[0], N, 32, 14, 14));
	CU_ASSERT(SHAPE_IS(log.pre[2], N, 96, 4, 4));
	CU_ASSERT(SHAPE_IS(log.pre[3], N, 128));
	/* ReLU after every layer including z: h = max(pre, 0) */
	for (size_t i = 0; i < snm_tensor_len(z); ++i)
		CU_ASSERT_EQUAL(z->x[i], log.pre[3]->x[i] > 0 ? log.pre[3]->x[i] : 0.0f);
	for (size_t i = 0; i < snm_tensor_len(h[1]); ++i)
		CU_ASSERT(h[1]->x[i] == (log.pre[1]->x[i] > 0 ? log.pre[1]->x[i] : 0.0f));
	snm_tensor *y = m->classify(s, t, z);
	CU_ASSERT(SHAPE_IS(y, N, 10));
	snm_tensor *xr = m->decode_z(s, t, z, hr);
	CU_ASSERT(SHAPE_IS(xr, N, 1, 28, 28));
	for (int j = 0; j < 3; ++j)
		CU_ASSERT(snm_tensor_same_shape(hr[j], h[j]));
	/* h_jR go through ReLU, x_R does not (it has negative entries) */
	int neg = 0;
	for (size_t i = 0; i < snm_tensor_len(hr[0]); ++i)
		CU_ASSERT(hr[0]->x[i] >= 0.0f);
	for (size_t i = 0; i < snm_tensor_len(xr); ++i)
		neg += xr->x[i] < 0.0f;
	CU_ASSERT(neg > 0);
	snm_tensor *zr = m->decode_y(s, t, y);
	CU_ASSERT(SHAPE_IS(zr, N, 128));
	/* a hook's replacement is used: +5 on z's pre-activation shifts every positive z by 5 */
	hook_log add = { .fail_at = -1, .add = 5.0f, .z_layer = 3 };
	snm_tensor *z5 = m->encode(s, t, tx, hook, &add, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(z5);
	for (size_t i = 0; i < snm_tensor_len(z); ++i) {
		float pre = log.pre[3]->x[i] + 5.0f;
		SNM_ASSERT_CLOSE(z5->x[i], pre > 0 ? pre : 0.0f, 1e-5, 1e-6);
	}
	/* a hook returning NULL stops encode */
	hook_log fail = { .fail_at = 1, .z_layer = 3 };
	CU_ASSERT_PTR_NULL(m->encode(s, t, tx, hook, &fail, NULL));
	CU_ASSERT_EQUAL(fail.n, 2);
	snm_tape_free(t);
	model_free(&f);
}

/* encode_post (ABI 1.4): the post hook sees every layer's output after its ReLU, layer 0..L (z
 * last), with and without batch norm and with or without the pre-activation hook; what it
 * returns is the layer's output for the next layer, in hidden and as z; post NULL is encode to
 * the bit; a post returning NULL stops encode.  The post here adds 1 + layer to its input. */
typedef struct post_log {
	int n, layer[8];
	snm_tensor *in[8], *out[8];
	int fail_at;
} post_log;

static snm_tensor *post(void *ctx, snm_tape *t, int layer, snm_tensor *h)
{
	post_log *p = ctx;
	snm_tensor *c = snm_tape_const(t, h->n_d, h->d, NULL), *r;
	for (size_t i = 0; i < snm_tensor_len(c); ++i)
		c->x[i] = 1.0f + (float)layer;
	r = layer == p->fail_at ? NULL : snm_add(t, h, c);
	if (p->n < 8) {
		p->layer[p->n] = layer;
		p->in[p->n] = h;
		p->out[p->n] = r;
	}
	p->n++;
	return r;
}

static void test_encode_post(void)
{
	static const char *yaml[] = { "preset: mnist", "{preset: mnist, batchnorm: true}" };
	enum { N = 3 };
	float x[N * 784];
	gc_fill(x, N * 784, 0, 1, 11);
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_model_encode_post(model_vt()));
	for (int c = 0; c < 2; ++c)
		for (int with_hook = 0; with_hook < 2; ++with_hook) {
			fixture f;
			snm_tensor *h[3] = { 0 };
			hook_log log = { .fail_at = -100, .z_layer = 100 };
			post_log pl = { .fail_at = -1 };
			model_new(&f, yaml[c], 1, 28, 28, 10);
			CU_ASSERT_EQUAL_FATAL(f.rc, 0);
			const snm_model_vt *m = f.model.vt;
			void *s = f.model.state;
			snm_tape *t = snm_tape_new(0, NULL);
			snm_tensor *tx = snm_tape_const(t, 4, (int[]){ N, 1, 28, 28 }, x);
			snm_layer_hook hk = with_hook ? hook : NULL;
			snm_tensor *z0 = m->encode(s, t, tx, hk, &log, NULL);
			snm_tensor *zn = m->encode_post(s, t, tx, hk, &log, NULL, NULL, NULL);
			CU_ASSERT_FATAL(z0 != NULL && zn != NULL);
			CU_ASSERT(memcmp(z0->x, zn->x, snm_tensor_len(z0) * sizeof *z0->x) == 0);
			snm_tensor *z = m->encode_post(s, t, tx, hk, &log, post, &pl, h);
			CU_ASSERT_PTR_NOT_NULL_FATAL(z);
			CU_ASSERT_EQUAL_FATAL(pl.n, 4);
			for (int i = 0; i < 4; ++i) {
				CU_ASSERT_EQUAL(pl.layer[i], i);
				int relu = 1;        /* the input is a ReLU's output: no negative entry */
				for (size_t k = 0; k < snm_tensor_len(pl.in[i]); ++k)
					relu &= pl.in[i]->x[k] >= 0.0f;
				CU_ASSERT(relu);
				if (i < 3)
					CU_ASSERT_PTR_EQUAL(h[i], pl.out[i]);
			}
			CU_ASSERT_PTR_EQUAL(z, pl.out[3]);
			CU_ASSERT(SHAPE_IS(pl.in[0], N, 32, 14, 14));
			/* the first layer's ReLU output is the plain encode's; the second layer reads the
			 * replaced one (+1 everywhere), so its output differs */
			snm_tensor *hp[3] = { 0 };
			CU_ASSERT_PTR_NOT_NULL_FATAL(m->encode(s, t, tx, hk, &log, hp));
			CU_ASSERT(memcmp(pl.in[0]->x, hp[0]->x, snm_tensor_len(hp[0]) * sizeof *hp[0]->x) == 0);
			CU_ASSERT(memcmp(pl.in[1]->x, hp[1]->x, snm_tensor_len(hp[1]) * sizeof *hp[1]->x) != 0);
			for (size_t k = 0; k < snm_tensor_len(hp[0]); ++k)
				CU_ASSERT_EQUAL(h[0]->x[k], hp[0]->x[k] + 1.0f);
			/* a post returning NULL stops encode */
			post_log stop = { .fail_at = 1 };
			CU_ASSERT_PTR_NULL(m->encode_post(s, t, tx, hk, &log, post, &stop, NULL));
			CU_ASSERT_EQUAL(stop.n, 2);
			snm_tape_free(t);
			model_free(&f);
		}
}

typedef struct expect_param { const char *name; int n_d, d[4]; } expect_param;

/* Checks names, order and shapes of every entry against the list, and returns the total. */
static size_t check_params(const fixture *f, const expect_param *e, int n)
{
	size_t total = 0;
	CU_ASSERT_EQUAL(snm_params_count(f->params), n);
	for (int i = 0; i < n && i < snm_params_count(f->params); ++i) {
		snm_tensor *p = snm_params_at(f->params, i);
		CU_ASSERT_STRING_EQUAL(p->name, e[i].name);
		CU_ASSERT(shape_is(p, e[i].n_d, e[i].d));
		CU_ASSERT(p->flags & SNM_T_PARAM);
		if (strcmp(p->name, e[i].name) != 0 || !shape_is(p, e[i].n_d, e[i].d))
			fprintf(stderr, "test_models: entry %d is '%s', expected '%s'\n", i, p->name,
			        e[i].name);
	}
	for (int i = 0; i < n; ++i) {
		size_t len = 1;
		for (int k = 0; k < e[i].n_d; ++k)
			len *= (size_t)e[i].d[k];
		total += len;
	}
	return total;
}

static void test_mnist_params(void)
{
	fixture f;
	/* the paper's MNIST network (section 4.2) = torch_ref.py's Net: 3x3 convolutions 1->32->64->96,
	 * fc 96*4*4 -> 128 (z) -> 10, decoder biases b_z (128), b_h3 (1536), b_h2 (64), b_h1 (32),
	 * b_x (1) */
	static const expect_param e[] = {
		{ "enc.c1.w", 4, { 32, 1, 3, 3 } }, { "enc.c1.b", 1, { 32 } },
		{ "enc.c2.w", 4, { 64, 32, 3, 3 } }, { "enc.c2.b", 1, { 64 } },
		{ "enc.c3.w", 4, { 96, 64, 3, 3 } }, { "enc.c3.b", 1, { 96 } },
		{ "enc.f1.w", 2, { 128, 96 * 4 * 4 } }, { "enc.f1.b", 1, { 128 } },
		{ "cls.w", 2, { 10, 128 } }, { "cls.b", 1, { 10 } },
		{ "dec.z.b", 1, { 128 } }, { "dec.h3.b", 1, { 1536 } }, { "dec.h2.b", 1, { 64 } },
		{ "dec.h1.b", 1, { 32 } }, { "dec.x.b", 1, { 1 } },
	};
	model_new(&f, "{}", 1, 28, 28, 10);   /* mnist is the default preset */
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	size_t expect = (32 * 9 + 32) + (64 * 32 * 9 + 64) + (96 * 64 * 9 + 96) + (128 * 1536 + 128)
	                + (10 * 128 + 10) + (128 + 1536 + 64 + 32 + 1);
	CU_ASSERT_EQUAL(expect, 273995);
	CU_ASSERT_EQUAL(check_params(&f, e, 15), expect);
	CU_ASSERT_EQUAL(snm_params_n_trainable(f.params), expect);
	/* PyTorch's default init for the encoder: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), spread over the
	 * interval; decoder biases start at zero */
	static const struct { const char *name; int fan_in; } enc[] = {
		{ "enc.c1.w", 9 }, { "enc.c1.b", 9 }, { "enc.c2.w", 288 }, { "enc.c3.b", 576 },
		{ "enc.f1.w", 1536 }, { "cls.w", 128 }, { "cls.b", 128 },
	};
	for (size_t k = 0; k < sizeof enc / sizeof *enc; ++k) {
		snm_tensor *p = param(&f, enc[k].name);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		double bound = 1 / sqrt(enc[k].fan_in), lo = 1, hi = -1;
		for (size_t i = 0; i < snm_tensor_len(p); ++i) {
			lo = fmin(lo, p->x[i] / bound);
			hi = fmax(hi, p->x[i] / bound);
		}
		CU_ASSERT(lo >= -1 && hi <= 1);
		CU_ASSERT(hi - lo > (snm_tensor_len(p) >= 32 ? 1.5 : 0.5));
	}
	for (int k = 10; k < 15; ++k) {
		snm_tensor *p = snm_params_at(f.params, k);
		for (size_t i = 0; i < snm_tensor_len(p); ++i)
			CU_ASSERT_EQUAL(p->x[i], 0.0f);
	}
	model_free(&f);
}

/* The decoders are tied: they read the encoder's own tensors.  Decoding a fixed z, a change of
 * enc.c1.w changes x_R (and only x_R, not h_1R), and the gradient of a function of x_R reaches
 * enc.c1.w and enc.f1.w.  No parameter holds a second copy (test_mnist_params counts them). */
static void test_tied_decoder(void)
{
	fixture f;
	enum { N = 3 };
	float zv[N * 128], x0[N * 784], h0[N * 32 * 14 * 14];
	snm_tensor *hr[3];
	model_new(&f, "preset: mnist", 1, 28, 28, 10);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	const snm_model_vt *m = f.model.vt;
	snm_tape *t = snm_tape_new(0, NULL);
	gc_fill(zv, N * 128, 0, 1, 3);
	snm_tensor *z = snm_tape_const(t, 2, (int[]){ N, 128 }, zv);
	snm_tensor *xr = m->decode_z(f.model.state, t, z, hr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xr);
	memcpy(x0, xr->x, sizeof x0);
	memcpy(h0, hr[0]->x, sizeof h0);
	snm_tensor *w1 = param(&f, "enc.c1.w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(w1);
	w1->x[4] += 0.25f;
	xr = m->decode_z(f.model.state, t, z, hr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xr);
	int changed = 0;
	for (int i = 0; i < N * 784; ++i)
		changed += xr->x[i] != x0[i];
	CU_ASSERT(changed > 0);
	CU_ASSERT(memcmp(hr[0]->x, h0, sizeof h0) == 0);
	/* gradient of sum(x_R) reaches the encoder's tensors */
	snm_params_zero_grad(f.params);
	CU_ASSERT_EQUAL(snm_tape_backward(t, snm_sum(t, xr), NULL), 0);
	double g1 = 0, gf = 0;
	for (size_t i = 0; i < snm_tensor_len(w1); ++i)
		g1 += fabs(w1->g[i]);
	snm_tensor *wf = param(&f, "enc.f1.w");
	for (size_t i = 0; i < snm_tensor_len(wf); ++i)
		gf += fabs(wf->g[i]);
	CU_ASSERT(g1 > 0);
	CU_ASSERT(gf > 0);
	/* d sum(x_R) / d dec.x.b = number of output pixels (one channel) */
	SNM_ASSERT_CLOSE(param(&f, "dec.x.b")->g[0], N * 784, 1e-3, 1e-6);
	snm_tape_free(t);
	model_free(&f);
}

static void test_other_presets(void)
{
	fixture f;
	/* permutation-invariant MNIST: 784-512-256-256-128-10 */
	static const expect_param pi[] = {
		{ "enc.f1.w", 2, { 512, 784 } }, { "enc.f1.b", 1, { 512 } },
		{ "enc.f2.w", 2, { 256, 512 } }, { "enc.f2.b", 1, { 256 } },
		{ "enc.f3.w", 2, { 256, 256 } }, { "enc.f3.b", 1, { 256 } },
		{ "enc.f4.w", 2, { 128, 256 } }, { "enc.f4.b", 1, { 128 } },
		{ "cls.w", 2, { 10, 128 } }, { "cls.b", 1, { 10 } },
		{ "dec.z.b", 1, { 128 } }, { "dec.h3.b", 1, { 256 } }, { "dec.h2.b", 1, { 256 } },
		{ "dec.h1.b", 1, { 512 } }, { "dec.x.b", 1, { 784 } },
	};
	model_new(&f, "preset: pi-mnist", 1, 28, 28, 10);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	size_t expect = (784 * 512 + 512) + (512 * 256 + 256) + (256 * 256 + 256) + (256 * 128 + 128)
	                + (128 * 10 + 10) + (128 + 256 + 256 + 512 + 784);
	CU_ASSERT_EQUAL(check_params(&f, pi, 15), expect);
	CU_ASSERT_EQUAL(snm_params_n_trainable(f.params), expect);
	CU_ASSERT_EQUAL(f.model.vt->n_hidden(f.model.state), 3);
	{
		snm_tape *t = snm_tape_new(0, NULL);
		snm_tensor *h[3], *hr[3];
		float x[2 * 784];
		gc_fill(x, 2 * 784, 0, 1, 4);
		snm_tensor *z = f.model.vt->encode(f.model.state, t,
		                                   snm_tape_const(t, 4, (int[]){ 2, 1, 28, 28 }, x),
		                                   NULL, NULL, h);
		CU_ASSERT(SHAPE_IS(h[0], 2, 512));
		CU_ASSERT(SHAPE_IS(h[2], 2, 256));
		CU_ASSERT(SHAPE_IS(z, 2, 128));
		CU_ASSERT(SHAPE_IS(f.model.vt->decode_z(f.model.state, t, z, hr), 2, 1, 28, 28));
		CU_ASSERT(SHAPE_IS(hr[0], 2, 512));
		snm_tape_free(t);
	}
	model_free(&f);

	/* CIFAR-10 after the 24x24 crop: 5x5/1 pad 2 64 (24), 3x3/2 64 (12), 64 (6), 96 (3),
	 * fc 864 -> 128 -> 128 (z) -> 10 */
	static const expect_param cf[] = {
		{ "enc.c1.w", 4, { 64, 3, 5, 5 } }, { "enc.c1.b", 1, { 64 } },
		{ "enc.c2.w", 4, { 64, 64, 3, 3 } }, { "enc.c2.b", 1, { 64 } },
		{ "enc.c3.w", 4, { 64, 64, 3, 3 } }, { "enc.c3.b", 1, { 64 } },
		{ "enc.c4.w", 4, { 96, 64, 3, 3 } }, { "enc.c4.b", 1, { 96 } },
		{ "enc.f1.w", 2, { 128, 864 } }, { "enc.f1.b", 1, { 128 } },
		{ "enc.f2.w", 2, { 128, 128 } }, { "enc.f2.b", 1, { 128 } },
		{ "cls.w", 2, { 10, 128 } }, { "cls.b", 1, { 10 } },
		{ "dec.z.b", 1, { 128 } }, { "dec.h5.b", 1, { 128 } }, { "dec.h4.b", 1, { 864 } },
		{ "dec.h3.b", 1, { 64 } }, { "dec.h2.b", 1, { 64 } }, { "dec.h1.b", 1, { 64 } },
		{ "dec.x.b", 1, { 3 } },
	};
	model_new(&f, "preset: cifar10", 3, 24, 24, 10);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	expect = (64 * 3 * 25 + 64) + 2 * (64 * 64 * 9 + 64) + (96 * 64 * 9 + 96) + (864 * 128 + 128)
	         + (128 * 128 + 128) + (128 * 10 + 10) + (128 + 128 + 864 + 64 + 64 + 64 + 3);
	CU_ASSERT_EQUAL(check_params(&f, cf, 21), expect);
	CU_ASSERT_EQUAL(snm_params_n_trainable(f.params), expect);
	CU_ASSERT_EQUAL(f.model.vt->n_hidden(f.model.state), 5);
	{
		snm_tape *t = snm_tape_new(0, NULL);
		snm_tensor *h[5], *hr[5];
		float x[2 * 3 * 24 * 24];
		gc_fill(x, 2 * 3 * 24 * 24, 0, 1, 5);
		snm_tensor *z = f.model.vt->encode(f.model.state, t,
		                                   snm_tape_const(t, 4, (int[]){ 2, 3, 24, 24 }, x),
		                                   NULL, NULL, h);
		CU_ASSERT(SHAPE_IS(h[0], 2, 64, 24, 24));
		CU_ASSERT(SHAPE_IS(h[3], 2, 96, 3, 3));
		CU_ASSERT(SHAPE_IS(h[4], 2, 128));
		CU_ASSERT(SHAPE_IS(z, 2, 128));
		CU_ASSERT(SHAPE_IS(f.model.vt->decode_z(f.model.state, t, z, hr), 2, 3, 24, 24));
		for (int j = 0; j < 5; ++j)
			CU_ASSERT(snm_tensor_same_shape(hr[j], h[j]));
		snm_tape_free(t);
	}
	model_free(&f);
}

/* ---- a small custom network against naive loops ------------------------------------------- */

#define SMALL "preset: custom\nlayers: [{conv: 4, k: 3, stride: 2, pad: 1}, {fc: 6}]\n"
enum { SN = 4, SK = 3 };   /* batch, classes; input 1x8x8, conv 4x4x4, z 6 */
/* Two hidden layers (conv, fc) for the objectives: recon-all sums over both. */
#define SMALL2 "preset: custom\nlayers: [{conv: 4, k: 3, stride: 2, pad: 1}, {fc: 8}, {fc: 6}]\n"

/* Fills every parameter (decoder biases included) with U(-0.5, 0.5) so nothing is zero. */
static void randomize(fixture *f, unsigned long seed)
{
	for (int i = 0; i < snm_params_count(f->params); ++i) {
		snm_tensor *p = snm_params_at(f->params, i);
		gc_fill(p->x, snm_tensor_len(p), -0.5, 0.5, seed + (unsigned long)i);
	}
}

static double relu_d(double v) { return v > 0 ? v : 0; }

static void test_small_vs_naive(void)
{
	fixture f;
	float x[SN * 64];
	double h1[SN][4][4][4], z[SN][6], y[SN][SK], h1r[SN][4][4][4], xr[SN][8][8], zr[SN][6];
	snm_tensor *h[1], *hr[1];
	model_new(&f, SMALL, 1, 8, 8, SK);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	randomize(&f, 100);
	const float *cw = param(&f, "enc.c1.w")->x, *cb = param(&f, "enc.c1.b")->x;
	const float *fw = param(&f, "enc.f1.w")->x, *fb = param(&f, "enc.f1.b")->x;
	const float *kw = param(&f, "cls.w")->x, *kb = param(&f, "cls.b")->x;
	const float *bz = param(&f, "dec.z.b")->x, *bh1 = param(&f, "dec.h1.b")->x;
	const float *bx = param(&f, "dec.x.b")->x;
	CU_ASSERT_EQUAL(snm_tensor_len(param(&f, "dec.h1.b")), 64);   /* fc decoder: per element */
	CU_ASSERT_EQUAL(snm_tensor_len(param(&f, "dec.x.b")), 1);     /* conv decoder: per channel */
	gc_fill(x, SN * 64, 0, 1, 6);
	for (int n = 0; n < SN; ++n) {
		/* h1 = relu(conv(x, c1, stride 2, pad 1)) */
		for (int k = 0; k < 4; ++k)
			for (int p = 0; p < 4; ++p)
				for (int q = 0; q < 4; ++q) {
					double s = cb[k];
					for (int r = 0; r < 3; ++r)
						for (int c = 0; c < 3; ++c) {
							int i = 2 * p - 1 + r, j = 2 * q - 1 + c;
							if (i >= 0 && i < 8 && j >= 0 && j < 8)
								s += (double)cw[k * 9 + r * 3 + c] * x[n * 64 + i * 8 + j];
						}
					h1[n][k][p][q] = relu_d(s);
				}
		/* z = relu(f1 h1 + b);  y = cls z + b */
		for (int o = 0; o < 6; ++o) {
			double s = fb[o];
			for (int i = 0; i < 64; ++i)
				s += (double)fw[o * 64 + i] * (&h1[n][0][0][0])[i];
			z[n][o] = relu_d(s);
		}
		for (int k = 0; k < SK; ++k) {
			double s = kb[k];
			for (int o = 0; o < 6; ++o)
				s += (double)kw[k * 6 + o] * z[n][o];
			y[n][k] = s;
		}
		/* z_R = relu(y cls + b_z) */
		for (int o = 0; o < 6; ++o) {
			double s = bz[o];
			for (int k = 0; k < SK; ++k)
				s += y[n][k] * kw[k * 6 + o];
			zr[n][o] = relu_d(s);
		}
		/* h1R = relu(z f1 + b_h1), x_R = conv_transpose(h1R, c1) + b_x: every output pixel
		 * collects w[k,0,r,c] h1R[k,p,q] from each (p,q,r,c) with 2p-1+r = i, 2q-1+c = j */
		for (int i = 0; i < 64; ++i) {
			double s = bh1[i];
			for (int o = 0; o < 6; ++o)
				s += z[n][o] * fw[o * 64 + i];
			(&h1r[n][0][0][0])[i] = relu_d(s);
		}
		for (int i = 0; i < 8; ++i)
			for (int j = 0; j < 8; ++j)
				xr[n][i][j] = bx[0];
		for (int k = 0; k < 4; ++k)
			for (int p = 0; p < 4; ++p)
				for (int q = 0; q < 4; ++q)
					for (int r = 0; r < 3; ++r)
						for (int c = 0; c < 3; ++c) {
							int i = 2 * p - 1 + r, j = 2 * q - 1 + c;
							if (i >= 0 && i < 8 && j >= 0 && j < 8)
								xr[n][i][j] += cw[k * 9 + r * 3 + c] * h1r[n][k][p][q];
						}
	}
	snm_tape *t = snm_tape_new(0, NULL);
	const snm_model_vt *m = f.model.vt;
	void *s = f.model.state;
	snm_tensor *tx = snm_tape_const(t, 4, (int[]){ SN, 1, 8, 8 }, x);
	snm_tensor *tz = m->encode(s, t, tx, NULL, NULL, h);
	snm_tensor *ty = m->classify(s, t, tz);
	snm_tensor *txr = m->decode_z(s, t, tz, hr);
	snm_tensor *tzr = m->decode_y(s, t, ty);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tzr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(txr);
	CU_ASSERT(SHAPE_IS(h[0], SN, 4, 4, 4));
	CU_ASSERT(SHAPE_IS(hr[0], SN, 4, 4, 4));
	CU_ASSERT(SHAPE_IS(txr, SN, 1, 8, 8));
	for (int i = 0; i < SN * 64; ++i) {
		SNM_ASSERT_CLOSE(h[0]->x[i], (&h1[0][0][0][0])[i], 1e-5, 1e-5);
		SNM_ASSERT_CLOSE(hr[0]->x[i], (&h1r[0][0][0][0])[i], 1e-5, 1e-5);
		SNM_ASSERT_CLOSE(txr->x[i], (&xr[0][0][0])[i], 1e-5, 1e-5);
	}
	for (int i = 0; i < SN * 6; ++i) {
		SNM_ASSERT_CLOSE(tz->x[i], (&z[0][0])[i], 1e-5, 1e-5);
		SNM_ASSERT_CLOSE(tzr->x[i], (&zr[0][0])[i], 1e-5, 1e-5);
	}
	for (int i = 0; i < SN * SK; ++i)
		SNM_ASSERT_CLOSE(ty->x[i], (&y[0][0])[i], 1e-5, 1e-5);
	snm_tape_free(t);
	model_free(&f);
}

/* ---- batch normalisation (option batchnorm: the ladder network's encoder) ------------------ */

/* The ladder's MNIST network 784-1000-500-250-250-250-10 with batchnorm: names, order, kinds and
 * shapes, the count worked out by hand, and the initial values (W ~ N(0, 1/fan_in), shifts 0,
 * gamma 1, running mean 0 and variance 1). */
static void test_bn_params(void)
{
	static const struct { const char *name; int n_d, d[2]; int buffer; } e[] = {
		{ "enc.f1.w", 2, { 1000, 784 }, 0 }, { "enc.f1.b", 1, { 1000 }, 0 },
		{ "enc.f1.bn.mean", 1, { 1000 }, 1 }, { "enc.f1.bn.var", 1, { 1000 }, 1 },
		{ "enc.f2.w", 2, { 500, 1000 }, 0 }, { "enc.f2.b", 1, { 500 }, 0 },
		{ "enc.f2.bn.mean", 1, { 500 }, 1 }, { "enc.f2.bn.var", 1, { 500 }, 1 },
		{ "enc.f3.w", 2, { 250, 500 }, 0 }, { "enc.f3.b", 1, { 250 }, 0 },
		{ "enc.f3.bn.mean", 1, { 250 }, 1 }, { "enc.f3.bn.var", 1, { 250 }, 1 },
		{ "enc.f4.w", 2, { 250, 250 }, 0 }, { "enc.f4.b", 1, { 250 }, 0 },
		{ "enc.f4.bn.mean", 1, { 250 }, 1 }, { "enc.f4.bn.var", 1, { 250 }, 1 },
		{ "enc.f5.w", 2, { 250, 250 }, 0 }, { "enc.f5.b", 1, { 250 }, 0 },
		{ "enc.f5.bn.mean", 1, { 250 }, 1 }, { "enc.f5.bn.var", 1, { 250 }, 1 },
		{ "cls.w", 2, { 10, 250 }, 0 }, { "cls.b", 1, { 10 }, 0 }, { "cls.g", 1, { 10 }, 0 },
		{ "cls.bn.mean", 1, { 10 }, 1 }, { "cls.bn.var", 1, { 10 }, 1 },
		{ "dec.z.b", 1, { 250 }, 0 }, { "dec.h4.b", 1, { 250 }, 0 }, { "dec.h3.b", 1, { 250 }, 0 },
		{ "dec.h2.b", 1, { 500 }, 0 }, { "dec.h1.b", 1, { 1000 }, 0 }, { "dec.x.b", 1, { 784 }, 0 },
	};
	enum { NE = sizeof e / sizeof *e };
	fixture f;
	model_new(&f, "{preset: custom, layers: [{fc: 1000}, {fc: 500}, {fc: 250}, {fc: 250}, "
	          "{fc: 250}], batchnorm: true}", 1, 28, 28, 10);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	CU_ASSERT_EQUAL_FATAL(snm_params_count(f.params), NE);
	for (int i = 0; i < NE; ++i) {
		snm_tensor *p = snm_params_at(f.params, i);
		CU_ASSERT_STRING_EQUAL(p->name, e[i].name);
		CU_ASSERT(shape_is(p, e[i].n_d, e[i].d));
		CU_ASSERT_EQUAL(p->flags & (SNM_T_PARAM | SNM_T_BUFFER), e[i].buffer ? SNM_T_BUFFER : SNM_T_PARAM);
		CU_ASSERT(e[i].buffer ? p->g == NULL : p->g != NULL);
	}
	/* weights 784*1000 + 1000*500 + 500*250 + 250*250 * 2 + 250*10, shifts 1000 + 500 + 250 * 3
	 * + 10, gamma 10, decoder biases 250 * 3 + 500 + 1000 + 784 */
	size_t expect = 784 * 1000 + 1000 * 500 + 500 * 250 + 2 * 250 * 250 + 250 * 10
	                + (1000 + 500 + 3 * 250 + 10) + 10 + (3 * 250 + 500 + 1000 + 784);
	CU_ASSERT_EQUAL(expect, 1541804);
	CU_ASSERT_EQUAL(snm_params_n_trainable(f.params), expect);
	CU_ASSERT_EQUAL(f.model.vt->n_hidden(f.model.state), 4);
	static const struct { const char *name; int fan_in; } w[] = {
		{ "enc.f1.w", 784 }, { "enc.f2.w", 1000 }, { "enc.f5.w", 250 }, { "cls.w", 250 },
	};
	for (size_t k = 0; k < sizeof w / sizeof *w; ++k) {
		snm_tensor *p = param(&f, w[k].name);
		double ss = 0;
		for (size_t i = 0; i < snm_tensor_len(p); ++i)
			ss += (double)p->x[i] * p->x[i];
		SNM_ASSERT_CLOSE(ss / snm_tensor_len(p) * w[k].fan_in, 1.0, 0, 0.05);
	}
	static const struct { const char *name; float v; } fixed[] = {
		{ "enc.f1.b", 0 }, { "enc.f3.b", 0 }, { "cls.b", 0 }, { "cls.g", 1 },
		{ "enc.f2.bn.mean", 0 }, { "enc.f2.bn.var", 1 }, { "cls.bn.mean", 0 }, { "cls.bn.var", 1 },
	};
	for (size_t k = 0; k < sizeof fixed / sizeof *fixed; ++k) {
		snm_tensor *p = param(&f, fixed[k].name);
		for (size_t i = 0; i < snm_tensor_len(p); ++i)
			CU_ASSERT_EQUAL(p->x[i], fixed[k].v);
	}
	model_free(&f);
}

#define BNSMALL "preset: custom\nlayers: [{conv: 2, k: 3, stride: 2, pad: 1}, {fc: 4}]\nbatchnorm: true\n"
#define BNSCALE BNSMALL "bn_scale: true\n"      /* the hidden layers' scales g too */
enum { BN_N = 5 };   /* batch; input 1x4x4, conv 2x2x2, z 4, 3 classes */

/* Per channel c of v[n][c][s] (S positions): (v - mean) / sqrt(biased var + 1e-10) in place;
 * mean and the unbiased variance go to mu[c], uv[c]. */
static void bn_naive(double *v, int n_rows, int C, int S, double *mu, double *uv)
{
	const double M = (double)n_rows * S;
	for (int c = 0; c < C; ++c) {
		double mean = 0, var = 0;
		for (int n = 0; n < n_rows; ++n)
			for (int s = 0; s < S; ++s)
				mean += v[(n * C + c) * S + s] / M;
		for (int n = 0; n < n_rows; ++n)
			for (int s = 0; s < S; ++s)
				var += (v[(n * C + c) * S + s] - mean) * (v[(n * C + c) * S + s] - mean) / M;
		for (int n = 0; n < n_rows; ++n)
			for (int s = 0; s < S; ++s)
				v[(n * C + c) * S + s] = (v[(n * C + c) * S + s] - mean) / sqrt(var + 1e-10);
		mu[c] = mean;
		uv[c] = var * M / (M - 1);
	}
}

/* The three normalised layers of BNSMALL in double; stats (NULL: batch statistics, which then
 * go to mu/uv) or the running ones given in rm/rv.  Fills raw a1 and z1 of the conv layer. */
static void bnsmall_naive(const fixture *f, const float *x, int running, double a1[BN_N][8],
                          double z1[BN_N][8], double y[BN_N][SK], double mu[3][4], double uv[3][4])
{
	const float *cw = param(f, "enc.c1.w")->x, *b1 = param(f, "enc.c1.b")->x;
	const float *fw = param(f, "enc.f1.w")->x, *b2 = param(f, "enc.f1.b")->x;
	const float *kw = param(f, "cls.w")->x, *kb = param(f, "cls.b")->x, *kg = param(f, "cls.g")->x;
	const snm_tensor *g1 = snm_params_find(f->params, "enc.c1.g");   /* bn_scale only */
	const snm_tensor *g2 = snm_params_find(f->params, "enc.f1.g");
	static const char *const rm[3] = { "enc.c1.bn.mean", "enc.f1.bn.mean", "cls.bn.mean" };
	static const char *const rv[3] = { "enc.c1.bn.var", "enc.f1.bn.var", "cls.bn.var" };
	double h2[BN_N][4], a2[BN_N][4], a3[BN_N][SK];
	const int C[3] = { 2, 4, SK }, S[3] = { 4, 1, 1 };
	double *v[3] = { &a1[0][0], &a2[0][0], &a3[0][0] };
	for (int layer = 0; layer < 3; ++layer) {
		for (int n = 0; n < BN_N; ++n) {
			if (layer == 0) {               /* conv 3x3 stride 2 pad 1, no bias: 4x4 -> 2x2 */
				for (int k = 0; k < 2; ++k)
					for (int p = 0; p < 2; ++p)
						for (int q = 0; q < 2; ++q) {
							double s = 0;
							for (int r = 0; r < 3; ++r)
								for (int c = 0; c < 3; ++c) {
									int i = 2 * p - 1 + r, j = 2 * q - 1 + c;
									if (i >= 0 && i < 4 && j >= 0 && j < 4)
										s += (double)cw[k * 9 + r * 3 + c] * x[n * 16 + i * 4 + j];
								}
							a1[n][k * 4 + p * 2 + q] = s;
						}
			} else if (layer == 1) {
				for (int o = 0; o < 4; ++o) {
					double s = 0;
					for (int i = 0; i < 8; ++i)
						s += (double)fw[o * 8 + i]
						     * relu_d((g1 ? g1->x[i / 4] : 1.0) * z1[n][i] + b1[i / 4]);
					a2[n][o] = s;
				}
			} else {
				for (int k = 0; k < SK; ++k) {
					double s = 0;
					for (int o = 0; o < 4; ++o)
						s += (double)kw[k * 4 + o] * h2[n][o];
					a3[n][k] = s;
				}
			}
		}
		if (layer == 0)
			memcpy(z1, a1, sizeof(double) * BN_N * 8);
		double *t = layer == 0 ? &z1[0][0] : v[layer];
		if (running) {
			const float *m = param(f, rm[layer])->x, *var = param(f, rv[layer])->x;
			for (int n = 0; n < BN_N; ++n)
				for (int c = 0; c < C[layer]; ++c)
					for (int s = 0; s < S[layer]; ++s) {
						double *e = &t[(n * C[layer] + c) * S[layer] + s];
						*e = (*e - m[c]) / sqrt(var[c] + 1e-10);
					}
		} else {
			bn_naive(t, BN_N, C[layer], S[layer], mu[layer], uv[layer]);
		}
		if (layer == 1)
			for (int n = 0; n < BN_N; ++n)
				for (int o = 0; o < 4; ++o)
					h2[n][o] = relu_d((g2 ? g2->x[o] : 1.0) * a2[n][o] + b2[o]);
	}
	for (int n = 0; n < BN_N; ++n)
		for (int k = 0; k < SK; ++k)
			y[n][k] = kg[k] * (a3[n][k] + kb[k]);
}

/* A conv + fc network with batchnorm against naive loops in double: training mode (batch
 * statistics, per channel for the convolution), the hook's calls (raw then normalised per layer,
 * the classifier through classify once), the running statistics' update, and evaluation mode
 * with the running statistics (which it leaves alone). */
static void bn_forward_case(const char *yaml)
{
	fixture f;
	float x[BN_N * 16];
	double a1[BN_N][8], z1[BN_N][8], y[BN_N][SK], mu[3][4], uv[3][4];
	static const char *const rm[3] = { "enc.c1.bn.mean", "enc.f1.bn.mean", "cls.bn.mean" };
	static const char *const rv[3] = { "enc.c1.bn.var", "enc.f1.bn.var", "cls.bn.var" };
	const int C[3] = { 2, 4, SK };
	float rm0[3][4], rv0[3][4];
	model_new(&f, yaml, 1, 4, 4, SK);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	randomize(&f, 400);
	for (int l = 0; l < 3; ++l) {                 /* positive running variances */
		snm_tensor *v = param(&f, rv[l]);
		for (int c = 0; c < C[l]; ++c) {
			v->x[c] += 1.0f;
			rv0[l][c] = v->x[c];
			rm0[l][c] = param(&f, rm[l])->x[c];
		}
	}
	gc_fill(x, BN_N * 16, 0, 1, 9);
	const snm_model_vt *m = f.model.vt;
	void *s = f.model.state;
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *tx = snm_tape_const(t, 4, (int[]){ BN_N, 1, 4, 4 }, x);
	hook_log log = { .fail_at = -100, .z_layer = 100 };
	snm_tensor *z = m->encode(s, t, tx, hook, &log, NULL);
	CU_ASSERT_EQUAL(log.n, 4);
	snm_tensor *ty = m->classify(s, t, z);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ty);
	/* raw then normalised, per layer; the numbers pin ABI 1's encoding of the phase */
	static const int calls[6] = { -1, 0, -2, 1, -3, 2 };
	CU_ASSERT_EQUAL_FATAL(log.n, 6);
	for (int i = 0; i < 6; ++i) {
		CU_ASSERT_EQUAL(log.layer[i], calls[i]);
		CU_ASSERT_EQUAL(SNM_HOOK_LAYER(log.layer[i]), i / 2);
		CU_ASSERT_EQUAL(SNM_HOOK_PHASE(log.layer[i]), i % 2 ? SNM_HOOK_PRE : SNM_HOOK_RAW);
		CU_ASSERT_EQUAL(SNM_HOOK_ARG(i / 2, i % 2 ? SNM_HOOK_PRE : SNM_HOOK_RAW), calls[i]);
	}
	CU_ASSERT(SHAPE_IS(log.pre[0], BN_N, 2, 2, 2));
	CU_ASSERT(SHAPE_IS(log.pre[5], BN_N, SK));
	bnsmall_naive(&f, x, 0, a1, z1, y, mu, uv);
	for (int i = 0; i < BN_N * 8; ++i) {
		SNM_ASSERT_CLOSE(log.pre[0]->x[i], (&a1[0][0])[i], 1e-5, 1e-5);   /* raw: no bias */
		SNM_ASSERT_CLOSE(log.pre[1]->x[i], (&z1[0][0])[i], 1e-4, 1e-4);
	}
	for (int i = 0; i < BN_N * SK; ++i)
		SNM_ASSERT_CLOSE(ty->x[i], (&y[0][0])[i], 1e-4, 1e-4);
	/* classify sees the hook once, and only for encode's own z */
	CU_ASSERT_PTR_NOT_NULL(m->classify(s, t, z));
	CU_ASSERT_PTR_NOT_NULL(m->classify(s, t, snm_scale(t, z, 1.0f)));
	CU_ASSERT_EQUAL(log.n, 6);
	/* running statistics: r = 0.9 r + 0.1 batch (unbiased variance), from the first pass; the
	 * two extra classify calls moved only the classifier's */
	for (int l = 0; l < 2; ++l)
		for (int c = 0; c < C[l]; ++c) {
			SNM_ASSERT_CLOSE(param(&f, rm[l])->x[c], 0.9 * rm0[l][c] + 0.1 * mu[l][c], 1e-6, 1e-5);
			SNM_ASSERT_CLOSE(param(&f, rv[l])->x[c], 0.9 * rv0[l][c] + 0.1 * uv[l][c], 1e-6, 1e-5);
		}
	/* evaluation mode: the running statistics, unchanged by the pass */
	float before[3][4];
	for (int l = 0; l < 3; ++l)
		memcpy(before[l], param(&f, rv[l])->x, sizeof(float) * (size_t)C[l]);
	snm_tape_set_training(t, 0);
	ty = m->classify(s, t, m->encode(s, t, tx, NULL, NULL, NULL));
	snm_tape_set_training(t, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ty);
	bnsmall_naive(&f, x, 1, a1, z1, y, NULL, NULL);
	for (int i = 0; i < BN_N * SK; ++i)
		SNM_ASSERT_CLOSE(ty->x[i], (&y[0][0])[i], 1e-4, 1e-4);
	for (int l = 0; l < 3; ++l)
		CU_ASSERT(memcmp(before[l], param(&f, rv[l])->x, sizeof(float) * (size_t)C[l]) == 0);
	snm_tape_free(t);
	model_free(&f);
}

static void test_bn_forward(void)
{
	bn_forward_case(BNSMALL);
	bn_forward_case(BNSCALE);
}

/* The cross-entropy of f's network on the BN_N images x (1, 4, 4) and labels lab, built on tape t
 * (reset first); bn_point_loss is its value, as gc_central_param's loss. */
typedef struct bn_point {
	fixture *f;
	snm_tape *t;
	const float *x;
	const int32_t *lab;
} bn_point;

static snm_tensor *bn_ce(const bn_point *a)
{
	const snm_model_vt *m = a->f->model.vt;
	void *s = a->f->model.state;
	snm_tape *t = a->t;
	snm_tape_reset(t);
	snm_tensor *x = snm_tape_const(t, 4, (int[]){ BN_N, 1, 4, 4 }, a->x);
	return snm_softmax_ce(t, m->classify(s, t, m->encode(s, t, x, NULL, NULL, NULL)), a->lab);
}

static double bn_point_loss(void *a)
{
	snm_tensor *l = bn_ce(a);
	return l ? l->x[0] : NAN;
}

/* Gradients of the cross-entropy of the batchnorm network (through the batch statistics, the
 * per-channel shift of the convolution, gamma) against central differences: every third element
 * of a parameter longer than 8, every element of a shorter one. */
static void bn_gradients_case(const char *yaml)
{
	fixture f;
	float x[BN_N * 16];
	static const int32_t lab[BN_N] = { 0, 1, 2, 1, 0 };
	static const gc_central central = { 1e-3, 2e-3, 8, 0, 3 };
	gc_tally n = { 0, 0, 0, 0 };
	model_new(&f, yaml, 1, 4, 4, SK);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	randomize(&f, 500);
	gc_fill(x, BN_N * 16, 0, 1, 10);
	snm_tape *t = snm_tape_new(0, NULL);
	bn_point at = { &f, t, x, lab };
	snm_params_zero_grad(f.params);
	CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, bn_ce(&at), NULL), 0);
	snm_tape_set_grad(t, 0);
	for (int k = 0; k < snm_params_count(f.params); ++k) {
		snm_tensor *p = snm_params_at(f.params, k);
		if ((p->flags & SNM_T_PARAM) && strncmp(p->name, "dec.", 4) != 0)
			gc_central_param("test_models: batchnorm", p, bn_point_loss, &at, &central, &n);
	}
	CU_ASSERT_EQUAL(n.bad, 0);
	CU_ASSERT(n.checked > 30);
	CU_ASSERT(n.kinks <= n.checked / 10);
	snm_tape_free(t);
	model_free(&f);
}

static void test_bn_gradients(void)
{
	bn_gradients_case(BNSMALL);
	bn_gradients_case(BNSCALE);
}

/* bn_scale: each hidden layer's g (init 1) after its shift and before its running statistics,
 * none without it; the init stream's draws are the same, so at g = 1 the network computes the
 * same bits as without bn_scale (bn_scale without batchnorm: test_config_errors). */
static void test_bn_scale(void)
{
	fixture a, b;
	float x[BN_N * 16];
	static const char *const names[] = { "enc.c1.w", "enc.c1.b", "enc.c1.g", "enc.c1.bn.mean",
	                                     "enc.c1.bn.var", "enc.f1.w", "enc.f1.b", "enc.f1.g",
	                                     "enc.f1.bn.mean", "enc.f1.bn.var", "cls.w" };
	model_new(&a, BNSMALL, 1, 4, 4, SK);
	model_new(&b, BNSCALE, 1, 4, 4, SK);
	CU_ASSERT_EQUAL_FATAL(a.rc, 0);
	CU_ASSERT_EQUAL_FATAL(b.rc, 0);
	CU_ASSERT_EQUAL(snm_params_count(b.params), snm_params_count(a.params) + 2);
	CU_ASSERT_PTR_NULL(snm_params_find(a.params, "enc.c1.g"));
	for (size_t i = 0; i < sizeof names / sizeof *names; ++i)
		CU_ASSERT_STRING_EQUAL(snm_params_at(b.params, (int)i)->name, names[i]);
	CU_ASSERT(SHAPE_IS(param(&b, "enc.c1.g"), 2));
	CU_ASSERT(SHAPE_IS(param(&b, "enc.f1.g"), 4));
	CU_ASSERT(param(&b, "enc.f1.g")->flags & SNM_T_PARAM);
	for (int i = 0; i < 4; ++i)
		CU_ASSERT_EQUAL(param(&b, "enc.f1.g")->x[i], 1.0f);
	CU_ASSERT(memcmp(param(&a, "enc.f1.w")->x, param(&b, "enc.f1.w")->x, 32 * sizeof(float)) == 0);
	CU_ASSERT(memcmp(param(&a, "cls.w")->x, param(&b, "cls.w")->x, 4 * SK * sizeof(float)) == 0);
	gc_fill(x, BN_N * 16, 0, 1, 11);
	snm_tape *t = snm_tape_new(0, NULL);
	snm_tensor *tx = snm_tape_const(t, 4, (int[]){ BN_N, 1, 4, 4 }, x);
	const snm_model_vt *va = a.model.vt, *vb = b.model.vt;
	snm_tensor *ya = va->classify(a.model.state, t, va->encode(a.model.state, t, tx, NULL, NULL, NULL));
	snm_tensor *yb = vb->classify(b.model.state, t, vb->encode(b.model.state, t, tx, NULL, NULL, NULL));
	CU_ASSERT_PTR_NOT_NULL_FATAL(ya);
	CU_ASSERT_PTR_NOT_NULL_FATAL(yb);
	CU_ASSERT(memcmp(ya->x, yb->x, BN_N * SK * sizeof(float)) == 0);
	snm_tape_free(t);
	model_free(&a);
	model_free(&b);
}

/* ---- objectives ---------------------------------------------------------------------------- */

typedef struct noise_fix {
	const snm_noise_vt *vt;
	snm_cfg *cfg;
	void *state;
	int rc;
	snm_error err;
} noise_fix;

static void noise_new(noise_fix *nf, const char *name, const char *yaml, const fixture *f)
{
	memset(nf, 0, sizeof *nf);
	nf->vt = noise_vt(name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(nf->vt);
	CU_ASSERT_EQUAL_FATAL(snm_cfg_parse(yaml, strlen(yaml), "noise.yaml", &nf->cfg, &nf->err), 0);
	nf->rc = nf->vt->create(nf->cfg, &f->model, f->params, NULL, &nf->state, &nf->err);
}

static void noise_free(noise_fix *nf)
{
	if (nf->vt && nf->state)
		nf->vt->destroy(nf->state);
	snm_cfg_free(nf->cfg);
}

static const int32_t labels[SN] = { 0, 2, 1, 2 };

/* Builds the objective on a reset tape; returns its loss tensor (NULL on failure). */
static snm_tensor *build(noise_fix *nf, fixture *f, snm_tape *t, const float *x, snm_objective *o)
{
	snm_batch b;
	snm_error e;
	snm_tape_reset(t);
	b.x = snm_tape_const(t, 4, (int[]){ SN, 1, 8, 8 }, x);
	b.labels = labels;
	b.xu = NULL;
	memset(o, 0, sizeof *o);
	if (nf->vt->objective(nf->state, &f->model, t, &b, NULL, o, &e) != 0) {
		fprintf(stderr, "test_models: objective: %s\n", e.msg);
		return NULL;
	}
	return o->loss;
}

static snm_tensor *term(const snm_objective *o, const char *name)
{
	for (int i = 0; i < o->n_terms; ++i)
		if (!strcmp(o->term_names[i], name))
			return o->terms[i];
	return NULL;
}

static double sqerr_d(const snm_tensor *a, const snm_tensor *b)
{
	double s = 0;
	for (size_t i = 0; i < snm_tensor_len(a); ++i)
		s += ((double)a->x[i] - b->x[i]) * ((double)a->x[i] - b->x[i]);
	return s / a->d[0];
}

/* ---- the mnist preset against PyTorch ----------------------------------------------------- */

/* Reads dataset path of f (n floats, or n int32 when ints) into buf; -1 when absent or short. */
static int read_h5(hid_t f, const char *path, int ints, size_t n, void *buf)
{
	hid_t ds = H5Dopen2(f, path, H5P_DEFAULT), sp;
	int rc = -1;
	if (ds < 0)
		return -1;
	sp = H5Dget_space(ds);
	if (sp >= 0 && H5Sget_simple_extent_npoints(sp) == (hssize_t)n
	    && H5Dread(ds, ints ? H5T_NATIVE_INT32 : H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT,
	               buf) >= 0)
		rc = 0;
	if (sp >= 0)
		H5Sclose(sp);
	H5Dclose(ds);
	return rc;
}

/* Loads torch_ref's parameters (the fixture's param/<torch name>) into convnet's entries by the
 * documented correspondence, runs recon with targets xz (proposed-base, lambda 0.03) on the
 * fixture's 8 images, and compares the terms with PyTorch's ce, recon_x = sse(xr, x)/N and
 * recon_z = sse(zr, z)/N: the presets' wiring, decoders and output sizes 4 -> 7 -> 14 -> 28. */
static void test_mnist_vs_pytorch(void)
{
	static const char *const map[][2] = {
		{ "c1.w", "enc.c1.w" }, { "c1.b", "enc.c1.b" }, { "c2.w", "enc.c2.w" },
		{ "c2.b", "enc.c2.b" }, { "c3.w", "enc.c3.w" }, { "c3.b", "enc.c3.b" },
		{ "f1.w", "enc.f1.w" }, { "f1.b", "enc.f1.b" },
		{ "f2.w", "cls.w" }, { "f2.b", "cls.b" }, { "b_z", "dec.z.b" }, { "b_h3", "dec.h3.b" },
		{ "b_h2", "dec.h2.b" }, { "b_h1", "dec.h1.b" }, { "b_x", "dec.x.b" },
	};
	enum { N = 8 };
	static float x[N * 784];
	int32_t lab[N];
	float ref[3];
	char path[4096], ds[64];
	fixture f;
	int bad = 0;
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	snm_test_src(path, sizeof path, "fixtures/mnist_step.h5");
	hid_t h = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
	if (h < 0)
		fprintf(stderr, "test_models: cannot open %s\n", path);
	CU_ASSERT_FATAL(h >= 0);
	model_new(&f, "preset: mnist", 1, 28, 28, 10);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	bad |= read_h5(h, "x", 0, N * 784, x);
	bad |= read_h5(h, "labels", 1, N, lab);
	bad |= read_h5(h, "loss/ce", 0, 1, &ref[0]);
	bad |= read_h5(h, "loss/recon_x", 0, 1, &ref[1]);
	bad |= read_h5(h, "loss/recon_z", 0, 1, &ref[2]);
	for (size_t k = 0; k < sizeof map / sizeof *map; ++k) {
		snm_tensor *p = param(&f, map[k][1]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		snprintf(ds, sizeof ds, "param/%s", map[k][0]);
		if (read_h5(h, ds, 0, snm_tensor_len(p), p->x) != 0) {
			fprintf(stderr, "test_models: fixture %s does not fit %s\n", ds, map[k][1]);
			bad = 1;
		}
	}
	H5Fclose(h);
	CU_ASSERT_EQUAL_FATAL(bad, 0);

	noise_fix nf;
	snm_objective o;
	snm_batch b;
	snm_error e;
	noise_new(&nf, "recon", "targets: xz", &f);
	CU_ASSERT_EQUAL_FATAL(nf.rc, 0);
	snm_tape *t = snm_tape_new(0, NULL);
	b.x = snm_tape_const(t, 4, (int[]){ N, 1, 28, 28 }, x);
	b.labels = lab;
	b.xu = NULL;
	CU_ASSERT_EQUAL_FATAL(nf.vt->objective(nf.state, &f.model, t, &b, NULL, &o, &e), 0);
	CU_ASSERT_EQUAL_FATAL(o.n_terms, 3);
	for (int k = 0; k < 3; ++k) {
		SNM_ASSERT_CLOSE(o.terms[k]->x[0], ref[k], 0, 1e-4);
		printf("    %-8s snm %.8g  pytorch %.8g\n", o.term_names[k], o.terms[k]->x[0], ref[k]);
	}
	SNM_ASSERT_CLOSE(o.loss->x[0], ref[0] + 0.03 * (ref[1] + ref[2]), 0, 1e-4);
	snm_tape_free(t);
	noise_free(&nf);
	model_free(&f);
}

/* Every objective's loss and terms against the formulas, recomputed from the model's maps. */
static void test_objective_values(void)
{
	fixture f;
	float x[SN * 64];
	static const char *cfgs[] = { "{}", "{targets: x}", "{targets: all, weight: 0.5}",
	                              "{targets: xz, weight: 0.25}", "{}" };
	static const char *names[] = { "none", "recon", "recon", "recon", "recon" };
	static const double weights[] = { 0, 0.03, 0.5, 0.25, 0.03 };
	model_new(&f, SMALL2, 1, 8, 8, SK);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	CU_ASSERT_EQUAL_FATAL(f.model.vt->n_hidden(f.model.state), 2);
	randomize(&f, 200);
	gc_fill(x, SN * 64, 0, 1, 7);
	snm_tape *t = snm_tape_new(0, NULL), *t2 = snm_tape_new(0, NULL);
	const snm_model_vt *m = f.model.vt;
	void *s = f.model.state;
	/* the reference pieces, on their own tape */
	snm_tensor *h[2], *hr[2];
	snm_tensor *tx = snm_tape_const(t2, 4, (int[]){ SN, 1, 8, 8 }, x);
	snm_tensor *z = m->encode(s, t2, tx, NULL, NULL, h);
	snm_tensor *y = m->classify(s, t2, z);
	snm_tensor *xr = m->decode_z(s, t2, z, hr);
	snm_tensor *zr = m->decode_y(s, t2, y);
	CU_ASSERT_PTR_NOT_NULL_FATAL(zr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xr);
	double ce = 0;
	for (int n = 0; n < SN; ++n) {
		double mx = -INFINITY, se = 0;
		for (int k = 0; k < SK; ++k)
			mx = fmax(mx, y->x[n * SK + k]);
		for (int k = 0; k < SK; ++k)
			se += exp(y->x[n * SK + k] - mx);
		ce += -(y->x[n * SK + labels[n]] - mx - log(se)) / SN;
	}
	double rx = sqerr_d(xr, tx), rh1 = sqerr_d(hr[0], h[0]), rh2 = sqerr_d(hr[1], h[1]);
	double rh = rh1 + rh2, rz = sqerr_d(zr, z);
	CU_ASSERT(rx > 0 && rh1 > 0 && rh2 > 0 && rz > 0);
	for (int c = 0; c < 5; ++c) {
		noise_fix nf;
		snm_objective o;
		noise_new(&nf, names[c], cfgs[c], &f);
		CU_ASSERT_EQUAL_FATAL(nf.rc, 0);
		snm_tensor *loss = build(&nf, &f, t, x, &o);
		CU_ASSERT_PTR_NOT_NULL_FATAL(loss);
		CU_ASSERT_EQUAL(snm_tensor_len(loss), 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(term(&o, "ce"));
		SNM_ASSERT_CLOSE(term(&o, "ce")->x[0], ce, 1e-5, 1e-5);
		double expect = ce;
		if (c == 0) {
			CU_ASSERT_EQUAL(o.n_terms, 1);
		} else {
			CU_ASSERT_PTR_NOT_NULL_FATAL(term(&o, "recon_x"));
			SNM_ASSERT_CLOSE(term(&o, "recon_x")->x[0], rx, 1e-5, 1e-5);
			expect += weights[c] * rx;
		}
		if (c == 1 || c == 4) {
			CU_ASSERT_EQUAL(o.n_terms, 2);
		} else if (c == 2) {
			CU_ASSERT_EQUAL(o.n_terms, 3);
			CU_ASSERT_PTR_NOT_NULL_FATAL(term(&o, "recon_h"));
			SNM_ASSERT_CLOSE(term(&o, "recon_h")->x[0], rh, 1e-5, 1e-5);
			expect += weights[c] * rh;
		} else if (c == 3) {
			CU_ASSERT_EQUAL(o.n_terms, 3);
			CU_ASSERT_PTR_NOT_NULL_FATAL(term(&o, "recon_z"));
			SNM_ASSERT_CLOSE(term(&o, "recon_z")->x[0], rz, 1e-5, 1e-5);
			expect += weights[c] * rz;
		}
		SNM_ASSERT_CLOSE(loss->x[0], expect, 1e-5, 1e-5);
		CU_ASSERT_PTR_NULL(nf.vt->wants_unlabelled);
		noise_free(&nf);
	}
	snm_tape_free(t);
	snm_tape_free(t2);
	model_free(&f);
}

/* nf's objective on f's network and the SN images x, built on tape t (reset first), as
 * gc_central_param's loss. */
typedef struct objective_point {
	noise_fix *nf;
	fixture *f;
	snm_tape *t;
	const float *x;
	snm_objective o;          /* build's terms, overwritten by every call */
} objective_point;

static double objective_point_loss(void *ctx)
{
	objective_point *a = ctx;
	snm_tensor *l = build(a->nf, a->f, a->t, a->x, &a->o);
	return l ? l->x[0] : NAN;
}

/* Parameter gradients of each objective against central differences of its loss, for up to 12
 * elements of every parameter tensor; an element where a ReLU switches inside [v - step, v + step]
 * (one-sided slopes that disagree: central differences mean nothing there) is skipped. */
static void test_objective_gradients(void)
{
	fixture f;
	float x[SN * 64];
	static const char *cfgs[] = { "{}", "{targets: x, weight: 0.5}", "{targets: all, weight: 0.5}",
	                              "{targets: xz, weight: 0.5}" };
	static const char *names[] = { "none", "recon", "recon", "recon" };
	static const gc_central central = { 1e-3, 2e-3, 12, 1, 0 };
	model_new(&f, SMALL2, 1, 8, 8, SK);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	randomize(&f, 300);
	gc_fill(x, SN * 64, 0, 1, 8);
	snm_tape *t = snm_tape_new(0, NULL);
	int n_p = snm_params_count(f.params);
	for (int c = 0; c < 4; ++c) {
		noise_fix nf;
		snm_objective o;
		gc_tally n = { 0, 0, 0, 0 };
		char what[160];
		noise_new(&nf, names[c], cfgs[c], &f);
		CU_ASSERT_EQUAL_FATAL(nf.rc, 0);
		snm_params_zero_grad(f.params);
		snm_tape_set_grad(t, 1);
		CU_ASSERT_EQUAL_FATAL(snm_tape_backward(t, build(&nf, &f, t, x, &o), NULL), 0);
		snm_tape_set_grad(t, 0);
		objective_point at = { &nf, &f, t, x, { 0 } };
		snprintf(what, sizeof what, "test_models: %s %s:", names[c], cfgs[c]);
		for (int k = 0; k < n_p; ++k)
			gc_central_param(what, snm_params_at(f.params, k), objective_point_loss, &at, &central,
			                 &n);
		CU_ASSERT_EQUAL(n.bad, 0);
		CU_ASSERT(n.checked > 80);
		CU_ASSERT(n.kinks <= n.checked / 10);
		/* none reaches only the encoder and classifier (decoder biases get exact zeros); the
		 * reconstructions reach everything their path uses */
		snm_tensor *bz = param(&f, "dec.z.b"), *bh = param(&f, "dec.h1.b");
		double gz = 0, gh = 0;
		for (size_t i = 0; i < snm_tensor_len(bz); ++i)
			gz += fabs(bz->g[i]);
		for (size_t i = 0; i < snm_tensor_len(bh); ++i)
			gh += fabs(bh->g[i]);
		CU_ASSERT(c == 3 ? gz > 0 : gz == 0);
		CU_ASSERT(c == 0 ? gh == 0 : gh > 0);
		CU_ASSERT(n.nonzero > n.checked / 3);
		noise_free(&nf);
	}
	snm_tape_free(t);
	model_free(&f);
}

/* ---- configuration errors ------------------------------------------------------------------ */

static void expect_model_error(const char *yaml, int code, const char *needle)
{
	fixture f;
	model_new(&f, yaml, 1, 8, 8, 3);
	CU_ASSERT_EQUAL(f.rc, code);
	CU_ASSERT_PTR_NULL(f.model.state);
	if (needle != NULL && strstr(f.err.msg, needle) == NULL) {
		fprintf(stderr, "test_models: '%s': message '%s' lacks '%s'\n", yaml, f.err.msg, needle);
		CU_FAIL("error message");
	}
	CU_ASSERT_EQUAL(snm_params_count(f.params), 0);
	model_free(&f);
}

static void test_config_errors(void)
{
	expect_model_error("preset: lenet", SNM_ECONFIG, "test.yaml:1:9");
	expect_model_error("preset: custom", SNM_ECONFIG, "needs a non-empty list");
	expect_model_error("layers: [{fc: 3}]", SNM_ECONFIG, "only read with preset custom");
	expect_model_error("{preset: custom, layers: [{conv: 2}, {conv: 2}]}", SNM_ECONFIG,
	                   "layers[1]: the last layer gives z and must be fc");
	expect_model_error("{preset: custom, layers: [{conv: 2, kk: 3}, {fc: 2}]}", SNM_ECONFIG,
	                   "test.yaml:1:37: layers[0]: unknown key 'kk'");
	expect_model_error("{preset: custom, layers: [{conv: 2, fc: 3}]}", SNM_ECONFIG, "exactly one");
	expect_model_error("{preset: custom, layers: [{conv: 0}, {fc: 2}]}", SNM_ECONFIG,
	                   "'conv' must be");
	expect_model_error("{preset: custom, layers: [{conv: 2, k: 11, pad: 1}, {fc: 2}]}", SNM_ECONFIG,
	                   "does not fit");
	expect_model_error("{preset: custom, layers: [{fc: 4}, {conv: 2}, {fc: 2}]}", SNM_ECONFIG,
	                   "after a fully connected");
	expect_model_error("{preset: custom, layers: [{fc: x}]}", SNM_ECONFIG, "'fc'");
	expect_model_error("{preset: mnist, depth: 3}", SNM_ECONFIG, "unknown key 'depth'");
	expect_model_error("{preset: custom, layers: [{fc: 4}], bn_scale: true}", SNM_ECONFIG,
	                   "test.yaml:1:47: model 'convnet': bn_scale scales the batch-normalised layers");
	/* a valid custom net with defaults k 3, stride 1, pad 1 keeps the size */
	fixture f;
	model_new(&f, "{preset: custom, layers: [{conv: 2}, {fc: 5}]}", 1, 8, 8, 3);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	CU_ASSERT(SHAPE_IS(param(&f, "enc.f1.w"), 5, 2 * 8 * 8));

	noise_fix nf;
	noise_new(&nf, "recon", "{targets: hidden}", &f);
	CU_ASSERT_EQUAL(nf.rc, SNM_ECONFIG);
	noise_free(&nf);
	noise_new(&nf, "recon", "{weight: -1}", &f);
	CU_ASSERT_EQUAL(nf.rc, SNM_ECONFIG);
	noise_free(&nf);
	noise_new(&nf, "none", "{weight: 1}", &f);
	CU_ASSERT_EQUAL(nf.rc, SNM_ECONFIG);
	noise_free(&nf);
	model_free(&f);
	/* targets all on a model without hidden layers */
	model_new(&f, "{preset: custom, layers: [{fc: 5}]}", 1, 8, 8, 3);
	CU_ASSERT_EQUAL_FATAL(f.rc, 0);
	noise_new(&nf, "recon", "{targets: all}", &f);
	CU_ASSERT_EQUAL(nf.rc, SNM_ECONFIG);
	noise_free(&nf);
	model_free(&f);
}

static CU_TestInfo model_tests[] = {
	{ "mnist_shapes", test_mnist_shapes },
	{ "encode_post", test_encode_post },
	{ "mnist_params", test_mnist_params },
	{ "tied_decoder", test_tied_decoder },
	{ "other_presets", test_other_presets },
	{ "small_vs_naive", test_small_vs_naive },
	{ "config_errors", test_config_errors },
	{ "bn_params", test_bn_params },
	{ "bn_forward", test_bn_forward },
	{ "bn_gradients", test_bn_gradients },
	{ "bn_scale", test_bn_scale },
	CU_TEST_INFO_NULL
};

static CU_TestInfo noise_tests[] = {
	{ "objective_values", test_objective_values },
	{ "mnist_vs_pytorch", test_mnist_vs_pytorch },
	{ "objective_gradients", test_objective_gradients },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "convnet", NULL, NULL, NULL, NULL, model_tests },
	{ "none_recon", NULL, NULL, NULL, NULL, noise_tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_models", suites);
}
