/* loss.c: the scalar losses: fused softmax cross-entropy on logits, KL divergence between the
 * categorical distributions of two logit tensors (VAT, the semantic-noise consistency terms), and
 * the squared reconstruction error.
 *
 * Every loss is a mean over the batch, returned as a tensor of shape (1).  Logit tensors are read
 * as N rows of K = len / N classes, so (N,K,1,1) works like (N,K).  Softmaxes are taken with the
 * row maximum subtracted and through log-sum-exp, never as log(softmax), so logits of +-1000 give
 * finite losses and gradients; row and batch sums are accumulated in double.  What a backward pass
 * needs besides the inputs (labels, probabilities) is kept in arena memory hung on the node's aux,
 * and only when the node is recorded. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "op.h"
#include "par.h"

/* Log-sum-exp of a row of n logits, max-subtracted: m + log sum_k exp(x_k - m). */
static double row_lse(const float *x, size_t n)
{
	float m = x[0];
	double s = 0;
	for (size_t k = 1; k < n; ++k)
		if (x[k] > m)
			m = x[k];
	for (size_t k = 0; k < n; ++k)
		s += exp((double)x[k] - m);
	return (double)m + log(s);
}

/* ---- softmax cross-entropy ----------------------------------------------------------------- */

typedef struct ce_aux {
	int32_t *labels;         /* N labels, copied from the caller */
	float *prob;             /* (N,K) softmax(logits) */
} ce_aux;

/* logits (N,K), labels N ints in [0,K) -> L (1).
 * L = (1/N) sum_n (lse(logits_n) - logits_n[labels_n]),  lse = log sum_k exp;
 * dlogits_n += dL/N (softmax(logits_n) - onehot(labels_n)). */
snm_tensor *snm_softmax_ce(snm_tape *t, snm_tensor *logits, const int32_t *labels)
{
	snm_node *nd;
	snm_tensor *y;
	ce_aux *a = NULL;
	size_t N, K;
	double sum = 0;
	char s[64];
	if (!snm_op_inputs_ok(t, 1, &logits))
		return NULL;
	N = (size_t)logits->d[0];
	K = snm_tensor_cols(logits);
	if (labels == NULL)
		return snm_op_fail(t, SNM_EINVAL, "softmax_ce: no labels for logits %s",
		                   snm_tensor_shape_str(logits, s, sizeof s));
	for (size_t n = 0; n < N; ++n)
		if (labels[n] < 0 || (size_t)labels[n] >= K)
			return snm_op_fail(t, SNM_EINVAL, "softmax_ce: label %ld of row %zu is outside [0,%zu) "
			                   "(logits %s)", (long)labels[n], n, K,
			                   snm_tensor_shape_str(logits, s, sizeof s));
	y = snm_op_begin(t, SNM_OP_SOFTMAX_CE, 1, (int[]){ 1 }, 1, &logits, &nd);
	if (y == NULL)
		return NULL;
	if (nd) {
		a = snm_tape_alloc(t, sizeof *a);
		if (a == NULL)
			return NULL;
		a->labels = snm_tape_alloc(t, N * sizeof *a->labels);
		a->prob = snm_tape_alloc(t, N * K * sizeof *a->prob);
		if (a->labels == NULL || a->prob == NULL)
			return NULL;
		memcpy(a->labels, labels, N * sizeof *labels);
		nd->aux = a;
	}
	for (size_t n = 0; n < N; ++n) {
		const float *xn = logits->x + n * K;
		double lse = row_lse(xn, K);
		sum += lse - xn[labels[n]];
		if (a != NULL)
			for (size_t k = 0; k < K; ++k)
				a->prob[n * K + k] = (float)exp((double)xn[k] - lse);
	}
	y->x[0] = (float)(sum / (double)N);
	return y;
}

void snm_softmax_ce_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0];
	const ce_aux *a = nd->aux;
	size_t N = (size_t)x->d[0], K = snm_tensor_cols(x);
	float c = nd->out->g[0] / (float)N;
	(void)t;
	if (x->g == NULL)
		return;
	for (size_t n = 0; n < N; ++n) {
		const float *p = a->prob + n * K;
		float *dx = x->g + n * K;
		for (size_t k = 0; k < K; ++k)
			dx[k] += c * p[k];
		dx[a->labels[n]] -= c;
	}
}

/* ---- KL between categoricals --------------------------------------------------------------- */

