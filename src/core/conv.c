/* conv.c: 2-D convolution and its tied transposed form, as im2col + cblas_sgemm.
 *
 * Letters (file-wide): the image side is x (N,C,H,W), the weight w (K,C,R,S), the output side
 * (N,K,P,Q); CRS = C*R*S and NPQ = N*P*Q.  snm_conv2d maps the image side to the output side,
 * snm_conv2d_t maps the output side back to the image side with the same w.
 *
 * Both ops are built from the same three products, with w read as the (K, CRS) matrix W, the
 * columns of the image side as B (CRS, NPQ) (im2col.h) and the output side as A (K, NPQ):
 *
 *     gemm_fwd     A = W B          conv2d forward,         conv2d_t backward-data
 *     gemm_data    B = W^T A        conv2d backward-data,   conv2d_t forward (then col2im)
 *     gemm_weight  dW += A B^T      backward-weight of both
 *
 * The products cover the batch in a few large pieces: B is the im2col of every image side by
 * side and A is the output side packed channel-major (K, N*P*Q), and an op direction makes its
 * product in snm_par_blocks (<= 4) blocks of images -- for batch 100, four sgemms of 25 images'
 * columns each.  The MNIST model's per-image products (32x196x9 .. 96x16x576) are too small for
 * OpenBLAS to run well one image at a time, and a few blocks cost little against one product
 * (bench/bench_conv times both).  Packing A from and unpacking it to NCHW is a copy of P*Q floats per (n,k).  A and B live in the
 * tape's one scratch buffer (A first, B after it), so the scratch holds one op's matrices at a
 * time.  A 1x1 kernel with stride 1 and pad 0 needs no columns: then B and A of image n ARE its
 * (C, H*W) and (K, H*W) slices, and the same three products run once per image straight on the
 * tensors, with no scratch and no copy.
 *
 * A recorded node keeps what its weight gradient needs and the forward pass makes anyway --
 * conv2d's columns B, conv2d_t's packed input A -- in the arena (keep_new), so that the backward
 * pass does not make them again.
 *
 * Threads (par.h): each block of images is a whole pipeline -- im2col or pack, its columns of
 * the product, unpack or col2im -- touching only its own columns of A and B and its own images,
 * and the threads share out the blocks.  The weight gradient, a sum over every column, waits for
 * all of them and is then cut into blocks of rows or columns of dW; bias gradients are cut by
 * channel.  Blocks depend on the shapes only and no sum is ever split, so the results are bitwise
 * the same at every thread count. */
#include <cblas.h>
#include <string.h>
#include "op.h"
#include "im2col.h"
#include "par.h"
#include "vec.h"

/* ---- the three products ------------------------------------------------------------------ */

/* A (K, n) = W (K, CRS) B (CRS, n) + beta A */
static void gemm_fwd(int K, int CRS, int n, const float *w, const float *B, int ldb, float beta,
                     float *A, int lda)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, n, CRS, 1.0f, w, CRS, B, ldb, beta, A,
	            lda);
}

/* B (CRS, n) = W^T (CRS, K) A (K, n) + beta B */
static void gemm_data(int K, int CRS, int n, const float *w, const float *A, int lda, float beta,
                      float *B, int ldb)
{
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CRS, n, K, 1.0f, w, CRS, A, lda, beta, B,
	            ldb);
}

/* Block i of nb of dW (K, CRS) += A (K, n) B^T (n, CRS) */
static void gemm_weight(int i, int nb, int K, int CRS, int n, const float *A, int lda,
                        const float *B, int ldb, float *dw)
{
	snm_par_sgemm_block(i, nb, CblasNoTrans, CblasTrans, K, CRS, n, 1.0f, A, lda, B, ldb, 1.0f, dw,
	                    CRS);
}

/* ---- layout helpers ---------------------------------------------------------------------- */

/* 1 when the columns of the image side are the image itself. */
static int is_pointwise(const snm_conv_geom *g)
{
	return g->R == 1 && g->S == 1 && g->stride == 1 && g->pad == 0;
}

/* Scratch for A (K, NPQ) followed by B (CRS, NPQ); B starts 64-byte aligned relative to A. */
static float *scratch_ab(snm_tape *t, const snm_conv_geom *g, int K, float **B)
{
	size_t npq = (size_t)g->N * g->P * g->Q, n_a = ((size_t)K * npq + 15) / 16 * 16;
	float *A = snm_tape_scratch(t, n_a + (size_t)g->C * g->R * g->S * npq);
	*B = A ? A + n_a : NULL;
	return A;
}

