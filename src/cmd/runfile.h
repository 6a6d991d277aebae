/* runfile.h (the `snm` command): whole finished run files -- their compact form, the
 * digest that names their best weights, and the comparison of two runs of one configuration.
 * For `snm compact` and `snm verify`.
 *
 * Compact form: a run file (src/run/store.h, src/run/trainer.h) of status "finished" written again with
 * every root attribute and /metrics as they were, without /checkpoint (parameters, Adam moments,
 * random streams) and, unless the caller keeps it, without /best.  Two root strings are added:
 *   form         "compact"
 *   best_sha256  the digest of the best weights (below), so a compact file still names them.
 * A compact file is tens of kilobytes instead of megabytes; `snm run` skips it as finished, the
 * paper stage reads its metrics, and a figure that needs its weights reads /best when kept.
 *
 * Best-weight digest: SHA-256 (OpenSSL's libcrypto) over the datasets of /best in name order,
 * each as its name, a NUL byte, its rank and dimensions as 32-bit little-endian integers, and its
 * values as 32-bit little-endian IEEE floats.  So equal digests mean bitwise equal weights.
 *
 * Errors: SNM_OK or an SNM_E* code with one line in err naming the file; nothing is printed. */
#ifndef SNM_RUNFILE_H
#define SNM_RUNFILE_H

#include <stddef.h>
#include "snm/error.h"
#include "snm/param.h"

#define SNM_SHA256_HEX 65          /* 64 hex digits and the NUL */

/* The digest of the entries of p (sorted by name, whatever the registry's order) into hex. */
int snm_runfile_digest(const snm_params *p, char hex[SNM_SHA256_HEX], snm_error *err);

/* The digest of the run file's best weights: computed from /best when the file has it, else its
 * best_sha256 attribute (a compact file without weights).  SNM_EIO when it has neither. */
int snm_runfile_best_digest(const char *path, char hex[SNM_SHA256_HEX], snm_error *err);

/* Writes the compact form of the finished run file src to dst (atomically, snm_store_save; the
 * directories above dst must exist).  keep_best: keep /best (a figure needs the weights).  src may
 * be compact already (its best_sha256 is kept; keep_best then needs its /best).  src == dst is
 * allowed.  SNM_ESTATE when src is not finished. */
int snm_runfile_compact(const char *src, const char *dst, int keep_best, snm_error *err);

/* How the run of file b compares with the run of file a (the reference). */
typedef struct snm_runfile_diff {
	int equal;                 /* every compared metric, integer and the digest bitwise equal */
	int metrics;               /* metric columns compared (all but `seconds`) */
	int rows;                  /* epochs in a */
	char worst[64];            /* the column with the largest difference ("" when equal) */
	double worst_abs;          /* its largest |a - b| (INFINITY where one is NaN and the other not) */
	int worst_epoch;           /* 1-based epoch of that difference */
	char detail[512];          /* other differences, e.g. "rows 120 vs 80; best_epoch 37 vs 40" */
	int digest_equal;
	char digest_a[SNM_SHA256_HEX], digest_b[SNM_SHA256_HEX];
} snm_runfile_diff;

/* Compares the run files a and b: every /metrics column of a but `seconds` (bit patterns, so NaN
 * equals NaN), the root integers epoch, epochs, step, best_epoch, n_train and the seeds, and the
 * best-weight digests.  A column of either that the other lacks is a difference.  Fills *d. */
int snm_runfile_compare(const char *a, const char *b, snm_runfile_diff *d, snm_error *err);

#endif
