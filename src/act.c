/* act.c: the activation ops: element-wise relu, leaky relu, sigmoid and tanh, and the row-wise
 * softmax and log-softmax.
 *
 * Element-wise ops keep x's shape.  The row-wise ops treat an (N, ...) tensor as N rows of
 * cols = len / N elements (an (N,C,H,W) input is normalised over C*H*W per example), subtract the
 * row maximum before exponentiating so that no logit overflows, and accumulate row sums in double.
 * Backward passes read only the op's input or output, so nothing is kept in the node's aux. */
#include <math.h>
#include <stddef.h>
#include "op.h"

/* ---- element-wise -------------------------------------------------------------------------- */

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
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		y->x[i] = x->x[i] > 0.0f ? x->x[i] : 0.0f;
	return y;
}

void snm_relu_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		if (x->x[i] > 0.0f)
			x->g[i] += y->g[i];
}

/* y = x > 0 ? x : alpha x;  dx += dy (x > 0 ? 1 : alpha);  alpha in nd->f[0]. */
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
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		y->x[i] = x->x[i] > 0.0f ? x->x[i] : alpha * x->x[i];
	return y;
}

void snm_leaky_relu_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	float alpha = nd->f[0];
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		x->g[i] += x->x[i] > 0.0f ? y->g[i] : alpha * y->g[i];
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
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i) {
		float v = x->x[i];
		if (v >= 0.0f) {
			y->x[i] = 1.0f / (1.0f + expf(-v));
		} else {
			float e = expf(v);
			y->x[i] = e / (1.0f + e);
		}
	}
	return y;
}

void snm_sigmoid_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		x->g[i] += y->g[i] * y->x[i] * (1.0f - y->x[i]);
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
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		y->x[i] = tanhf(x->x[i]);
	return y;
}

void snm_tanh_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		x->g[i] += y->g[i] * (1.0f - y->x[i] * y->x[i]);
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
