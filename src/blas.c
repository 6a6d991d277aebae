/* blas.c: OpenBLAS's thread count and configuration (see snm/blas.h). */
#include <cblas.h>
#include "snm/blas.h"

void snm_blas_set_threads(int n) { openblas_set_num_threads(n < 1 ? 1 : n); }
int snm_blas_threads(void) { return openblas_get_num_threads(); }
const char *snm_blas_config(void) { return openblas_get_config(); }
const char *snm_blas_corename(void) { return openblas_get_corename(); }
