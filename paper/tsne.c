/* tsne.c: principal component analysis and t-SNE, exact and Barnes-Hut (see tsne.h for the
 * definitions and the optimisation schedule).
 *
 * Layout of the work:
 *   pca             covariance by one SYRK, eigenvectors by gsl_eigen_symmv, projection by GEMM
 *                   (GSL's BLAS wrappers, which call OpenBLAS's CBLAS: GSL is linked without its
 *                   own; OpenBLAS's cblas.h cannot be included beside GSL's headers).
 *   affinities      exact: all pairwise squared distances (one GEMM), a bisection per row, then
 *                   P = (P + P^T) / 2n dense.  Barnes-Hut: squared distances by row blocks (GEMM),
 *                   the K = floor(3 perplexity) nearest of each row kept in a max-heap, the
 *                   bisection over those K, then the symmetrised sparse P in CSR form.
 *   gradient        exact: the O(n^2) formula.  Barnes-Hut: attraction over the CSR entries,
 *                   repulsion from a quadtree whose nodes live in one growable array (indices, not
 *                   pointers), traversed with an explicit stack.
 * Everything is double precision and runs on one thread in a fixed order. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_randist.h>
#include "snm/rng.h"
#include "tsne.h"

void snm_tsne_defaults(snm_tsne_opts *o)
{
	o->perplexity = 30;
	o->pca_dims = 50;
	o->iterations = 1000;
	o->theta = 0.5;
	o->learning_rate = 0;
	o->exaggeration = 12;
	o->exaggeration_iters = 250;
	o->seed = 1;
}

/* ---- PCA ------------------------------------------------------------------------------------- */

int snm_pca(const double *x, long n, int d, int k, double *out, snm_error *err)
{
	double *xc = NULL, *mean = NULL;
	gsl_matrix *cov = NULL, *evec = NULL;
	gsl_vector *eval = NULL;
	gsl_eigen_symmv_workspace *ws = NULL;
	int rc = SNM_OK;
	if (n < 1 || d < 1 || k < 1 || k > d)
		return SNM_FAIL(err, SNM_EINVAL, "pca: need n >= 1 and 1 <= k <= d (n %ld, d %d, k %d)", n, d, k);
	xc = malloc((size_t)n * (size_t)d * sizeof *xc);
	mean = calloc((size_t)d, sizeof *mean);
	cov = gsl_matrix_alloc((size_t)d, (size_t)d);
	evec = gsl_matrix_alloc((size_t)d, (size_t)d);
	eval = gsl_vector_alloc((size_t)d);
	ws = gsl_eigen_symmv_alloc((size_t)d);
	if (!xc || !mean || !cov || !evec || !eval || !ws) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "pca: out of memory");
		goto done;
	}
	for (long i = 0; i < n; ++i)
		for (int j = 0; j < d; ++j)
			mean[j] += x[(size_t)i * d + j];
	for (int j = 0; j < d; ++j)
		mean[j] /= (double)n;
	for (long i = 0; i < n; ++i)
		for (int j = 0; j < d; ++j)
			xc[(size_t)i * d + j] = x[(size_t)i * d + j] - mean[j];
	{
		gsl_matrix_const_view X = gsl_matrix_const_view_array(xc, (size_t)n, (size_t)d);
		/* cov (lower triangle) = Xc^T Xc; the scale does not change the eigenvectors */
		gsl_blas_dsyrk(CblasLower, CblasTrans, 1.0, &X.matrix, 0.0, cov);
	}
	if (gsl_eigen_symmv(cov, eval, evec, ws) != GSL_SUCCESS) {
		rc = SNM_FAIL(err, SNM_EINVAL, "pca: the eigensolver did not converge");
		goto done;
	}
	gsl_eigen_symmv_sort(eval, evec, GSL_EIGEN_SORT_VAL_DESC);
	for (int c = 0; c < k; ++c) {
		size_t arg = 0;
		double best = -1;
		for (int r = 0; r < d; ++r)
			if (fabs(gsl_matrix_get(evec, (size_t)r, (size_t)c)) > best) {
				best = fabs(gsl_matrix_get(evec, (size_t)r, (size_t)c));
				arg = (size_t)r;
			}
		if (gsl_matrix_get(evec, arg, (size_t)c) < 0)
			for (int r = 0; r < d; ++r)
				gsl_matrix_set(evec, (size_t)r, (size_t)c, -gsl_matrix_get(evec, (size_t)r, (size_t)c));
	}
	{
		gsl_matrix_const_view X = gsl_matrix_const_view_array(xc, (size_t)n, (size_t)d);
		gsl_matrix_const_view V = gsl_matrix_const_submatrix(evec, 0, 0, (size_t)d, (size_t)k);
		gsl_matrix_view O = gsl_matrix_view_array(out, (size_t)n, (size_t)k);
		gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &X.matrix, &V.matrix, 0.0, &O.matrix);
	}