/* The element loops below are SNM_BLOCKED over restrict pointers and their functions SNM_CLONES
 * (vec.h): vectorised, compiled for AVX2 and the baseline, every element computed exactly as the
 * plain loop would. */

/* d[i] = a[i] + b */
SNM_CLONES
static void copy_add(float *restrict d, const float *restrict a, float b, size_t L)
{
	SNM_BLOCKED(size_t, i, L, d[i] = a[i] + b);
}

/* d[i] = a[i] + b and h[i] = relu(d[i]) (d may be NULL: h alone).  The ReLU is act.c's
 * relu_fwd, v > 0 ? v : 0 on the same float v, so h holds the bits snm_relu would give of d. */
SNM_CLONES
static void copy_add_relu(float *restrict d, float *restrict h, const float *restrict a, float b,
                          size_t L)
{
	if (d == NULL)
		SNM_BLOCKED(size_t, i, L, h[i] = a[i] + b > 0.0f ? a[i] + b : 0.0f);
	else
		SNM_BLOCKED(size_t, i, L, d[i] = a[i] + b, h[i] = d[i] > 0.0f ? d[i] : 0.0f);
}

/* h[i] = relu(d[i]), or d[i] = relu(d[i]) in place when h is NULL */
SNM_CLONES
static void relu_to(float *restrict d, float *restrict h, size_t L)
{
	if (h == NULL)
		SNM_BLOCKED(size_t, i, L, d[i] = d[i] > 0.0f ? d[i] : 0.0f);
	else
		SNM_BLOCKED(size_t, i, L, h[i] = d[i] > 0.0f ? d[i] : 0.0f);
}

/* d[i] += a[i] */
SNM_CLONES
static void acc(float *restrict d, const float *restrict a, size_t L)
{
	SNM_BLOCKED(size_t, i, L, d[i] += a[i]);
}

/* Sum of d[0..L) in float: SNM_BLOCK running lanes (lane j sums d[j], d[j + SNM_BLOCK], ...), the
 * tail added to lanes 0.., then the lanes added in order.  (A reduction: its order is its own,
 * not an SNM_BLOCKED loop's.) */
static float plane_sum(const float *restrict d, size_t L)
{
	float lane[SNM_BLOCK] = { 0 }, s = 0.0f;
	size_t i = 0;
	for (; i + SNM_BLOCK <= L; i += SNM_BLOCK)
		for (int k = 0; k < SNM_BLOCK; ++k)
			lane[k] += d[i + k];
	for (int k = 0; i < L; ++i, ++k)
		lane[k] += d[i];
	for (int k = 0; k < SNM_BLOCK; ++k)
		s += lane[k];
	return s;
}

/* Images n0..n1-1 of v (N,K,L) into their columns of A (K, N*L), regrouped by channel. */
static void pack(int N, int K, size_t L, const float *v, float *A, int n0, int n1)
{
	for (int n = n0; n < n1; ++n)
		for (int k = 0; k < K; ++k)
			memcpy(A + ((size_t)k * N + n) * L, v + ((size_t)n * K + k) * L, L * sizeof *A);
}

/* Images n0..n1-1 of v (N,K,L) = their columns of A (K, N*L) + b[k] (b may be NULL), or
 * v += A when accumulate.  h (NULL: none; not with accumulate) receives relu of the same sums in
 * the same pass; v may then be NULL (h alone). */
static void unpack(int N, int K, size_t L, const float *A, const float *b, int accumulate, float *v,
                   float *h, int n0, int n1)
{
	for (int n = n0; n < n1; ++n)
		for (int k = 0; k < K; ++k) {
			const float *a = A + ((size_t)k * N + n) * L;
			size_t o = ((size_t)n * K + k) * L;
			if (accumulate)
				acc(v + o, a, L);
			else if (h != NULL)
				copy_add_relu(v ? v + o : NULL, h + o, a, b ? b[k] : 0.0f, L);
			else
				copy_add(v + o, a, b ? b[k] : 0.0f, L);
		}
}

/* d[i] = b */
SNM_CLONES
static void fill(float *restrict d, float b, size_t L)
{
	SNM_BLOCKED(size_t, i, L, d[i] = b);
}

