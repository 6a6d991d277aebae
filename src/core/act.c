/* act.c: the activation ops: element-wise relu, leaky relu, sigmoid and tanh, the element-wise
 * math functions exp, log, abs, sqrt and clamp, and the row-wise softmax and log-softmax.
 *
 * Element-wise ops keep x's shape.  The row-wise ops treat an (N, ...) tensor as N rows of
 * cols = len / N elements (an (N,C,H,W) input is normalised over C*H*W per example), subtract the
 * row maximum before exponentiating so that no logit overflows, and accumulate row sums in double.
 * Backward passes read only the op's input or output, so nothing is kept in the node's aux. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "op.h"
#include "par.h"
#include "vec.h"

/* ---- element-wise -------------------------------------------------------------------------- */

/* The relu loops run over blocks of SNM_BLOCK elements (vec.h) without branches, so that the compiler
 * turns them into SIMD compares and masks at -O2 (a branch on the sign of an activation is
 * mispredicted about half the time, and plain loops of unknown length are not vectorised at -O2).
 * The backward pass adds dy where x > 0 and -0.0f elsewhere, the choice made on the bits (a
 * floating-point select would be turned back into a branch): v + -0.0f == v bit for bit for every
 * v, so the result is exactly that of `if (x > 0) dx += dy`.  x, y, dy and dx never overlap
 * (distinct tape tensors).  Large tensors are split by rows among snm's threads (par.h); each
 * element is computed alike on any thread. */
static void relu_fwd(const float *restrict x, float *restrict y, size_t n)
{
	SNM_BLOCKED(size_t, i, n, y[i] = x[i] > 0.0f ? x[i] : 0.0f);
}

static void relu_bwd(const float *restrict x, const float *restrict dy, float *restrict dx, size_t n,
                     int fresh)
{
	size_t i = 0;
	if (fresh) {         /* dx unzeroed (op.h): dx = 0.0f + (dy or -0.0f), every element */
		for (; i + SNM_BLOCK <= n; i += SNM_BLOCK)
			for (int k = 0; k < SNM_BLOCK; ++k) {
				uint32_t b, m = x[i + k] > 0.0f ? 0xffffffffu : 0u;
				float d;
				memcpy(&b, &dy[i + k], sizeof b);
				b = (b & m) | (0x80000000u & ~m);
				memcpy(&d, &b, sizeof d);
				dx[i + k] = 0.0f + d;
			}
		for (; i < n; ++i)
			dx[i] = 0.0f + (x[i] > 0.0f ? dy[i] : -0.0f);
		return;
	}
	for (; i + SNM_BLOCK <= n; i += SNM_BLOCK)
		for (int k = 0; k < SNM_BLOCK; ++k) {
			uint32_t b, m = x[i + k] > 0.0f ? 0xffffffffu : 0u;
			float d;
			memcpy(&b, &dy[i + k], sizeof b);
			b = (b & m) | (0x80000000u & ~m);           /* dy, or -0.0f */
			memcpy(&d, &b, sizeof d);
			dx[i + k] += d;
		}
	for (; i < n; ++i)
		if (x[i] > 0.0f)
			dx[i] += dy[i];
}

static void leaky_fwd(const float *restrict x, float *restrict y, size_t n, float alpha);
static void leaky_bwd(const float *restrict x, const float *restrict dy, float *restrict dx, size_t n,
                      float alpha, int fresh);

/* relu (leaky NULL) or leaky relu (slope *leaky), forward (dy == NULL: y = f(x)) or backward
 * (dx += the term, or dx = 0.0f + it when fresh) over x's rows, split among snm's threads when x
 * is large. */
static void rect_rows(const snm_tensor *x, const float *leaky, float *y, const float *dy, float *dx,
                      int fresh)
{
	const size_t len = snm_tensor_len(x), cols = len / (size_t)x->d[0];
	int nt = snm_par_threads((double)len);
	(void)nt;
	SNM_PAR_REGION(nt)
	{
		int r0, r1;
		size_t o, n;
		snm_par_range(x->d[0], SNM_PAR_ID, SNM_PAR_N, 1, &r0, &r1);
		o = (size_t)r0 * cols;
		n = (size_t)(r1 - r0) * cols;
		if (leaky == NULL && dy == NULL)
			relu_fwd(x->x + o, y + o, n);
		else if (leaky == NULL)
			relu_bwd(x->x + o, dy + o, dx + o, n, fresh);
		else if (dy == NULL)
			leaky_fwd(x->x + o, y + o, n, *leaky);
		else
			leaky_bwd(x->x + o, dy + o, dx + o, n, *leaky, fresh);
	}
}