typedef struct kl_aux {
	float *P, *Q;            /* (N,K) softmax(p), softmax(q) */
	float *D;                /* (N,K) log P - log Q */
	float *kl;               /* N row divergences L_n = sum_k P_nk D_nk */
} kl_aux;

/* p, q (N,K) logits -> L (1) = (1/N) sum_n L_n,  L_n = sum_k P_nk (log P_nk - log Q_nk),
 * P = softmax(p), Q = softmax(q), logs taken as logit - lse;
 * dp_n += dL/N P_n (D_n - L_n),  dq_n += dL/N (Q_n - P_n). */
snm_tensor *snm_kl_cat(snm_tape *t, snm_tensor *p, snm_tensor *q)
{
	snm_tensor *in[2] = { p, q }, *y;
	snm_node *nd;
	kl_aux *a = NULL;
	size_t N, K;
	double sum = 0;
	char sp[64], sq[64];
	if (!snm_op_inputs_ok(t, 2, in))
		return NULL;
	N = (size_t)p->d[0];
	K = snm_tensor_cols(p);
	if (p->d[0] != q->d[0] || snm_tensor_cols(q) != K)
		return snm_op_fail(t, SNM_ESHAPE, "kl_cat: p %s and q %s differ in rows or classes",
		                   snm_tensor_shape_str(p, sp, sizeof sp), snm_tensor_shape_str(q, sq, sizeof sq));
	y = snm_op_begin(t, SNM_OP_KL_CAT, 1, (int[]){ 1 }, 2, in, &nd);
	if (y == NULL)
		return NULL;
	if (nd) {
		a = snm_tape_alloc(t, sizeof *a);
		if (a == NULL)
			return NULL;
		a->P = snm_tape_alloc(t, N * K * sizeof(float));
		a->Q = snm_tape_alloc(t, N * K * sizeof(float));
		a->D = snm_tape_alloc(t, N * K * sizeof(float));
		a->kl = snm_tape_alloc(t, N * sizeof(float));
		if (a->P == NULL || a->Q == NULL || a->D == NULL || a->kl == NULL)
			return NULL;
		nd->aux = a;
	}
	for (size_t n = 0; n < N; ++n) {
		const float *pn = p->x + n * K, *qn = q->x + n * K;
		double lp = row_lse(pn, K), lq = row_lse(qn, K), kl = 0;
		for (size_t k = 0; k < K; ++k) {
			double logP = (double)pn[k] - lp, logQ = (double)qn[k] - lq, P = exp(logP);
			kl += P * (logP - logQ);
			if (a != NULL) {
				a->P[n * K + k] = (float)P;
				a->Q[n * K + k] = (float)exp(logQ);
				a->D[n * K + k] = (float)(logP - logQ);
			}
		}
		if (a != NULL)
			a->kl[n] = (float)kl;
		sum += kl;
	}
	y->x[0] = (float)(sum / (double)N);
	return y;
}

void snm_kl_cat_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *p = nd->in[0], *q = nd->in[1];
	const kl_aux *a = nd->aux;
	size_t N = (size_t)p->d[0], K = snm_tensor_cols(p);
	float c = nd->out->g[0] / (float)N;
	(void)t;
	for (size_t n = 0; n < N; ++n)
		for (size_t k = 0; k < K; ++k) {
			size_t i = n * K + k;
			if (p->g != NULL)
				p->g[i] += c * a->P[i] * (a->D[i] - a->kl[n]);
			if (q->g != NULL)   /* Q - P, as P expm1(-D) when the two are close (VAT's p + xi d): no cancellation */
				q->g[i] += fabsf(a->D[i]) < 1.0f ? (float)(c * (double)a->P[i] * expm1(-(double)a->D[i]))
				                                  : c * (a->Q[i] - a->P[i]);
		}
}

/* ---- squared error ------------------------------------------------------------------------- */

/* The start of sqerr and bce_logits, element-wise losses of two inputs (named an and bn in the
 * message) of the same element count *n: both present, then the (1) result, recorded with both
 * as inputs; NULL (the tape's error set) when not. */
