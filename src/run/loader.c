/* loader.c: the plugin loader (see snm/plugin.h): dlopen, ABI checks, the search path.
 *
 * Every failure path closes the handle it opened, and every message names the file. */
#define _GNU_SOURCE        /* dladdr */
#include <dirent.h>
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "loader.h"

#ifndef SNM_PKGLIBDIR
#define SNM_PKGLIBDIR "/usr/local/lib/snm"
#endif
#ifndef SNM_BUILD_PLUGIN_PATH
#define SNM_BUILD_PLUGIN_PATH ""
#endif
#ifndef SNM_BUILD_DIR
#define SNM_BUILD_DIR ""
#endif

const char *snm_kind_name(int kind)
{
	switch (kind) {
	case SNM_KIND_MODEL: return "model";
	case SNM_KIND_NOISE: return "noise";
	case SNM_KIND_DATA: return "data";
	default: return "unknown";
	}
}

/* The first method of p's vtable that the runner calls and p leaves NULL, or NULL when there is
 * none (the noise's wants_unlabelled may be NULL: it means 0; its objective may be NULL when an
 * ABI 1.2 objective_at stands in for it). */
static const char *missing_method(const snm_plugin *p)
{
	switch ((int)p->kind) {
	case SNM_KIND_MODEL: {
		const snm_model_vt *v = p->vtable;
		return !v->create ? "create" : !v->destroy ? "destroy" : !v->n_hidden ? "n_hidden"
		       : !v->encode ? "encode" : !v->classify ? "classify" : !v->decode_z ? "decode_z"
		       : !v->decode_y ? "decode_y" : NULL;
	}
	case SNM_KIND_NOISE: {
		const snm_noise_vt *v = p->vtable;
		return !v->create ? "create" : !v->destroy ? "destroy"
		       : !v->objective && !snm_noise_objective_at(v) ? "objective" : NULL;
	}
	case SNM_KIND_DATA: {
		const snm_data_vt *v = p->vtable;
		return !v->open ? "open" : !v->close ? "close" : !v->info ? "info" : !v->read ? "read"
		       : !v->labels ? "labels" : NULL;
	}
	default:
		return NULL;
	}
}

/* 1 when the noise vtable v is long enough to hold `member`, one appended after ABI 1.0 (the
 * vtables of plugins built for an older minor end before it). */
#define NOISE_HAS(v, member) \
	((v)->size >= offsetof(snm_noise_vt, member) + sizeof (v)->member)

/* The smallest vtable of a kind this ABI loads: ABI 1.0's (members appended since are read only
 * when a vtable's size says they are there, as snm_noise_perturb does). */
static size_t vtable_size(int kind)
{
	switch (kind) {
	case SNM_KIND_MODEL: return offsetof(snm_model_vt, encode_post);
	case SNM_KIND_NOISE: return offsetof(snm_noise_vt, perturb);
	case SNM_KIND_DATA: return sizeof(snm_data_vt);
	default: return 0;
	}
}

snm_noise_perturb_fn snm_noise_perturb(const snm_noise_vt *vt)
{
	return NOISE_HAS(vt, perturb) ? vt->perturb : NULL;
}

snm_noise_objective_at_fn snm_noise_objective_at(const snm_noise_vt *vt)
{
	return NOISE_HAS(vt, objective_at) ? vt->objective_at : NULL;
}

snm_noise_updates_fn snm_noise_updates(const snm_noise_vt *vt)
{
	return NOISE_HAS(vt, updates) ? vt->updates : NULL;
}

int snm_noise_objective(const snm_noise_vt *vt, void *state, const snm_model *model, snm_tape *t,
                        const snm_batch *b, gsl_rng *noise, const snm_progress *at,
                        snm_objective *out, snm_error *err)
{
	snm_noise_objective_at_fn f = snm_noise_objective_at(vt);
	if (f != NULL)
		return f(state, model, t, b, noise, at, out, err);
	return vt->objective(state, model, t, b, noise, out, err);
}

