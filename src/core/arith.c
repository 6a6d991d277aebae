/* arith.c: element-wise arithmetic (add, sub, mul, div, scale), shape ops (reshape, row slices and
 * row concatenation, for the labelled and unlabelled halves of a batch), the full reductions sum
 * and mean, and stop-gradient.
 *
 * Binary element-wise ops take two tensors of the same element count and give a result of the
 * first one's shape, so a (N,C,H,W) reconstruction can be compared with an (N,F) input without a
 * reshape.  Reductions accumulate in double and return shape (1).  Stop-gradient records nothing:
 * its result is a constant copy on the tape. */
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include "op.h"
#include "par.h"
#include "vec.h"

/* Common start of add/sub/mul/div: both inputs present, same element count, result of a's shape. */
static snm_tensor *binary_begin(snm_tape *t, int op, const char *what, snm_tensor *a, snm_tensor *b,
                                snm_node **nd)
{
	snm_tensor *in[2] = { a, b };
	char sa[64], sb[64];
	*nd = NULL;
	if (!snm_op_inputs_ok(t, 2, in))
		return NULL;
	if (snm_tensor_len(a) != snm_tensor_len(b))
		return snm_op_fail(t, SNM_ESHAPE, "%s: a %s and b %s differ in element count", what,
		                   snm_tensor_shape_str(a, sa, sizeof sa), snm_tensor_shape_str(b, sb, sizeof sb));
	return snm_op_begin(t, op, a->n_d, a->d, 2, in, nd);
}

/* The element loops below are SNM_BLOCKED (vec.h): blocks with restrict pointers, which the
 * compiler vectorises at -O2, each element computed exactly as the plain loop would.  The written
 * array never overlaps the read ones (a result or a gradient is a tensor of its own); read arrays
 * may be one and the same (x + x).  A large loop is cut into one contiguous part per thread of
 * snm's (par.h, snm_par_parts): every element is still computed by the same expression, so the
 * results are the same bits at any thread count. */

/* The element loops, by the statement they run over i < n. */
typedef enum {
	EW_ADD,        /* d = a + b */
	EW_SUB,        /* d = a - b */
	EW_MUL,        /* d = a b */
	EW_DIV,        /* d = a / b */
	EW_SCALE,      /* d = s a */
	AX_SET,        /* d = 0.0f + s a      (a fresh gradient, op.h) */
	AX_ACC,        /* d += s a */
	MUL_SET,       /* d = 0.0f + a b */
	MUL_ACC,       /* d += a b */
	DIV_DA,        /* d += a / b          (div's da: dy / b) */
	DIV_DB,        /* d -= a (c / b)      (div's db: dy (y / b)) */
	ADD_S,         /* d += s */
	COPY           /* d = a */
} ew_kind;

typedef struct ew_job {
	ew_kind kind;
	float *d;
	const float *a, *b, *c;
	float s;
} ew_job;

static void k_add(float *restrict d, const float *restrict a, const float *restrict b, size_t n)
{
	SNM_BLOCKED(size_t, i, n, d[i] = a[i] + b[i]);
}

static void k_sub(float *restrict d, const float *restrict a, const float *restrict b, size_t n)
{
	SNM_BLOCKED(size_t, i, n, d[i] = a[i] - b[i]);
}

static void k_mul(float *restrict d, const float *restrict a, const float *restrict b, size_t n)
{
	SNM_BLOCKED(size_t, i, n, d[i] = a[i] * b[i]);
}

static void k_div(float *restrict d, const float *restrict a, const float *restrict b, size_t n)
{
	SNM_BLOCKED(size_t, i, n, d[i] = a[i] / b[i]);
}

static void k_scale(float *restrict d, const float *restrict a, float s, size_t n)
{
	SNM_BLOCKED(size_t, i, n, d[i] = s * a[i]);
}

static void k_ax_set(float *restrict d, const float *restrict a, float s, size_t n)
{
	SNM_BLOCKED(size_t, i, n, d[i] = 0.0f + s * a[i]);
}

static void k_ax_acc(float *restrict d, const float *restrict a, float s, size_t n)
{
	SNM_BLOCKED(size_t, i, n, d[i] += s * a[i]);
}

static void k_mul_set(float *restrict d, const float *restrict a, const float *restrict b, size_t n)
{
	SNM_BLOCKED(size_t, i, n, d[i] = 0.0f + a[i] * b[i]);
}

static void k_mul_acc(float *restrict d, const float *restrict a, const float *restrict b, size_t n)
{
	SNM_BLOCKED(size_t, i, n, d[i] += a[i] * b[i]);
}

static void k_div_da(float *restrict d, const float *restrict a, const float *restrict b, size_t n)
{
	SNM_BLOCKED(size_t, i, n, d[i] += a[i] / b[i]);
}

