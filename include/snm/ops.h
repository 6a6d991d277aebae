/* snm/ops.h: the differentiable operations.
 *
 * Every function here computes its result eagerly on tape t and records a node for the backward
 * pass when gradients are enabled and an input carries one.  All return NULL on error (the tape
 * keeps the reason, see snm/tape.h) or when an input is NULL.  Each comment gives the forward
 * formula, the gradient, and the shapes.  Letters: N batch, C input channels, H,W input size,
 * K output channels, R,S kernel size, P,Q output size, F/I/O feature counts.
 *
 * "Rows" means the first dimension: an (N,C,H,W) tensor has N rows of C*H*W elements. */
#ifndef SNM_OPS_H
#define SNM_OPS_H

#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "snm/tape.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- products ------------------------------------------------------------------------------ */

/* Fully connected, with w in PyTorch's layout (O,I).  x: N rows (any shape, flattened per row).
 * trans_w = 0: x has I per row;  y (N,O) = x w^T + b;  dx += dy w,   dw += dy^T x,  db += sum_n dy.
 * trans_w = 1: the tied decoder of that layer: x has O per row;  y (N,I) = x w + b;
 *              dx += dy w^T,  dw += x^T dy,  db += sum_n dy.
 * b: NULL or a vector of y's row length (the decoder's bias is its own). */
snm_tensor *snm_linear(snm_tape *t, snm_tensor *x, snm_tensor *w, snm_tensor *b, int trans_w);

/* 2-D convolution (cross-correlation, as PyTorch's conv2d).
 * x (N,C,H,W), w (K,C,R,S), b (K) or NULL -> y (N,K,P,Q),
 * P = (H + 2 pad - R) / stride + 1, Q = (W + 2 pad - S) / stride + 1.
 * y[n,k,p,q] = b[k] + sum_{c,r,s} w[k,c,r,s] x[n,c,p*stride-pad+r,q*stride-pad+s] (zero outside).
 * Computed as im2col + cblas_sgemm with the tape's one shared scratch buffer.
 * dx = col2im(w^T dy), dw += dy col^T, db += sum_{n,p,q} dy. */
snm_tensor *snm_conv2d(snm_tape *t, snm_tensor *x, snm_tensor *w, snm_tensor *b, int stride, int pad);

/* Fused with the ReLU that follows: h = relu(snm_conv2d(...)) and h = relu(snm_linear(...)), the
 * same bits as snm_relu(t, snm_conv2d(...)) and snm_relu(t, snm_linear(...)).  When the product
 * is recorded, the same two nodes as those calls (the pre-activation exists and takes its
 * gradient); the convolution writes its output and the ReLU's in one pass.  When it is not
 * (gradients off, as in evaluation, or no input with a gradient), one tensor: the bias add and the
 * ReLU are one pass over the output (convolution) or the ReLU runs in place (linear), and the
 * pre-activation is not kept. */
snm_tensor *snm_conv2d_relu(snm_tape *t, snm_tensor *x, snm_tensor *w, snm_tensor *b, int stride,
                            int pad);
snm_tensor *snm_linear_relu(snm_tape *t, snm_tensor *x, snm_tensor *w, snm_tensor *b, int trans_w);

/* Transposed convolution with the SAME weight layout as snm_conv2d (the tied decoder of a conv
 * layer, PyTorch's conv_transpose2d(x, w, b, stride, pad, output_padding)).
 * x (N,K,P,Q), w (K,C,R,S), b (C) or NULL -> y (N,C,out_h,out_w), where out_h/out_w must satisfy
 * (out_h + 2 pad - R) / stride + 1 == P (likewise for Q), i.e. y has the shape of the input of the
 * forward convolution that produced x.  Forward is conv2d's backward-data, backward-data is
 * conv2d's forward, backward-weight is conv2d's with the roles of x and dy swapped:
 * y = col2im(w^T x) + b,  dx = w im2col(dy),  dw += x im2col(dy)^T,  db += sum dy. */
