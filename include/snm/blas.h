/* snm/blas.h: the BLAS snm runs on (OpenBLAS): its thread count and configuration.
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

/* OpenBLAS's build configuration ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64")
 * and the name of the kernel set in use ("Haswell"), for result files and benchmarks. */
const char *snm_blas_config(void);
const char *snm_blas_corename(void);

#ifdef __cplusplus
}
#endif
#endif
