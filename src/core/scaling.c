/* scaling.c: per-example scaling ops: the min-max statistics and (de)scaling of the paper's noise
 * scheme, and the max-abs and L2 row normalisations of VAT's perturbation.
 *
 * The semantic-noise paper perturbs a representation v in its min-max-scaled space:
 *     v' = ((v - lo)/span + sd e) span + lo,   lo = min v,  span = max(max v - lo, 1e-12),
 * which the PyTorch reference (peers/torch_ref.py, minmax_noise) writes with v.min(1), v.max(1)
 * and clamp_min.  Here that is snm_minmax_stats -> snm_minmax_scale -> snm_gauss_noise ->
 * snm_minmax_descale, and gradients reach v through the statistics as they do in PyTorch: min/max
 * over a dimension send their gradient to the selected (first) element, and clamp_min passes it
 * only when the span was not clamped.  The element-wise arithmetic is float32 in the order the
 * PyTorch expression uses; sums for gradients are accumulated in double.
 *
 * "Row" is the first dimension: an (N,C,H,W) tensor has N rows of C*H*W elements. */
#include <math.h>
#include <string.h>
#include "op.h"

#define SPAN_MIN 1e-12f

/* ---- min-max statistics ------------------------------------------------------------------- */

/* x: N rows of D.  per_example: st (N,2), st[n] = (lo_n, span_n) over row n; else st (1,2) over
 * all of x.  lo = min x, span = max(max x - lo, 1e-12).
 * Backward: dx[amin] += dlo;  unless clamped: dx[amax] += dspan, dx[amin] -= dspan, with amin /
 * amax the first arg-min / arg-max of the row (or tensor).  aux: per stats row, amin, amax and
 * the clamped flag (size_t each). */
snm_tensor *snm_minmax_stats(snm_tape *t, snm_tensor *x, int per_example)
{
	snm_tensor *y;
	snm_node *nd;
	size_t R, D, *arg;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	R = per_example ? (size_t)x->d[0] : 1;
	D = snm_tensor_len(x) / R;
	y = snm_op_begin(t, SNM_OP_MINMAX_STATS, 2, (int[]){ (int)R, 2 }, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	arg = NULL;
	if (nd) {
		arg = snm_tape_alloc(t, 3 * R * sizeof *arg);
		if (arg == NULL)
			return NULL;
		nd->aux = arg;
	}
	for (size_t r = 0; r < R; ++r) {
		const float *xr = x->x + r * D;
		size_t amin = 0, amax = 0;
		float span;
		for (size_t j = 1; j < D; ++j) {
			if (xr[j] < xr[amin])
				amin = j;
			if (xr[j] > xr[amax])
				amax = j;
		}
		span = xr[amax] - xr[amin];
		y->x[2 * r] = xr[amin];
		y->x[2 * r + 1] = span < SPAN_MIN ? SPAN_MIN : span;
		if (arg) {
			arg[3 * r] = r * D + amin;
			arg[3 * r + 1] = r * D + amax;
			arg[3 * r + 2] = span < SPAN_MIN;
		}
	}
	return y;
}

void snm_minmax_stats_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	const size_t *arg = nd->aux;
	size_t R = (size_t)y->d[0];
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t r = 0; r < R; ++r) {
		float dlo = y->g[2 * r], dspan = y->g[2 * r + 1];
		x->g[arg[3 * r]] += dlo;
		if (!arg[3 * r + 2]) {
			x->g[arg[3 * r + 1]] += dspan;
			x->g[arg[3 * r]] -= dspan;
		}
	}
}

/* 1 when st fits x: (N,2), one stats row per row of x, or (1,2), one for all rows; otherwise
 * records SNM_ESHAPE and returns 0. */
static int stats_check(snm_tape *t, const char *op, const snm_tensor *x, const snm_tensor *st)
{
	char sx[64], ss[64];
	if (snm_tensor_cols(st) != 2 || (st->d[0] != 1 && st->d[0] != x->d[0])) {
		snm_op_fail(t, SNM_ESHAPE, "%s: statistics %s do not fit x %s (need (1,2) or (%d,2))", op,
		            snm_tensor_shape_str(st, ss, sizeof ss), snm_tensor_shape_str(x, sx, sizeof sx),
		            x->d[0]);
		return 0;
	}
	return 1;
}

/* ---- min-max scaling ---------------------------------------------------------------------- */

