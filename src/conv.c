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
 * The products cover the whole batch at once: B is the im2col of every image side by side and A
 * is the output side packed channel-major (K, N*P*Q), so each op direction is ONE sgemm.  The
 * MNIST model's per-image products (32x196x9 .. 96x16x576) are too small for OpenBLAS: at batch
 * 100 on 2 threads, im2col + sgemm image by image took about 3x as long as the batched form for
 * the 32->64 and 64->96 layers.  Packing A from and unpacking it to NCHW is a copy of P*Q floats per
 * (n,k).  A and B live in the tape's one scratch buffer (A first, B after it), so the scratch
 * holds one op's matrices at a time.  A 1x1 kernel with stride 1 and pad 0 needs no columns:
 * then B and A of image n ARE its (C, H*W) and (K, H*W) slices, and the same three products run
 * once per image straight on the tensors, with no scratch and no copy. */
#include <cblas.h>
#include <string.h>
#include "op.h"
#include "im2col.h"

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

/* dW (K, CRS) += A (K, n) B^T (n, CRS) */
static void gemm_weight(int K, int CRS, int n, const float *A, int lda, const float *B, int ldb,
                        float *dw)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, K, CRS, n, 1.0f, A, lda, B, ldb, 1.0f, dw,
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

/* A (K, N*L) = v (N,K,L) regrouped by channel. */
static void pack(int N, int K, size_t L, const float *v, float *A)
{
	for (int n = 0; n < N; ++n)
		for (int k = 0; k < K; ++k)
			memcpy(A + ((size_t)k * N + n) * L, v + ((size_t)n * K + k) * L, L * sizeof *A);
}

/* v (N,K,L) = A (K, N*L) + b[k] (b may be NULL), or v += A when acc. */
static void unpack(int N, int K, size_t L, const float *A, const float *b, int acc, float *v)
{
	for (int n = 0; n < N; ++n)
		for (int k = 0; k < K; ++k) {
			const float *a = A + ((size_t)k * N + n) * L;
			float *d = v + ((size_t)n * K + k) * L, bk = b ? b[k] : 0.0f;
			if (acc)
				for (size_t i = 0; i < L; ++i)
					d[i] += a[i];
			else
				for (size_t i = 0; i < L; ++i)
					d[i] = a[i] + bk;
		}
}

/* v (N,K,L) = b[k] everywhere (0 when b is NULL). */
static void fill_bias(int N, int K, size_t L, const float *b, float *v)
{
	for (int n = 0; n < N; ++n)
		for (int k = 0; k < K; ++k) {
			float *d = v + ((size_t)n * K + k) * L, bk = b ? b[k] : 0.0f;
			for (size_t i = 0; i < L; ++i)
				d[i] = bk;
		}
}

/* db[k] += sum_{n,i} dv[n,k,i] for dv (N,K,L); each plane summed in float, the planes in double. */
static void bias_grad(int N, int K, size_t L, const float *dv, float *db)
{
	for (int k = 0; k < K; ++k) {
		double s = 0;
		for (int n = 0; n < N; ++n) {
			const float *d = dv + ((size_t)n * K + k) * L;
			float p = 0.0f;
			for (size_t i = 0; i < L; ++i)
				p += d[i];
			s += p;
		}
		db[k] += (float)s;
	}
}

/* Geometry of a node from its image side img (N,C,H,W) and w (K,C,R,S). */
static snm_conv_geom node_geom(const snm_node *nd, const snm_tensor *img, const snm_tensor *w)
{
	snm_conv_geom g = { .N = img->d[0], .C = img->d[1], .H = img->d[2], .W = img->d[3],
	                    .R = w->d[2], .S = w->d[3], .stride = nd->i[0], .pad = nd->i[1] };
	snm_conv_geom_init(&g);
	return g;
}

/* y (N,K,P,Q) = W im2col(x) + b (b may be NULL).  Returns -1 when the scratch cannot grow. */
static int conv_forward(snm_tape *t, const snm_conv_geom *g, int K, const float *x, const float *w,
                        const float *b, float *y)
{
	int CRS = g->C * g->R * g->S, npq = g->N * g->P * g->Q;
	size_t PQ = (size_t)g->P * g->Q, HW = (size_t)g->H * g->W;
	float *A, *B;
	if (is_pointwise(g)) {      /* per image: x_n is (C, HW), y_n is (K, HW) */
		fill_bias(g->N, K, PQ, b, y);
		for (int n = 0; n < g->N; ++n)
			gemm_fwd(K, CRS, (int)PQ, w, x + (size_t)n * CRS * HW, (int)HW, 1.0f,
			         y + (size_t)n * K * PQ, (int)PQ);
		return 0;
	}
	if ((A = scratch_ab(t, g, K, &B)) == NULL)
		return -1;
	snm_im2col(g, x, B);
	gemm_fwd(K, CRS, npq, w, B, npq, 0.0f, A, npq);
	unpack(g->N, K, PQ, A, b, 0, y);
	return 0;
}