done:
	free(xc);
	free(mean);
	gsl_matrix_free(cov);
	gsl_matrix_free(evec);
	gsl_vector_free(eval);
	if (ws)
		gsl_eigen_symmv_free(ws);
	return rc;
}

/* ---- input affinities ------------------------------------------------------------------------ */

/* Squared distances between rows r0..r0+nr of x and all n rows: out (nr x n) =
 * |x_i|^2 + |x_j|^2 - 2 x_i.x_j, clamped at 0 (the GEMM form can round below). */
static void sqdist_block(const double *x, const double *sq, long n, int d, long r0, long nr, double *out)
{
	gsl_matrix_const_view A = gsl_matrix_const_view_array(x + (size_t)r0 * d, (size_t)nr, (size_t)d);
	gsl_matrix_const_view B = gsl_matrix_const_view_array(x, (size_t)n, (size_t)d);
	gsl_matrix_view G = gsl_matrix_view_array(out, (size_t)nr, (size_t)n);
	gsl_blas_dgemm(CblasNoTrans, CblasTrans, -2.0, &A.matrix, &B.matrix, 0.0, &G.matrix);
	for (long i = 0; i < nr; ++i)
		for (long j = 0; j < n; ++j) {
			double v = out[(size_t)i * n + j] + sq[r0 + i] + sq[j];
			out[(size_t)i * n + j] = v > 0 ? v : 0;
		}
}

/* p[0..m) = the conditional distribution exp(-beta d2[j]) / sum for the beta whose entropy is
 * log(perplexity) (bisection on beta, to 1e-5 nats or 200 steps).  Distances are shifted by their
 * minimum first, which leaves p unchanged and keeps exp() from underflowing. */
static void perplexity_row(const double *d2, long m, double perplexity, double *p)
{
	const double target = log(perplexity);
	double beta = 1, lo = 0, hi = INFINITY, dmin = INFINITY, sum = 0;
	for (long j = 0; j < m; ++j)
		if (d2[j] < dmin)
			dmin = d2[j];
	for (int it = 0; it < 200; ++it) {
		double h, dp = 0;
		sum = 0;
		for (long j = 0; j < m; ++j) {
			p[j] = exp(-beta * (d2[j] - dmin));
			sum += p[j];
			dp += (d2[j] - dmin) * p[j];
		}
		h = log(sum) + beta * dp / sum;
		if (fabs(h - target) < 1e-5)
			break;
		if (h > target) {
			lo = beta;
			beta = isinf(hi) ? 2 * beta : (beta + hi) / 2;
		} else {
			hi = beta;
			beta = (beta + lo) / 2;
		}
	}
	for (long j = 0; j < m; ++j)
		p[j] /= sum;
}

/* Exact P (n x n, dense, symmetric, summing to 1). */
static int affinities_exact(const double *x, long n, int d, double perplexity, double *P, snm_error *err)
{
	double *sq = malloc((size_t)n * sizeof *sq), *row = malloc((size_t)n * sizeof *row);
	double *prow = malloc((size_t)n * sizeof *prow);
	if (!sq || !row || !prow) {
		free(sq), free(row), free(prow);
		return SNM_FAIL(err, SNM_ENOMEM, "t-SNE: out of memory");
	}
	for (long i = 0; i < n; ++i) {
		sq[i] = 0;
		for (int j = 0; j < d; ++j)
			sq[i] += x[(size_t)i * d + j] * x[(size_t)i * d + j];
	}
	sqdist_block(x, sq, n, d, 0, n, P);
	for (long i = 0; i < n; ++i) {
		long m = 0;
		for (long j = 0; j < n; ++j)
			if (j != i)
				row[m++] = P[(size_t)i * n + j];
		perplexity_row(row, m, perplexity, prow);
		m = 0;
		for (long j = 0; j < n; ++j)
			P[(size_t)i * n + j] = j == i ? 0 : prow[m++];
	}
	for (long i = 0; i < n; ++i)
		for (long j = i + 1; j < n; ++j) {
			double v = (P[(size_t)i * n + j] + P[(size_t)j * n + i]) / (2.0 * (double)n);
			P[(size_t)i * n + j] = P[(size_t)j * n + i] = v;
		}
	free(sq), free(row), free(prow);
	return SNM_OK;
}

