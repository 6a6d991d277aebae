/* im2col.h (internal to libsnm): the column matrices behind convolution, darknet/Caffe layout,
 * extended over the whole batch so that one cblas_sgemm covers every image; and the helpers the
 * op modules share to run their loops and products on several threads.
 *
 * Letters: N batch, C channels, H,W image size, R,S kernel size, P,Q output size with
 * P = (H + 2 pad - R) / stride + 1 and Q = (W + 2 pad - S) / stride + 1.
 *
 * col is a (C*R*S, N*P*Q) row-major matrix: row (c*R + r)*S + s, column (n*P + p)*Q + q holds
 * x[n, c, p*stride - pad + r, q*stride - pad + s], zero where that falls outside the image.  With
 * N = 1 this is exactly darknet's and Caffe's per-image layout.  Image n owns the columns
 * n*P*Q .. (n+1)*P*Q - 1 of every row, so a range of images is a range of columns. */
#ifndef SNM_IM2COL_H
#define SNM_IM2COL_H

#include <stddef.h>
#include <cblas.h>

/* The geometry of one convolution; P and Q are derived by snm_conv_geom_init. */
typedef struct snm_conv_geom {
	int N, C, H, W;      /* image batch */
	int R, S;            /* kernel */
	int stride, pad;
	int P, Q;            /* output positions */
} snm_conv_geom;

/* Fills P and Q from the rest; returns 0, or -1 when the kernel does not fit the padded image or
 * stride < 1 or pad < 0. */
int snm_conv_geom_init(snm_conv_geom *g);

/* col (C*R*S, N*P*Q) = the columns of x (N,C,H,W); every element of col is written. */
void snm_im2col(const snm_conv_geom *g, const float *x, float *col);

/* dx (N,C,H,W) += the columns col (C*R*S, N*P*Q) summed back onto the pixels they came from (the
 * adjoint of snm_im2col); entries that came from the zero padding are dropped. */
void snm_col2im(const snm_conv_geom *g, const float *col, float *dx);

/* The same for images n0 .. n1-1 only: their columns of col, their planes of dx.  Ranges of
 * images touch disjoint memory, so threads may run disjoint ranges at once. */
void snm_im2col_range(const snm_conv_geom *g, const float *x, float *col, int n0, int n1);
void snm_col2im_range(const snm_conv_geom *g, const float *col, float *dx, int n0, int n1);

/* ---- threads ---------------------------------------------------------------------------------
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
 * thread from holding a core the one it waits for needs (measured on the 2-core machine with a
 * busy loop beside a 2-thread run: 69 ms a step by default, 41 and 37 ms with those, 79 ms with
 * OpenBLAS's own threads; 17-19 ms on idle cores). */

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