/* y (N,C,H,W) = col2im(W^T x) + b for x (N,K,P,Q) (b may be NULL).  -1 when out of scratch. */
static int conv_t_forward(snm_tape *t, const snm_conv_geom *g, int K, const float *x,
                          const float *w, const float *b, float *y)
{
	int CRS = g->C * g->R * g->S, npq = g->N * g->P * g->Q;
	size_t PQ = (size_t)g->P * g->Q, HW = (size_t)g->H * g->W;
	float *A, *B;
	fill_bias(g->N, g->C, HW, b, y);
	if (is_pointwise(g)) {      /* per image: x_n is (K, HW), y_n is (C, HW) */
		for (int n = 0; n < g->N; ++n)
			gemm_data(K, CRS, (int)PQ, w, x + (size_t)n * K * PQ, (int)PQ, 1.0f,
			          y + (size_t)n * CRS * HW, (int)HW);
		return 0;
	}
	if ((A = scratch_ab(t, g, K, &B)) == NULL)
		return -1;
	pack(g->N, K, PQ, x, A);
	gemm_data(K, CRS, npq, w, A, npq, 0.0f, B, npq);
	snm_col2im(g, B, y);
	return 0;
}

/* ---- conv2d -------------------------------------------------------------------------------- */

/* y (N,K,P,Q) = W im2col(x) + b.
 * dx += col2im(W^T dy),  dW += dy im2col(x)^T,  db += sum_{n,p,q} dy  (dy read as (K, NPQ)). */
snm_tensor *snm_conv2d(snm_tape *t, snm_tensor *x, snm_tensor *w, snm_tensor *b, int stride,
                       int pad)
{
	snm_tensor *in[3] = { x, w, b }, *y;
	snm_node *nd;
	snm_conv_geom g;
	char sx[64], sw[64], sb[64];
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
	}
	return conv_forward(t, &g, K, x->x, w->x, b ? b->x : NULL, y->x) ? NULL : y;
}

void snm_conv2d_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2], *y = nd->out;
	snm_conv_geom g = node_geom(nd, x, w);
	int K = w->d[0], CRS = g.C * g.R * g.S, npq = g.N * g.P * g.Q;
	size_t PQ = (size_t)g.P * g.Q, HW = (size_t)g.H * g.W;
	const float *dy = y->g;
	float *A, *B;
	if (b != NULL && b->g != NULL)
		bias_grad(g.N, K, PQ, dy, b->g);
	if (x->g == NULL && w->g == NULL)
		return;
	if (is_pointwise(&g)) {      /* per image: x_n is (C, HW), dy_n is (K, HW) */
		for (int n = 0; n < g.N; ++n) {
			const float *dyn = dy + (size_t)n * K * PQ;
			size_t xo = (size_t)n * CRS * HW;
			if (w->g != NULL)
				gemm_weight(K, CRS, (int)PQ, dyn, (int)PQ, x->x + xo, (int)HW, w->g);
			if (x->g != NULL)
				gemm_data(K, CRS, (int)PQ, w->x, dyn, (int)PQ, 1.0f, x->g + xo, (int)HW);
		}
		return;
	}
	if ((A = scratch_ab(t, &g, K, &B)) == NULL)
		return;
	pack(g.N, K, PQ, dy, A);
	if (w->g != NULL) {
		snm_im2col(&g, x->x, B);
		gemm_weight(K, CRS, npq, A, npq, B, npq, w->g);
	}
	if (x->g != NULL) {
		gemm_data(K, CRS, npq, w->x, A, npq, 0.0f, B, npq);
		snm_col2im(&g, B, x->g);
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
	}
	return conv_t_forward(t, &g, K, x->x, w->x, b ? b->x : NULL, y->x) ? NULL : y;
}

void snm_conv2d_t_backward(snm_tape *t, snm_node *nd)
{
	snm_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2], *y = nd->out;
	snm_conv_geom g = node_geom(nd, y, w);
	int K = w->d[0], CRS = g.C * g.R * g.S, npq = g.N * g.P * g.Q;
	size_t PQ = (size_t)g.P * g.Q, HW = (size_t)g.H * g.W;
	const float *dy = y->g;
	float *A, *B;
	if (b != NULL && b->g != NULL)
		bias_grad(g.N, g.C, HW, dy, b->g);
	if (x->g == NULL && w->g == NULL)
		return;
	if (is_pointwise(&g)) {      /* per image: x_n is (K, HW), dy_n is (C, HW) */
		for (int n = 0; n < g.N; ++n) {
			const float *dyn = dy + (size_t)n * CRS * HW;
			size_t xo = (size_t)n * K * PQ;
			if (w->g != NULL)
				gemm_weight(K, CRS, (int)PQ, x->x + xo, (int)PQ, dyn, (int)HW, w->g);
			if (x->g != NULL)
				gemm_fwd(K, CRS, (int)PQ, w->x, dyn, (int)HW, 1.0f, x->g + xo, (int)PQ);
		}
		return;
	}
	if ((A = scratch_ab(t, &g, K, &B)) == NULL)
		return;
	snm_im2col(&g, dy, B);
	if (x->g != NULL) {
		gemm_fwd(K, CRS, npq, w->x, B, npq, 0.0f, A, npq);
		unpack(g.N, K, PQ, A, NULL, 1, x->g);
	}
	if (w->g != NULL) {
		pack(g.N, K, PQ, x->x, A);
		gemm_weight(K, CRS, npq, A, npq, B, npq, w->g);
	}
}
