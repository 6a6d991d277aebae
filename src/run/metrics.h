/* metrics.h: the per-epoch metrics table of a run (metrics.c), which the store (store.h) writes
 * as /metrics and reads back. */
#ifndef SNM_RUN_METRICS_H
#define SNM_RUN_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "snm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A table of named double columns with one row per epoch ("train.loss", "valid.error", "lr",
 * "seconds").  Column names are dataset names in the file: non-empty, unique, without '/', and
 * not "." (dots inside a name are fine).  Values are stored column by column, so a column is one
 * contiguous array. */
typedef struct snm_metrics snm_metrics;

/* New empty table with n_cols >= 1 columns named names[0..n_cols) (copied).  Returns NULL and sets
 * err on a bad name, a duplicate (SNM_EINVAL) or no memory (SNM_ENOMEM). */
snm_metrics *snm_metrics_new(int n_cols, const char *const *names, snm_error *err);

/* Frees the table and its copies of the names.  NULL is a no-op. */
void snm_metrics_free(snm_metrics *m);

/* Appends one row: row[c] is the value of column c, for c in 0..cols.  SNM_ENOMEM leaves the
 * table unchanged.  Any double (NaN included) is stored as given. */
int snm_metrics_append(snm_metrics *m, const double *row, snm_error *err);

/* Makes room for `rows` rows in total without changing the contents, so that appends up to that
 * many rows cannot fail.  SNM_ENOMEM leaves the table unchanged. */
int snm_metrics_reserve(snm_metrics *m, size_t rows, snm_error *err);

/* Drops every row from index `rows` on (a resumed run discards epochs after its checkpoint).
 * rows >= snm_metrics_rows(m) is a no-op.  Never fails; keeps the allocated room. */
void snm_metrics_truncate(snm_metrics *m, size_t rows);

size_t snm_metrics_rows(const snm_metrics *m);
int snm_metrics_cols(const snm_metrics *m);

/* Name of column col (owned by the table), or NULL when col is out of range. */
const char *snm_metrics_name(const snm_metrics *m, int col);

/* Index of the column named name, or -1 when there is none. */
int snm_metrics_find(const snm_metrics *m, const char *name);

/* Value at (row, col); NaN when either is out of range. */
double snm_metrics_get(const snm_metrics *m, size_t row, int col);

/* The rows of column col as one contiguous array of snm_metrics_rows(m) doubles, owned by the
 * table and valid until the next append, reserve or free; NULL when col is out of range.  (May be
 * NULL too while the table has no rows.) */
const double *snm_metrics_column(const snm_metrics *m, int col);

/* The epochs of column col (the "seconds" column) whose value is finite and >= 0: their count
 * (*n), sum (*sum) and median (*median, by GSL; 0 when n is 0).  The median prices an epoch as the
 * run goes: an epoch stretched by a pause (kill -STOP, a suspend) does not move it.  Any pointer
 * may be NULL.  SNM_ENOMEM only (col out of range: n 0). */
int snm_metrics_timed(const snm_metrics *m, int col, int *n, double *sum, double *median, snm_error *err);

/* A finished run's result: column "test_at_best" at the last row, a test error in percent.  1
 * with *out set when there is one in [0, 100]; 0 when the column or the rows are missing or the
 * value is not a percentage (NaN, negative, over 100: a damaged or edited file). */
int snm_metrics_result(const snm_metrics *m, double *out);

#ifdef __cplusplus
}
#endif
#endif