/* y = max(0, x);  dx += dy [x > 0];  y has x's shape. */
snm_tensor *snm_relu(snm_tape *t, snm_tensor *x)
{
	snm_node *nd;
	snm_tensor *y;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	y = snm_op_begin(t, SNM_OP_RELU, x->n_d, x->d, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	rect_rows(x, NULL, y->x, NULL, NULL, 0);
	return y;
}

void snm_relu_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	(void)t;
	if (x->g != NULL)
		rect_rows(x, NULL, NULL, y->g, x->g, snm_grad_fresh(x));
}

/* d[i] = max(0, d[i]) in place, as relu_fwd computes each element. */
static void relu_inplace(float *restrict d, size_t n)
{
	SNM_BLOCKED(size_t, i, n, d[i] = d[i] > 0.0f ? d[i] : 0.0f);
}

/* snm_relu(t, snm_linear(...)): when the product takes no gradient (no node recorded, as in
 * evaluation) its result, a tensor of its own, is made relu(y) in place, without a second tensor
 * and its pass; otherwise the two nodes as the two calls make them. */
snm_tensor *snm_linear_relu(snm_tape *t, snm_tensor *x, snm_tensor *w, snm_tensor *b, int trans_w)
{
	snm_tensor *y = snm_linear(t, x, w, b, trans_w);
	if (y == NULL || y->g != NULL)
		return snm_relu(t, y);
	relu_inplace(y->x, snm_tensor_len(y));
	return y;
}

/* Leaky relu's loops as relu's: blocks of SNM_BLOCK without branches, x's rows split among snm's
 * threads when x is large (rect_rows).  The product alpha v is made for every element and the
 * result chosen by a mask on the bits, v where x > 0 and alpha v elsewhere: the same floats a
 * branch would give, but a floating-point select is compiled back into that branch (relu's
 * comment above). */
static inline float leaky_pick(float x, float v, float av)
{
	uint32_t bv, ba, m = x > 0.0f ? 0xffffffffu : 0u;
	float r;
	memcpy(&bv, &v, sizeof bv);
	memcpy(&ba, &av, sizeof ba);
	bv = (bv & m) | (ba & ~m);
	memcpy(&r, &bv, sizeof r);
	return r;
}

static void leaky_fwd(const float *restrict x, float *restrict y, size_t n, float alpha)
{
	SNM_BLOCKED(size_t, i, n, y[i] = leaky_pick(x[i], x[i], alpha * x[i]));
}

static void leaky_bwd(const float *restrict x, const float *restrict dy, float *restrict dx, size_t n,
                      float alpha, int fresh)
{
	if (fresh)           /* dx unzeroed (op.h): dx = 0.0f + the term, every element */
		SNM_BLOCKED(size_t, i, n, dx[i] = 0.0f + leaky_pick(x[i], dy[i], alpha * dy[i]));
	else
		SNM_BLOCKED(size_t, i, n, dx[i] += leaky_pick(x[i], dy[i], alpha * dy[i]));
}

/* y = x > 0 ? x : alpha x;  dx += dy (x > 0 ? 1 : alpha) -- dy or alpha dy, selected, the same
 * products as a branch would make;  alpha in nd->f[0]. */
snm_tensor *snm_leaky_relu(snm_tape *t, snm_tensor *x, float alpha)
{
	snm_node *nd;
	snm_tensor *y;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	y = snm_op_begin(t, SNM_OP_LEAKY_RELU, x->n_d, x->d, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	if (nd)
		nd->f[0] = alpha;
	rect_rows(x, &alpha, y->x, NULL, NULL, 0);
	return y;
}

void snm_leaky_relu_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	(void)t;
	if (x->g != NULL)
		rect_rows(x, &nd->f[0], NULL, y->g, x->g, snm_grad_fresh(x));
}