/* Sparse symmetric P in CSR form: row i's entries are col[rowp[i] .. rowp[i+1]), val likewise. */
typedef struct csr {
	long *rowp, *col;
	double *val;
} csr;

typedef struct nb { double d; long j; } nb;

/* a before b: smaller distance, then smaller index (so ties are broken the same way every time) */
static int nb_less(nb a, nb b)
{
	return a.d < b.d || (a.d == b.d && a.j < b.j);
}

/* Max-heap of the K best candidates: the root is the worst kept one. */
static void heap_sift_down(nb *h, int m, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, w = i;
		if (l < m && nb_less(h[w], h[l])) w = l;
		if (r < m && nb_less(h[w], h[r])) w = r;
		if (w == i)
			return;
		nb t = h[i]; h[i] = h[w]; h[w] = t;
		i = w;
	}
}

static void heap_push(nb *h, int *m, int cap, nb v)
{
	if (*m < cap) {
		int i = (*m)++;
		h[i] = v;
		while (i > 0 && nb_less(h[(i - 1) / 2], h[i])) {
			nb t = h[i]; h[i] = h[(i - 1) / 2]; h[(i - 1) / 2] = t;
			i = (i - 1) / 2;
		}
	} else if (nb_less(v, h[0])) {
		h[0] = v;
		heap_sift_down(h, *m, 0);
	}
}

static int nb_cmp(const void *a, const void *b)
{
	nb x = *(const nb *)a, y = *(const nb *)b;
	return nb_less(x, y) ? -1 : nb_less(y, x) ? 1 : 0;
}

typedef struct trip { long i, j; double v; } trip;

static int trip_cmp(const void *a, const void *b)
{
	const trip *x = a, *y = b;
	if (x->i != y->i) return x->i < y->i ? -1 : 1;
	if (x->j != y->j) return x->j < y->j ? -1 : 1;
	return 0;
}

enum { BLOCK_ROWS = 256 };

static int affinities_sparse(const double *x, long n, int d, double perplexity, csr *P, snm_error *err)
{
	int K = (int)(3 * perplexity);
	long nb_rows = n < BLOCK_ROWS ? n : BLOCK_ROWS, nt = 0;
	double *sq, *dist, *d2, *p;
	nb *heap;
	trip *t;
	int rc = SNM_OK;
	if (K > n - 1)
		K = (int)(n - 1);
	if (K < 1)
		K = 1;
	sq = malloc((size_t)n * sizeof *sq);
	dist = malloc((size_t)nb_rows * (size_t)n * sizeof *dist);
	d2 = malloc((size_t)K * sizeof *d2);
	p = malloc((size_t)K * sizeof *p);
	heap = malloc((size_t)K * sizeof *heap);
	t = malloc(2 * (size_t)n * (size_t)K * sizeof *t);
	P->rowp = malloc(((size_t)n + 1) * sizeof *P->rowp);
	P->col = NULL;
	P->val = NULL;
	if (!sq || !dist || !d2 || !p || !heap || !t || !P->rowp) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "t-SNE: out of memory");
		goto done;
	}
	for (long i = 0; i < n; ++i) {
		sq[i] = 0;
		for (int j = 0; j < d; ++j)
			sq[i] += x[(size_t)i * d + j] * x[(size_t)i * d + j];
	}
	for (long r0 = 0; r0 < n; r0 += nb_rows) {
		long nr = n - r0 < nb_rows ? n - r0 : nb_rows;
		sqdist_block(x, sq, n, d, r0, nr, dist);
		for (long a = 0; a < nr; ++a) {
			long i = r0 + a;
			int m = 0;
			for (long j = 0; j < n; ++j)
				if (j != i)
					heap_push(heap, &m, K, (nb){ dist[(size_t)a * n + j], j });
			qsort(heap, (size_t)m, sizeof *heap, nb_cmp);
			for (int k = 0; k < m; ++k)
				d2[k] = heap[k].d;
			perplexity_row(d2, m, perplexity, p);
			for (int k = 0; k < m; ++k) {
				t[nt++] = (trip){ i, heap[k].j, p[k] };
				t[nt++] = (trip){ heap[k].j, i, p[k] };
			}
		}
	}
	/* P = (P + P^T) / 2n: sort the triplets, add duplicates */
	qsort(t, (size_t)nt, sizeof *t, trip_cmp);
	{
		long m = 0;
		for (long a = 0; a < nt; ++a) {
			if (m > 0 && t[m - 1].i == t[a].i && t[m - 1].j == t[a].j)
				t[m - 1].v += t[a].v;
			else
				t[m++] = t[a];
		}
		nt = m;
	}
	P->col = malloc((size_t)nt * sizeof *P->col);
	P->val = malloc((size_t)nt * sizeof *P->val);
	if (!P->col || !P->val) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "t-SNE: out of memory");
		goto done;
	}
	for (long i = 0, a = 0; i <= n; ++i) {
		while (i < n && a < nt && t[a].i < i)
			++a;
		P->rowp[i] = i < n ? a : nt;
	}
	for (long a = 0; a < nt; ++a) {
		P->col[a] = t[a].j;
		P->val[a] = t[a].v / (2.0 * (double)n);
	}
