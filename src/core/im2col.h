/* im2col.h (internal to libsnm): the column matrices behind convolution, darknet/Caffe layout,
 * extended over the whole batch so that one cblas_sgemm covers every image.
 *
 * Letters: N batch, C channels, H,W image size, R,S kernel size, P,Q output size with
 * P = (H + 2 pad - R) / stride + 1 and Q = (W + 2 pad - S) / stride + 1.
 *
 * col is a (C*R*S, N*P*Q) row-major matrix: row (c*R + r)*S + s, column (n*P + p)*Q + q holds
 * x[n, c, p*stride - pad + r, q*stride - pad + s], zero where that falls outside the image.  With
 * N = 1 this is exactly darknet's and Caffe's per-image layout.  Image n owns the columns
 * n*P*Q .. (n+1)*P*Q - 1 of every row, so a range of images is a range of columns.  Threads:
 * par.h. */
#ifndef SNM_IM2COL_H
#define SNM_IM2COL_H

#include <stddef.h>

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

#endif