/* y[i] = sigmoid(x[i]) (see snm_sigmoid) */
static void sigmoid_fwd(const float *restrict x, float *restrict y, size_t n)
{
	for (size_t i = 0; i < n; ++i) {
		float v = x[i];
		if (v >= 0.0f) {
			y[i] = 1.0f / (1.0f + expf(-v));
		} else {
			float e = expf(v);
			y[i] = e / (1.0f + e);
		}
	}
}

/* y[i] = tanh(x[i]) */
static void tanh_fwd(const float *restrict x, float *restrict y, size_t n)
{
	for (size_t i = 0; i < n; ++i)
		y[i] = tanhf(x[i]);
}

/* dx[i] += dy[i] (1 - y[i]^2) */
static void tanh_bwd(float *restrict dx, const float *restrict dy, const float *restrict y, size_t n)
{
	for (size_t i = 0; i < n; ++i)
		dx[i] += dy[i] * (1.0f - y[i] * y[i]);
}

static void sigmoid_bwd(float *restrict dx, const float *restrict dy, const float *restrict y,
                        size_t n, int fresh);

/* An element-wise loop of this file over [0, n), one contiguous part per thread of snm's when n
 * is large (par.h; each element computed alike on any thread). */
typedef enum { SIG_FWD, SIG_BWD, TANH_FWD, TANH_BWD } ew_kind;

typedef struct ew_job {
	ew_kind kind;
	float *d;              /* y (forward) or dx (backward) */
	const float *a, *b;    /* x (forward); dy and y (backward) */
	int fresh;
} ew_job;

/* Elements [lo, hi) of job j. */
static void ew_apply(const ew_job *j, size_t lo, size_t hi)
{
	size_t n = hi - lo;
	switch (j->kind) {
	case SIG_FWD: sigmoid_fwd(j->a + lo, j->d + lo, n); break;
	case SIG_BWD: sigmoid_bwd(j->d + lo, j->a + lo, j->b + lo, n, j->fresh); break;
	case TANH_FWD: tanh_fwd(j->a + lo, j->d + lo, n); break;
	case TANH_BWD: tanh_bwd(j->d + lo, j->a + lo, j->b + lo, n); break;
	}
}

static void ew_part(int lo, int hi, void *ctx)
{
	ew_apply(ctx, (size_t)lo, (size_t)hi);
}

/* Forward: d from a (b NULL).  Backward: d from dy = a and y = b. */
static void ew_run(ew_kind kind, float *d, const float *a, const float *b, size_t n, int fresh)
{
	ew_job j = { kind, d, a, b, fresh };
	if (n > INT_MAX)
		ew_apply(&j, 0, n);
	else
		snm_par_parts((int)n, 16, (double)n, ew_part, &j);
}

/* y = 1 / (1 + exp(-x)), evaluated as exp(x) / (1 + exp(x)) for x < 0 so exp never overflows;
 * dx += dy y (1 - y). */
snm_tensor *snm_sigmoid(snm_tape *t, snm_tensor *x)
{
	snm_node *nd;
	snm_tensor *y;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	y = snm_op_begin(t, SNM_OP_SIGMOID, x->n_d, x->d, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	ew_run(SIG_FWD, y->x, x->x, NULL, snm_tensor_len(x), 0);
	return y;
}

/* dx[i] += dy[i] y[i] (1 - y[i]), or dx[i] = 0.0f + that term when fresh (op.h); in blocks of 8
 * with restrict pointers (vectorised at -O2, each element computed as the plain loop would). */
static void sigmoid_bwd(float *restrict dx, const float *restrict dy, const float *restrict y,
                        size_t n, int fresh)
{
	size_t i = 0;
	if (fresh) {
		for (; i + 8 <= n; i += 8)
			for (size_t k = i; k < i + 8; ++k)
				dx[k] = 0.0f + dy[k] * y[k] * (1.0f - y[k]);
		for (; i < n; ++i)
			dx[i] = 0.0f + dy[i] * y[i] * (1.0f - y[i]);
		return;
	}
	for (; i + 8 <= n; i += 8)
		for (size_t k = i; k < i + 8; ++k)
			dx[k] += dy[k] * y[k] * (1.0f - y[k]);
	for (; i < n; ++i)
		dx[i] += dy[i] * y[i] * (1.0f - y[i]);
}

void snm_sigmoid_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	(void)t;
	if (x->g == NULL)
		return;
	ew_run(SIG_BWD, x->g, y->g, y->x, snm_tensor_len(x), snm_grad_fresh(x));
}