static void k_div_db(float *restrict d, const float *restrict a, const float *restrict b,
                     const float *restrict c, size_t n)
{
	SNM_BLOCKED(size_t, i, n, d[i] -= a[i] * (c[i] / b[i]));
}

static void k_add_s(float *restrict d, float s, size_t n)
{
	SNM_BLOCKED(size_t, i, n, d[i] += s);
}

/* Elements [lo, hi) of job j. */
static void ew_apply(const ew_job *j, size_t lo, size_t hi)
{
	float *d = j->d + lo;
	const float *a = j->a ? j->a + lo : NULL, *b = j->b ? j->b + lo : NULL;
	size_t n = hi - lo;
	switch (j->kind) {
	case EW_ADD: k_add(d, a, b, n); break;
	case EW_SUB: k_sub(d, a, b, n); break;
	case EW_MUL: k_mul(d, a, b, n); break;
	case EW_DIV: k_div(d, a, b, n); break;
	case EW_SCALE: k_scale(d, a, j->s, n); break;
	case AX_SET: k_ax_set(d, a, j->s, n); break;
	case AX_ACC: k_ax_acc(d, a, j->s, n); break;
	case MUL_SET: k_mul_set(d, a, b, n); break;
	case MUL_ACC: k_mul_acc(d, a, b, n); break;
	case DIV_DA: k_div_da(d, a, b, n); break;
	case DIV_DB: k_div_db(d, a, b, j->c + lo, n); break;
	case ADD_S: k_add_s(d, j->s, n); break;
	case COPY: memcpy(d, a, n * sizeof *d); break;
	}
}

static void ew_part(int lo, int hi, void *ctx)
{
	ew_apply(ctx, (size_t)lo, (size_t)hi);
}

/* Job j over elements 0 .. n-1, on snm's threads when n is large. */
static void ew_run(ew_kind kind, float *d, const float *a, const float *b, const float *c, float s,
                   size_t n)
{
	ew_job j = { kind, d, a, b, c, s };
	if (n > INT_MAX)
		ew_apply(&j, 0, n);
	else
		snm_par_parts((int)n, 16, (double)n, ew_part, &j);
}

/* x->g[i] += s src[i] over x's elements when x->g exists (the backward of add, sub, scale,
 * reshape, concat_rows), or x->g[i] = 0.0f + s src[i] when x's gradient is fresh (op.h). */
static void axpy(snm_tensor *x, const float *src, float s)
{
	if (x->g == NULL)
		return;
	ew_run(snm_grad_fresh(x) ? AX_SET : AX_ACC, x->g, src, NULL, NULL, s, snm_tensor_len(x));
}

/* x->g[i] += u[i] v[i] (the backward of mul), or x->g[i] = 0.0f + u[i] v[i] when fresh. */
static void acc_mul(snm_tensor *x, const float *u, const float *v)
{
	ew_run(snm_grad_fresh(x) ? MUL_SET : MUL_ACC, x->g, u, v, NULL, 0.0f, snm_tensor_len(x));
}

/* ---- element-wise -------------------------------------------------------------------------- */

/* y = a + b;  da += dy,  db += dy. */
snm_tensor *snm_add(snm_tape *t, snm_tensor *a, snm_tensor *b)
{
	snm_node *nd;
	snm_tensor *y = binary_begin(t, SNM_OP_ADD, "add", a, b, &nd);
	if (y == NULL)
		return NULL;
	ew_run(EW_ADD, y->x, a->x, b->x, NULL, 0.0f, snm_tensor_len(y));
	return y;
}

void snm_add_backward(snm_tape *t, snm_node *nd)
{
	(void)t;
	axpy(nd->in[0], nd->out->g, 1.0f);
	axpy(nd->in[1], nd->out->g, 1.0f);
}

/* y = a - b;  da += dy,  db -= dy. */
snm_tensor *snm_sub(snm_tape *t, snm_tensor *a, snm_tensor *b)
{
	snm_node *nd;
	snm_tensor *y = binary_begin(t, SNM_OP_SUB, "sub", a, b, &nd);
	if (y == NULL)
		return NULL;
	ew_run(EW_SUB, y->x, a->x, b->x, NULL, 0.0f, snm_tensor_len(y));
	return y;
}

void snm_sub_backward(snm_tape *t, snm_node *nd)
{
	(void)t;
	axpy(nd->in[0], nd->out->g, 1.0f);
	axpy(nd->in[1], nd->out->g, -1.0f);
}