/* Images n0..n1-1 of v (N,K,L) = b[k] everywhere (0 when b is NULL). */
static void fill_bias(int K, size_t L, const float *b, float *v, int n0, int n1)
{
	for (int n = n0; n < n1; ++n)
		for (int k = 0; k < K; ++k)
			fill(v + ((size_t)n * K + k) * L, b ? b[k] : 0.0f, L);
}

/* db[k] += sum_{n,i} dv[n,k,i] for dv (N,K,L) and k in k0..k1-1; each plane summed in float
 * (plane_sum), the planes in double in the order of n. */
static void bias_grad(int N, int K, size_t L, const float *dv, float *db, int k0, int k1)
{
	for (int k = k0; k < k1; ++k) {
		double s = 0;
		for (int n = 0; n < N; ++n)
			s += plane_sum(dv + ((size_t)n * K + k) * L, L);
		db[k] += (float)s;
	}
}

/* Arena room for what a recorded node keeps for its weight gradient: the columns B (CRS, NPQ) of
 * conv2d's x (transposed = 0) or conv2d_t's x packed as A (K, NPQ) (transposed = 1).  NULL when
 * nothing is to be kept (w takes no gradient, or a pointwise kernel that needs no columns) or when
 * the arena cannot grow (then the tape's error is set). */
static float *keep_new(snm_tape *t, const snm_conv_geom *g, int K, const snm_tensor *w,
                       int transposed)
{
	size_t npq = (size_t)g->N * g->P * g->Q, rows = transposed ? (size_t)K
	                                                           : (size_t)g->C * g->R * g->S;
	if (w->g == NULL || is_pointwise(g))
		return NULL;
	return snm_tape_alloc(t, rows * npq * sizeof(float));
}

/* 1 when the tape holds an error (keep_new's NULL then means out of memory). */
static int t_failed(snm_tape *t)
{
	return snm_tape_error(t, NULL) != SNM_OK;
}

/* Geometry of a node from its image side img (N,C,H,W) and w (K,C,R,S). */
static snm_conv_geom node_geom(const snm_node *nd, const snm_tensor *img, const snm_tensor *w)
{
	snm_conv_geom g = { .N = img->d[0], .C = img->d[1], .H = img->d[2], .W = img->d[3],
	                    .R = w->d[2], .S = w->d[3], .stride = nd->i[0], .pad = nd->i[1] };
	snm_conv_geom_init(&g);
	return g;
}

/* The work of an op direction of g with K filters, in snm_par_threads' operations (a flop of a
 * product costs far less than a copied element). */
static double op_work(const snm_conv_geom *g, int K)
{
	return 2.0 * K * g->C * g->R * g->S * g->N * g->P * g->Q / 16;
}

/* y (N,K,P,Q) = W im2col(x) + b (b may be NULL).  h (NULL: none) receives relu(y) in the same
 * pass over the output; y may then be NULL (h alone: evaluation's bias and ReLU in one pass, the
 * pre-activation not kept).  keep (NULL or room for the columns B) receives the columns, for the
 * backward pass.  Returns -1 when the scratch cannot grow. */
static int conv_forward(snm_tape *t, const snm_conv_geom *g, int K, const float *x, const float *w,
                        const float *b, float *y, float *h, float *keep)
{
	const int N = g->N, CRS = g->C * g->R * g->S, npq = g->N * g->P * g->Q, pw = is_pointwise(g);
	const size_t PQ = (size_t)g->P * g->Q, HW = (size_t)g->H * g->W;
	const int nt = snm_par_threads(op_work(g, K)), nb = snm_par_blocks(N, op_work(g, K));
	float *A = NULL, *B = NULL;
	if (!pw && (A = scratch_ab(t, g, K, &B)) == NULL)
		return -1;
	if (keep != NULL)
		B = keep;
	(void)nt;
	SNM_PAR_REGION(nt)
	{
		SNM_PAR_FOR
		for (int i = 0; i < nb; ++i) {
			int n0, n1;
			snm_par_range(N, i, nb, 1, &n0, &n1);
			if (pw) {               /* per image: x_n is (C, HW), y_n is (K, HW) */
				float *o = y != NULL ? y : h;
				fill_bias(K, PQ, b, o, n0, n1);
				for (int n = n0; n < n1; ++n)
					gemm_fwd(K, CRS, (int)PQ, w, x + (size_t)n * CRS * HW, (int)HW, 1.0f,
					         o + (size_t)n * K * PQ, (int)PQ);
				if (h != NULL)
					relu_to(o + (size_t)n0 * K * PQ, y != NULL ? h + (size_t)n0 * K * PQ : NULL,
					        (size_t)(n1 - n0) * K * PQ);
			} else if (n0 < n1) {
				size_t c0 = (size_t)n0 * PQ;
				snm_im2col_range(g, x, B, n0, n1);
				gemm_fwd(K, CRS, (n1 - n0) * (int)PQ, w, B + c0, npq, 0.0f, A + c0, npq);
				unpack(N, K, PQ, A, b, 0, y, h, n0, n1);
			}
		}
	}
	return 0;
}

