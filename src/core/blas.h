/* blas.h: the BLAS snm runs on (OpenBLAS): its thread count and configuration.
 * (A separate module because OpenBLAS's cblas.h and GSL's gsl_cblas.h cannot be included together.) */
#ifndef SNM_BLAS_H
#define SNM_BLAS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Sets the thread count of snm's products and loops (n >= 1; recorded with each run).  Built with
 * OpenMP, snm runs n threads of its own over fixed blocks and keeps OpenBLAS single-threaded;
 * otherwise n goes to OpenBLAS. */
void snm_blas_set_threads(int n);
int snm_blas_threads(void);

/* 1 when results do not depend on the thread count (built with OpenMP: snm's threads work on
 * blocks fixed by the shapes alone, src/core/par.h), 0 when OpenBLAS threads each product itself (its
 * threading changes the last bits of some products).  The runner resumes a run at another thread
 * count only in the first case. */
int snm_blas_thread_invariant(void);

/* OpenBLAS's build configuration ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64")
 * and the name of the kernel set in use ("Haswell"), for result files and benchmarks. */
const char *snm_blas_config(void);
const char *snm_blas_corename(void);

#ifdef __cplusplus
}
#endif
#endif