/* y = a b;  da += dy b,  db += dy a. */
snm_tensor *snm_mul(snm_tape *t, snm_tensor *a, snm_tensor *b)
{
	snm_node *nd;
	snm_tensor *y = binary_begin(t, SNM_OP_MUL, "mul", a, b, &nd);
	if (y == NULL)
		return NULL;
	ew_run(EW_MUL, y->x, a->x, b->x, NULL, 0.0f, snm_tensor_len(y));
	return y;
}

void snm_mul_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *a = nd->in[0], *b = nd->in[1], *y = nd->out;
	(void)t;
	if (a->g != NULL)
		acc_mul(a, y->g, b->x);
	if (b->g != NULL)
		acc_mul(b, y->g, a->x);
}

/* y = a / b (IEEE: b = 0 gives +-inf, or NaN for 0/0);  da += dy / b,  db -= dy y / b (PyTorch's
 * -dy (a/b)/b, which overflows later than -dy a / b^2). */
snm_tensor *snm_div(snm_tape *t, snm_tensor *a, snm_tensor *b)
{
	snm_node *nd;
	snm_tensor *y = binary_begin(t, SNM_OP_DIV, "div", a, b, &nd);
	if (y == NULL)
		return NULL;
	ew_run(EW_DIV, y->x, a->x, b->x, NULL, 0.0f, snm_tensor_len(y));
	return y;
}

void snm_div_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *a = nd->in[0], *b = nd->in[1], *y = nd->out;
	size_t n = snm_tensor_len(y);
	(void)t;
	if (a->g != NULL)
		ew_run(DIV_DA, a->g, y->g, b->x, NULL, 0.0f, n);
	if (b->g != NULL)
		ew_run(DIV_DB, b->g, y->g, b->x, y->x, 0.0f, n);
}

/* y = s x;  dx += s dy;  s in nd->f[0]. */
snm_tensor *snm_scale(snm_tape *t, snm_tensor *x, float s)
{
	snm_node *nd;
	snm_tensor *y;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	y = snm_op_begin(t, SNM_OP_SCALE, x->n_d, x->d, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	if (nd)
		nd->f[0] = s;
	ew_run(EW_SCALE, y->x, x->x, NULL, NULL, s, snm_tensor_len(x));
	return y;
}

void snm_scale_backward(snm_tape *t, snm_node *nd)
{
	(void)t;
	axpy(nd->in[0], nd->out->g, nd->f[0]);
}

/* ---- shape --------------------------------------------------------------------------------- */

/* x (any) -> y (d[0..n_d)) with the same element count and the same values in the same order;
 * dx += dy. */
snm_tensor *snm_reshape(snm_tape *t, snm_tensor *x, int n_d, const int *d)
{
	snm_node *nd;
	snm_tensor *y;
	size_t len = 1;
	char sx[64];
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	if (n_d < 1 || n_d > SNM_MAX_DIM)
		return snm_op_fail(t, SNM_ESHAPE, "reshape: x %s to %d dimensions (1..%d allowed)",
		                   snm_tensor_shape_str(x, sx, sizeof sx), n_d, SNM_MAX_DIM);
	for (int i = 0; i < n_d; ++i)
		len *= d[i] > 0 ? (size_t)d[i] : 0;
	if (len != snm_tensor_len(x)) {
		snm_tensor to = { .n_d = n_d };
		char sy[64];
		memcpy(to.d, d, (size_t)n_d * sizeof *d);
		return snm_op_fail(t, SNM_ESHAPE, "reshape: x %s cannot become %s (element counts differ)",
		                   snm_tensor_shape_str(x, sx, sizeof sx), snm_tensor_shape_str(&to, sy, sizeof sy));
	}
	y = snm_op_begin(t, SNM_OP_RESHAPE, n_d, d, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	ew_run(COPY, y->x, x->x, NULL, NULL, 0.0f, len);
	return y;
}

void snm_reshape_backward(snm_tape *t, snm_node *nd)
{
	(void)t;
	axpy(nd->in[0], nd->out->g, 1.0f);
}

/* x (N, ...) -> y (n, ...) = rows [start, start + n) of x;  dx[start + r] += dy[r].
 * start in nd->i[0]. */
snm_tensor *snm_slice_rows(snm_tape *t, snm_tensor *x, int start, int n)
{
	snm_node *nd;
	snm_tensor *y;
	int d[SNM_MAX_DIM];
	size_t cols;
	char sx[64];
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	if (start < 0 || n < 1 || start > x->d[0] - n)
		return snm_op_fail(t, SNM_ESHAPE, "slice_rows: rows [%d,%d+%d) are not inside x %s", start, start,
		                   n, snm_tensor_shape_str(x, sx, sizeof sx));
	memcpy(d, x->d, sizeof d);
	d[0] = n;
	y = snm_op_begin(t, SNM_OP_SLICE_ROWS, x->n_d, d, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	if (nd)
		nd->i[0] = start;
	cols = snm_tensor_cols(x);
	memcpy(y->x, x->x + (size_t)start * cols, (size_t)n * cols * sizeof(float));
	return y;
}

void snm_slice_rows_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0];
	(void)t;
	if (x->g != NULL)    /* a part of x->g: not fresh-capable (optab), so zeroed or a parameter's */
		ew_run(AX_ACC, x->g + (size_t)nd->i[0] * snm_tensor_cols(x), nd->out->g, NULL, NULL, 1.0f,
		       snm_tensor_len(nd->out));
}

/* a (Na, ...), b (Nb, ...) with the same row shape -> y (Na + Nb, ...), rows of a then rows of b;
 * da += dy[:Na],  db += dy[Na:]. */
snm_tensor *snm_concat_rows(snm_tape *t, snm_tensor *a, snm_tensor *b)
{
	snm_tensor *in[2] = { a, b }, *y;
	snm_node *nd;
	int d[SNM_MAX_DIM], same = 1;
	char sa[64], sb[64];
	if (!snm_op_inputs_ok(t, 2, in))
		return NULL;
	if (a->n_d != b->n_d)
		same = 0;
	for (int i = 1; same && i < a->n_d; ++i)
		same = a->d[i] == b->d[i];
	if (!same)
		return snm_op_fail(t, SNM_ESHAPE, "concat_rows: a %s and b %s have different row shapes",
		                   snm_tensor_shape_str(a, sa, sizeof sa), snm_tensor_shape_str(b, sb, sizeof sb));
	if (a->d[0] > INT_MAX - b->d[0])
		return snm_op_fail(t, SNM_ESHAPE, "concat_rows: a %s and b %s have too many rows together",
		                   snm_tensor_shape_str(a, sa, sizeof sa), snm_tensor_shape_str(b, sb, sizeof sb));
	memcpy(d, a->d, sizeof d);
	d[0] = a->d[0] + b->d[0];
	y = snm_op_begin(t, SNM_OP_CONCAT_ROWS, a->n_d, d, 2, in, &nd);
	if (y == NULL)
		return NULL;
	ew_run(COPY, y->x, a->x, NULL, NULL, 0.0f, snm_tensor_len(a));
	ew_run(COPY, y->x + snm_tensor_len(a), b->x, NULL, NULL, 0.0f, snm_tensor_len(b));
	return y;
}

void snm_concat_rows_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *a = nd->in[0], *b = nd->in[1];
	(void)t;
	axpy(a, nd->out->g, 1.0f);
	axpy(b, nd->out->g + snm_tensor_len(a), 1.0f);
}