/* y (N,C,H,W) = col2im(W^T x) + b for x (N,K,P,Q) (b may be NULL).  keep (NULL or room for A)
 * receives x packed as A, for the backward pass.  -1 when out of scratch. */
static int conv_t_forward(snm_tape *t, const snm_conv_geom *g, int K, const float *x,
                          const float *w, const float *b, float *y, float *keep)
{
	const int N = g->N, CRS = g->C * g->R * g->S, npq = g->N * g->P * g->Q, pw = is_pointwise(g);
	const size_t PQ = (size_t)g->P * g->Q, HW = (size_t)g->H * g->W;
	const int nt = snm_par_threads(op_work(g, K)), nb = snm_par_blocks(N, op_work(g, K));
	float *A = NULL, *B = NULL;
	if (!pw && (A = scratch_ab(t, g, K, &B)) == NULL)
		return -1;
	if (keep != NULL)
		A = keep;
	(void)nt;
	SNM_PAR_REGION(nt)
	{
		SNM_PAR_FOR
		for (int i = 0; i < nb; ++i) {
			int n0, n1;
			snm_par_range(N, i, nb, 1, &n0, &n1);
			fill_bias(g->C, HW, b, y, n0, n1);
			if (pw) {               /* per image: x_n is (K, HW), y_n is (C, HW) */
				for (int n = n0; n < n1; ++n)
					gemm_data(K, CRS, (int)PQ, w, x + (size_t)n * K * PQ, (int)PQ, 1.0f,
					          y + (size_t)n * CRS * HW, (int)HW);
			} else if (n0 < n1) {
				size_t c0 = (size_t)n0 * PQ;
				pack(N, K, PQ, x, A, n0, n1);
				gemm_data(K, CRS, (n1 - n0) * (int)PQ, w, A + c0, npq, 0.0f, B + c0, npq);
				snm_col2im_range(g, B, y, n0, n1);
			}
		}
	}
	return 0;
}

/* ---- conv2d -------------------------------------------------------------------------------- */

/* y (N,K,P,Q) = W im2col(x) + b, and with relu, h = relu(y) as snm_relu makes it: a relu node
 * after the conv2d node when the conv2d is recorded (h written in the same pass as y), else y
 * itself turned into h (evaluation: the pre-activation is not kept).
 * dx += col2im(W^T dy),  dW += dy im2col(x)^T,  db += sum_{n,p,q} dy  (dy read as (K, NPQ)). */