done:
	free(sq), free(dist), free(d2), free(p), free(heap), free(t);
	if (rc) {
		free(P->rowp), free(P->col), free(P->val);
		P->rowp = P->col = NULL;
		P->val = NULL;
	}
	return rc;
}

/* ---- gradients ------------------------------------------------------------------------------- */

/* Exact: g_i = 4 sum_j (ex p_ij - q_ij) num_ij (y_i - y_j), num_ij = 1/(1+|y_i-y_j|^2). */
static void grad_exact(const double *P, const double *y, long n, double ex, double *num, double *g)
{
	double Z = 0;
	for (long i = 0; i < n; ++i) {
		num[(size_t)i * n + i] = 0;
		for (long j = i + 1; j < n; ++j) {
			double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
			double v = 1 / (1 + dx * dx + dy * dy);
			num[(size_t)i * n + j] = num[(size_t)j * n + i] = v;
			Z += 2 * v;
		}
	}
	for (long i = 0; i < n; ++i) {
		double gx = 0, gy = 0;
		for (long j = 0; j < n; ++j) {
			double v = num[(size_t)i * n + j], m = (ex * P[(size_t)i * n + j] - v / Z) * v;
			gx += m * (y[2 * i] - y[2 * j]);
			gy += m * (y[2 * i + 1] - y[2 * j + 1]);
		}
		g[2 * i] = 4 * gx;
		g[2 * i + 1] = 4 * gy;
	}
}

/* Quadtree over the embedding.  A leaf holds one point, or several at exactly the same position
 * (or in a cell too small to split further); its centre of mass is then that position. */
typedef struct qnode {
	double cx, cy, hw;        /* cell centre and half-width */
	double mx, my;            /* sums of the positions, then (after finish) the centre of mass */
	long n;                   /* points in the cell */
	long pt;                  /* leaf: its (first) point; -1 for an internal node */
	long child;               /* index of the first of the four children; -1 for a leaf */
} qnode;

typedef struct qtree {
	qnode *v;
	long n, m;
	double min_hw;
} qtree;

static long qt_new(qtree *q, double cx, double cy, double hw)
{
	if (q->n == q->m) {
		long m = q->m ? 2 * q->m : 1024;
		qnode *v = realloc(q->v, (size_t)m * sizeof *v);
		if (v == NULL)
			return -1;
		q->v = v;
		q->m = m;
	}
	q->v[q->n] = (qnode){ cx, cy, hw, 0, 0, 0, -1, -1 };
	return q->n++;
}

static int quadrant(const qnode *c, double x, double y)
{
	return (x > c->cx) + 2 * (y > c->cy);
}

