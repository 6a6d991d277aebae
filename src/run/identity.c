/* identity.c: the code that made a run -- the SHA-256 of its plugins' shared objects and of
 * libsnm's -- and its comparison with the code of now (identity.h). */
#define _GNU_SOURCE        /* dladdr */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "seal.h"
#include "identity.h"

/* ---- files, hashed once per process ------------------------------------------------------------ */

typedef struct hashed {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char hex[65];
} hashed;

static hashed *hashes;
static size_t n_hashes, m_hashes;

static int same_file(const hashed *h, const char *path, const struct stat *st)
{
	return strcmp(h->path, path) == 0 && h->dev == st->st_dev && h->ino == st->st_ino
	       && h->size == st->st_size && h->mtime.tv_sec == st->st_mtim.tv_sec
	       && h->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* The whole file into a new buffer. */
static int slurp(const char *path, unsigned char **out, size_t *n, snm_error *err)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	int e;
	*out = NULL;
	if (f == NULL)
		return SNM_FAIL(err, SNM_EIO, "%s: cannot read: %s", path, strerror(errno));
	for (;;) {
		size_t got;
		if (len == cap) {
			unsigned char *p = realloc(buf, cap = cap ? 2 * cap : 1 << 20);
			if (p == NULL) {
				free(buf);
				fclose(f);
				return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
			}
			buf = p;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	e = ferror(f) ? errno : 0;
	fclose(f);
	if (e != 0) {
		free(buf);
		return SNM_FAIL(err, SNM_EIO, "%s: cannot read: %s", path, strerror(e));
	}
	*out = buf;
	*n = len;
	return SNM_OK;
}

int snm_file_sha256(const char *path, char hex[65], snm_error *err)
{
	struct stat st;
	unsigned char *data;
	size_t n = 0;
	int rc;
	if (stat(path, &st) != 0)
		return SNM_FAIL(err, SNM_EIO, "%s: cannot read: %s", path, strerror(errno));
	for (size_t i = 0; i < n_hashes; ++i)
		if (same_file(&hashes[i], path, &st)) {
			memcpy(hex, hashes[i].hex, 65);
			return SNM_OK;
		}
	if ((rc = slurp(path, &data, &n, err)) != SNM_OK)
		return rc;
	rc = snm_seal_sha256(data, n, hex, err);
	free(data);
	if (rc != SNM_OK)
		return rc;
	if (n_hashes == m_hashes) {
		hashed *p = realloc(hashes, (m_hashes = m_hashes ? 2 * m_hashes : 16) * sizeof *p);
		if (p == NULL)
			return SNM_OK;                 /* hashed all the same, just not remembered */
		hashes = p;
	}
	if ((hashes[n_hashes].path = strdup(path)) == NULL)
		return SNM_OK;
	hashes[n_hashes].dev = st.st_dev;
	hashes[n_hashes].ino = st.st_ino;
	hashes[n_hashes].size = st.st_size;
	hashes[n_hashes].mtime = st.st_mtim;
	memcpy(hashes[n_hashes].hex, hex, 65);
	n_hashes++;
	return SNM_OK;
}

const char *snm_libsnm_path(void)
{
	Dl_info info;
	/* snm_error_set is libsnm's own (src/core/libsnm.sym): the object that holds it is libsnm */
	if (dladdr((void *)snm_error_set, &info) == 0 || info.dli_fname == NULL || info.dli_fname[0] == '\0')
		return NULL;
	return info.dli_fname;
}

/* ---- the identity of a run's code -------------------------------------------------------------- */

int snm_identity_of(const snm_plugin_handle *data, const snm_plugin_handle *model,
                    const snm_plugin_handle *noise, snm_identity *out, snm_error *err)
{
	const snm_plugin_handle *h[3] = { data, model, noise };
	char hex[3][65];
	const char *lib = snm_libsnm_path();
	int rc, n;
	for (int i = 0; i < 3; ++i)
		if ((rc = snm_file_sha256(h[i]->path, hex[i], err)) != SNM_OK)
			return rc;
	n = snprintf(out->plugins, sizeof out->plugins, "data %s %s; model %s %s; noise %s %s",
	             h[0]->p->name, hex[0], h[1]->p->name, hex[1], h[2]->p->name, hex[2]);
	if (n < 0 || (size_t)n >= sizeof out->plugins)
		return SNM_FAIL(err, SNM_EINVAL, "plugin names too long to record (%s, %s, %s)", h[0]->p->name,
		                h[1]->p->name, h[2]->p->name);
	if (lib == NULL || snm_file_sha256(lib, out->libsnm, NULL) != SNM_OK)
		snprintf(out->libsnm, sizeof out->libsnm, "unknown");
	return SNM_OK;
}

/* Plugins found by (kind, name, plugin path): their files, looked up once per process. */
typedef struct found {
	int kind;
	char *name, *extra, *path;
} found;

static found *founds;
static size_t n_found, m_found;

static int same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The file of the plugin of kind `kind` named `name` on the search path, and its name: h gets
 * path and p (its entry) for snm_identity_of; the handle itself is closed again. */
static int find_file(const char *extra, int kind, const char *name, snm_plugin_handle *h, snm_error *err)
{
	snm_plugin_handle open;
	found *f;
	int rc;
	for (size_t i = 0; i < n_found; ++i)
		if (founds[i].kind == kind && strcmp(founds[i].name, name) == 0 && same_str(founds[i].extra, extra)) {
			h->path = founds[i].path;
			return SNM_OK;
		}
	if ((rc = snm_plugin_find(extra, kind, name, &open, err)) != SNM_OK)
		return rc;
	if (n_found == m_found) {
		found *p = realloc(founds, (m_found = m_found ? 2 * m_found : 8) * sizeof *p);
		if (p == NULL) {
			snm_plugin_close(&open);
			return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		}
		founds = p;
	}
	f = &founds[n_found];
	f->kind = kind;
	f->name = strdup(name);
	f->extra = extra ? strdup(extra) : NULL;
	f->path = strdup(open.path);
	snm_plugin_close(&open);
	if (f->name == NULL || f->path == NULL || (extra != NULL && f->extra == NULL)) {
		free(f->name);
		free(f->extra);
		free(f->path);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	n_found++;
	h->path = f->path;
	return SNM_OK;
}

int snm_identity_find(const snm_run_spec *r, const char *plugin_path, snm_identity *out,
                      snm_error *err)
{
	static const int kinds[3] = { SNM_KIND_DATA, SNM_KIND_MODEL, SNM_KIND_NOISE };
	const char *names[3] = { r->data_type, r->model_type, r->noise_type };
	snm_plugin_handle h[3];
	snm_plugin entry[3];
	int rc;
	memset(h, 0, sizeof h);
	memset(entry, 0, sizeof entry);
	for (int i = 0; i < 3; ++i) {
		if ((rc = find_file(plugin_path, kinds[i], names[i], &h[i], err)) != SNM_OK)
			return rc;
		entry[i].name = names[i];           /* the name the file answered to */
		h[i].p = &entry[i];
	}
	return snm_identity_of(&h[0], &h[1], &h[2], out, err);
}

/* ---- comparing -------------------------------------------------------------------------------- */

/* The entry of kind `kind` in a plugin_sha256 text: its name and hash, copied out; 0 when absent
 * or malformed. */
static int entry_of(const char *text, const char *kind, char *name, size_t nsize, char hex[65])
{
	size_t k = strlen(kind);
	for (const char *s = text; s != NULL && *s; ) {
		const char *end = strstr(s, "; "), *sp1, *sp2;
		size_t len = end ? (size_t)(end - s) : strlen(s);
		if (len > k + 1 && strncmp(s, kind, k) == 0 && s[k] == ' ') {
			sp1 = s + k;
			sp2 = s + len;
			while (sp2 > sp1 && sp2[-1] != ' ')
				--sp2;
			if (sp2 - 1 > sp1 + 1 && s + len - sp2 == 64 && (size_t)(sp2 - 1 - (sp1 + 1)) < nsize) {
				memcpy(name, sp1 + 1, (size_t)(sp2 - 1 - (sp1 + 1)));
				name[sp2 - 1 - (sp1 + 1)] = '\0';
				memcpy(hex, sp2, 64);
				hex[64] = '\0';
				return 1;
			}
			return 0;
		}
		s = end ? end + 2 : NULL;
	}
	return 0;
}

static int known_hex(const char *s)
{
	return s != NULL && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

int snm_identity_compare(const char *plugins, const char *libsnm, const snm_identity *now,
                         char *what, size_t size)
{
	static const char *const kinds[3] = { "data", "model", "noise" };
	char items[4][600];
	int n = 0;
	if (what != NULL && size > 0)
		what[0] = '\0';
	if (plugins == NULL && libsnm == NULL)
		return SNM_CODE_UNKNOWN;
	for (int k = 0; plugins != NULL && k < 3; ++k) {
		char rn[256], nn[256], rh[65], nh[65];
		if (!entry_of(plugins, kinds[k], rn, sizeof rn, rh) || !entry_of(now->plugins, kinds[k], nn, sizeof nn, nh))
			continue;
		if (strcmp(rn, nn) != 0)
			snprintf(items[n++], sizeof items[0], "%s %s -> %s", kinds[k], rn, nn);
		else if (strcmp(rh, nh) != 0)
			snprintf(items[n++], sizeof items[0], "%s %s", kinds[k], rn);
	}
	if (known_hex(libsnm) && known_hex(now->libsnm) && strcmp(libsnm, now->libsnm) != 0)
		snprintf(items[n++], sizeof items[0], "libsnm");
	if (n == 0)
		return SNM_CODE_SAME;
	if (what != NULL && size > 0) {
		size_t len = 0;
		for (int i = 0; i < n; ++i) {
			const char *sep = i == 0 ? "" : i == n - 1 ? " and " : ", ";
			int w = snprintf(what + len, size - len, "%s%s", sep, items[i]);
			if (w < 0 || (size_t)w >= size - len)
				return SNM_CODE_OTHER;
			len += (size_t)w;
		}
		/* "noise none -> semantic" says itself what happened; the others changed */
		if (!(n == 1 && strstr(items[0], " -> ") != NULL))
			snprintf(what + len, size - len, " changed");
	}
	return SNM_CODE_OTHER;
}
