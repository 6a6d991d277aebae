/* snm/tape.h: define-by-run reverse-mode autodiff.
 *
 * A tape records the ops of one training step as they run.  Every op in snm/ops.h computes its
 * result at once (eagerly) and, when gradients are enabled and one of its inputs carries a
 * gradient, appends a node to the tape.  snm_tape_backward() then walks the nodes from last to
 * first and accumulates gradients with +=, so a tensor used twice (weight sharing, tied decoders)
 * receives the sum of both uses.
 *
 * Memory: results, their gradients and op scratch come from a per-tape arena.  snm_tape_reset()
 * rewinds the arena without freeing it, so after the first step of a loop the tape does no malloc
 * (the arena is consolidated into one block at the first reset after it grew).
 *
 * Errors: ops return NULL on failure (bad shapes, out of memory) and the tape keeps the first error;
 * an op given a NULL input returns NULL at once.  Build a whole objective, then check the final
 * tensor and, if it is NULL, fetch the reason with snm_tape_error().  This keeps plugin code
 * straight-line, like the PyTorch it mirrors.
 *
 * A tape is single-threaded; use one tape per thread. */
#ifndef SNM_TAPE_H
#define SNM_TAPE_H

#include <stddef.h>
#include "snm/error.h"
#include "snm/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct snm_tape snm_tape;

/* New tape whose arena starts at arena_bytes (0: 16 MiB); it grows on demand.  NULL on ENOMEM. */
snm_tape *snm_tape_new(size_t arena_bytes, snm_error *err);

/* Frees the tape and every tensor it made.  NULL is a no-op. */
void snm_tape_free(snm_tape *t);

/* Forgets every node and tensor made since the last reset (their pointers become invalid) and
 * clears the tape's error.  Parameter gradients are not touched (the optimizer zeroes them). */
void snm_tape_reset(snm_tape *t);

/* Gradient recording on (1, the default) or off (0: evaluation; ops record no nodes and allocate
 * no gradients).  Returns the previous setting. */
int snm_tape_set_grad(snm_tape *t, int enabled);
int snm_tape_grad_enabled(const snm_tape *t);

/* Training mode (1, the default) or evaluation mode (0).  Batch norm uses batch statistics and
 * updates its running statistics only in training mode; dropout is the identity in evaluation
 * mode.  Returns the previous setting. */
int snm_tape_set_training(snm_tape *t, int training);
int snm_tape_training(const snm_tape *t);

/* Running statistics held (1) or updated (0, the default) by training-mode batch norm.  Held,
 * batch norm still normalises with the batch's own statistics but leaves its running mean and
 * variance alone: the extra forward passes of a regularizer (VAT's and c2c's probes and
 * perturbed inputs) then leave the statistics as the clean pass set them, as takerum/vat's
 * forward_no_update_batch_stat does.  Kept across snm_tape_reset.  Returns the previous setting. */
int snm_tape_set_hold_stats(snm_tape *t, int hold);
int snm_tape_hold_stats(const snm_tape *t);

/* The weight w of a batch in the running statistics that training-mode batch norm updates: 0 (the
 * default), each op's own momentum; w in (0, 1], w instead of it, for every batch-norm op on the
 * tape: r = (1 - w) r + w batch (unbiased variance).  The trainer's re-estimation of the
 * statistics (train.bn_stats) passes batches i = 0, 1, ... with w = 1/(i + 1), which leaves the
 * mean of the batches' means and unbiased variances (up to float rounding: the buffers are
 * float), as takerum/vat's finetuning of the batch statistics does.  Kept across snm_tape_reset.  Returns the previous setting; a w outside
 * (0, 1] (NaN included) is taken as 0. */
double snm_tape_set_stats_weight(snm_tape *t, double w);
double snm_tape_stats_weight(const snm_tape *t);

/* The numeric version of the ops on this tape: which of two ways of computing a result an op
 * takes where a faster way gives other bits.  Results are reproducible bit for bit within one
 * version; a pipeline picks one with train.numerics, its run files record it, and every version
 * stays in the library, so a committed result retrains to the same bits (`snm verify`).
 *   1 (the default): as snm always computed: Gaussian draws by GSL's polar method
 *     (gsl_ran_gaussian).
 *   2: snm_gauss_noise and snm_randn draw by GSL's ziggurat (gsl_ran_gaussian_ziggurat),
 *     about three times faster a draw at one thread; other draws, so other bits.
 * Kept across snm_tape_reset.  Returns the previous version; v outside [1, SNM_NUMERICS_MAX]
 * changes nothing and returns -1. */
#define SNM_NUMERICS_MAX 2
int snm_tape_set_numerics(snm_tape *t, int v);
int snm_tape_numerics(const snm_tape *t);

/* A constant tensor in the arena with shape d[0..n_d), values copied from data (zeros when data is
 * NULL).  No gradient flows to it. */
snm_tensor *snm_tape_const(snm_tape *t, int n_d, const int *d, const float *data);

/* A leaf that wants a gradient: like snm_tape_const, but snm_tape_backward/snm_tape_grad leave
 * dL/dleaf in its g.  Its g is zeroed at the start of every backward pass. */
snm_tensor *snm_tape_leaf(snm_tape *t, int n_d, const int *d, const float *data);

