/* cfgdiff.c: the keys by which two configuration trees differ (cfgdiff.h). */
#include <stdio.h>
#include <string.h>
#include "cfgdiff.h"

#define PATH_MAX_LEN 512
#define SHOWN_VALUE 24           /* a changed scalar shows its values up to this length */

typedef struct diff {
	char *buf;
	size_t size, len;
	int n, cut;
	int max;                     /* > 0: show at most this many (snm_cfg_diff_text_brief) */
	size_t len_before_max;       /* the list's length after max - 1 items */
} diff;

/* Appends one difference "<path><what>" to the list (or counts it when it no longer fits). */
static void add(diff *d, const char *path, const char *what)
{
	char item[PATH_MAX_LEN + 128];
	size_t n;
	snprintf(item, sizeof item, "%s%s", *path ? path : "(the whole configuration)", what);
	n = strlen(item);
	d->n++;
	if (d->max > 0 && d->n == d->max)
		d->len_before_max = d->len;
	if (d->cut || (d->max > 0 && d->n > d->max))
		return;
	/* room for this item, its separator, and ", ..." should a later one not fit */
	if (d->len + n + 2 + 6 >= d->size) {
		if (d->len + 6 < d->size) {
			memcpy(d->buf + d->len, d->len ? ", ..." : "...", d->len ? 6 : 4);
			d->len += d->len ? 5 : 3;
		}
		d->cut = 1;
		return;
	}
	if (d->len) {
		memcpy(d->buf + d->len, ", ", 3);
		d->len += 2;
	}
	memcpy(d->buf + d->len, item, n + 1);
	d->len += n;
}

static void child_path(char *out, const char *path, const char *key, long index)
{
	if (key != NULL)
		snprintf(out, PATH_MAX_LEN, "%s%s%s", path, *path ? "." : "", key);
	else
		snprintf(out, PATH_MAX_LEN, "%s[%ld]", path, index);
}

static void walk(diff *d, const char *path, const snm_cfg *a, const snm_cfg *b)
{
	char sub[PATH_MAX_LEN], what[128];
	int ka = snm_cfg_kind(a), kb = snm_cfg_kind(b);
	if (ka != kb) {
		snprintf(what, sizeof what, " (%s -> %s)", snm_cfg_kind_name(ka), snm_cfg_kind_name(kb));
		add(d, path, what);
		return;
	}
	switch (ka) {
	case SNM_CFG_SCALAR:
		if (strcmp(snm_cfg_text(a), snm_cfg_text(b)) == 0)
			return;
		if (strlen(snm_cfg_text(a)) <= SHOWN_VALUE && strlen(snm_cfg_text(b)) <= SHOWN_VALUE)
			snprintf(what, sizeof what, " %s -> %s", snm_cfg_text(a), snm_cfg_text(b));
		else
			what[0] = '\0';
		add(d, path, what);
		return;
	case SNM_CFG_SEQ:
		if (snm_cfg_len(a) != snm_cfg_len(b)) {
			snprintf(what, sizeof what, " (%zu items -> %zu)", snm_cfg_len(a), snm_cfg_len(b));
			add(d, path, what);
			return;
		}
		for (size_t i = 0; i < snm_cfg_len(a); ++i) {
			child_path(sub, path, NULL, (long)i);
			walk(d, sub, snm_cfg_at(a, i), snm_cfg_at(b, i));
		}
		return;
	case SNM_CFG_MAP:
		for (size_t i = 0; i < snm_cfg_len(a); ++i) {
			const char *k = snm_cfg_key_at(a, i);
			child_path(sub, path, k, 0);
			if (snm_cfg_get(b, k) == NULL)
				add(d, sub, " (removed)");
			else
				walk(d, sub, snm_cfg_value_at(a, i), snm_cfg_get(b, k));
		}
		for (size_t i = 0; i < snm_cfg_len(b); ++i) {
			const char *k = snm_cfg_key_at(b, i);
			if (snm_cfg_get(a, k) == NULL) {
				child_path(sub, path, k, 0);
				add(d, sub, " (added)");
			}
		}
		return;
	default:
		return;
	}
}

int snm_cfg_diff(const snm_cfg *old, const snm_cfg *now, char *buf, size_t size)
{
	diff d = { buf, size, 0, 0, 0, 0, 0 };
	if (size > 0)
		buf[0] = '\0';
	else
		d.cut = 1;
	walk(&d, "", old, now);
	return d.n;
}

/* The trees of two texts compared into d (diff's fields set by the caller). */
static int diff_texts(const char *old, const char *now, diff *d)
{
	snm_cfg *a = NULL, *b = NULL;
	snm_error e;
	int n = -1;
	if (d->size > 0)
		d->buf[0] = '\0';
	else
		d->cut = 1;
	if (snm_cfg_parse(old, strlen(old), "the recorded config", &a, &e) != SNM_OK
	    || snm_cfg_parse(now, strlen(now), "the pipeline's config", &b, &e) != SNM_OK) {
		snprintf(d->buf, d->size, "cannot parse %s", e.msg);
	} else {
		walk(d, "", a, b);
		n = d->n;
	}
	snm_cfg_free(a);
	snm_cfg_free(b);
	return n;
}

int snm_cfg_diff_text_brief(const char *old, const char *now, int max, char *buf, size_t size)
{
	diff d = { buf, size, 0, 0, 0, max > 1 ? max : 2, 0 };
	int n = diff_texts(old, now, &d);
	if (n > d.max && !d.cut && d.len_before_max + 32 < size)
		snprintf(buf + d.len_before_max, size - d.len_before_max, " and %d more", n - (d.max - 1));
	return n;
}

int snm_cfg_diff_text(const char *old, const char *now, char *buf, size_t size)
{
	diff d = { buf, size, 0, 0, 0, 0, 0 };
	return diff_texts(old, now, &d);
}
