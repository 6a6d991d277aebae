/* snm/param.h: the named parameter registry.
 *
 * A model or regularizer creates its parameters (trainable) and buffers (checkpointed, not
 * trained: batch-norm running statistics) here by name; the optimizer walks the trainable ones and
 * the store writes every entry under its name.  Names are unique dotted paths chosen by the
 * plugin ("enc.conv1.w", "ladder.g3.a1").  Entries keep their creation order, which is the order
 * of the optimizer's state and of the checkpoint.
 *
 * Ownership: the registry owns every tensor it returns (x and g are 64-byte aligned, zeroed at
 * creation) and frees them in snm_params_free. */
#ifndef SNM_PARAM_H
#define SNM_PARAM_H

#include <stddef.h>
#include <gsl/gsl_rng.h>
#include "snm/error.h"
#include "snm/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct snm_params snm_params;

snm_params *snm_params_new(snm_error *err);
void snm_params_free(snm_params *p);   /* NULL is a no-op */

/* New zero-filled entry of shape d[0..n_d).  kind: SNM_T_PARAM (gets a gradient buffer) or
 * SNM_T_BUFFER (no gradient).  A duplicate name or bad shape is SNM_EINVAL; returns NULL then. */
snm_tensor *snm_params_add(snm_params *p, const char *name, int n_d, const int *d, unsigned kind,
                           snm_error *err);

int snm_params_count(const snm_params *p);          /* entries, parameters and buffers */
snm_tensor *snm_params_at(const snm_params *p, int i);
snm_tensor *snm_params_find(const snm_params *p, const char *name);   /* NULL when absent */

/* Number of trainable scalars (sum of lengths of SNM_T_PARAM entries). */
size_t snm_params_n_trainable(const snm_params *p);

/* Zeroes the gradient of every trainable entry. */
void snm_params_zero_grad(snm_params *p);

/* Copies every entry's values from src, matched by name and shape: SNM_EINVAL naming the first
 * entry that is missing or differs (used for keeping the best-on-validation weights). */
int snm_params_copy(snm_params *dst, const snm_params *src, snm_error *err);

/* ---- initialisers (draw from the given stream in element order) ---------------------------- */

/* x_i ~ U(lo, hi). */
void snm_init_uniform(snm_tensor *w, gsl_rng *rng, double lo, double hi);
/* x_i ~ N(0, sd^2). */
void snm_init_normal(snm_tensor *w, gsl_rng *rng, double sd);
/* x_i = v. */
void snm_init_fill(snm_tensor *w, float v);
/* PyTorch's default for Linear/Conv2d weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
 * fan_in = elements per output unit (I for a (O,I) weight, C*R*S for a (K,C,R,S) one). */
void snm_init_torch_default(snm_tensor *w, gsl_rng *rng, int fan_in);

#ifdef __cplusplus
}
#endif
#endif