int snm_plugin_open(const char *path, int want, snm_plugin_handle *out, snm_error *err)
{
	const snm_plugin *p;
	void *dl;
	memset(out, 0, sizeof *out);
	dlerror();
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		const char *why = dlerror();
		return SNM_FAIL(err, SNM_EPLUGIN, "%s: cannot load plugin: %s", path, why ? why : "unknown error");
	}
	p = (const snm_plugin *)dlsym(dl, SNM_PLUGIN_SYMBOL);
	if (p == NULL) {
		SNM_FAIL(err, SNM_EPLUGIN, "%s: not an snm plugin (no symbol %s)", path, SNM_PLUGIN_SYMBOL);
		goto fail;
	}
	if (p->abi_major != SNM_PLUGIN_ABI_MAJOR) {
		SNM_FAIL(err, SNM_EABI, "%s: built for plugin ABI %u.%u, this snm has ABI %u.%u", path,
		         p->abi_major, p->abi_minor, SNM_PLUGIN_ABI_MAJOR, SNM_PLUGIN_ABI_MINOR);
		goto fail;
	}
	if (p->size < sizeof(snm_plugin)) {
		SNM_FAIL(err, SNM_EABI, "%s: plugin entry is %u bytes, ABI %u.%u needs %zu", path, p->size,
		         SNM_PLUGIN_ABI_MAJOR, SNM_PLUGIN_ABI_MINOR, sizeof(snm_plugin));
		goto fail;
	}
	if (p->kind < SNM_KIND_MODEL || p->kind > SNM_KIND_DATA) {
		SNM_FAIL(err, SNM_EPLUGIN, "%s: unknown plugin kind %u", path, p->kind);
		goto fail;
	}
	if (want != 0 && p->kind != (uint32_t)want) {
		SNM_FAIL(err, SNM_EPLUGIN, "%s: plugin '%s' is a %s plugin, not a %s plugin", path,
		         p->name ? p->name : "?", snm_kind_name((int)p->kind), snm_kind_name(want));
		goto fail;
	}
	if (p->name == NULL || p->name[0] == '\0' || p->version == NULL || p->vtable == NULL) {
		SNM_FAIL(err, SNM_EPLUGIN, "%s: plugin entry lacks a name, version or vtable", path);
		goto fail;
	}
	if (*(const uint32_t *)p->vtable < vtable_size((int)p->kind)) {
		SNM_FAIL(err, SNM_EABI, "%s: %s vtable of plugin '%s' is %u bytes, ABI %u.%u needs %zu", path,
		         snm_kind_name((int)p->kind), p->name, *(const uint32_t *)p->vtable,
		         SNM_PLUGIN_ABI_MAJOR, SNM_PLUGIN_ABI_MINOR, vtable_size((int)p->kind));
		goto fail;
	}
	if (missing_method(p) != NULL) {
		SNM_FAIL(err, SNM_EPLUGIN, "%s: %s plugin '%s' has no %s method (NULL in its vtable)", path,
		         snm_kind_name((int)p->kind), p->name, missing_method(p));
		goto fail;
	}
	out->path = strdup(path);
	if (out->path == NULL) {
		SNM_FAIL(err, SNM_ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	out->dl = dl;
	out->p = p;
	return SNM_OK;
fail:
	dlclose(dl);
	return err ? err->code : SNM_EPLUGIN;
}

void snm_plugin_close(snm_plugin_handle *h)
{
	if (h == NULL || h->dl == NULL)
		return;
	dlclose(h->dl);
	free(h->path);
	memset(h, 0, sizeof *h);
}

/* 1 when this program is the one in its build tree (not an installed copy): only then does the
 * search path include the build tree's plugins, so an installed snm never loads plugins from the
 * tree it was built in (which a later build or edit would change under it).  The program's file
 * is /proc/self/exe where there is one; elsewhere the object dladdr names for this code (the
 * program, as the loader is linked into it). */
static int in_build_tree(void)
{
	static const char anchor = 0;
	char exe[4096], *dir, *prog = NULL;
	size_t n;
	int in = 0;
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	Dl_info info;
	if (SNM_BUILD_DIR[0] == '\0' || (dir = realpath(SNM_BUILD_DIR, NULL)) == NULL)
		return 0;
	if (len > 0) {
		exe[len] = '\0';
		prog = realpath(exe, NULL);
	} else if (dladdr(&anchor, &info) != 0 && info.dli_fname != NULL) {
		prog = realpath(info.dli_fname, NULL);
	}
	n = strlen(dir);
	in = prog != NULL && strncmp(prog, dir, n) == 0 && prog[n] == '/';
	free(prog);
	free(dir);
	return in;
}

/* The search path as one malloc'd colon-separated string. */
static char *search_path(const char *extra)
{
	const char *env = getenv("SNM_PLUGIN_PATH");
	const char *build = in_build_tree() ? SNM_BUILD_PLUGIN_PATH : "";
	size_t n = (extra ? strlen(extra) : 0) + (env ? strlen(env) : 0) + strlen(build)
	           + strlen(SNM_PKGLIBDIR) + 8;
	char *s = malloc(n);
	if (s == NULL)
		return NULL;
	snprintf(s, n, "%s:%s:%s:%s", extra ? extra : "", env ? env : "", build, SNM_PKGLIBDIR);
	{   /* empty components (an unset --plugin-path, an empty SNM_PLUGIN_PATH) name nothing */
		char *w = s;
		for (const char *r = s; *r; ++r)
			if (*r != ':' || (w > s && w[-1] != ':'))
				*w++ = *r;
		if (w > s && w[-1] == ':')
			--w;
		*w = '\0';
	}
	return s;
}

static int is_so(const char *name)
{
	size_t n = strlen(name);
	return n > 3 && strcmp(name + n - 3, ".so") == 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Calls visit(ctx, path) for each *.so of each directory on the path, in path order and sorted
 * file-name order within a directory; stops when visit returns non-zero and returns that. */
static int walk(const char *extra, int (*visit)(void *ctx, const char *path), void *ctx)
{
	char *sp = search_path(extra), *save = NULL, *dir;
	int rc = 0;
	if (sp == NULL)
		return -1;
	for (dir = strtok_r(sp, ":", &save); dir && rc == 0; dir = strtok_r(NULL, ":", &save)) {
		DIR *d = opendir(dir);
		struct dirent *e;
		char **names = NULL;
		size_t n = 0, m = 0;
		if (d == NULL)
			continue;
		while ((e = readdir(d)) != NULL) {
			if (!is_so(e->d_name))
				continue;
			if (n == m) {
				char **nn = realloc(names, (m = m ? 2 * m : 16) * sizeof *names);
				if (nn == NULL)
					break;
				names = nn;
			}
			names[n] = strdup(e->d_name);
			if (names[n] != NULL)
				++n;
		}
		closedir(d);
		qsort(names, n, sizeof *names, by_name);
		for (size_t i = 0; i < n; ++i) {
			if (rc == 0) {
				size_t len = strlen(dir) + strlen(names[i]) + 2;
				char *path = malloc(len);
				if (path != NULL) {
					snprintf(path, len, "%s/%s", dir, names[i]);
					rc = visit(ctx, path);
					free(path);
				}
			}
			free(names[i]);
		}
		free(names);
	}
	free(sp);
	return rc;
}

typedef struct find_ctx {
	int kind;
	const char *name;
	snm_plugin_handle *out;
	snm_error *err;
	int found_bad;             /* a file answering to the name failed the checks */
} find_ctx;

static int find_visit(void *vctx, const char *path)
{
	find_ctx *c = vctx;
	snm_plugin_handle h;
	snm_error e;
	if (snm_plugin_open(path, 0, &h, &e) != SNM_OK) {
		/* Report a broken file only when it claims the wanted name (its prefix is ABI-stable). */
		void *dl = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
		if (dl != NULL) {
			const snm_plugin *p = dlsym(dl, SNM_PLUGIN_SYMBOL);
			if (p != NULL && p->name != NULL && strcmp(p->name, c->name) == 0 && !c->found_bad) {
				c->found_bad = 1;
				if (c->err)
					*c->err = e;
			}
			dlclose(dl);
		}
		return 0;
	}
	if ((int)h.p->kind == c->kind && strcmp(h.p->name, c->name) == 0) {
		*c->out = h;
		return 1;
	}
	snm_plugin_close(&h);
	return 0;
}

int snm_plugin_find(const char *extra, int kind, const char *name, snm_plugin_handle *out,
                    snm_error *err)
{
	find_ctx c = { kind, name, out, err, 0 };
	char *sp;
	memset(out, 0, sizeof *out);
	if (walk(extra, find_visit, &c) == 1)
		return SNM_OK;
	if (c.found_bad)
		return err ? err->code : SNM_EPLUGIN;
	sp = search_path(extra);
	SNM_FAIL(err, SNM_EPLUGIN, "no %s plugin named '%s' (searched: %s)", snm_kind_name(kind), name,
	         sp ? sp : "?");
	free(sp);
	return SNM_EPLUGIN;
}

typedef struct each_ctx {
	void (*fn)(void *ctx, const snm_plugin_handle *h);
	void (*bad)(void *ctx, const char *path, const snm_error *e);
	void *ctx;
	char **seen;               /* "kind/name" already listed */
	size_t n_seen, m_seen;
} each_ctx;

static int each_visit(void *vctx, const char *path)
{
	each_ctx *c = vctx;
	snm_plugin_handle h;
	snm_error e;
	char key[256];
	if (snm_plugin_open(path, 0, &h, &e) != SNM_OK) {
		if (c->bad)
			c->bad(c->ctx, path, &e);
		return 0;
	}
	snprintf(key, sizeof key, "%s/%s", snm_kind_name((int)h.p->kind), h.p->name);
	for (size_t i = 0; i < c->n_seen; ++i)
		if (strcmp(c->seen[i], key) == 0) {
			snm_plugin_close(&h);
			return 0;
		}
	if (c->n_seen == c->m_seen) {
		char **s = realloc(c->seen, (c->m_seen = c->m_seen ? 2 * c->m_seen : 16) * sizeof *s);
		if (s == NULL) {
			snm_plugin_close(&h);
			return -1;
		}
		c->seen = s;
	}
	c->seen[c->n_seen++] = strdup(key);
	c->fn(c->ctx, &h);
	snm_plugin_close(&h);
	return 0;
}

int snm_plugin_each(const char *extra, void (*fn)(void *ctx, const snm_plugin_handle *h),
                    void (*bad)(void *ctx, const char *path, const snm_error *e), void *ctx)
{
	each_ctx c = { fn, bad, ctx, NULL, 0, 0 };
	int rc = walk(extra, each_visit, &c);
	for (size_t i = 0; i < c.n_seen; ++i)
		free(c.seen[i]);
	free(c.seen);
	return rc < 0 ? SNM_ENOMEM : SNM_OK;
}