/* y = tanh(x);  dx += dy (1 - y^2). */
snm_tensor *snm_tanh(snm_tape *t, snm_tensor *x)
{
	snm_node *nd;
	snm_tensor *y;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	y = snm_op_begin(t, SNM_OP_TANH, x->n_d, x->d, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	ew_run(TANH_FWD, y->x, x->x, NULL, snm_tensor_len(x), 0);
	return y;
}

void snm_tanh_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	(void)t;
	if (x->g == NULL)
		return;
	ew_run(TANH_BWD, x->g, y->g, y->x, snm_tensor_len(x), 0);
}

/* ---- element-wise math: exp, log, abs, sqrt, clamp ----------------------------------------- */

/* These are the float functions of <math.h> applied to every element, and nothing more: outside a
 * function's domain the result is what IEEE arithmetic gives (log 0 = -inf, log of a negative
 * number or sqrt of one = NaN, exp of a large number = inf), and so is the gradient.  No op checks
 * its values (none of snm's ops do); a loss that becomes non-finite stops a run at the trainer's
 * check, naming its term.  Kinks take PyTorch's one-sided choices: abs passes sign(x) with
 * sign(0) = 0, clamp passes the gradient on its closed interval [lo, hi]. */

/* Common start of the unary element-wise ops: x present, y of x's shape. */
static snm_tensor *unary_begin(snm_tape *t, int op, snm_tensor *x, snm_node **nd)
{
	*nd = NULL;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	return snm_op_begin(t, op, x->n_d, x->d, 1, &x, nd);
}

/* y = exp(x) (expf);  dx += dy y. */
snm_tensor *snm_exp(snm_tape *t, snm_tensor *x)
{
	snm_node *nd;
	snm_tensor *y = unary_begin(t, SNM_OP_EXP, x, &nd);
	if (y == NULL)
		return NULL;
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		y->x[i] = expf(x->x[i]);
	return y;
}

void snm_exp_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		x->g[i] += y->g[i] * y->x[i];
}

/* y = log(x) (logf; -inf at 0, NaN below);  dx += dy / x. */
snm_tensor *snm_log(snm_tape *t, snm_tensor *x)
{
	snm_node *nd;
	snm_tensor *y = unary_begin(t, SNM_OP_LOG, x, &nd);
	if (y == NULL)
		return NULL;
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		y->x[i] = logf(x->x[i]);
	return y;
}

void snm_log_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		x->g[i] += y->g[i] / x->x[i];
}

/* y = |x|;  dx += dy sign(x), sign(0) = 0 (nothing is added where x is 0 or NaN). */
snm_tensor *snm_abs(snm_tape *t, snm_tensor *x)
{
	snm_node *nd;
	snm_tensor *y = unary_begin(t, SNM_OP_ABS, x, &nd);
	if (y == NULL)
		return NULL;
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		y->x[i] = fabsf(x->x[i]);
	return y;
}

void snm_abs_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i) {
		if (x->x[i] > 0.0f)
			x->g[i] += y->g[i];
		else if (x->x[i] < 0.0f)
			x->g[i] -= y->g[i];
	}
}

/* y = sqrt(x) (sqrtf; NaN below 0);  dx += dy / (2 y) (as PyTorch: inf at x = 0, NaN there when
 * dy is 0 too). */
snm_tensor *snm_sqrt(snm_tape *t, snm_tensor *x)
{
	snm_node *nd;
	snm_tensor *y = unary_begin(t, SNM_OP_SQRT, x, &nd);
	if (y == NULL)
		return NULL;
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		y->x[i] = sqrtf(x->x[i]);
	return y;
}

void snm_sqrt_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		x->g[i] += y->g[i] / (2.0f * y->x[i]);
}

/* y = min(max(x, lo), hi) (NaN stays NaN);  dx += dy [lo <= x <= hi].  lo and hi in nd->f[0..1];
 * either may be infinite (a one-sided clamp); lo > hi or a NaN bound is SNM_EINVAL. */