static int qt_insert(qtree *q, const double *y, long i)
{
	const double x0 = y[2 * i], y0 = y[2 * i + 1];
	long at = 0;
	for (;;) {
		qnode *c = &q->v[at];
		if (c->child < 0 && c->n == 0) {
			c->n = 1;
			c->mx = x0;
			c->my = y0;
			c->pt = i;
			return SNM_OK;
		}
		if (c->child < 0) {
			const double px = y[2 * c->pt], py = y[2 * c->pt + 1];
			long first;
			int k;
			if ((px == x0 && py == y0) || c->hw < q->min_hw) {
				c->n++;
				c->mx += x0;
				c->my += y0;
				return SNM_OK;
			}
			{
				double cx = c->cx, cy = c->cy, h = c->hw / 2;
				first = qt_new(q, cx - h, cy - h, h);
				if (first < 0 || qt_new(q, cx + h, cy - h, h) < 0 || qt_new(q, cx - h, cy + h, h) < 0
				    || qt_new(q, cx + h, cy + h, h) < 0)
					return SNM_ENOMEM;
			}
			c = &q->v[at];            /* the array may have moved */
			k = quadrant(c, px, py);
			q->v[first + k].n = c->n;
			q->v[first + k].mx = c->mx;
			q->v[first + k].my = c->my;
			q->v[first + k].pt = c->pt;
			c->pt = -1;
			c->child = first;
		}
		c->n++;
		c->mx += x0;
		c->my += y0;
		at = c->child + quadrant(c, x0, y0);
	}
}

