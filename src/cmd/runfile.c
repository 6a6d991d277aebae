/* runfile.c: compact run files, best-weight digests, run comparison (see runfile.h). */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "run/store.h"
#include "runfile.h"

/* ---- digest ---------------------------------------------------------------------------------- */

static void put_u32(EVP_MD_CTX *m, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
	                       (unsigned char)(v >> 24) };
	EVP_DigestUpdate(m, b, 4);
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const snm_tensor *const *)a)->name, (*(const snm_tensor *const *)b)->name);
}

int snm_runfile_digest(const snm_params *p, char hex[SNM_SHA256_HEX], snm_error *err)
{
	int n = snm_params_count(p);
	const snm_tensor **v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	int ok;
	if (v == NULL || m == NULL) {
		free(v);
		EVP_MD_CTX_free(m);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	for (int i = 0; i < n; ++i)
		v[i] = snm_params_at(p, i);
	qsort(v, (size_t)n, sizeof *v, by_name);
	ok = EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1;
	for (int i = 0; ok && i < n; ++i) {
		const snm_tensor *t = v[i];
		size_t len_t = snm_tensor_len(t);
		EVP_DigestUpdate(m, t->name, strlen(t->name) + 1);
		put_u32(m, (uint32_t)t->n_d);
		for (int k = 0; k < t->n_d; ++k)
			put_u32(m, (uint32_t)t->d[k]);
		for (size_t j = 0; j < len_t; ++j) {
			uint32_t bits;
			memcpy(&bits, &t->x[j], 4);
			put_u32(m, bits);
		}
	}
	ok = ok && EVP_DigestFinal_ex(m, out, &len) == 1 && len == 32;
	EVP_MD_CTX_free(m);
	free(v);
	if (!ok)
		return SNM_FAIL(err, SNM_EINVAL, "SHA-256 failed (libcrypto)");
	for (unsigned i = 0; i < 32; ++i)
		sprintf(hex + 2 * i, "%02x", out[i]);
	return SNM_OK;
}

/* The value of root string `name` in a, or NULL. */
static const char *attr_str(const snm_store_attrs *a, const char *name)
{
	for (int i = 0; i < a->n_str; ++i)
		if (strcmp(a->str_names[i], name) == 0)
			return a->str_values[i];
	return NULL;
}

static int attr_int(const snm_store_attrs *a, const char *name, int64_t *out)
{
	for (int i = 0; i < a->n_int; ++i)
		if (strcmp(a->int_names[i], name) == 0) {
			*out = a->int_values[i];
			return 1;
		}
	return 0;
}

static int valid_hex(const char *s)
{
	if (s == NULL || strlen(s) != 64)
		return 0;
	for (; *s; ++s)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* The digest of path's /best (read into *best when best is not NULL), or its recorded one. */
static int best_digest(const char *path, const snm_store_attrs *a, char hex[SNM_SHA256_HEX],
                       snm_params **best, snm_error *err)
{
	const char *recorded = attr_str(a, "best_sha256");
	snm_params *p = NULL;
	int has = 0, rc;
	if (best != NULL)
		*best = NULL;
	if ((rc = snm_store_has_group(path, "/best", &has, err)))
		return rc;
	if (!has) {
		if (!valid_hex(recorded))
			return SNM_FAIL(err, SNM_EIO, "%s: no /best weights and no best_sha256 attribute", path);
		memcpy(hex, recorded, SNM_SHA256_HEX);
		return SNM_OK;
	}
	if ((rc = snm_store_read_group(path, "/best", &p, err)) || (rc = snm_runfile_digest(p, hex, err))) {
		snm_params_free(p);
		return rc;
	}
	if (recorded != NULL && strcmp(recorded, hex) != 0) {
		snm_params_free(p);
		return SNM_FAIL(err, SNM_EIO, "%s: the /best weights do not have the recorded best_sha256", path);
	}
	if (best != NULL)
		*best = p;
	else
		snm_params_free(p);
	return SNM_OK;
}

int snm_runfile_best_digest(const char *path, char hex[SNM_SHA256_HEX], snm_error *err)
{
	snm_store_attrs a;
	int rc = snm_store_read_attrs(path, &a, err);
	if (rc)
		return rc;
	rc = best_digest(path, &a, hex, NULL, err);
	snm_store_attrs_free(&a);
	return rc;
}

/* ---- compact form ---------------------------------------------------------------------------- */

int snm_runfile_compact(const char *src, const char *dst, int keep_best, snm_error *err)
{
	snm_store_attrs a;
	snm_metrics *m = NULL;
	snm_params *best = NULL;
	char hex[SNM_SHA256_HEX];
	const char **sn = NULL, **sv = NULL;
	const char *status, *gpath[1] = { "/best" };
	snm_params *groups[1];
	int rc, n = 0;
	if ((rc = snm_store_read_attrs(src, &a, err)))
		return rc;
	status = attr_str(&a, "status");
	if (status == NULL || strcmp(status, "finished") != 0) {
		rc = SNM_FAIL(err, SNM_ESTATE, "%s: the run is %s, not finished: only finished runs are "
		              "compacted", src, status ? status : "of no status");
		goto out;
	}
	if ((rc = best_digest(src, &a, hex, keep_best ? &best : NULL, err)))
		goto out;
	if (keep_best && best == NULL) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: no /best weights to keep (a compact file without them)", src);
		goto out;
	}
	if ((rc = snm_store_read_metrics(src, &m, err)))
		goto out;
	sn = malloc((size_t)(a.n_str + 2) * sizeof *sn);
	sv = malloc((size_t)(a.n_str + 2) * sizeof *sv);
	if (sn == NULL || sv == NULL) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < a.n_str; ++i)
		if (strcmp(a.str_names[i], "form") != 0 && strcmp(a.str_names[i], "best_sha256") != 0) {
			sn[n] = a.str_names[i];
			sv[n++] = a.str_values[i];
		}
	sn[n] = "best_sha256";
	sv[n++] = hex;
	sn[n] = "form";
	sv[n++] = "compact";
	groups[0] = best;
	rc = snm_store_save(dst, &(snm_store_run){ n, sn, sv, a.n_int, (const char *const *)a.int_names,
	                                           a.int_values, m, best ? 1 : 0, gpath, groups, 0, NULL,
	                                           NULL, 0, NULL, NULL }, err);
out:
	free(sn);
	free(sv);
	snm_metrics_free(m);
	snm_params_free(best);
	snm_store_attrs_free(&a);
	return rc;
}

