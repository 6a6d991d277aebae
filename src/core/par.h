/* par.h (internal to libsnm): snm's own threads -- the helpers the op modules (conv, linear, act,
 * the tape's gradient loops, adam) share to run their loops and products on several threads.
 *
 * When libsnm is built with OpenMP (-fopenmp) and snm_blas_set_threads(n) has left OpenBLAS
 * single-threaded, snm runs n threads of its own and calls the single-threaded OpenBLAS from each;
 * otherwise (no OpenMP, or OpenBLAS left with threads of its own) everything below runs on the
 * calling thread and OpenBLAS threads each product itself.
 *
 * The work of an op is cut into blocks whose number and bounds depend only on the shapes, never
 * on the thread count: snm_par_blocks(n, work) contiguous ranges of images for a convolution, each
 * a whole pipeline (im2col or pack, its columns of the product, unpack or col2im), or of the rows
 * or columns of a product's result (snm_par_sgemm_block: the longer side, never the summed K).  The
 * threads share out the blocks (SNM_PAR_FOR, a static schedule), and a block is computed by the
 * same calls on any thread, so that every result is bitwise the same at every thread count, 1
 * included.  Element-wise loops, whose elements are computed alike however they are cut, simply
 * give each thread one part (SNM_PAR_ID of SNM_PAR_N).
 *
 *     int nt = snm_par_threads(work), nb = snm_par_blocks(n, work);
 *     SNM_PAR_REGION(nt)
 *     {
 *         SNM_PAR_FOR
 *         for (int i = 0; i < nb; ++i) {
 *             int lo, hi;
 *             snm_par_range(n, i, nb, 1, &lo, &hi);
 *             ... items lo .. hi-1 ...
 *         }
 *     }
 *
 * An SNM_PAR_FOR loop ends with a barrier: what follows it in the region sees every block done.
 *
 * Waiting threads spin (libgomp's default), which is fastest on cores of one's own; where other
 * processes compete for the cores, OMP_WAIT_POLICY=passive or GOMP_SPINCOUNT=1000 keeps a waiting
 * thread from holding a core the one it waits for needs (README, "What a run does"; `make bench`
 * times the products at each thread count). */
#ifndef SNM_PAR_H
#define SNM_PAR_H

/* A module that includes GSL's headers, whose CBLAS declarations clash with OpenBLAS's cblas.h,
 * defines SNM_PAR_NO_SGEMM first: it then gets everything but the two products below. */
#ifndef SNM_PAR_NO_SGEMM
#include <cblas.h>
#endif

/* Below SNM_PAR_MIN_WORK elementary operations (elements copied, or flops / 16) a job is not
 * worth waking threads for, nor cutting into blocks. */
#ifndef SNM_PAR_MIN_WORK
#define SNM_PAR_MIN_WORK 65536
#endif
#define SNM_PAR_BLOCKS 4

/* Threads for a job of `work` operations: the run's thread count (snm_blas_threads), or 1 for a
 * small job, without OpenMP, or inside a region already. */
int snm_par_threads(double work);

/* Blocks for n items and `work` operations: min(n, SNM_PAR_BLOCKS), or 1 for a small job. */
int snm_par_blocks(int n, double work);

/* Part id of nt of the items 0 .. n-1: [*lo, *hi), contiguous, in order of id; boundaries other
 * than 0 and n are multiples of align (so a part may be empty). */
void snm_par_range(int n, int id, int nt, int align, int *lo, int *hi);

#ifdef _OPENMP
#include <omp.h>
#define SNM_PRAGMA_(x) _Pragma(#x)
#define SNM_PAR_REGION(nt) SNM_PRAGMA_(omp parallel num_threads(nt))
#define SNM_PAR_FOR SNM_PRAGMA_(omp for schedule(static))
#define SNM_PAR_ID omp_get_thread_num()
#define SNM_PAR_N omp_get_num_threads()
#else
#define SNM_PAR_REGION(nt)
#define SNM_PAR_FOR
#define SNM_PAR_ID 0
#define SNM_PAR_N 1
#endif

/* Runs f(lo, hi, ctx) over contiguous parts [lo, hi) of the items 0 .. n-1, one part per thread
 * of snm_par_threads(work) (boundaries multiples of align, parts in order of thread id, some
 * possibly empty), or f(0, n, ctx) once on the calling thread.  For element-wise loops and for
 * sums split by their independent columns: f must compute each item alike whatever part it is
 * in, so that the results are the same bits at every thread count. */
void snm_par_parts(int n, int align, double work, void (*f)(int lo, int hi, void *ctx), void *ctx);

#ifndef SNM_PAR_NO_SGEMM
/* Block i of nb of the row-major product C (M,N) = alpha op(A) op(B) + beta C (arguments as
 * cblas_sgemm's): the rows or the columns of C in part i of snm_par_range (the longer side is
 * cut, in multiples of 16).  The nb blocks make the product. */
void snm_par_sgemm_block(int i, int nb, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M,
                         int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                         float beta, float *C, int ldc);

/* The whole product, in snm_par_blocks(., 2 M N K / 16) blocks on snm_par_threads threads (a
 * region of its own). */
void snm_par_sgemm(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K,
                   float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                   float *C, int ldc);
#endif

#endif
