/* gradcheck.h: finite-difference gradient checks for tape ops.
 *
 * The function under test builds any tensor y from its inputs on a tape.  The checker takes the
 * random projection L = sum_i c_i y_i (c fixed, uniform in [-1,1]), computes dL/dinput with
 * snm_tape_backward_seed, and compares every element (or 48 chosen ones of a large input) with a
 * central difference of L evaluated in double precision by gsl_deriv_central (5-point rule, error
 * estimate).  The ops run in float32, so the step is 1e-2 and the test passes when
 * |analytic - numeric| <= atol + rtol |numeric| with atol = 1e-3 (1 + max |numeric|) of that
 * input and rtol = 1e-2, or the tolerance given. */
#ifndef SNM_TEST_GRADCHECK_H
#define SNM_TEST_GRADCHECK_H

#include "snm/tape.h"
#include "snm/ops.h"

typedef snm_tensor *(*gc_fn)(snm_tape *t, snm_tensor *const *in, void *ctx);

typedef struct gc_input {
	int n_d;
	int d[SNM_MAX_DIM];
	const float *x;          /* values at which the gradient is checked */
	int no_grad;             /* 1: passed as a constant (labels-like inputs), not checked */
} gc_input;

typedef struct gc_opts {
	double step;             /* 0: 1e-2 */
	double rtol, atol;       /* 0: 1e-2 and 1e-3 */
	int training;            /* tape training mode: 1 (default when the struct is NULL) or 0 */
	int max_elems;           /* 0: 48 per input */
} gc_opts;

/* Returns the number of mismatching elements (0 = pass); prints each mismatch (up to 10) to
 * stderr as "what: input k element j: analytic A numeric N".  -1 when f failed (message printed). */
int gc_check(const char *what, gc_fn f, void *ctx, int n_in, const gc_input *in, const gc_opts *opts);

/* Fills x[0..n) with U(lo, hi) from a fixed seed (deterministic test data). */
void gc_fill(float *x, size_t n, double lo, double hi, unsigned long seed);

#endif