snm_tensor *snm_clamp(snm_tape *t, snm_tensor *x, float lo, float hi)
{
	snm_node *nd;
	snm_tensor *y;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	if (!(lo <= hi))
		return snm_op_fail(t, SNM_EINVAL, "clamp: bounds [%g, %g] are not an interval", (double)lo,
		                   (double)hi);
	y = unary_begin(t, SNM_OP_CLAMP, x, &nd);
	if (y == NULL)
		return NULL;
	if (nd) {
		nd->f[0] = lo;
		nd->f[1] = hi;
	}
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i) {
		float v = x->x[i];
		y->x[i] = v < lo ? lo : v > hi ? hi : v;
	}
	return y;
}

void snm_clamp_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	float lo = nd->f[0], hi = nd->f[1];
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		if (x->x[i] >= lo && x->x[i] <= hi)
			x->g[i] += y->g[i];
}

/* ---- row-wise ------------------------------------------------------------------------------ */

/* Row maximum of x[0..n). */
static float row_max(const float *x, size_t n)
{
	float m = x[0];
	for (size_t j = 1; j < n; ++j)
		if (x[j] > m)
			m = x[j];
	return m;
}

/* Per row of cols elements: y_j = exp(x_j - m) / s, m = max_k x_k, s = sum_k exp(x_k - m);
 * dx_j += y_j (dy_j - sum_k dy_k y_k).  y has x's shape. */
snm_tensor *snm_softmax(snm_tape *t, snm_tensor *x)
{
	snm_node *nd;
	snm_tensor *y;
	size_t N, cols;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	y = snm_op_begin(t, SNM_OP_SOFTMAX, x->n_d, x->d, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	N = (size_t)x->d[0];
	cols = snm_tensor_cols(x);
	for (size_t n = 0; n < N; ++n) {
		const float *xn = x->x + n * cols;
		float *yn = y->x + n * cols, m = row_max(xn, cols);
		double s = 0;
		for (size_t j = 0; j < cols; ++j) {
			yn[j] = expf(xn[j] - m);
			s += yn[j];
		}
		for (size_t j = 0; j < cols; ++j)
			yn[j] = (float)(yn[j] / s);
	}
	return y;
}

void snm_softmax_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	size_t N = (size_t)x->d[0], cols = snm_tensor_cols(x);
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t n = 0; n < N; ++n) {
		const float *yn = y->x + n * cols, *dy = y->g + n * cols;
		float *dx = x->g + n * cols;
		double s = 0;
		for (size_t j = 0; j < cols; ++j)
			s += (double)dy[j] * yn[j];
		for (size_t j = 0; j < cols; ++j)
			dx[j] += yn[j] * (float)(dy[j] - s);
	}
}

/* Per row: y_j = x_j - m - log sum_k exp(x_k - m);  dx_j += dy_j - exp(y_j) sum_k dy_k
 * (exp(y) is softmax(x), recomputed from the output).  y has x's shape. */
snm_tensor *snm_log_softmax(snm_tape *t, snm_tensor *x)
{
	snm_node *nd;
	snm_tensor *y;
	size_t N, cols;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	y = snm_op_begin(t, SNM_OP_LOG_SOFTMAX, x->n_d, x->d, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	N = (size_t)x->d[0];
	cols = snm_tensor_cols(x);
	for (size_t n = 0; n < N; ++n) {
		const float *xn = x->x + n * cols;
		float *yn = y->x + n * cols, m = row_max(xn, cols);
		double s = 0, lse;
		for (size_t j = 0; j < cols; ++j)
			s += expf(xn[j] - m);
		lse = (double)m + log(s);
		for (size_t j = 0; j < cols; ++j)
			yn[j] = (float)((double)xn[j] - lse);
	}
	return y;
}

void snm_log_softmax_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	size_t N = (size_t)x->d[0], cols = snm_tensor_cols(x);
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t n = 0; n < N; ++n) {
		const float *yn = y->x + n * cols, *dy = y->g + n * cols;
		float *dx = x->g + n * cols;
		double s = 0;
		for (size_t j = 0; j < cols; ++j)
			s += dy[j];
		for (size_t j = 0; j < cols; ++j)
			dx[j] += dy[j] - expf(yn[j]) * (float)s;
	}
}