/* ---- reductions ---------------------------------------------------------------------------- */

static double sum_double(const snm_tensor *x)
{
	double s = 0;
	for (size_t i = 0, n = snm_tensor_len(x); i < n; ++i)
		s += x->x[i];
	return s;
}

/* x (any) -> y (1) = sum_i x_i (accumulated in double);  dx_i += dy. */
snm_tensor *snm_sum(snm_tape *t, snm_tensor *x)
{
	snm_node *nd;
	snm_tensor *y;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	y = snm_op_begin(t, SNM_OP_SUM, 1, (int[]){ 1 }, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	y->x[0] = (float)sum_double(x);
	return y;
}

void snm_sum_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0];
	float dy = nd->out->g[0];
	(void)t;
	if (x->g == NULL)
		return;
	ew_run(ADD_S, x->g, NULL, NULL, NULL, dy, snm_tensor_len(x));
}

/* x (any, n elements) -> y (1) = (1/n) sum_i x_i;  dx_i += dy / n. */
snm_tensor *snm_mean(snm_tape *t, snm_tensor *x)
{
	snm_node *nd;
	snm_tensor *y;
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	y = snm_op_begin(t, SNM_OP_MEAN, 1, (int[]){ 1 }, 1, &x, &nd);
	if (y == NULL)
		return NULL;
	y->x[0] = (float)(sum_double(x) / (double)snm_tensor_len(x));
	return y;
}

void snm_mean_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0];
	size_t n = snm_tensor_len(x);
	float dy = (float)((double)nd->out->g[0] / (double)n);
	(void)t;
	if (x->g == NULL)
		return;
	ew_run(ADD_S, x->g, NULL, NULL, NULL, dy, n);
}

/* ---- stop-gradient ------------------------------------------------------------------------- */

/* y = x as a constant on the tape (PyTorch .detach()): no node, no gradient buffer, so nothing
 * flows back to x through y. */
snm_tensor *snm_stopgrad(snm_tape *t, snm_tensor *x)
{
	if (!snm_op_inputs_ok(t, 1, &x))
		return NULL;
	return snm_tape_const(t, x->n_d, x->d, x->x);
}
