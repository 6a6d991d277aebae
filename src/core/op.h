/* op.h (internal to libsnm): what an op module needs from the tape.
 *
 * An op is a public constructor in snm/ops.h plus a static backward function in its module,
 * reached through the enum-indexed table snm_optab (optab.c).  The constructor pattern:
 *
 *     snm_tensor *snm_relu(snm_tape *t, snm_tensor *x)
 *     {
 *         snm_node *nd;
 *         snm_tensor *y = snm_op_begin(t, SNM_OP_RELU, x->n_d, x->d, 1, &x, &nd);
 *         if (y == NULL) return NULL;          // NULL input, shape or memory error: already recorded
 *         ... compute y->x from x->x ...
 *         return y;                            // nd (NULL when not recorded) may keep aux state
 *     }
 *
 * and the backward function adds into in[i]->g for every input whose g is non-NULL:
 *
 *     void snm_relu_backward(snm_tape *t, snm_node *nd)   // dy = nd->out->g
 *
 * Backward functions are only called for nodes whose output received a gradient. */
#ifndef SNM_OP_H
#define SNM_OP_H

#include <stddef.h>
#include "snm/tape.h"
#include "snm/ops.h"

#define SNM_NODE_MAX_IN 5

/* Op ids, append-only (they appear in error messages and statistics). */
typedef enum {
	SNM_OP_LEAF = 0,
	SNM_OP_LINEAR, SNM_OP_CONV2D, SNM_OP_CONV2D_T,
	SNM_OP_RELU, SNM_OP_LEAKY_RELU, SNM_OP_SIGMOID, SNM_OP_TANH, SNM_OP_SOFTMAX, SNM_OP_LOG_SOFTMAX,
	SNM_OP_SOFTMAX_CE, SNM_OP_KL_CAT, SNM_OP_SQERR,
	SNM_OP_ADD, SNM_OP_SUB, SNM_OP_MUL, SNM_OP_SCALE, SNM_OP_RESHAPE, SNM_OP_SLICE_ROWS,
	SNM_OP_CONCAT_ROWS, SNM_OP_SUM, SNM_OP_MEAN,
	SNM_OP_BATCHNORM, SNM_OP_DROPOUT, SNM_OP_GAUSS_NOISE,
	SNM_OP_MINMAX_STATS, SNM_OP_MINMAX_SCALE, SNM_OP_MINMAX_DESCALE, SNM_OP_MAXABS_NORMALIZE,
	SNM_OP_L2_NORMALIZE,
	SNM_OP_EXP, SNM_OP_LOG, SNM_OP_ABS, SNM_OP_SQRT, SNM_OP_CLAMP, SNM_OP_DIV,
	SNM_OP_CUSTOM,
	SNM_OP_BCE_LOGITS,
	SNM_OP__COUNT
} snm_op_id;

typedef struct snm_node {
	int op;                          /* snm_op_id */
	int n_in;
	snm_tensor *in[SNM_NODE_MAX_IN];  /* inputs as given (may include NULL for optional ones) */
	snm_tensor *out;
	int i[8];                        /* small integer arguments (stride, pad, split, ...) */
	float f[4];                      /* small float arguments (alpha, eps, scale, ...) */
	void *aux;                       /* op state kept for backward (arena memory) */
} snm_node;

typedef void (*snm_backward_fn)(snm_tape *t, snm_node *nd);

typedef struct snm_opdef {
	const char *name;                /* "conv2d" */
	snm_backward_fn backward;        /* NULL for ops without a backward (leaf) */
	int fresh;                       /* 1: backward honours SNM_T_FRESH (snm_grad_fresh) */
} snm_opdef;

/* First writes of gradients.  The reverse walk (tape.c) zeroes a tape tensor's gradient just
 * before the first backward function that adds into it, so that function stores 0.0f + v (or
 * 0.0f - v) in every element.  For an op whose table entry has `fresh` set the walk leaves the
 * buffer as it is and marks the input SNM_T_FRESH instead; the backward function then calls
 * snm_grad_fresh(in) right before it writes in->g and, when it returns 1, stores the same
 * expression 0.0f + v (0.0f - v) into every element of in->g without reading it: the very IEEE
 * operation, hence the same bits (0.0f + v is v for every v but -0.0f, which it turns into
 * +0.0f; the expression is kept, not simplified to v).  snm_grad_fresh clears the mark, so an
 * input given twice (x * x) is written by the first use and added to by the second; the walk
 * zeroes a marked gradient the op did not take. */
static inline int snm_grad_fresh(snm_tensor *x)
{
	int fresh = (x->flags & SNM_T_FRESH) != 0;
	x->flags &= ~(unsigned)SNM_T_FRESH;
	return fresh;
}

extern const snm_opdef snm_optab[SNM_OP__COUNT];

