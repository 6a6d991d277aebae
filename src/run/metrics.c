/* metrics.c: the per-epoch metrics table (see metrics.h).
 *
 * Column-major: column c is the array col[c] of `rows` doubles with room for `cap`.  All columns
 * grow together, so an append either extends every column or none. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include "metrics.h"

struct snm_metrics {
	int n_cols;
	char **names;
	double **col;
	size_t rows, cap;
};

void snm_metrics_free(snm_metrics *m)
{
	if (m == NULL)
		return;
	for (int c = 0; c < m->n_cols; ++c) {
		if (m->names != NULL)
			free(m->names[c]);
		if (m->col != NULL)
			free(m->col[c]);
	}
	free(m->names);
	free(m->col);
	free(m);
}

snm_metrics *snm_metrics_new(int n_cols, const char *const *names, snm_error *err)
{
	snm_metrics *m;
	if (n_cols < 1 || names == NULL) {
		SNM_FAIL(err, SNM_EINVAL, "metrics table needs at least one column (got %d)", n_cols);
		return NULL;
	}
	for (int c = 0; c < n_cols; ++c) {
		const char *s = names[c];
		if (s == NULL || s[0] == '\0' || strchr(s, '/') != NULL || strcmp(s, ".") == 0) {
			SNM_FAIL(err, SNM_EINVAL, "metrics column %d: bad name '%s' (non-empty, no '/', not '.')",
			         c, s ? s : "(null)");
			return NULL;
		}
		for (int k = 0; k < c; ++k)
			if (strcmp(names[k], s) == 0) {
				SNM_FAIL(err, SNM_EINVAL, "metrics column '%s' is named twice", s);
				return NULL;
			}
	}
	m = calloc(1, sizeof *m);
	if (m == NULL)
		goto nomem;
	m->names = calloc((size_t)n_cols, sizeof *m->names);
	m->col = calloc((size_t)n_cols, sizeof *m->col);
	if (m->names == NULL || m->col == NULL)
		goto nomem;
	m->n_cols = n_cols;
	for (int c = 0; c < n_cols; ++c)
		if ((m->names[c] = strdup(names[c])) == NULL)
			goto nomem;
	return m;
nomem:
	snm_metrics_free(m);
	SNM_FAIL(err, SNM_ENOMEM, "out of memory for a metrics table of %d columns", n_cols);
	return NULL;
}

int snm_metrics_reserve(snm_metrics *m, size_t rows, snm_error *err)
{
	if (rows <= m->cap)
		return SNM_OK;
	if (rows > SIZE_MAX / sizeof(double))
		return SNM_FAIL(err, SNM_ENOMEM, "metrics table of %zu rows is too large", rows);
	/* Grow column by column; a column that already grew keeps its larger block, which is harmless:
	 * cap only moves once every column has the room. */
	for (int c = 0; c < m->n_cols; ++c) {
		double *p = realloc(m->col[c], rows * sizeof *p);
		if (p == NULL)
			return SNM_FAIL(err, SNM_ENOMEM, "out of memory for %zu metrics rows", rows);
		m->col[c] = p;
	}
	m->cap = rows;
	return SNM_OK;
}

int snm_metrics_append(snm_metrics *m, const double *row, snm_error *err)
{
	if (m->rows == m->cap) {
		int rc = snm_metrics_reserve(m, m->cap ? 2 * m->cap : 64, err);
		if (rc != SNM_OK)
			return rc;
	}
	for (int c = 0; c < m->n_cols; ++c)
		m->col[c][m->rows] = row[c];
	m->rows++;
	return SNM_OK;
}

void snm_metrics_truncate(snm_metrics *m, size_t rows)
{
	if (rows < m->rows)
		m->rows = rows;
}

size_t snm_metrics_rows(const snm_metrics *m) { return m->rows; }
int snm_metrics_cols(const snm_metrics *m) { return m->n_cols; }

const char *snm_metrics_name(const snm_metrics *m, int col)
{
	return col >= 0 && col < m->n_cols ? m->names[col] : NULL;
}

int snm_metrics_find(const snm_metrics *m, const char *name)
{
	for (int c = 0; c < m->n_cols; ++c)
		if (strcmp(m->names[c], name) == 0)
			return c;
	return -1;
}

double snm_metrics_get(const snm_metrics *m, size_t row, int col)
{
	if (col < 0 || col >= m->n_cols || row >= m->rows)
		return NAN;
	return m->col[col][row];
}

const double *snm_metrics_column(const snm_metrics *m, int col)
{
	return col >= 0 && col < m->n_cols ? m->col[col] : NULL;
}

int snm_metrics_timed(const snm_metrics *m, int col, int *n, double *sum, double *median, snm_error *err)
{
	double *v, total = 0;
	size_t k = 0;
	if (n) *n = 0;
	if (sum) *sum = 0;
	if (median) *median = 0;
	if (col < 0 || col >= m->n_cols || m->rows == 0)
		return SNM_OK;
	if ((v = malloc(m->rows * sizeof *v)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	for (size_t i = 0; i < m->rows; ++i)
		if (isfinite(m->col[col][i]) && m->col[col][i] >= 0) {
			total += m->col[col][i];
			v[k++] = m->col[col][i];
		}
	if (k > 0) {
		gsl_sort(v, 1, k);
		if (median) *median = gsl_stats_median_from_sorted_data(v, 1, k);
	}
	if (n) *n = (int)k;
	if (sum) *sum = total;
	free(v);
	return SNM_OK;
}

int snm_metrics_result(const snm_metrics *m, double *out)
{
	int c = snm_metrics_find(m, "test_at_best");
	double v;
	if (c < 0 || m->rows == 0)
		return 0;
	v = m->col[c][m->rows - 1];
	if (!(v >= 0 && v <= 100))
		return 0;
	*out = v;
	return 1;
}