/* Backpropagates from the scalar loss (one element): every tensor on the tape that depends on it
 * gets dloss/dtensor in g (zeroed first), and every parameter reached gets it ADDED to its
 * persistent g.  Returns 0, SNM_ESHAPE when loss is not a scalar, or the tape's stored error when
 * loss is NULL. */
int snm_tape_backward(snm_tape *t, snm_tensor *loss, snm_error *err);

/* Like snm_tape_backward, but seeded with dy (snm_tensor_len(y) floats) at y instead of 1 at a
 * scalar: computes the vector-Jacobian product dy^T dy/d(.).  Used by gradient checks. */
int snm_tape_backward_seed(snm_tape *t, snm_tensor *y, const float *dy, snm_error *err);

/* Gradient of the scalar loss at the given tensors only (leaves or intermediates made on this
 * tape), left in wrt[i]->g.  Parameter gradients are NOT touched: this is how VAT takes the
 * gradient at its perturbation in the middle of a step.  The later snm_tape_backward() of the
 * step re-zeroes every tape gradient, so copy wrt[i]->g first if it is needed after that. */
int snm_tape_grad(snm_tape *t, snm_tensor *loss, int n_wrt, snm_tensor *const *wrt, snm_error *err);

/* The first error raised on the tape since the last reset, copied into err; returns its code
 * (SNM_OK when none). */
int snm_tape_error(const snm_tape *t, snm_error *err);

/* Records an error on the tape (the first one wins) so that a plugin's own checks -- a model
 * hook that refuses its input, say -- surface through snm_tape_error like an op's.  Returns code. */
int snm_tape_fail(snm_tape *t, int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

/* ---- ops defined outside libsnm ------------------------------------------------------------ */

/* A plugin adds an op of its own -- forward and backward written by hand -- with snm_tape_custom.
 * The op then behaves as libsnm's do: it computes at once, records a node when gradients are on
 * and an input carries a gradient, and snm_tape_backward (or _seed, or snm_tape_grad) calls its
 * backward in the reverse walk, after every use of its result and before the ops that made its
 * inputs.  Check it as tests/test_tape.c checks its example (a gradient check against central
 * differences, tests/gradcheck.h) before training with it.
 *
 * Both functions get the tape, the op's ctx (below), its inputs in[0..n_in) and its result y:
 *
 *   forward   fills y->x (snm_tensor_len(y) floats, uninitialised on entry) from the inputs' x.
 *             It must not write anything else but ctx and memory it owns.  y->g, when not NULL,
 *             is for the backward pass; leave it.
 *   backward  ADDS (+=) its share of the gradient, sum_j y->g[j] d(y->x[j]) / d(in[i]->x[k]),
 *             into in[i]->g[k] for every input whose g is not NULL (the others take no gradient:
 *             constants, stop-gradients); it may read every x, and must not write y or any
 *             input's x.  It is called only when y received a gradient, once per backward pass
 *             (a tape's several passes -- snm_tape_grad, then snm_tape_backward -- call it once
 *             each, so it must not consume what forward left in ctx).
 *
 * Either returns SNM_OK or an SNM_E* code; a failing forward makes snm_tape_custom return NULL,
 * and either failure is recorded on the tape (use snm_tape_fail first for a message of your own;
 * otherwise the tape says "custom op '<name>': forward failed (<code>)").  Neither may call
 * snm_tape_reset or build ops on t.
 *
 * ctx: with ctx_bytes > 0, ctx_bytes bytes from ctx are copied into the tape's arena and both
 * functions get the copy -- the op's arguments, and room where forward leaves what backward needs
 * (a mask, a norm); nothing to free.  More room than that, sized at run time: snm_tape_alloc in
 * forward, its pointer kept in the copy.  With ctx_bytes == 0, ctx is passed as given and must
 * stay valid until the tape's next reset (NULL, or the plugin's state).
 *
 * Like every op: NULL (nothing recorded, no error) when an input is NULL or the tape already holds
 * an error; SNM_EINVAL on the tape for a NULL op or function, or n_in outside
 * 0..SNM_CUSTOM_MAX_IN; SNM_ESHAPE for a bad result shape.  The result is a tape tensor of shape
 * d[0..n_d).  op is copied; op->name must stay valid until the tape's next reset (a literal). */
#define SNM_CUSTOM_MAX_IN 5

typedef int (*snm_custom_fn)(snm_tape *t, void *ctx, int n_in, snm_tensor *const *in, snm_tensor *y);

typedef struct snm_custom_op {
	const char *name;            /* in messages: "custom op 'softplus': ..." */
	snm_custom_fn forward;
	snm_custom_fn backward;
} snm_custom_op;

snm_tensor *snm_tape_custom(snm_tape *t, const snm_custom_op *op, int n_in, snm_tensor *const *in,
                            int n_d, const int *d, void *ctx, size_t ctx_bytes);

/* n bytes of the tape's arena, 64-byte aligned, valid until the next snm_tape_reset (nobody frees
 * them); NULL with SNM_ENOMEM recorded on the tape when memory runs out.  For what a custom op's
 * forward keeps for its backward. */
void *snm_tape_alloc(snm_tape *t, size_t n);

/* Number of nodes recorded since the last reset (for tests and statistics). */
int snm_tape_n_nodes(const snm_tape *t);

/* Bytes of arena in use / reserved (for benchmarks and memory tests). */
size_t snm_tape_arena_used(const snm_tape *t);
size_t snm_tape_arena_reserved(const snm_tape *t);

#ifdef __cplusplus
}
#endif
#endif