snm_tensor *snm_conv2d_t(snm_tape *t, snm_tensor *x, snm_tensor *w, snm_tensor *b, int stride,
                         int pad, int out_h, int out_w);

/* ---- element-wise activations (same shape as x) ------------------------------------------- */

/* y = max(0, x);                       dx += dy [x > 0] */
snm_tensor *snm_relu(snm_tape *t, snm_tensor *x);
/* y = x > 0 ? x : alpha x;             dx += dy (x > 0 ? 1 : alpha) */
snm_tensor *snm_leaky_relu(snm_tape *t, snm_tensor *x, float alpha);
/* y = 1 / (1 + exp(-x));               dx += dy y (1 - y) */
snm_tensor *snm_sigmoid(snm_tape *t, snm_tensor *x);
/* y = tanh(x);                         dx += dy (1 - y^2) */
snm_tensor *snm_tanh(snm_tape *t, snm_tensor *x);

/* ---- element-wise math functions (same shape as x) ----------------------------------------- */

/* Each is the float function of <math.h> on every element, and its gradient the derivative of
 * that function.  Domain: none of these ops checks its input (no snm op does).  Outside a
 * function's domain the value and the gradient are what IEEE arithmetic gives -- log(0) = -inf
 * with gradient +-inf, log and sqrt of a negative number NaN, exp overflowing to inf past about
 * 88.7 -- and a loss that turns non-finite stops the run at the trainer's check, naming its term.
 * Keep inputs inside the domain yourself: snm_log(t, snm_clamp(t, p, 1e-12f, INFINITY)), or
 * snm_sqrt of a sum plus an epsilon, as snm_l2_normalize does.  At the kinks the gradient is
 * PyTorch's: abs passes sign(x) with sign(0) = 0, clamp passes dy on the closed [lo, hi]. */

/* y = exp(x);                          dx += dy y */
snm_tensor *snm_exp(snm_tape *t, snm_tensor *x);
/* y = log(x) (natural);                dx += dy / x       (x = 0: y = -inf; x < 0: NaN) */
snm_tensor *snm_log(snm_tape *t, snm_tensor *x);
/* y = |x|;                             dx += dy sign(x),  sign(0) = 0 */
snm_tensor *snm_abs(snm_tape *t, snm_tensor *x);
/* y = sqrt(x);                         dx += dy / (2 y)   (x = 0: inf; x < 0: NaN) */
snm_tensor *snm_sqrt(snm_tape *t, snm_tensor *x);
/* y = min(max(x, lo), hi);             dx += dy [lo <= x <= hi]
 * lo or hi may be -INFINITY / INFINITY (a one-sided clamp); lo > hi or a NaN bound is SNM_EINVAL
 * on the tape.  A NaN element stays NaN and passes no gradient. */
snm_tensor *snm_clamp(snm_tape *t, snm_tensor *x, float lo, float hi);

/* Per row (over all non-batch elements): y_j = exp(x_j - m) / sum_k exp(x_k - m), m = max_k x_k;
 * dx_j += y_j (dy_j - sum_k dy_k y_k). */
snm_tensor *snm_softmax(snm_tape *t, snm_tensor *x);
/* Per row: y_j = x_j - m - log sum_k exp(x_k - m);  dx_j += dy_j - softmax(x)_j sum_k dy_k. */
snm_tensor *snm_log_softmax(snm_tape *t, snm_tensor *x);

/* ---- losses (scalar results, shape (1)) ------------------------------------------------------ */

/* Fused softmax cross-entropy, mean over the batch.  logits (N,K), labels: N ints in [0,K)
 * (copied).  L = -(1/N) sum_n log softmax(logits_n)[labels_n];
 * dlogits_n += dL/N (softmax(logits_n) - onehot(labels_n)).  A label out of range is SNM_EINVAL. */
snm_tensor *snm_softmax_ce(snm_tape *t, snm_tensor *logits, const int32_t *labels);