/* ---- comparison ------------------------------------------------------------------------------ */

static void note(snm_runfile_diff *d, const char *fmt, ...)
{
	size_t k = strlen(d->detail);
	va_list ap;
	if (k + 3 >= sizeof d->detail)
		return;
	if (k > 0) {
		strcpy(d->detail + k, "; ");
		k += 2;
	}
	va_start(ap, fmt);
	vsnprintf(d->detail + k, sizeof d->detail - k, fmt, ap);
	va_end(ap);
}

static void compare_column(snm_runfile_diff *d, const char *name, const double *x, const double *y,
                           size_t rows)
{
	for (size_t r = 0; r < rows; ++r) {
		double diff;
		if (memcmp(&x[r], &y[r], sizeof x[r]) == 0)
			continue;
		d->equal = 0;
		diff = isnan(x[r]) != isnan(y[r]) ? INFINITY : fabs(x[r] - y[r]);
		if (isnan(diff))           /* both NaN, other payloads */
			diff = 0;
		if (d->worst[0] == '\0' || diff > d->worst_abs) {
			snprintf(d->worst, sizeof d->worst, "%s", name);
			d->worst_abs = diff;
			d->worst_epoch = (int)r + 1;
		}
	}
}

int snm_runfile_compare(const char *a, const char *b, snm_runfile_diff *d, snm_error *err)
{
	static const char *const ints[] = { "epoch", "epochs", "step", "best_epoch", "n_train", "seed_subset",
	                                    "seed_init", "seed_order", "seed_noise" };
	snm_store_attrs aa = { 0 }, ab = { 0 };
	snm_metrics *ma = NULL, *mb = NULL;
	int rc;
	memset(d, 0, sizeof *d);
	d->equal = 1;
	if ((rc = snm_store_read_attrs(a, &aa, err)) || (rc = snm_store_read_attrs(b, &ab, err))
	    || (rc = snm_store_read_metrics(a, &ma, err)) || (rc = snm_store_read_metrics(b, &mb, err))
	    || (rc = best_digest(a, &aa, d->digest_a, NULL, err))
	    || (rc = best_digest(b, &ab, d->digest_b, NULL, err)))
		goto out;
	d->rows = (int)snm_metrics_rows(ma);
	if (snm_metrics_rows(ma) != snm_metrics_rows(mb)) {
		d->equal = 0;
		note(d, "%zu epochs vs %zu", snm_metrics_rows(ma), snm_metrics_rows(mb));
	}
	for (int c = 0; c < snm_metrics_cols(ma); ++c) {
		const char *name = snm_metrics_name(ma, c);
		int cb = snm_metrics_find(mb, name);
		size_t rows = snm_metrics_rows(ma) < snm_metrics_rows(mb) ? snm_metrics_rows(ma)
		                                                           : snm_metrics_rows(mb);
		if (strcmp(name, "seconds") == 0)
			continue;
		d->metrics++;
		if (cb < 0) {
			d->equal = 0;
			note(d, "no column %s", name);
			continue;
		}
		if (rows > 0)
			compare_column(d, name, snm_metrics_column(ma, c), snm_metrics_column(mb, cb), rows);
	}
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; ++i) {
		int64_t x = 0, y = 0;
		int hx = attr_int(&aa, ints[i], &x), hy = attr_int(&ab, ints[i], &y);
		if (hx != hy || x != y) {
			d->equal = 0;
			note(d, "%s %lld vs %lld", ints[i], (long long)x, (long long)y);
		}
	}
	for (int c = 0; c < snm_metrics_cols(mb); ++c)       /* and the columns a lacks */
		if (strcmp(snm_metrics_name(mb, c), "seconds") != 0 && snm_metrics_find(ma, snm_metrics_name(mb, c)) < 0) {
			d->equal = 0;
			note(d, "column %s in the second only", snm_metrics_name(mb, c));
		}
	d->digest_equal = strcmp(d->digest_a, d->digest_b) == 0;
	if (!d->digest_equal)
		d->equal = 0;
out:
	snm_metrics_free(ma);
	snm_metrics_free(mb);
	snm_store_attrs_free(&aa);
	snm_store_attrs_free(&ab);
	return rc;
}