static snm_tensor *conv2d_op(snm_tape *t, snm_tensor *x, snm_tensor *w, snm_tensor *b, int stride,
                             int pad, int relu)
{
	snm_tensor *h = NULL;
	snm_tensor *in[3] = { x, w, b }, *y;
	snm_node *nd;
	snm_conv_geom g;
	char sx[64], sw[64], sb[64];
	float *keep = NULL;
	int K;
	if (!snm_op_inputs_ok(t, 2, in))
		return NULL;
	if (x->n_d != 4 || w->n_d != 4)
		return snm_op_fail(t, SNM_ESHAPE, "conv2d: x %s and weight %s must both be 4-D, (N,C,H,W) "
		                   "and (K,C,R,S)", snm_tensor_shape_str(x, sx, sizeof sx),
		                   snm_tensor_shape_str(w, sw, sizeof sw));
	if (x->d[1] != w->d[1])
		return snm_op_fail(t, SNM_ESHAPE, "conv2d: x %s has %d channels, weight %s expects %d",
		                   snm_tensor_shape_str(x, sx, sizeof sx), x->d[1],
		                   snm_tensor_shape_str(w, sw, sizeof sw), w->d[1]);
	K = w->d[0];
	if (b != NULL && snm_tensor_len(b) != (size_t)K)
		return snm_op_fail(t, SNM_ESHAPE, "conv2d: bias %s has %zu elements, weight %s has %d "
		                   "output channels", snm_tensor_shape_str(b, sb, sizeof sb),
		                   snm_tensor_len(b), snm_tensor_shape_str(w, sw, sizeof sw), K);
	if (stride < 1 || pad < 0)
		return snm_op_fail(t, SNM_EINVAL, "conv2d: stride %d, pad %d (stride >= 1 and pad >= 0 "
		                   "required)", stride, pad);
	g = (snm_conv_geom){ .N = x->d[0], .C = x->d[1], .H = x->d[2], .W = x->d[3], .R = w->d[2],
	                     .S = w->d[3], .stride = stride, .pad = pad };
	if (snm_conv_geom_init(&g))
		return snm_op_fail(t, SNM_ESHAPE, "conv2d: the %dx%d kernel of weight %s does not fit x "
		                   "%s padded by %d", g.R, g.S, snm_tensor_shape_str(w, sw, sizeof sw),
		                   snm_tensor_shape_str(x, sx, sizeof sx), pad);
	y = snm_op_begin_opt(t, SNM_OP_CONV2D, 4, (int[]){ g.N, K, g.P, g.Q }, 2, 3, in, &nd);
	if (y == NULL)
		return NULL;
	if (nd) {
		nd->i[0] = stride;
		nd->i[1] = pad;
		if ((keep = keep_new(t, &g, K, w, 0)) == NULL && t_failed(t))
			return NULL;
		nd->aux = keep;
		if (relu && (h = snm_op_begin(t, SNM_OP_RELU, 4, y->d, 1, &y, &nd)) == NULL)
			return NULL;
	}
	if (relu && h == NULL) {         /* no node: y is the only output, made relu(y) at once */
		h = y;
		y = NULL;
	}
	if (conv_forward(t, &g, K, x->x, w->x, b ? b->x : NULL, y ? y->x : NULL, h ? h->x : NULL, keep))
		return NULL;
	return relu ? h : y;
}

snm_tensor *snm_conv2d(snm_tape *t, snm_tensor *x, snm_tensor *w, snm_tensor *b, int stride,
                       int pad)
{
	return conv2d_op(t, x, w, b, stride, pad, 0);
}

/* snm_relu(t, snm_conv2d(...)) with the bias and the ReLU in one pass over the output. */
snm_tensor *snm_conv2d_relu(snm_tape *t, snm_tensor *x, snm_tensor *w, snm_tensor *b, int stride,
                            int pad)
{
	return conv2d_op(t, x, w, b, stride, pad, 1);
}

void snm_conv2d_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2], *y = nd->out;
	snm_conv_geom g = node_geom(nd, x, w);
	const int N = g.N, K = w->d[0], CRS = g.C * g.R * g.S, npq = g.N * g.P * g.Q;
	const int pw = is_pointwise(&g), want_b = b != NULL && b->g != NULL;
	const int nt = snm_par_threads(2 * op_work(&g, K)), nb = snm_par_blocks(N, op_work(&g, K));
	const int nbw = snm_par_blocks(K > CRS ? K : CRS, op_work(&g, K));
	const size_t PQ = (size_t)g.P * g.Q, HW = (size_t)g.H * g.W;
	const float *dy = y->g, *cols = nd->aux;    /* the forward pass's columns, when it kept them */
	float *A = NULL, *B = NULL;
	if (!pw && (x->g != NULL || w->g != NULL) && (A = scratch_ab(t, &g, K, &B)) == NULL)
		return;
	if (cols == NULL)
		cols = B;
	(void)nt;
	SNM_PAR_REGION(nt)
	{
		if (want_b) {
			SNM_PAR_FOR
			for (int k = 0; k < K; ++k)
				bias_grad(N, K, PQ, dy, b->g, k, k + 1);
		}
		if (pw) {               /* per image: x_n is (C, HW), dy_n is (K, HW) */
			if (x->g != NULL) {
				SNM_PAR_FOR
				for (int n = 0; n < N; ++n)
					gemm_data(K, CRS, (int)PQ, w->x, dy + (size_t)n * K * PQ, (int)PQ, 1.0f,
					          x->g + (size_t)n * CRS * HW, (int)HW);
			}
			if (w->g != NULL) {     /* each block of dW over every image, in order */
				SNM_PAR_FOR
				for (int i = 0; i < nbw; ++i)
					for (int n = 0; n < N; ++n)
						gemm_weight(i, nbw, K, CRS, (int)PQ, dy + (size_t)n * K * PQ, (int)PQ,
						            x->x + (size_t)n * CRS * HW, (int)HW, w->g);
			}
		} else if (x->g != NULL || w->g != NULL) {
			SNM_PAR_FOR
			for (int i = 0; i < nb; ++i) {       /* dy packed as A; x's columns unless kept */
				int n0, n1;
				snm_par_range(N, i, nb, 1, &n0, &n1);
				pack(N, K, PQ, dy, A, n0, n1);
				if (w->g != NULL && cols == B)
					snm_im2col_range(&g, x->x, B, n0, n1);
			}
			if (w->g != NULL) {     /* then dW, once A and the columns are whole */
				SNM_PAR_FOR
				for (int i = 0; i < nbw; ++i)
					gemm_weight(i, nbw, K, CRS, npq, A, npq, cols, npq, w->g);
			}
			if (x->g != NULL) {     /* then B = W^T A, over the columns dW has read */
				SNM_PAR_FOR
				for (int i = 0; i < nb; ++i) {
					int n0, n1;
					snm_par_range(N, i, nb, 1, &n0, &n1);
					if (n0 < n1) {
						size_t c0 = (size_t)n0 * PQ;
						gemm_data(K, CRS, (n1 - n0) * (int)PQ, w->x, A + c0, npq, 0.0f, B + c0,
						          npq);
						snm_col2im_range(&g, B, x->g, n0, n1);
					}
				}
			}
		}
	}
}