/* Starts an op: checks that the n_in inputs are non-NULL (optional inputs may be passed as NULL
 * only after the required ones, with n_req giving the required count through snm_op_begin_opt),
 * allocates the result with shape d[0..n_d) from the arena, gives it a gradient buffer when
 * gradients are on and some input has one, and records a node (*nd, NULL when not recorded).
 * Returns NULL (with the tape error set) on failure. */
snm_tensor *snm_op_begin(snm_tape *t, int op, int n_d, const int *d, int n_in, snm_tensor *const *in,
                         snm_node **nd);
/* Same, where inputs n_req..n_in-1 may be NULL (a missing bias). */
snm_tensor *snm_op_begin_opt(snm_tape *t, int op, int n_d, const int *d, int n_req, int n_in,
                             snm_tensor *const *in, snm_node **nd);

/* Records a shape or argument error on the tape ("conv2d: x (3,2,5,5) has 2 channels, w (4,3,3,3)
 * expects 3"); returns NULL so constructors can `return snm_op_fail(...)`. */
snm_tensor *snm_op_fail(snm_tape *t, int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 3, 4)))
#endif
	;

/* 1 when every one of the n tensors is non-NULL and the tape has no error yet. */
int snm_op_inputs_ok(snm_tape *t, int n, snm_tensor *const *in);

/* snm_tape_alloc (snm/tape.h, public for custom ops): n bytes from the arena, 64-byte aligned,
 * valid until reset; NULL (tape error set) on ENOMEM. */

/* The tape's one shared scratch buffer with room for at least n floats (im2col columns).  Valid
 * until the next call; grows with realloc only when a larger size is first asked for. */
float *snm_tape_scratch(snm_tape *t, size_t n);

/* n draws of gsl_ran_gaussian(rng, 1.0) into e, made as snm_gauss_noise and snm_randn make them
 * at numeric version 1 (snm/tape.h; at 2 they draw by the ziggurat, on the calling thread) on
 * several threads (noise.c: the stream consumed on the calling thread, the transform on the
 * others); 0, or -1 (nothing drawn) where they would call gsl_ran_gaussian instead (one thread,
 * or n too small).  For tests/test_par.c, which compares them with gsl_ran_gaussian bit for bit. */
int snm_gauss_draws_par(snm_tape *t, double *e, size_t n, gsl_rng *rng);

/* Backward functions, one per op (defined static-in-spirit in their modules; hidden from the
 * library's users by not being in any public header). */
void snm_linear_backward(snm_tape *t, snm_node *nd);
void snm_conv2d_backward(snm_tape *t, snm_node *nd);
void snm_conv2d_t_backward(snm_tape *t, snm_node *nd);
void snm_relu_backward(snm_tape *t, snm_node *nd);
void snm_leaky_relu_backward(snm_tape *t, snm_node *nd);
void snm_sigmoid_backward(snm_tape *t, snm_node *nd);
void snm_tanh_backward(snm_tape *t, snm_node *nd);
void snm_softmax_backward(snm_tape *t, snm_node *nd);
void snm_log_softmax_backward(snm_tape *t, snm_node *nd);
void snm_softmax_ce_backward(snm_tape *t, snm_node *nd);
void snm_kl_cat_backward(snm_tape *t, snm_node *nd);
void snm_sqerr_backward(snm_tape *t, snm_node *nd);
void snm_add_backward(snm_tape *t, snm_node *nd);
void snm_sub_backward(snm_tape *t, snm_node *nd);
void snm_mul_backward(snm_tape *t, snm_node *nd);
void snm_scale_backward(snm_tape *t, snm_node *nd);
void snm_reshape_backward(snm_tape *t, snm_node *nd);
void snm_slice_rows_backward(snm_tape *t, snm_node *nd);
void snm_concat_rows_backward(snm_tape *t, snm_node *nd);
void snm_sum_backward(snm_tape *t, snm_node *nd);
void snm_mean_backward(snm_tape *t, snm_node *nd);
void snm_batchnorm_backward(snm_tape *t, snm_node *nd);
void snm_dropout_backward(snm_tape *t, snm_node *nd);
void snm_gauss_noise_backward(snm_tape *t, snm_node *nd);
void snm_minmax_stats_backward(snm_tape *t, snm_node *nd);
void snm_minmax_scale_backward(snm_tape *t, snm_node *nd);
void snm_minmax_descale_backward(snm_tape *t, snm_node *nd);
void snm_maxabs_normalize_backward(snm_tape *t, snm_node *nd);
void snm_l2_normalize_backward(snm_tape *t, snm_node *nd);
void snm_exp_backward(snm_tape *t, snm_node *nd);
void snm_log_backward(snm_tape *t, snm_node *nd);
void snm_abs_backward(snm_tape *t, snm_node *nd);
void snm_sqrt_backward(snm_tape *t, snm_node *nd);
void snm_clamp_backward(snm_tape *t, snm_node *nd);
void snm_div_backward(snm_tape *t, snm_node *nd);
void snm_custom_backward(snm_tape *t, snm_node *nd);
void snm_bce_logits_backward(snm_tape *t, snm_node *nd);

#endif
