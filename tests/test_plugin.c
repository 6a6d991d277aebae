/* test_plugin.c: the plugin loader refuses each bad case with one line naming the file and the
 * reason, finds plugins by the name in their entry (not the file name), and lists them. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "run/loader.h"
#include "snm/plugin.h"

static char *module(char *buf, size_t size, const char *name)
{
	const char *dir = getenv("SNM_TEST_BUILDDIR");
	snprintf(buf, size, "%s/plugins/.libs/%s.so", dir ? dir : "tests", name);
	return buf;
}

/* Opens name expecting failure code; the message must name the file and contain why. */
static void refused(const char *name, int want, int code, const char *why)
{
	char path[1024];
	snm_plugin_handle h;
	snm_error e;
	snm_error_clear(&e);
	module(path, sizeof path, name);
	CU_ASSERT_EQUAL(snm_plugin_open(path, want, &h, &e), code);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, why));
	CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
	CU_ASSERT_PTR_NULL(h.dl);
	if (strstr(e.msg, why) == NULL)
		fprintf(stderr, "message for %s: %s\n", name, e.msg);
}

static void test_refusals(void)
{
	refused("bad_major", SNM_KIND_NOISE, SNM_EABI, "built for plugin ABI 2.0");
	refused("bad_size", SNM_KIND_NOISE, SNM_EABI, "plugin entry is");
	refused("no_symbol", SNM_KIND_NOISE, SNM_EPLUGIN, "no symbol snm_plugin_entry");
	refused("bad_vtable", SNM_KIND_NOISE, SNM_EABI, "vtable");
	refused("bad_model_vtable", SNM_KIND_MODEL, SNM_EABI, "model vtable of plugin 'badmodelvtable'");
	refused("null_method", SNM_KIND_NOISE, SNM_EPLUGIN, "noise plugin 'nullmethod' has no objective method");
	refused("good_noise", SNM_KIND_MODEL, SNM_EPLUGIN, "is a noise plugin, not a model plugin");
	refused("does_not_exist", SNM_KIND_NOISE, SNM_EPLUGIN, "cannot load plugin");
}