/* ---- conv2d_t ------------------------------------------------------------------------------ */

/* x (N,K,P,Q) -> y (N,C,out_h,out_w) = col2im(W^T x) + b: conv2d's backward-data as a forward.
 * dx += W im2col(dy) (conv2d's forward),  dW += x im2col(dy)^T,  db += sum_{n,h,w} dy. */
snm_tensor *snm_conv2d_t(snm_tape *t, snm_tensor *x, snm_tensor *w, snm_tensor *b, int stride,
                         int pad, int out_h, int out_w)
{
	snm_tensor *in[3] = { x, w, b }, *y;
	snm_node *nd;
	snm_conv_geom g;
	char sx[64], sw[64], sb[64];
	float *keep = NULL;
	int K;
	if (!snm_op_inputs_ok(t, 2, in))
		return NULL;
	if (x->n_d != 4 || w->n_d != 4)
		return snm_op_fail(t, SNM_ESHAPE, "conv2d_t: x %s and weight %s must both be 4-D, "
		                   "(N,K,P,Q) and (K,C,R,S)", snm_tensor_shape_str(x, sx, sizeof sx),
		                   snm_tensor_shape_str(w, sw, sizeof sw));
	K = w->d[0];
	if (x->d[1] != K)
		return snm_op_fail(t, SNM_ESHAPE, "conv2d_t: x %s has %d channels, weight %s has %d "
		                   "output channels (K) to take back", snm_tensor_shape_str(x, sx, sizeof sx),
		                   x->d[1], snm_tensor_shape_str(w, sw, sizeof sw), K);
	if (b != NULL && snm_tensor_len(b) != (size_t)w->d[1])
		return snm_op_fail(t, SNM_ESHAPE, "conv2d_t: bias %s has %zu elements, weight %s has %d "
		                   "input channels (C)", snm_tensor_shape_str(b, sb, sizeof sb),
		                   snm_tensor_len(b), snm_tensor_shape_str(w, sw, sizeof sw), w->d[1]);
	if (stride < 1 || pad < 0)
		return snm_op_fail(t, SNM_EINVAL, "conv2d_t: stride %d, pad %d (stride >= 1 and pad >= 0 "
		                   "required)", stride, pad);
	g = (snm_conv_geom){ .N = x->d[0], .C = w->d[1], .H = out_h, .W = out_w, .R = w->d[2],
	                     .S = w->d[3], .stride = stride, .pad = pad };
	if (out_h < 1 || out_w < 1 || snm_conv_geom_init(&g))
		return snm_op_fail(t, SNM_ESHAPE, "conv2d_t: output %dx%d padded by %d cannot hold the "
		                   "%dx%d kernel of weight %s", out_h, out_w, pad, g.R, g.S,
		                   snm_tensor_shape_str(w, sw, sizeof sw));
	if (g.P != x->d[2] || g.Q != x->d[3])
		return snm_op_fail(t, SNM_ESHAPE, "conv2d_t: output %dx%d with weight %s, stride %d, pad "
		                   "%d corresponds to a %dx%d input, but x %s is %dx%d", out_h, out_w,
		                   snm_tensor_shape_str(w, sw, sizeof sw), stride, pad, g.P, g.Q,
		                   snm_tensor_shape_str(x, sx, sizeof sx), x->d[2], x->d[3]);
	y = snm_op_begin_opt(t, SNM_OP_CONV2D_T, 4, (int[]){ g.N, g.C, out_h, out_w }, 2, 3, in, &nd);
	if (y == NULL)
		return NULL;
	if (nd) {
		nd->i[0] = stride;
		nd->i[1] = pad;
		if ((keep = keep_new(t, &g, K, w, 1)) == NULL && t_failed(t))
			return NULL;
		nd->aux = keep;
	}
	return conv_t_forward(t, &g, K, x->x, w->x, b ? b->x : NULL, y->x, keep) ? NULL : y;
}

