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

/* ---- a parameter of a whole objective, against central differences -----------------------------
 *
 * loss(ctx) rebuilds the objective at the current parameter values (the same noise every call)
 * and returns its value (NAN when it could not).  For elements i = 0, s, 2s, ... of p (s =
 * len/parts, or the stride given, when len > parts; else 1): l0, l+ and l- at p->x[i] = v,
 * v + step, v - step (v put back bit for bit), numeric = (l+ - l-) / (2 step), compared with
 * analytic = p->g[i] (the caller ran backward first): a match when |analytic - numeric| <= tol =
 * atol (1 + |numeric|) + 1e-2 |numeric|.  A kink (a ReLU switching inside the step) shows as
 * one-sided slopes that disagree, |(l+ - l0) - (l0 - l-)| / step > tol; such an element is
 * excused, counted in kinks, not bad.  Counts add to *tally; each mismatch (the first 10 of a
 * tally) prints "what p[i]: analytic A numeric N" on stderr. */
typedef double (*gc_loss_fn)(void *ctx);

typedef struct gc_central {
	double step, atol;
	size_t parts;
	int kinks_first;         /* 0: an element is checked, then excused as a kink only if it misses;
	                          * 1: a kink is skipped before the check (not counted in checked) */
	size_t stride;           /* 0: len/parts elements apart; else this many (when len > parts) */
} gc_central;

typedef struct gc_tally {
	int checked, bad, kinks, nonzero;   /* nonzero: checked elements whose analytic value != 0 */
} gc_tally;

void gc_central_param(const char *what, snm_tensor *p, gc_loss_fn loss, void *ctx,
                      const gc_central *opt, gc_tally *tally);

/* Fills x[0..n) with U(lo, hi) from a fixed seed (deterministic test data). */
void gc_fill(float *x, size_t n, double lo, double hi, unsigned long seed);

#endif
