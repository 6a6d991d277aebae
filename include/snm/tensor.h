/* snm/tensor.h: the float32 tensor every op reads and writes.
 *
 * Shapes are NCHW for images (N examples, C channels, H rows, W columns) and (N, F) for flat
 * features; the first dimension is always the batch.  Values are contiguous, row-major.
 *
 * Ownership: a tensor made by an op lives in its tape's arena and is valid until
 * snm_tape_reset(); a parameter or buffer tensor is owned by its snm_params registry.  Nobody
 * frees a tensor directly. */
#ifndef SNM_TENSOR_H
#define SNM_TENSOR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SNM_MAX_DIM 4

enum {
	SNM_T_PARAM  = 1u << 0,  /* trainable parameter: persistent x and g, updated by the optimizer */
	SNM_T_BUFFER = 1u << 1,  /* checkpointed state that is not trained (batch-norm running stats) */
	SNM_T_LEAF   = 1u << 2,  /* tape leaf that wants a gradient (VAT's perturbation r) */
	SNM_T_TOUCHED = 1u << 8, /* internal to the tape: a gradient reached this tensor */
	SNM_T_FRESH  = 1u << 9   /* internal to the tape: g not zeroed yet, its first writer is due */
};

typedef struct snm_tensor {
	int n_d;                 /* number of dimensions, 1..SNM_MAX_DIM */
	int d[SNM_MAX_DIM];      /* sizes; d[0] is the batch (rows) */
	float *x;                /* values, snm_tensor_len() floats */
	float *g;                /* dL/dx, same size; NULL when no gradient flows to this tensor */
	unsigned flags;          /* SNM_T_* */
	const char *name;        /* parameters and buffers: registry name ("enc.conv1.w"); else NULL */
	float *g_parked;         /* internal to the tape (snm_tape_grad parks parameter gradients) */
} snm_tensor;

/* Number of elements: product of d[0..n_d). */
size_t snm_tensor_len(const snm_tensor *t);

/* Elements per row: snm_tensor_len(t) / d[0]. */
size_t snm_tensor_cols(const snm_tensor *t);

/* 1 when a and b have the same number of dimensions and sizes. */
int snm_tensor_same_shape(const snm_tensor *a, const snm_tensor *b);

/* Writes "(100,32,14,14)" into buf (always NUL-terminated); returns buf.  For error messages. */
char *snm_tensor_shape_str(const snm_tensor *t, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