void snm_conv2d_t_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2], *y = nd->out;
	snm_conv_geom g = node_geom(nd, y, w);
	const int N = g.N, K = w->d[0], CRS = g.C * g.R * g.S, npq = g.N * g.P * g.Q;
	const int pw = is_pointwise(&g), want_b = b != NULL && b->g != NULL;
	const int nt = snm_par_threads(2 * op_work(&g, K)), nb = snm_par_blocks(N, op_work(&g, K));
	const int nbw = snm_par_blocks(K > CRS ? K : CRS, op_work(&g, K));
	const size_t PQ = (size_t)g.P * g.Q, HW = (size_t)g.H * g.W;
	const float *dy = y->g, *xa = nd->aux;      /* x packed by the forward pass, when it kept it */
	float *A = NULL, *B = NULL;
	if (!pw && (x->g != NULL || w->g != NULL) && (A = scratch_ab(t, &g, K, &B)) == NULL)
		return;
	if (xa == NULL)
		xa = A;
	(void)nt;
	SNM_PAR_REGION(nt)
	{
		if (want_b) {
			SNM_PAR_FOR
			for (int c = 0; c < g.C; ++c)
				bias_grad(N, g.C, HW, dy, b->g, c, c + 1);
		}
		if (pw) {               /* per image: x_n is (K, HW), dy_n is (C, HW) */
			if (x->g != NULL) {
				SNM_PAR_FOR
				for (int n = 0; n < N; ++n)
					gemm_fwd(K, CRS, (int)PQ, w->x, dy + (size_t)n * CRS * HW, (int)HW, 1.0f,
					         x->g + (size_t)n * K * PQ, (int)PQ);
			}
			if (w->g != NULL) {     /* each block of dW over every image, in order */
				SNM_PAR_FOR
				for (int i = 0; i < nbw; ++i)
					for (int n = 0; n < N; ++n)
						gemm_weight(i, nbw, K, CRS, (int)PQ, x->x + (size_t)n * K * PQ, (int)PQ,
						            dy + (size_t)n * CRS * HW, (int)HW, w->g);
			}
		} else if (x->g != NULL || w->g != NULL) {
			SNM_PAR_FOR
			for (int i = 0; i < nb; ++i) {   /* dy's columns, dx += W them, x packed unless kept */
				int n0, n1;
				snm_par_range(N, i, nb, 1, &n0, &n1);
				snm_im2col_range(&g, dy, B, n0, n1);
				if (x->g != NULL && n0 < n1) {
					size_t c0 = (size_t)n0 * PQ;
					gemm_fwd(K, CRS, (n1 - n0) * (int)PQ, w->x, B + c0, npq, 0.0f, A + c0, npq);
					unpack(N, K, PQ, A, NULL, 1, x->g, NULL, n0, n1);
				}
				if (w->g != NULL && xa == A)
					pack(N, K, PQ, x->x, A, n0, n1);
			}
			if (w->g != NULL) {     /* then dW, once the columns and x's A are whole */
				SNM_PAR_FOR
				for (int i = 0; i < nbw; ++i)
					gemm_weight(i, nbw, K, CRS, npq, xa, npq, B, npq, w->g);
			}
		}
	}
}