static int qt_build(qtree *q, const double *y, long n)
{
	double lo[2] = { INFINITY, INFINITY }, hi[2] = { -INFINITY, -INFINITY }, hw;
	q->n = 0;
	for (long i = 0; i < n; ++i)
		for (int k = 0; k < 2; ++k) {
			if (y[2 * i + k] < lo[k]) lo[k] = y[2 * i + k];
			if (y[2 * i + k] > hi[k]) hi[k] = y[2 * i + k];
		}
	hw = fmax(hi[0] - lo[0], hi[1] - lo[1]) / 2;
	hw = hw * (1 + 1e-5) + 1e-10;
	q->min_hw = hw * 1e-12;
	if (qt_new(q, (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, hw) < 0)
		return SNM_ENOMEM;
	for (long i = 0; i < n; ++i)
		if (qt_insert(q, y, i))
			return SNM_ENOMEM;
	for (long a = 0; a < q->n; ++a) {
		qnode *c = &q->v[a];
		if (c->n == 0)
			continue;
		if (c->child < 0) {
			c->mx = y[2 * c->pt];
			c->my = y[2 * c->pt + 1];
		} else {
			c->mx /= (double)c->n;
			c->my /= (double)c->n;
		}
	}
	return SNM_OK;
}

enum { QT_STACK = 1024 };

/* Repulsion on point i: neg += sum_cells N q^2 (y_i - com), returns sum_cells N q (its share of Z),
 * q = 1/(1 + d^2).  A leaf at exactly y_i holds i and its duplicates: they add q = 1 each to Z
 * and no force. */
static double qt_repulse(const qtree *q, const double *y, long i, double theta2, double *neg)
{
	long stack[QT_STACK];
	int top = 0;
	double z = 0;
	const double xi = y[2 * i], yi = y[2 * i + 1];
	stack[top++] = 0;
	while (top > 0) {
		const qnode *c = &q->v[stack[--top]];
		double dx, dy, d2, w;
		if (c->n == 0)
			continue;
		dx = xi - c->mx;
		dy = yi - c->my;
		d2 = dx * dx + dy * dy;
		w = 2 * c->hw;
		if (c->child < 0 && dx == 0 && dy == 0) {
			z += (double)(c->n - 1);
			continue;
		}
		if (c->child < 0 || w * w < theta2 * d2 || top + 4 > QT_STACK) {
			double qq = 1 / (1 + d2), m = (double)c->n * qq;
			z += m;
			neg[0] += m * qq * dx;
			neg[1] += m * qq * dy;
			continue;
		}
		for (int k = 3; k >= 0; --k)
			stack[top++] = c->child + k;
	}
	return z;
}

static int grad_bh(const csr *P, const double *y, long n, double ex, double theta, qtree *q, double *neg,
                   double *g)
{
	double Z = 0;
	if (qt_build(q, y, n))
		return SNM_ENOMEM;
	for (long i = 0; i < n; ++i) {
		neg[2 * i] = neg[2 * i + 1] = 0;
		Z += qt_repulse(q, y, i, theta * theta, neg + 2 * i);
	}
	for (long i = 0; i < n; ++i) {
		double ax = 0, ay = 0;
		for (long a = P->rowp[i]; a < P->rowp[i + 1]; ++a) {
			long j = P->col[a];
			double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
			double m = ex * P->val[a] / (1 + dx * dx + dy * dy);
			ax += m * dx;
			ay += m * dy;
		}
		g[2 * i] = 4 * (ax - neg[2 * i] / Z);
		g[2 * i + 1] = 4 * (ay - neg[2 * i + 1] / Z);
	}
	return SNM_OK;
}

/* ---- the optimisation ------------------------------------------------------------------------ */

int snm_tsne(const double *x, long n, int d, const snm_tsne_opts *o, double *y, snm_error *err)
{
	snm_tsne_opts def;
	const double *in = x;
	double *red = NULL, *g = NULL, *u = NULL, *gains = NULL, *P = NULL, *work = NULL, lr;
	csr S = { NULL, NULL, NULL };
	qtree q = { NULL, 0, 0, 0 };
	gsl_rng *rng = NULL;
	int rc = SNM_OK, exact, dim = d;
	if (o == NULL) {
		snm_tsne_defaults(&def);
		o = &def;
	}
	if (d < 1 || n < 2 || !(o->perplexity > 0) || (double)(n - 1) < o->perplexity || o->iterations < 0
	    || o->theta < 0 || o->learning_rate < 0 || !(o->exaggeration > 0))
		return SNM_FAIL(err, SNM_EINVAL, "t-SNE: bad arguments (n %ld, d %d, perplexity %g: need "
		                "n - 1 >= perplexity > 0)", n, d, o->perplexity);
	exact = o->theta == 0;
	if (o->pca_dims > 0 && o->pca_dims < d) {
		if ((red = malloc((size_t)n * (size_t)o->pca_dims * sizeof *red)) == NULL)
			return SNM_FAIL(err, SNM_ENOMEM, "t-SNE: out of memory");
		if ((rc = snm_pca(x, n, d, o->pca_dims, red, err))) {
			free(red);
			return rc;
		}
		in = red;
		dim = o->pca_dims;
	}
	g = malloc(2 * (size_t)n * sizeof *g);
	u = calloc(2 * (size_t)n, sizeof *u);
	gains = malloc(2 * (size_t)n * sizeof *gains);
	work = malloc((exact ? (size_t)n * (size_t)n : 2 * (size_t)n) * sizeof *work);
	if (exact)
		P = malloc((size_t)n * (size_t)n * sizeof *P);
	if (!g || !u || !gains || !work || (exact && !P)) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "t-SNE: out of memory (%ld points%s)", n, exact ? ", exact" : "");
		goto done;
	}
	rc = exact ? affinities_exact(in, n, dim, o->perplexity, P, err)
	           : affinities_sparse(in, n, dim, o->perplexity, &S, err);
	if (rc)
		goto done;
	if ((rng = snm_rng_new(o->seed, err)) == NULL) {
		rc = SNM_ENOMEM;
		goto done;
	}
	for (long i = 0; i < 2 * n; ++i) {
		y[i] = 1e-4 * gsl_ran_gaussian_ziggurat(rng, 1.0);
		gains[i] = 1;
	}
	lr = o->learning_rate > 0 ? o->learning_rate : fmax((double)n / o->exaggeration / 4, 50);
	for (int it = 0; it < o->iterations; ++it) {
		const double ex = it < o->exaggeration_iters ? o->exaggeration : 1;
		const double mom = it < o->exaggeration_iters ? 0.5 : 0.8;
		double mx = 0, my = 0;
		if (exact)
			grad_exact(P, y, n, ex, work, g);
		else if (grad_bh(&S, y, n, ex, o->theta, &q, work, g)) {
			rc = SNM_FAIL(err, SNM_ENOMEM, "t-SNE: out of memory (quadtree)");
			goto done;
		}
		for (long i = 0; i < 2 * n; ++i) {
			gains[i] = (g[i] > 0) != (u[i] > 0) ? gains[i] + 0.2 : gains[i] * 0.8;
			if (gains[i] < 0.01)
				gains[i] = 0.01;
			u[i] = mom * u[i] - lr * gains[i] * g[i];
			y[i] += u[i];
		}
		for (long i = 0; i < n; ++i) {
			mx += y[2 * i];
			my += y[2 * i + 1];
		}
		mx /= (double)n;
		my /= (double)n;
		for (long i = 0; i < n; ++i) {
			y[2 * i] -= mx;
			y[2 * i + 1] -= my;
		}
	}
done:
	gsl_rng_free(rng);
	free(red), free(g), free(u), free(gains), free(P), free(work);
	free(S.rowp), free(S.col), free(S.val);
	free(q.v);
	return rc;
}