/* KL between the categorical distributions of two logit tensors, mean over the batch.
 * p, q (N,K):  L = (1/N) sum_n sum_k P_nk (log P_nk - log Q_nk),  P = softmax(p), Q = softmax(q).
 * dp_n += dL/N P_n * ((log P_n - log Q_n) - L_n)  with L_n the row's KL;   dq_n += dL/N (Q_n - P_n).
 * Wrap p in snm_stopgrad to hold the clean side fixed (VAT). */
snm_tensor *snm_kl_cat(snm_tape *t, snm_tensor *p, snm_tensor *q);

/* Squared error summed over elements, averaged over rows: L = (1/N) sum (a - b)^2 with N = a->d[0]
 * (PyTorch mse_loss(reduction='sum') / N).  Same element count required.
 * da += dL (2/N)(a - b),  db -= dL (2/N)(a - b). */
snm_tensor *snm_sqerr(snm_tape *t, snm_tensor *a, snm_tensor *b);

/* Binary cross-entropy of sigmoid(logits) against targets in [0,1], from the logits, mean over all
 * n elements (a discriminator's loss: Keras binary_crossentropy, torch
 * binary_cross_entropy_with_logits).  logits, targets: the same element count.
 *   L = (1/n) sum_i [max(x_i, 0) - x_i t_i + log(1 + exp(-|x_i|))]     (stable for any x)
 *   dx_i += dL (sigmoid(x_i) - t_i) / n,   dt_i += -dL x_i / n.
 * Targets are usually a constant (snm_tape_const): 1 for real samples, 0 for fakes. */
snm_tensor *snm_bce_logits(snm_tape *t, snm_tensor *logits, snm_tensor *targets);

/* ---- arithmetic and shape ------------------------------------------------------------------ */

/* Element-wise, a and b of the same element count; y has a's shape.
 * add: y = a + b (da += dy, db += dy);  sub: y = a - b (da += dy, db -= dy);
 * mul: y = a b   (da += dy b, db += dy a);
 * div: y = a / b (da += dy / b, db -= dy y / b, i.e. -dy a / b^2 computed as PyTorch does).
 * div checks no divisor: b = 0 gives +-inf (NaN for 0/0) in y and in both gradients, as IEEE
 * division does; keep b away from 0 (snm_clamp, or add an epsilon) where it can reach it. */
snm_tensor *snm_add(snm_tape *t, snm_tensor *a, snm_tensor *b);
snm_tensor *snm_sub(snm_tape *t, snm_tensor *a, snm_tensor *b);
snm_tensor *snm_mul(snm_tape *t, snm_tensor *a, snm_tensor *b);
snm_tensor *snm_div(snm_tape *t, snm_tensor *a, snm_tensor *b);
/* y = s x;  dx += s dy. */
snm_tensor *snm_scale(snm_tape *t, snm_tensor *x, float s);

/* Same values, new shape d[0..n_d) with the same element count; dx += dy (reshaped). */
snm_tensor *snm_reshape(snm_tape *t, snm_tensor *x, int n_d, const int *d);
/* Rows [start, start + n) of x (the labelled half of a batch);  dx[start..] += dy. */
snm_tensor *snm_slice_rows(snm_tape *t, snm_tensor *x, int start, int n);
/* Rows of a followed by rows of b (same row shape); da += dy[:Na], db += dy[Na:]. */
snm_tensor *snm_concat_rows(snm_tape *t, snm_tensor *a, snm_tensor *b);

/* y = sum_i x_i (shape (1));  dx_i += dy. */
snm_tensor *snm_sum(snm_tape *t, snm_tensor *x);
/* y = (1/n) sum_i x_i over all n elements;  dx_i += dy / n. */
snm_tensor *snm_mean(snm_tape *t, snm_tensor *x);

/* y = x; no gradient flows back (PyTorch .detach()). */
snm_tensor *snm_stopgrad(snm_tape *t, snm_tensor *x);

/* ---- normalisation ------------------------------------------------------------------------- */