/* x: N rows of D; st (N,2) or (1,2).  y = (x - lo) / span (float, as PyTorch).
 * dx += dy / span;  dlo -= sum dy / span;  dspan -= sum dy (x - lo) / span^2
 * (sums over the rows each stats row covers). */
snm_tensor *snm_minmax_scale(snm_tape *t, snm_tensor *x, snm_tensor *st)
{
	snm_tensor *in[2] = { x, st }, *y;
	snm_node *nd;
	size_t N, D;
	if (!snm_op_inputs_ok(t, 2, in) || !stats_check(t, "minmax_scale", x, st))
		return NULL;
	y = snm_op_begin(t, SNM_OP_MINMAX_SCALE, x->n_d, x->d, 2, in, &nd);
	if (y == NULL)
		return NULL;
	N = (size_t)x->d[0];
	D = snm_tensor_cols(x);
	for (size_t n = 0; n < N; ++n) {
		const float *s = st->x + (st->d[0] == 1 ? 0 : 2 * n);
		float lo = s[0], span = s[1];
		for (size_t j = 0; j < D; ++j)
			y->x[n * D + j] = (x->x[n * D + j] - lo) / span;
	}
	return y;
}

void snm_minmax_scale_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *st = nd->in[1], *y = nd->out;
	size_t N = (size_t)x->d[0], D = snm_tensor_cols(x);
	(void)t;
	for (size_t n = 0; n < N; ++n) {
		size_t r = st->d[0] == 1 ? 0 : n;
		double lo = st->x[2 * r], span = st->x[2 * r + 1], sdy = 0, sdyx = 0;
		const float *dy = y->g + n * D, *xn = x->x + n * D;
		if (x->g != NULL)
			for (size_t j = 0; j < D; ++j)
				x->g[n * D + j] += (float)(dy[j] / span);
		if (st->g == NULL)
			continue;
		for (size_t j = 0; j < D; ++j) {
			sdy += dy[j];
			sdyx += dy[j] * (xn[j] - lo);
		}
		st->g[2 * r] -= (float)(sdy / span);
		st->g[2 * r + 1] -= (float)(sdyx / (span * span));
	}
}

/* x: N rows of D; st (N,2) or (1,2).  y = x span + lo (float, as PyTorch), the inverse of
 * snm_minmax_scale.  dx += dy span;  dlo += sum dy;  dspan += sum dy x. */
snm_tensor *snm_minmax_descale(snm_tape *t, snm_tensor *x, snm_tensor *st)
{
	snm_tensor *in[2] = { x, st }, *y;
	snm_node *nd;
	size_t N, D;
	if (!snm_op_inputs_ok(t, 2, in) || !stats_check(t, "minmax_descale", x, st))
		return NULL;
	y = snm_op_begin(t, SNM_OP_MINMAX_DESCALE, x->n_d, x->d, 2, in, &nd);
	if (y == NULL)
		return NULL;
	N = (size_t)x->d[0];
	D = snm_tensor_cols(x);
	for (size_t n = 0; n < N; ++n) {
		const float *s = st->x + (st->d[0] == 1 ? 0 : 2 * n);
		float lo = s[0], span = s[1];
		for (size_t j = 0; j < D; ++j)
			y->x[n * D + j] = x->x[n * D + j] * span + lo;
	}
	return y;
}

void snm_minmax_descale_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *st = nd->in[1], *y = nd->out;
	size_t N = (size_t)x->d[0], D = snm_tensor_cols(x);
	(void)t;
	for (size_t n = 0; n < N; ++n) {
		size_t r = st->d[0] == 1 ? 0 : n;
		float span = st->x[2 * r + 1];
		double sdy = 0, sdyx = 0;
		const float *dy = y->g + n * D, *xn = x->x + n * D;
		if (x->g != NULL)
			for (size_t j = 0; j < D; ++j)
				x->g[n * D + j] += dy[j] * span;
		if (st->g == NULL)
			continue;
		for (size_t j = 0; j < D; ++j) {
			sdy += dy[j];
			sdyx += (double)dy[j] * xn[j];
		}
		st->g[2 * r] += (float)sdy;
		st->g[2 * r + 1] += (float)sdyx;
	}
}

/* ---- row normalisations (VAT) ------------------------------------------------------------- */

