/* par.c: snm's own threads (par.h): how many for a job, its blocks, and the row or column blocks
 * of a product that make it bitwise the same at every thread count. */
#include "blas.h"
#include "par.h"

int snm_par_threads(double work)
{
#ifdef _OPENMP
	int n;
	/* own threads only where OpenBLAS has none of its own running (snm_blas_set_threads) */
	if (work < SNM_PAR_MIN_WORK || omp_in_parallel() || openblas_get_num_threads() != 1)
		return 1;
	n = snm_blas_threads();
	return n > 1 ? n : 1;
#else
	(void)work;
	return 1;
#endif
}

int snm_par_blocks(int n, double work)
{
	return work < SNM_PAR_MIN_WORK || n < 2 ? 1 : n < SNM_PAR_BLOCKS ? n : SNM_PAR_BLOCKS;
}

void snm_par_range(int n, int id, int nt, int align, int *lo, int *hi)
{
	long a = (long)n * id / nt, b = (long)n * (id + 1) / nt;
	if (align > 1) {
		a = id == 0 ? 0 : (a + align / 2) / align * align;
		b = id == nt - 1 ? n : (b + align / 2) / align * align;
		if (a > n)
			a = n;
		if (b > n)
			b = n;
		if (b < a)
			b = a;
	}
	*lo = (int)a;
	*hi = (int)b;
}

void snm_par_parts(int n, int align, double work, void (*f)(int lo, int hi, void *ctx), void *ctx)
{
	int nt = snm_par_threads(work);
	if (nt == 1 || n < 2) {
		f(0, n, ctx);
		return;
	}
	SNM_PAR_REGION(nt)
	{
		int lo, hi;
		snm_par_range(n, SNM_PAR_ID, SNM_PAR_N, align, &lo, &hi);
		if (lo < hi)
			f(lo, hi, ctx);
	}
}

void snm_par_sgemm_block(int i, int nb, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M,
                         int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
                         float beta, float *C, int ldc)
{
	int lo, hi;
	if (N >= M) {                  /* columns lo..hi-1 of C: of B, the columns or (Trans) rows */
		snm_par_range(N, i, nb, 16, &lo, &hi);
		if (lo < hi)
			cblas_sgemm(CblasRowMajor, ta, tb, M, hi - lo, K, alpha, A, lda,
			            tb == CblasNoTrans ? B + lo : B + (size_t)lo * ldb, ldb, beta, C + lo, ldc);
	} else {                       /* rows lo..hi-1 of C: of A, the rows or (Trans) columns */
		snm_par_range(M, i, nb, 16, &lo, &hi);
		if (lo < hi)
			cblas_sgemm(CblasRowMajor, ta, tb, hi - lo, N, K, alpha,
			            ta == CblasNoTrans ? A + (size_t)lo * lda : A + lo, lda, B, ldb, beta,
			            C + (size_t)lo * ldc, ldc);
	}
}

void snm_par_sgemm(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K,
                   float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                   float *C, int ldc)
{
	double work = 2.0 * M * N * K / 16;
	int nb = snm_par_blocks(M > N ? M : N, work), nt = snm_par_threads(work);
	(void)nt;
	SNM_PAR_REGION(nt)
	{
		SNM_PAR_FOR
		for (int i = 0; i < nb; ++i)
			snm_par_sgemm_block(i, nb, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
	}
}
