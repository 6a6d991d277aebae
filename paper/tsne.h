/* tsne.h: principal component analysis and t-SNE, for the paper stage's pictures of the latent
 * space (Figures 6 and 8 of the semantic-noise paper).
 *
 * t-SNE (van der Maaten and Hinton, 2008) places n points in the plane so that the Student-t
 * similarities q_ij = (1 + |y_i - y_j|^2)^-1 / Z of the embedding match the input similarities
 * p_ij = (p_j|i + p_i|j) / 2n, with p_j|i = exp(-beta_i |x_i - x_j|^2) / sum_k exp(-beta_i |x_i - x_k|^2)
 * and each beta_i chosen by bisection so that the perplexity exp(H(p_.|i)) equals the requested
 * one.  It minimises KL(P || Q) by gradient descent on
 *     dKL/dy_i = 4 sum_j (p_ij - q_ij) (1 + |y_i - y_j|^2)^-1 (y_i - y_j)
 * with the usual schedule: early exaggeration (p times `exaggeration` for the first
 * `exaggeration_iters` steps), momentum 0.5 then 0.8, per-coordinate gains (+0.2 / x0.8, at least
 * 0.01), and the embedding re-centred after each step.
 *
 * Two ways to evaluate it (option theta):
 *   theta = 0   exact: p over all pairs and the exact gradient, O(n^2) time and memory per step
 *               (fine up to a few thousand points);
 *   theta > 0   Barnes-Hut (van der Maaten, 2014): p restricted to the floor(3 perplexity) nearest
 *               neighbours of each point (found exactly, by blocks of distances computed with
 *               GEMM), and the repulsive part of the gradient approximated with a quadtree: a cell
 *               of width w whose centre of mass is at distance d from y_i stands for all its points
 *               when w / d < theta.  O(n log n) per step.
 * Before either, the input is reduced to its first pca_dims principal components (snm_pca).
 *
 * Determinism: the initial embedding is drawn from an mt19937 stream seeded with `seed` (N(0,
 * 1e-8) per coordinate), and every sum runs in a fixed order on one thread, so the same input,
 * options and BLAS thread count give the same bits.
 *
 * Errors: SNM_EINVAL for a bad argument (n too small for the perplexity, d < 1), SNM_ENOMEM. */
#ifndef SNM_TSNE_H
#define SNM_TSNE_H

#include <stdint.h>
#include "snm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct snm_tsne_opts {
	double perplexity;         /* 30 */
	int pca_dims;              /* 50; 0 (or >= d) keeps the input dimensions */
	int iterations;            /* 1000 */
	double theta;              /* 0.5 (Barnes-Hut); 0 = exact */
	double learning_rate;      /* 0 = automatic: max(n / exaggeration / 4, 50) */
	double exaggeration;       /* 12 */
	int exaggeration_iters;    /* 250; also where the momentum goes from 0.5 to 0.8 */
	uint64_t seed;             /* 1 */
} snm_tsne_opts;

/* Fills o with the defaults above. */
void snm_tsne_defaults(snm_tsne_opts *o);

/* Projects the n points x (n x d, row-major) on their first k principal components: out (n x k)
 * = (x - mean) V_k, with V_k the eigenvectors of the covariance (x - mean)^T (x - mean) of the k
 * largest eigenvalues, in decreasing order, each signed so that its largest-magnitude component
 * is positive.  1 <= k <= d; n >= 1.  Products through BLAS (OpenBLAS), eigenvectors with GSL's
 * symmetric eigensolver. */
int snm_pca(const double *x, long n, int d, int k, double *out, snm_error *err);

/* Embeds the n points x (n x d) in the plane: y (n x 2, row-major).  Needs n - 1 >= perplexity. */
int snm_tsne(const double *x, long n, int d, const snm_tsne_opts *o, double *y, snm_error *err);

#ifdef __cplusplus
}
#endif
#endif