/* Per row: m = max_j |x_j| at k (first arg-max), q = eps + m, y = x / q (float).
 * dx_j += dy_j / q;  dx_k -= sign(x_k) (sum_j dy_j x_j) / q^2  (sign(0) = 0, as PyTorch's abs).
 * aux: per row k (size_t), then q (float).  eps < 0 is SNM_EINVAL. */
snm_tensor *snm_maxabs_normalize(snm_tape *t, snm_tensor *x, float eps)
{
	snm_tensor *y;
	snm_node *nd;
	size_t N, D, *arg = NULL;
	float *q = NULL;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	if (!(eps >= 0.0f))
		return snm_op_fail(t, SNM_EINVAL, "maxabs_normalize: eps %g is negative", (double)eps);
	y = snm_op_begin(t, SNM_OP_MAXABS_NORMALIZE, x->n_d, x->d, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	N = (size_t)x->d[0];
	D = snm_tensor_cols(x);
	if (nd) {
		arg = snm_tape_alloc(t, N * (sizeof *arg + sizeof *q));
		if (arg == NULL)
			return NULL;
		q = (float *)(arg + N);
		nd->aux = arg;
	}
	for (size_t n = 0; n < N; ++n) {
		const float *xn = x->x + n * D;
		size_t k = 0;
		float qn;
		for (size_t j = 1; j < D; ++j)
			if (fabsf(xn[j]) > fabsf(xn[k]))
				k = j;
		qn = eps + fabsf(xn[k]);
		for (size_t j = 0; j < D; ++j)
			y->x[n * D + j] = xn[j] / qn;
		if (arg) {
			arg[n] = k;
			q[n] = qn;
		}
	}
	return y;
}

void snm_maxabs_normalize_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	size_t N = (size_t)x->d[0], D = snm_tensor_cols(x);
	const size_t *arg = nd->aux;
	const float *q = (const float *)(arg + N);
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t n = 0; n < N; ++n) {
		const float *xn = x->x + n * D, *dy = y->g + n * D;
		float *dx = x->g + n * D, xk = xn[arg[n]];
		double qn = q[n], s = 0;
		for (size_t j = 0; j < D; ++j) {
			s += (double)dy[j] * xn[j];
			dx[j] += (float)(dy[j] / qn);
		}
		if (xk != 0.0f)
			dx[arg[n]] -= (float)((xk > 0 ? 1.0 : -1.0) * s / (qn * qn));
	}
}

/* Per row: r = sqrt(eps + sum_j x_j^2) (double), y = x / r.
 * dx_j += (dy_j - y_j sum_k dy_k y_k) / r.  aux: r per row (double).  eps < 0 is SNM_EINVAL. */
snm_tensor *snm_l2_normalize(snm_tape *t, snm_tensor *x, float eps)
{
	snm_tensor *y;
	snm_node *nd;
	size_t N, D;
	double *rn = NULL;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	if (!(eps >= 0.0f))
		return snm_op_fail(t, SNM_EINVAL, "l2_normalize: eps %g is negative", (double)eps);
	y = snm_op_begin(t, SNM_OP_L2_NORMALIZE, x->n_d, x->d, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	N = (size_t)x->d[0];
	D = snm_tensor_cols(x);
	if (nd) {
		rn = snm_tape_alloc(t, N * sizeof *rn);
		if (rn == NULL)
			return NULL;
		nd->aux = rn;
	}
	for (size_t n = 0; n < N; ++n) {
		const float *xn = x->x + n * D;
		double ss = eps, r;
		for (size_t j = 0; j < D; ++j)
			ss += (double)xn[j] * xn[j];
		r = sqrt(ss);
		for (size_t j = 0; j < D; ++j)
			y->x[n * D + j] = (float)(xn[j] / r);
		if (rn)
			rn[n] = r;
	}
	return y;
}

void snm_l2_normalize_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *y = nd->out;
	size_t N = (size_t)x->d[0], D = snm_tensor_cols(x);
	const double *rn = nd->aux;
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t n = 0; n < N; ++n) {
		const float *yn = y->x + n * D, *dy = y->g + n * D;
		float *dx = x->g + n * D;
		double s = 0;
		for (size_t j = 0; j < D; ++j)
			s += (double)dy[j] * yn[j];
		for (size_t j = 0; j < D; ++j)
			dx[j] += (float)((dy[j] - yn[j] * s) / rn[n]);
	}
}