static snm_tensor *pair_begin(snm_tape *t, int op, const char *what, const char *an, snm_tensor *a,
                              const char *bn, snm_tensor *b, size_t *n)
{
	snm_tensor *in[2] = { a, b };
	snm_node *nd;
	char sa[64], sb[64];
	if (!snm_op_inputs_ok(t, 2, in))
		return NULL;
	*n = snm_tensor_len(a);
	if (snm_tensor_len(b) != *n)
		return snm_op_fail(t, SNM_ESHAPE, "%s: %s %s and %s %s differ in element count", what, an,
		                   snm_tensor_shape_str(a, sa, sizeof sa), bn,
		                   snm_tensor_shape_str(b, sb, sizeof sb));
	return snm_op_begin(t, op, 1, (int[]){ 1 }, 2, in, &nd);
}

/* a, b of the same element count -> L (1) = (1/N) sum_i (a_i - b_i)^2, N = a->d[0];
 * da += dL (2/N)(a - b),  db -= dL (2/N)(a - b). */
snm_tensor *snm_sqerr(snm_tape *t, snm_tensor *a, snm_tensor *b)
{
	double sum = 0;
	size_t n = 0;
	snm_tensor *y = pair_begin(t, SNM_OP_SQERR, "sqerr", "a", a, "b", b, &n);
	if (y == NULL)
		return NULL;
	for (size_t i = 0; i < n; ++i) {
		double d = (double)a->x[i] - b->x[i];
		sum += d * d;
	}
	y->x[0] = (float)(sum / a->d[0]);
	return y;
}

/* sqerr's backward over elements [lo, hi), for snm_par_parts: each element alike on any thread. */
typedef struct sqerr_job {
	snm_tensor *a, *b;
	float c;
	int fa, fb;
} sqerr_job;

static void sqerr_range(const sqerr_job *j, size_t lo, size_t hi)
{
	snm_tensor *a = j->a, *b = j->b;
	for (size_t i = lo; i < hi; ++i) {
		float d = j->c * (a->x[i] - b->x[i]);
		if (a->g != NULL)
			a->g[i] = (j->fa ? 0.0f : a->g[i]) + d;
		if (b->g != NULL)
			b->g[i] = (j->fb ? 0.0f : b->g[i]) - d;
	}
}

static void sqerr_part(int lo, int hi, void *ctx)
{
	sqerr_range(ctx, (size_t)lo, (size_t)hi);
}

void snm_sqerr_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *a = nd->in[0], *b = nd->in[1];
	size_t n = snm_tensor_len(a);
	/* fresh (op.h): a's (b's) gradient unzeroed, stored as 0.0f + d (0.0f - d); b after a, so
	 * sqerr(x, x) writes then subtracts, as zero, add, subtract did */
	sqerr_job j = { a, b, 2.0f * nd->out->g[0] / (float)a->d[0], 0, 0 };
	(void)t;
	j.fa = a->g != NULL && snm_grad_fresh(a);
	j.fb = b->g != NULL && snm_grad_fresh(b);
	if (n > INT_MAX)
		sqerr_range(&j, 0, n);
	else
		snm_par_parts((int)n, 16, (double)n, sqerr_part, &j);
}

/* Binary cross-entropy from logits, mean over elements (ops.h):
 *   L = (1/n) sum_i [max(x_i, 0) - x_i t_i + log1p(exp(-|x_i|))]
 *   dx_i += dL (sigmoid(x_i) - t_i) / n;  dt_i -= dL x_i / n.
 * The sum runs in double, in element order. */
snm_tensor *snm_bce_logits(snm_tape *t, snm_tensor *logits, snm_tensor *targets)
{
	double sum = 0;
	size_t n = 0;
	snm_tensor *y = pair_begin(t, SNM_OP_BCE_LOGITS, "bce_logits", "logits", logits, "targets",
	                           targets, &n);
	if (y == NULL)
		return NULL;
	for (size_t i = 0; i < n; ++i) {
		double x = logits->x[i];
		sum += (x > 0 ? x : 0) - x * targets->x[i] + log1p(exp(-fabs(x)));
	}
	y->x[0] = (float)(sum / (double)n);
	return y;
}

void snm_bce_logits_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *tg = nd->in[1];
	size_t n = snm_tensor_len(x);
	float c = nd->out->g[0] / (float)n;
	(void)t;
	for (size_t i = 0; i < n; ++i) {
		if (x->g != NULL) {
			float xi = x->x[i];
			float s = xi >= 0 ? 1.0f / (1.0f + expf(-xi)) : expf(xi) / (1.0f + expf(xi));
			x->g[i] += c * (s - tg->x[i]);
		}
		if (tg->g != NULL)
			tg->g[i] -= c * x->x[i];
	}
}
