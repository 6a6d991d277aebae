/* blas.c: the thread count of snm's products and loops, and OpenBLAS's configuration (see
 * blas.h).
 *
 * Built with OpenMP, snm runs its own threads (src/core/par.h): snm_blas_set_threads(n) keeps n for
 * them and leaves OpenBLAS single-threaded, each of snm's threads calling it on its own part of a
 * product.  Without OpenMP, n goes to OpenBLAS, which threads each product itself. */
#include <cblas.h>
#include "blas.h"

#ifdef _OPENMP
static int n_threads = 1;

void snm_blas_set_threads(int n)
{
	n_threads = n < 1 ? 1 : n;
	openblas_set_num_threads(1);
}

int snm_blas_threads(void) { return n_threads; }
int snm_blas_thread_invariant(void) { return 1; }
#else
void snm_blas_set_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }
int snm_blas_threads(void) { return openblas_get_num_threads(); }
int snm_blas_thread_invariant(void) { return 0; }
#endif
const char *snm_blas_config(void) { return openblas_get_config(); }
const char *snm_blas_corename(void) { return openblas_get_corename(); }
