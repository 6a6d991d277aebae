/* test_identity.c: the code that made a run (src/run/identity.h) and the superseded run file
 * (src/run/supersede.h).  A file's SHA-256, cached by path, inode, size and time; libsnm's file
 * found through dladdr; the plugin_sha256 / libsnm_sha256 comparison in every case; a tiny run
 * trained on the synthetic data plugin, then copies of its file with those attributes rewritten
 * (as compact-like code rewrites a file): a finished run of other code is finished, flagged, and
 * skipped by the trainer; one without them is of unknown code, not flagged; an unfinished one of
 * other code is refused by the trainer and by `snm status`'s reading, naming the plugin, and
 * retrained with force, the old file kept beside. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "harness.h"
#include "run/identity.h"
#include "run/pipeline.h"
#include "run/state.h"
#include "run/store.h"
#include "run/supersede.h"
#include "run/trainer.h"

static char tmp[512];

static int setup(void)
{
	return snm_test_tmpdir(tmp, sizeof tmp, "identity") ? 0 : -1;
}

static int teardown(void)
{
	snm_test_rmtree(tmp);
	return 0;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

/* ---- files ----------------------------------------------------------------------------------- */

static void test_file_sha256(void)
{
	char path[600], hex[65], again[65];
	struct stat st;
	struct timespec times[2];
	snm_error e;
	snprintf(path, sizeof path, "%s/abc", tmp);
	write_text(path, "abc");
	CU_ASSERT_EQUAL_FATAL(snm_file_sha256(path, hex, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* the same bytes changed in place, size and time kept: the cached hash (one hash per file) */
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	write_text(path, "abd");
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	CU_ASSERT_EQUAL(utimensat(AT_FDCWD, path, times, 0), 0);
	CU_ASSERT_EQUAL(snm_file_sha256(path, again, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(again, hex);
	/* another modification time: hashed again */
	times[1].tv_sec -= 10;
	CU_ASSERT_EQUAL(utimensat(AT_FDCWD, path, times, 0), 0);
	CU_ASSERT_EQUAL(snm_file_sha256(path, again, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(again, "a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9");
	snprintf(path, sizeof path, "%s/none", tmp);
	CU_ASSERT_EQUAL(snm_file_sha256(path, hex, &e), SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, path));
}

static void test_libsnm_path(void)
{
	const char *p = snm_libsnm_path(), *base;
	char hex[65];
	snm_error e;
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
	CU_ASSERT_EQUAL(strncmp(base, "libsnm.so", 9), 0);
	CU_ASSERT_EQUAL(snm_file_sha256(p, hex, &e), SNM_OK);
}

/* ---- comparing ------------------------------------------------------------------------------- */

#define H(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
             c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

static void test_compare(void)
{
	snm_identity now = { "data idx " H("a") "; model convnet " H("b") "; noise semantic " H("c"), H("d") };
	char what[256];
	CU_ASSERT_EQUAL(snm_identity_compare(NULL, NULL, &now, what, sizeof what), SNM_CODE_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(what, "");
	CU_ASSERT_EQUAL(snm_identity_compare(now.plugins, now.libsnm, &now, what, sizeof what), SNM_CODE_SAME);
	CU_ASSERT_EQUAL(snm_identity_compare("data idx " H("a") "; model convnet " H("b") "; noise semantic "
	                                     H("e"), H("d"), &now, what, sizeof what), SNM_CODE_OTHER);
	CU_ASSERT_STRING_EQUAL(what, "noise semantic changed");
	CU_ASSERT_EQUAL(snm_identity_compare("data idx " H("a") "; model convnet " H("e") "; noise semantic "
	                                     H("c"), H("e"), &now, what, sizeof what), SNM_CODE_OTHER);
	CU_ASSERT_STRING_EQUAL(what, "model convnet and libsnm changed");
	CU_ASSERT_EQUAL(snm_identity_compare("data idx " H("e") "; model convnet " H("e") "; noise semantic "
	                                     H("e"), H("d"), &now, what, sizeof what), SNM_CODE_OTHER);
	CU_ASSERT_STRING_EQUAL(what, "data idx, model convnet and noise semantic changed");
	CU_ASSERT_EQUAL(snm_identity_compare(now.plugins, H("e"), &now, what, sizeof what), SNM_CODE_OTHER);
	CU_ASSERT_STRING_EQUAL(what, "libsnm changed");
	/* another plugin of a kind (the configuration names it, so its hash differs first) */
	CU_ASSERT_EQUAL(snm_identity_compare("data idx " H("a") "; model convnet " H("b") "; noise none " H("c"),
	                                     H("d"), &now, what, sizeof what), SNM_CODE_OTHER);
	CU_ASSERT_STRING_EQUAL(what, "noise none -> semantic");
	/* a part one side does not know is not compared */
	CU_ASSERT_EQUAL(snm_identity_compare(now.plugins, "unknown", &now, what, sizeof what), SNM_CODE_SAME);
	CU_ASSERT_EQUAL(snm_identity_compare(NULL, now.libsnm, &now, what, sizeof what), SNM_CODE_SAME);
	CU_ASSERT_EQUAL(snm_identity_compare("noise semantic 123", now.libsnm, &now, what, sizeof what),
	                SNM_CODE_SAME);
	/* no room for what: the answer all the same */
	CU_ASSERT_EQUAL(snm_identity_compare(now.plugins, H("e"), &now, NULL, 0), SNM_CODE_OTHER);
}

/* ---- superseded files ------------------------------------------------------------------------ */

static void test_supersede(void)
{
	char dir[600], path[700], kept[800], want[800];
	snm_error e;
	snprintf(dir, sizeof dir, "%s/sup", tmp);
	CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0777), 0);
	snprintf(path, sizeof path, "%s/set1.h5", dir);
	write_text(path, "first");
	CU_ASSERT_EQUAL_FATAL(snm_supersede(path, "0123456789abcdef", kept, sizeof kept, &e), SNM_OK);
	snprintf(want, sizeof want, "%s/set1.superseded-0123456789abcdef.h5", dir);
	CU_ASSERT_STRING_EQUAL(kept, want);
	CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
	write_text(path, "second");
	CU_ASSERT_EQUAL_FATAL(snm_supersede(path, "0123456789abcdef", kept, sizeof kept, &e), SNM_OK);
	snprintf(want, sizeof want, "%s/set1.superseded-0123456789abcdef-2.h5", dir);
	CU_ASSERT_STRING_EQUAL(kept, want);
	snprintf(want, sizeof want, "%s/set1.superseded-0123456789abcdef.h5", dir);
	{
		FILE *f = fopen(want, "r");
		char buf[16] = "";
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_PTR_NOT_NULL(fgets(buf, sizeof buf, f));
		fclose(f);
		CU_ASSERT_STRING_EQUAL(buf, "first");             /* never replaced */
	}
	/* a hash that is not hex is cleaned; a name that is not a run file's is refused */
	write_text(path, "third");
	CU_ASSERT_EQUAL(snm_supersede(path, "../x", kept, sizeof kept, &e), SNM_OK);
	CU_ASSERT_PTR_NULL(strstr(kept, ".."));
	CU_ASSERT_EQUAL(snm_supersede(dir, "00", kept, sizeof kept, &e), SNM_EINVAL);
	CU_ASSERT_EQUAL(snm_is_superseded(want), 1);
	CU_ASSERT_EQUAL(snm_is_superseded("results/a/n10/set1.superseded-0123.h5"), 1);
	CU_ASSERT_EQUAL(snm_is_superseded("results/a/n10/set1.h5"), 0);
	CU_ASSERT_EQUAL(snm_is_superseded("results/a.superseded-1/set1.h5"), 0);
	CU_ASSERT_EQUAL(snm_is_superseded("results/a/set1.superseded-1.h5.lock"), 0);
}

/* ---- run files of other code ----------------------------------------------------------------- */

static const char pipeline_yaml[] =
	"name: id\n"
	"seed: 5\n"
	"results: %s/results\n"
	"defaults:\n"
	"  data: {type: synthetic, classes: 3, per_class: 30, size: 8}\n"
	"  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}\n"
	"  noise: {type: none}\n"
	"  train: {epochs: 2, batch: 8, eval_batch: 16}\n"
	"grid: {per_class: [4], sets: 1}\n"
	"experiments:\n"
	"  - name: base\n";

/* A copy of the run file src at dst, its plugin_sha256 and libsnm_sha256 replaced (NULL: left
 * out) and its status set, with its attributes, metrics and /checkpoint/params only. */
static int rewritten(const char *src, const char *dst, const char *plugins, const char *libsnm,
                     const char *status)
{
	snm_store_attrs a;
	snm_metrics *m = NULL;
	snm_params *ck = NULL;
	snm_error e;
	const char *names[32], *values[32], *gp[1] = { "/checkpoint/params" };
	int n = 0, rc;
	if (snm_store_read_attrs(src, &a, &e) || snm_store_read_metrics(src, &m, &e)
	    || snm_store_read_group(src, "/checkpoint/params", &ck, &e))
		return -1;
	for (int i = 0; i < a.n_str && n < 30; ++i) {
		const char *v = a.str_values[i];
		if (strcmp(a.str_names[i], "plugin_sha256") == 0 || strcmp(a.str_names[i], "libsnm_sha256") == 0)
			continue;
		if (strcmp(a.str_names[i], "status") == 0)
			v = status;
		names[n] = a.str_names[i];
		values[n++] = v;
	}
	if (plugins != NULL) {
		names[n] = "plugin_sha256";
		values[n++] = plugins;
	}
	if (libsnm != NULL) {
		names[n] = "libsnm_sha256";
		values[n++] = libsnm;
	}
	rc = snm_store_save(dst, &(snm_store_run){ n, names, values, a.n_int, (const char *const *)a.int_names,
	                                           a.int_values, m, 1, gp, &ck, 0, NULL, NULL, 0, NULL, NULL }, &e);
	snm_params_free(ck);
	snm_metrics_free(m);
	snm_store_attrs_free(&a);
	return rc;
}

/* The recorded plugin_sha256 with the noise plugin's hash replaced by zeros. */
static void other_noise(const char *recorded, char *out, size_t size)
{
	char *noise;
	snprintf(out, size, "%s", recorded);
	if ((noise = strstr(out, "; noise none ")) != NULL)
		memset(noise + strlen("; noise none "), '0', 64);
}

static void test_other_code(void)
{
	char yaml[600], text[2048], saved[1200], plugins[SNM_IDENTITY_MAX], *rec = NULL, *lib = NULL;
	snm_pipeline *p = NULL;
	snm_trainer_opts o = { NULL, NULL, 1, 0, 0, 0, "test", 0 };
	snm_run_result res;
	snm_run_state st;
	snm_identity now;
	const snm_run_spec *r;
	snm_error e;
	snprintf(yaml, sizeof yaml, "%s/id.yaml", tmp);
	snprintf(text, sizeof text, pipeline_yaml, tmp);
	write_text(yaml, text);
	CU_ASSERT_EQUAL_FATAL(snm_pipeline_load(yaml, NULL, &p, &e), SNM_OK);
	r = &p->runs[0];
	CU_ASSERT_EQUAL_FATAL(snm_train(r, &o, &res, &e), SNM_OK);
	CU_ASSERT_EQUAL(res.status, SNM_RUN_TRAINED);
	/* what it recorded is the code of now */
	CU_ASSERT_EQUAL_FATAL(snm_store_get_str(r->result_path, "plugin_sha256", &rec, &e), SNM_OK);
	CU_ASSERT_EQUAL_FATAL(snm_store_get_str(r->result_path, "libsnm_sha256", &lib, &e), SNM_OK);
	CU_ASSERT_EQUAL_FATAL(snm_identity_find(r, NULL, &now, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(rec, now.plugins);
	CU_ASSERT_STRING_EQUAL(lib, now.libsnm);
	CU_ASSERT_EQUAL(strncmp(rec, "data synthetic ", 15), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(rec, "; model convnet "));
	CU_ASSERT_PTR_NOT_NULL(strstr(rec, "; noise none "));
	CU_ASSERT_EQUAL(strlen(lib), 64);
	CU_ASSERT_EQUAL(snm_run_state_read(r, NULL, r->result_path, &st, &e), SNM_OK);
	CU_ASSERT_EQUAL(st.state, SNM_STATE_FINISHED);
	CU_ASSERT_EQUAL(st.code, SNM_CODE_SAME);
	snprintf(saved, sizeof saved, "%s.orig", r->result_path);
	CU_ASSERT_EQUAL_FATAL(rename(r->result_path, saved), 0);

	/* finished, the noise plugin's hash another: finished, flagged; skipped by the trainer */
	other_noise(rec, plugins, sizeof plugins);
	CU_ASSERT_EQUAL_FATAL(rewritten(saved, r->result_path, plugins, lib, "finished"), 0);
	CU_ASSERT_EQUAL(snm_run_state_read(r, NULL, r->result_path, &st, &e), SNM_OK);
	CU_ASSERT_EQUAL(st.state, SNM_STATE_FINISHED);
	CU_ASSERT_EQUAL(st.code, SNM_CODE_OTHER);
	CU_ASSERT_STRING_EQUAL(st.code_what, "noise none changed");
	CU_ASSERT_EQUAL(snm_train(r, &o, &res, &e), SNM_OK);
	CU_ASSERT_EQUAL(res.status, SNM_RUN_SKIPPED);
	CU_ASSERT_EQUAL(res.code, SNM_CODE_OTHER);
	CU_ASSERT_STRING_EQUAL(res.code_what, "noise none changed");
	o.force = 1;                                   /* kept and skipped, force or not */
	CU_ASSERT_EQUAL(snm_train(r, &o, &res, &e), SNM_OK);
	CU_ASSERT_EQUAL(res.status, SNM_RUN_SKIPPED);
	CU_ASSERT_STRING_EQUAL(res.superseded, "");
	o.force = 0;

	/* finished, written before snm recorded its code: unknown, not flagged */
	CU_ASSERT_EQUAL_FATAL(rewritten(saved, r->result_path, NULL, NULL, "finished"), 0);
	CU_ASSERT_EQUAL(snm_run_state_read(r, NULL, r->result_path, &st, &e), SNM_OK);
	CU_ASSERT_EQUAL(st.state, SNM_STATE_FINISHED);
	CU_ASSERT_EQUAL(st.code, SNM_CODE_UNKNOWN);
	CU_ASSERT_EQUAL(snm_train(r, &o, &res, &e), SNM_OK);
	CU_ASSERT_EQUAL(res.status, SNM_RUN_SKIPPED);
	CU_ASSERT_EQUAL(res.code, SNM_CODE_UNKNOWN);

	/* unfinished, written before: resumable, of unknown code */
	CU_ASSERT_EQUAL_FATAL(rewritten(saved, r->result_path, NULL, NULL, "running"), 0);
	CU_ASSERT_EQUAL(snm_run_state_read(r, NULL, r->result_path, &st, &e), SNM_OK);
	CU_ASSERT_EQUAL(st.state, SNM_STATE_RESUMABLE);
	CU_ASSERT_EQUAL(st.code, SNM_CODE_UNKNOWN);

	/* unfinished, libsnm another: refused, by status and by the trainer, naming it */
	CU_ASSERT_EQUAL_FATAL(rewritten(saved, r->result_path, rec, H("0"), "running"), 0);
	CU_ASSERT_EQUAL(snm_run_state_read(r, NULL, r->result_path, &st, &e), SNM_OK);
	CU_ASSERT_EQUAL(st.state, SNM_STATE_REFUSED);
	CU_ASSERT_EQUAL(st.code, SNM_CODE_OTHER);
	CU_ASSERT_STRING_EQUAL(st.why, "libsnm changed");
	CU_ASSERT_EQUAL(snm_train(r, &o, &res, &e), SNM_ESTATE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "unfinished, made by other code (libsnm changed)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "--force"));

	/* unfinished, the noise plugin another: refused; with force retrained, the old file kept */
	CU_ASSERT_EQUAL_FATAL(rewritten(saved, r->result_path, plugins, lib, "running"), 0);
	CU_ASSERT_EQUAL(snm_run_state_read(r, NULL, r->result_path, &st, &e), SNM_OK);
	CU_ASSERT_EQUAL(st.state, SNM_STATE_REFUSED);
	CU_ASSERT_STRING_EQUAL(st.why, "noise none changed");
	CU_ASSERT_EQUAL(snm_train(r, &o, &res, &e), SNM_ESTATE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, r->result_path));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "noise none changed"));
	o.force = 1;
	CU_ASSERT_EQUAL(snm_train(r, &o, &res, &e), SNM_OK);
	CU_ASSERT_EQUAL(res.status, SNM_RUN_TRAINED);
	CU_ASSERT(snm_is_superseded(res.superseded));
	CU_ASSERT_EQUAL(access(res.superseded, F_OK), 0);
	{
		char *kept_status = NULL, *kept_plugins = NULL;
		CU_ASSERT_EQUAL(snm_store_get_str(res.superseded, "status", &kept_status, &e), SNM_OK);
		CU_ASSERT_EQUAL(snm_store_get_str(res.superseded, "plugin_sha256", &kept_plugins, &e), SNM_OK);
		CU_ASSERT_STRING_EQUAL(kept_status ? kept_status : "", "running");
		CU_ASSERT_STRING_EQUAL(kept_plugins ? kept_plugins : "", plugins);
		free(kept_status);
		free(kept_plugins);
	}
	CU_ASSERT_EQUAL(snm_run_state_read(r, NULL, r->result_path, &st, &e), SNM_OK);
	CU_ASSERT_EQUAL(st.state, SNM_STATE_FINISHED);
	CU_ASSERT_EQUAL(st.code, SNM_CODE_SAME);
	free(rec);
	free(lib);
	snm_pipeline_free(p);
}

static CU_TestInfo file_tests[] = {
	{ "file_sha256", test_file_sha256 },
	{ "libsnm_path", test_libsnm_path },
	{ "compare", test_compare },
	{ "supersede", test_supersede },
	CU_TEST_INFO_NULL
};

static CU_TestInfo run_tests[] = {
	{ "other_code", test_other_code },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "identity", setup, teardown, NULL, NULL, file_tests },
	{ "run_files", setup, teardown, NULL, NULL, run_tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_identity", suites);
}