static void test_open_good(void)
{
	char path[1024];
	snm_plugin_handle h;
	snm_error e;
	module(path, sizeof path, "good_noise");
	CU_ASSERT_EQUAL_FATAL(snm_plugin_open(path, SNM_KIND_NOISE, &h, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(h.p->name, "testnoise");
	CU_ASSERT_EQUAL(h.p->abi_major, SNM_PLUGIN_ABI_MAJOR);
	CU_ASSERT_STRING_EQUAL(h.path, path);
	CU_ASSERT_STRING_EQUAL(h.p->options[0].name, "strength");
	snm_plugin_close(&h);
	CU_ASSERT_PTR_NULL(h.dl);
}

/* A plugin built for ABI 1.0 (minor 0, the shorter noise vtable) loads; the members 1.1, 1.2 and 1.3
 * appended (perturb, objective_at, updates) read as absent.  A 1.1 plugin (its vtable ends after perturb)
 * loads with its perturb and no objective_at.  A current plugin that leaves both NULL has neither;
 * one with objective_at and no objective (ramp) loads, while one with neither is refused (see
 * test_refusals: null_method).  A model built for ABI 1.3 loads without encode_post (1.4). */
static void test_old_minor(void)
{
	char path[1024];
	snm_plugin_handle h;
	snm_error e;
	module(path, sizeof path, "old_minor");
	CU_ASSERT_EQUAL_FATAL(snm_plugin_open(path, SNM_KIND_NOISE, &h, &e), SNM_OK);
	CU_ASSERT_EQUAL(h.p->abi_minor, 0);
	CU_ASSERT(*(const uint32_t *)h.p->vtable < sizeof(snm_noise_vt));
	CU_ASSERT_PTR_NULL(snm_noise_perturb(h.p->vtable));
	CU_ASSERT_PTR_NULL(snm_noise_objective_at(h.p->vtable));
	CU_ASSERT_PTR_NULL(snm_noise_updates(h.p->vtable));
	snm_plugin_close(&h);
	module(path, sizeof path, "old_minor1");
	CU_ASSERT_EQUAL_FATAL(snm_plugin_open(path, SNM_KIND_NOISE, &h, &e), SNM_OK);
	CU_ASSERT_EQUAL(h.p->abi_minor, 1);
	CU_ASSERT_EQUAL(*(const uint32_t *)h.p->vtable, offsetof(snm_noise_vt, objective_at));
	CU_ASSERT_PTR_NOT_NULL(snm_noise_perturb(h.p->vtable));
	CU_ASSERT_PTR_NULL(snm_noise_objective_at(h.p->vtable));
	CU_ASSERT_PTR_NULL(snm_noise_updates(h.p->vtable));
	snm_plugin_close(&h);
	module(path, sizeof path, "good_noise");
	CU_ASSERT_EQUAL_FATAL(snm_plugin_open(path, SNM_KIND_NOISE, &h, &e), SNM_OK);
	CU_ASSERT_EQUAL(h.p->abi_minor, SNM_PLUGIN_ABI_MINOR);
	CU_ASSERT_EQUAL(SNM_PLUGIN_ABI_MINOR, 4);
	CU_ASSERT_PTR_NULL(snm_noise_perturb(h.p->vtable));
	CU_ASSERT_PTR_NULL(snm_noise_objective_at(h.p->vtable));
	CU_ASSERT_PTR_NULL(snm_noise_updates(h.p->vtable));
	snm_plugin_close(&h);
	module(path, sizeof path, "ramp_noise");
	CU_ASSERT_EQUAL_FATAL(snm_plugin_open(path, SNM_KIND_NOISE, &h, &e), SNM_OK);
	CU_ASSERT_PTR_NULL(((const snm_noise_vt *)h.p->vtable)->objective);
	CU_ASSERT_PTR_NOT_NULL(snm_noise_objective_at(h.p->vtable));
	snm_plugin_close(&h);
	/* a model built for ABI 1.3 loads, without encode_post (1.4); the convnet has it */
	module(path, sizeof path, "old_model");
	CU_ASSERT_EQUAL_FATAL(snm_plugin_open(path, SNM_KIND_MODEL, &h, &e), SNM_OK);
	CU_ASSERT_EQUAL(h.p->abi_minor, 3);
	CU_ASSERT_EQUAL(*(const uint32_t *)h.p->vtable, offsetof(snm_model_vt, encode_post));
	CU_ASSERT_PTR_NULL(snm_model_encode_post(h.p->vtable));
	snm_plugin_close(&h);
}

static void test_find(void)
{
	char dir[1024];
	snm_plugin_handle h;
	snm_error e;
	snprintf(dir, sizeof dir, "%s/plugins/.libs", getenv("SNM_TEST_BUILDDIR") ? getenv("SNM_TEST_BUILDDIR") : "tests");
	/* found by the name in its entry, although the file is good_noise.so */
	CU_ASSERT_EQUAL_FATAL(snm_plugin_find(dir, SNM_KIND_NOISE, "testnoise", &h, &e), SNM_OK);
	CU_ASSERT_PTR_NOT_NULL(strstr(h.path, "good_noise.so"));
	snm_plugin_close(&h);
	/* the file name is not a plugin name */
	CU_ASSERT_EQUAL(snm_plugin_find(dir, SNM_KIND_NOISE, "good_noise", &h, &e), SNM_EPLUGIN);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no noise plugin named 'good_noise'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, dir));
	/* right name, wrong kind */
	CU_ASSERT_EQUAL(snm_plugin_find(dir, SNM_KIND_MODEL, "testnoise", &h, &e), SNM_EPLUGIN);
	/* a broken file answering to the name reports its own problem, not "not found" */
	CU_ASSERT_EQUAL(snm_plugin_find(dir, SNM_KIND_NOISE, "badmajor", &h, &e), SNM_EABI);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "bad_major.so"));
}

typedef struct listing { int good, bad, testnoise; } listing;

static void on_plugin(void *ctx, const snm_plugin_handle *h)
{
	listing *l = ctx;
	++l->good;
	if (strcmp(h->p->name, "testnoise") == 0)
		++l->testnoise;
}

static void on_bad(void *ctx, const char *path, const snm_error *e)
{
	listing *l = ctx;
	(void)path; (void)e;
	++l->bad;
}

static void test_each(void)
{
	char dir[1024];
	listing l = { 0, 0, 0 };
	snprintf(dir, sizeof dir, "%s/plugins/.libs", getenv("SNM_TEST_BUILDDIR") ? getenv("SNM_TEST_BUILDDIR") : "tests");
	/* the test dir twice: a plugin is listed once */
	char twice[2100];
	snprintf(twice, sizeof twice, "%s:%s", dir, dir);
	CU_ASSERT_EQUAL(snm_plugin_each(twice, on_plugin, on_bad, &l), SNM_OK);
	CU_ASSERT_EQUAL(l.testnoise, 1);
	CU_ASSERT(l.bad >= 10);     /* bad_major, bad_size, no_symbol, bad_vtable, null_method, twice each */
	CU_ASSERT_STRING_EQUAL(snm_kind_name(SNM_KIND_DATA), "data");
}

static CU_TestInfo tests[] = {
	{ "refusals", test_refusals },
	{ "open_good", test_open_good },
	{ "old_minor", test_old_minor },
	{ "find_by_entry_name", test_find },
	{ "each", test_each },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "plugin", NULL, NULL, NULL, NULL, tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_plugin", suites);
}
