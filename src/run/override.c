/* override.c: --set arguments and the run-key names of overridden and swept values (override.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "override.h"

const char *const snm_override_sections[4] = { "data", "model", "noise", "train" };

int snm_override_path(const char *path, size_t len, int *section, char *key)
{
	const char *dot = memchr(path, '.', len);
	size_t n;
	if (dot == NULL)
		return -2;
	*section = -1;
	for (int s = 0; s < 4; ++s)
		if ((size_t)(dot - path) == strlen(snm_override_sections[s])
		    && strncmp(path, snm_override_sections[s], (size_t)(dot - path)) == 0)
			*section = s;
	if (*section < 0)
		return -1;
	n = len - (size_t)(dot - path) - 1;
	if (n == 0 || n > SNM_OVERRIDE_KEY_MAX)
		return -2;
	for (size_t i = 0; i < n; ++i)
		if (!isalnum((unsigned char)dot[1 + i]) && dot[1 + i] != '_')
			return -2;
	memcpy(key, dot + 1, n);
	key[n] = '\0';
	return 0;
}

/* A copy of the tree at n with no marks: an override's value has no place in a file, and the
 * messages about it name the --set argument instead. */
static snm_cfg *unmarked(const snm_cfg *n, snm_error *err)
{
	int kind = snm_cfg_kind(n);
	snm_cfg *c = snm_cfg_new(kind, kind == SNM_CFG_SCALAR ? snm_cfg_text(n) : NULL, NULL, 0, 0, err);
	for (size_t i = 0; c != NULL && i < snm_cfg_len(n); ++i) {
		snm_cfg *d = unmarked(kind == SNM_CFG_MAP ? snm_cfg_value_at(n, i) : snm_cfg_at(n, i), err);
		int rc = d == NULL ? SNM_ENOMEM
		       : kind == SNM_CFG_MAP ? snm_cfg_map_set(c, snm_cfg_key_at(n, i), d, err)
		       : snm_cfg_seq_push(c, d, err);
		if (rc != SNM_OK) {
			snm_cfg_free(d);
			snm_cfg_free(c);
			return NULL;
		}
	}
	return c;
}

int snm_override_parse(const char *arg, snm_override *o, snm_error *err)
{
	const char *eq = strchr(arg, '=');
	snm_cfg *v = NULL;
	memset(o, 0, sizeof *o);
	if (eq == NULL || eq == arg)
		return SNM_FAIL(err, SNM_ECONFIG, "--set %s: expected SECTION.KEY=VALUE, e.g. train.lr=0.001", arg);
	switch (snm_override_path(arg, (size_t)(eq - arg), &o->section, o->key)) {
	case -1:
		return SNM_FAIL(err, SNM_ECONFIG, "--set %s: unknown section '%.*s' (data, model, noise or "
		                "train)", arg, (int)strcspn(arg, ".="), arg);
	case -2:
		return SNM_FAIL(err, SNM_ECONFIG, "--set %s: the path names a section and one of its keys "
		                "(letters, digits, '_'), e.g. noise.sd", arg);
	}
	if (snm_cfg_parse(eq + 1, strlen(eq + 1), "--set", &v, err) != SNM_OK) {
		char msg[SNM_ERROR_MSG_MAX];
		const char *p = err ? err->msg : "";
		if (strncmp(p, "--set:", 6) == 0) {            /* "--set:1:5: problem": the problem */
			p += 6 + strspn(p + 6, "0123456789:");
			p += strspn(p, " ");
		}
		snprintf(msg, sizeof msg, "%s", p);
		snm_cfg_free(v);
		return SNM_FAIL(err, SNM_ECONFIG, "--set %s: the value is not YAML: %s", arg, msg);
	}
	if (snm_cfg_kind(v) == SNM_CFG_NULL) {
		snm_cfg_free(v);
		return SNM_FAIL(err, SNM_ECONFIG, "--set %s: no value", arg);
	}
	o->value = unmarked(v, err);
	snm_cfg_free(v);
	if (o->value == NULL || (o->arg = strdup(arg)) == NULL) {
		snm_override_clear(o);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	return SNM_OK;
}

void snm_override_clear(snm_override *o)
{
	if (o == NULL)
		return;
	free(o->arg);
	snm_cfg_free(o->value);
	memset(o, 0, sizeof *o);
}

int snm_override_check(const snm_override *o, const snm_option *opt, const char *what, snm_error *err)
{
	snm_option table[2] = { *opt, { NULL, 0, NULL, NULL, NULL, NULL } };
	snm_cfg *m = snm_cfg_new(SNM_CFG_MAP, NULL, NULL, 0, 0, err), *v = snm_cfg_dup(o->value, err);
	int rc;
	if (m == NULL || v == NULL || snm_cfg_map_set(m, opt->name, v, err) != SNM_OK) {
		snm_cfg_free(v);
		snm_cfg_free(m);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	rc = snm_cfg_check(m, table, what, err);
	if (rc == SNM_ECONFIG && err != NULL) {
		/* the typed reads put the value's mark first even where it has none ("<built>:0:0: "):
		 * the --set argument stands in its place */
		char mark[64];
		const snm_cfg *n = snm_cfg_get(m, opt->name);
		size_t len = (size_t)snprintf(mark, sizeof mark, "%s:%d:%d: ", snm_cfg_file(n), snm_cfg_line(n),
		                              snm_cfg_col(n));
		if (strncmp(err->msg, mark, len) == 0)
			memmove(err->msg, err->msg + len, strlen(err->msg + len) + 1);
		snm_error_prefix(err, "--set %s", o->arg);
	}
	snm_cfg_free(m);
	return rc;
}

size_t snm_override_name(const char *label, const snm_cfg *value, char *out, size_t size)
{
	char *text = snm_cfg_kind(value) == SNM_CFG_SCALAR ? strdup(snm_cfg_text(value))
	                                                  : snm_cfg_dump_alloc(value, NULL);
	char *w = text, first;
	size_t n;
	if (text == NULL)
		return (size_t)snprintf(out, size, "%s", label);
	first = text[0];
	for (const char *r = text; *r; ++r) {
		if (*r == '_' && w == text)
			continue;
		if (isalnum((unsigned char)*r) || *r == '.' || *r == '_' || *r == '-')
			*w++ = *r;
		else if (w > text && w[-1] != '_')
			*w++ = '_';
	}
	while (w > text && w[-1] == '_')
		--w;
	*w = '\0';
	n = (size_t)snprintf(out, size, "%s%s%s", label,
	                     isdigit((unsigned char)first) || first == '.' || first == '-' ? "" : "_", text);
	free(text);
	return n;
}