/* Batch normalisation with PyTorch semantics.  x (N,F) normalised per feature, or (N,C,H,W) per
 * channel over N,H,W.  Training mode (snm_tape_training): mean mu and BIASED variance s2 of the
 * batch; y = gamma (x - mu) / sqrt(s2 + eps) + beta; running statistics (when given) become
 * r_mean = (1 - momentum) r_mean + momentum mu, r_var = (1 - momentum) r_var + momentum s2 m/(m-1)
 * with m the count per feature (UNBIASED); a tape's stats weight (snm_tape_set_stats_weight), when
 * set, replaces momentum.  Evaluation mode: mu, s2 = r_mean, r_var (required).
 * gamma, beta: NULL (1 and 0) or vectors of F/C.  r_mean/r_var: NULL or buffers of F/C.
 * split > 0: rows [0,split) and [split,N) are normalised with separate batch statistics (the
 * ladder's labelled and unlabelled halves); running statistics are updated from the first group.
 * Backward (training): with xh = (x - mu)/sqrt(s2+eps), per group,
 * dx = gamma/sqrt(s2+eps) (dy - mean(dy) - xh mean(dy xh)); dgamma += sum dy xh; dbeta += sum dy.
 * Backward (evaluation): dx = gamma dy / sqrt(r_var + eps). */
snm_tensor *snm_batchnorm(snm_tape *t, snm_tensor *x, snm_tensor *gamma, snm_tensor *beta,
                          snm_tensor *r_mean, snm_tensor *r_var, float momentum, float eps,
                          int split);

/* ---- noise (the caller passes the RNG stream; never a global) ------------------------------ */

/* Training mode: y = x m / (1 - p) with m_i ~ Bernoulli(1 - p) drawn from rng; dx += dy m/(1-p).
 * Evaluation mode or p == 0: y = x and nothing is drawn. */
snm_tensor *snm_dropout(snm_tape *t, snm_tensor *x, float p, gsl_rng *rng);

/* y = x + sd e, e_i ~ N(0,1) drawn from rng in element order (in both modes);  dx += dy.
 * The draws are the tape's numeric version's (snm_tape_set_numerics): GSL's polar method at 1,
 * its ziggurat at 2. */
snm_tensor *snm_gauss_noise(snm_tape *t, snm_tensor *x, float sd, gsl_rng *rng);

/* A constant of shape d with elements sd e_i, e_i ~ N(0,1) drawn from rng in order (the tape's
 * numeric version's draws, as snm_gauss_noise's). */
snm_tensor *snm_randn(snm_tape *t, int n_d, const int *d, float sd, gsl_rng *rng);

/* ---- per-example scaling (the paper's min-max noise scheme, VAT's normalisation) ---------- */

/* Min-max statistics.  per_example = 1: st (N,2) with st[n] = (lo_n, span_n) over row n;
 * per_example = 0: st (1,2) over the whole tensor.  lo = min x, span = max(max x - lo, 1e-12).
 * Gradient: dlo flows to the (first) arg-min element, dspan to the arg-max (+) and arg-min (-)
 * elements (none when the span was clamped). */
snm_tensor *snm_minmax_stats(snm_tape *t, snm_tensor *x, int per_example);
/* y = (x - lo) / span with st from snm_minmax_stats (rows of st broadcast over rows of x, or one
 * row for all).  dx += dy / span;  dlo -= sum dy / span;  dspan -= sum dy (x - lo) / span^2. */
snm_tensor *snm_minmax_scale(snm_tape *t, snm_tensor *x, snm_tensor *st);
/* y = x span + lo (the inverse of snm_minmax_scale).  dx += dy span;  dlo += sum dy;
 * dspan += sum dy x. */
snm_tensor *snm_minmax_descale(snm_tape *t, snm_tensor *x, snm_tensor *st);

/* Per row: y = x / (eps + max_j |x_j|).  dx from the quotient rule (the max is a function of its
 * arg-max element). */
snm_tensor *snm_maxabs_normalize(snm_tape *t, snm_tensor *x, float eps);
/* Per row: y = x / sqrt(eps + sum_j x_j^2).  dx = (dy - y sum_j dy_j y_j) / sqrt(eps + sum x^2). */
snm_tensor *snm_l2_normalize(snm_tape *t, snm_tensor *x, float eps);

#ifdef __cplusplus
}
#endif
#endif
