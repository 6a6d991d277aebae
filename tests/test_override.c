/* test_override.c: --set overrides and sweeps (pipeline.h, override.h) on pipelines of the
 * synthetic data plugin: an override changes the configuration (config_hash) and the run keys of
 * the runs whose section takes its key, and of no other; the order of the --set arguments changes
 * nothing; a sweep yields its runs in the documented order under the documented keys; a swept run
 * reads back from its recorded configuration; the names values give; and every bad --set or
 * sweep is one line naming the argument or its file:line:col. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "run/override.h"
#include "run/pipeline.h"

static char tmp[512];

/* Two experiments on the synthetic data: ff (noise none) and rec (noise recon, weight 0.1),
 * per_class 4, two sets; extra is added at the top level, sweep into rec. */
static const char base[] =
	"name: ov\n"
	"seed: 3\n"
	"results: results\n"
	"defaults:\n"
	"  data: {type: synthetic, classes: 3, per_class: 30, size: 8}\n"
	"  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}\n"
	"  train: {epochs: 2, batch: 8, lr: 0.01}\n"
	"grid: {per_class: [4], sets: 2}\n"
	"%s"
	"experiments:\n"
	"  - name: ff\n"
	"    noise: {type: none}\n"
	"  - name: rec\n"
	"    noise: {type: recon, targets: xz, weight: 0.1}\n"
	"%s";

static const char *write_pipeline(const char *name, const char *top, const char *rec)
{
	static char path[1024];
	FILE *f;
	snprintf(path, sizeof path, "%s/%s", tmp, name);
	f = fopen(path, "w");
	fprintf(f, base, top, rec);
	fclose(f);
	return path;
}

static snm_pipeline *load(const char *path, int n, const char *const *set, snm_error *e)
{
	snm_pipeline *p = NULL;
	snm_error_clear(e);
	if (snm_pipeline_load_set(path, NULL, n, set, &p, e) != SNM_OK)
		return NULL;
	return p;
}

static const snm_run_spec *find(const snm_pipeline *p, const char *key)
{
	for (int i = 0; i < p->n_runs; ++i)
		if (strcmp(p->runs[i].key, key) == 0)
			return &p->runs[i];
	return NULL;
}

/* --set train.lr: every run (train takes lr) gets "-lr<value>" and another hash; noise.weight:
 * only rec (none takes no weight), whose ff runs keep their keys and hashes. */
static void test_set_keys_and_hashes(void)
{
	const char *path = write_pipeline("p.yaml", "", "");
	const char *lr[] = { "train.lr=0.02" }, *w[] = { "noise.weight=0.5" };
	const char *both[] = { "train.lr=0.02", "noise.weight=0.5" };
	const char *rboth[] = { "noise.weight=0.5", "train.lr=0.02" };
	snm_error e;
	snm_pipeline *p0 = load(path, 0, NULL, &e), *p1 = load(path, 1, lr, &e), *p2 = load(path, 1, w, &e);
	snm_pipeline *p3 = load(path, 2, both, &e), *p4 = load(path, 2, rboth, &e), *p5 = load(path, 1, lr, &e);
	const snm_run_spec *a, *b;
	CU_ASSERT_PTR_NOT_NULL_FATAL(p0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p5);
	CU_ASSERT_EQUAL(p0->n_runs, 4);
	CU_ASSERT_EQUAL(p1->n_runs, 4);
	/* lr: every run renamed, its configuration and hash changed */
	a = find(p0, "ov/ff/n4/set1");
	b = find(p1, "ov/ff-lr0.02/n4/set1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_NOT_EQUAL(a->config_hash, b->config_hash);
	CU_ASSERT_PTR_NOT_NULL(strstr(b->config_text, "lr: 0.02"));
	CU_ASSERT_PTR_NULL(strstr(b->config_text, "lr: 0.01"));
	CU_ASSERT_STRING_EQUAL(b->result_path, "results/ov/ff-lr0.02/n4/set1.h5");
	CU_ASSERT_PTR_NOT_NULL(find(p1, "ov/rec-lr0.02/n4/set2"));
	CU_ASSERT_PTR_NULL(find(p1, "ov/rec/n4/set2"));
	/* the same --set twice: the same configuration */
	CU_ASSERT_EQUAL(find(p5, "ov/ff-lr0.02/n4/set1")->config_hash, b->config_hash);
	/* weight: rec only */
	a = find(p2, "ov/ff/n4/set1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(a->config_hash, find(p0, "ov/ff/n4/set1")->config_hash);
	b = find(p2, "ov/rec-weight0.5/n4/set1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_NULL(strstr(b->config_text, "weight: 0.5"));
	CU_ASSERT_NOT_EQUAL(b->config_hash, find(p0, "ov/rec/n4/set1")->config_hash);
	/* two: sorted by section and key, whatever the order given */
	b = find(p3, "ov/rec-weight0.5-lr0.02/n4/set1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(find(p4, "ov/rec-weight0.5-lr0.02/n4/set1"));
	CU_ASSERT_EQUAL(find(p4, "ov/rec-weight0.5-lr0.02/n4/set1")->config_hash, b->config_hash);
	CU_ASSERT_STRING_EQUAL(find(p4, "ov/rec-weight0.5-lr0.02/n4/set1")->config_text, b->config_text);
	CU_ASSERT_PTR_NOT_NULL(find(p3, "ov/ff-lr0.02/n4/set2"));
	snm_pipeline_free(p0);
	snm_pipeline_free(p1);
	snm_pipeline_free(p2);
	snm_pipeline_free(p3);
	snm_pipeline_free(p4);
	snm_pipeline_free(p5);
}

/* A top-level sweep of train.lr (every experiment) and rec's own sweep of noise.weight: the
 * runs in order (the experiment's own sweeps first, the first key's value changing slowest),
 * each with its values in its configuration; a swept run reads back from its recorded text. */
static void test_sweep_keys(void)
{
	const char *path = write_pipeline("sw.yaml", "sweep: {train.lr: [0.01, 0.001]}\n",
	                                  "    sweep: {noise.weight: [0.5, 1], noise.targets: [x, xz]}\n");
	static const char *want[] = {
		"ov/ff-lr0.01/n4/set1", "ov/ff-lr0.01/n4/set2", "ov/ff-lr0.001/n4/set1", "ov/ff-lr0.001/n4/set2",
		"ov/rec-weight0.5-targets_x-lr0.01/n4/set1", "ov/rec-weight0.5-targets_x-lr0.01/n4/set2",
		"ov/rec-weight0.5-targets_x-lr0.001/n4/set1", "ov/rec-weight0.5-targets_x-lr0.001/n4/set2",
		"ov/rec-weight0.5-targets_xz-lr0.01/n4/set1", "ov/rec-weight0.5-targets_xz-lr0.01/n4/set2",
		"ov/rec-weight0.5-targets_xz-lr0.001/n4/set1", "ov/rec-weight0.5-targets_xz-lr0.001/n4/set2",
		"ov/rec-weight1-targets_x-lr0.01/n4/set1", "ov/rec-weight1-targets_x-lr0.01/n4/set2",
		"ov/rec-weight1-targets_x-lr0.001/n4/set1", "ov/rec-weight1-targets_x-lr0.001/n4/set2",
		"ov/rec-weight1-targets_xz-lr0.01/n4/set1", "ov/rec-weight1-targets_xz-lr0.01/n4/set2",
		"ov/rec-weight1-targets_xz-lr0.001/n4/set1", "ov/rec-weight1-targets_xz-lr0.001/n4/set2",
	};
	const char *epochs[] = { "train.epochs=3" };
	snm_error e;
	snm_pipeline *p = load(path, 0, NULL, &e), *q = NULL, *r = NULL;
	const snm_run_spec *x;
	if (p == NULL)
		fprintf(stderr, "load: %s\n", e.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(p->n_runs, (int)(sizeof want / sizeof want[0]));
	for (int i = 0; i < p->n_runs; ++i)
		if (strcmp(p->runs[i].key, want[i]) != 0) {
			CU_FAIL("run key");
			fprintf(stderr, "run %d: %s, want %s\n", i, p->runs[i].key, want[i]);
		}
	x = find(p, "ov/rec-weight1-targets_x-lr0.001/n4/set2");
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_PTR_NOT_NULL(strstr(x->config_text, "weight: 1}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(x->config_text, "targets: x,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(x->config_text, "lr: 0.001"));
	CU_ASSERT_STRING_EQUAL(x->experiment, "rec-weight1-targets_x-lr0.001");
	/* the recorded configuration gives the same run back (snm verify's way) */
	CU_ASSERT_EQUAL_FATAL(snm_pipeline_from_config(x->config_text, "recorded", "r", NULL, &r, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(r->runs[0].key, x->key);
	CU_ASSERT_EQUAL(r->runs[0].config_hash, x->config_hash);
	/* a --set beside a sweep: the name and the configuration take both */
	q = load(path, 1, epochs, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_PTR_NOT_NULL(find(q, "ov/rec-weight1-targets_x-lr0.001-epochs3/n4/set2"));
	CU_ASSERT_PTR_NOT_NULL(find(q, "ov/ff-lr0.01-epochs3/n4/set1"));
	snm_pipeline_free(p);
	snm_pipeline_free(q);
	snm_pipeline_free(r);
}

/* The names values give in run keys. */
static void test_names(void)
{
	static const struct { const char *label, *yaml, *want; } cases[] = {
		{ "sd", "0.1", "sd0.1" }, { "lr", "1e-3", "lr1e-3" }, { "sd", "-0.5", "sd-0.5" },
		{ "targets", "xz", "targets_xz" }, { "layers", "[1, 2]", "layers_1_2" },
		{ "m", "{a: 1, b: [x]}", "m_a_1_b_x" }, { "s", "'a b/c'", "s_a_b_c" }, { "s", "_x_", "s_x" },
		{ "noise.sd", ".5", "noise.sd.5" }, { "b", "true", "b_true" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
		snm_cfg *v = NULL;
		char out[64];
		size_t n;
		CU_ASSERT_EQUAL_FATAL(snm_cfg_parse(cases[i].yaml, strlen(cases[i].yaml), "t", &v, NULL), SNM_OK);
		n = snm_override_name(cases[i].label, v, out, sizeof out);
		if (strcmp(out, cases[i].want) != 0 || n != strlen(out)) {
			CU_FAIL("name");
			fprintf(stderr, "%s %s: got '%s', want '%s'\n", cases[i].label, cases[i].yaml, out, cases[i].want);
		}
		snm_cfg_free(v);
	}
}

/* Each bad --set or sweep: one line, the argument or the place first. */
static void test_errors(void)
{
	static const struct { const char *top, *rec, *set[2], *want; } cases[] = {
		{ "", "", { "train.lr" }, "--set train.lr: expected SECTION.KEY=VALUE, e.g. train.lr=0.001" },
		{ "", "", { "=1" }, "--set =1: expected SECTION.KEY=VALUE" },
		{ "", "", { "optim.lr=1" }, "--set optim.lr=1: unknown section 'optim' (data, model, noise or train)" },
		{ "", "", { "lr=1" }, "--set lr=1: the path names a section and one of its keys" },
		{ "", "", { "noise.a.b=1" }, "--set noise.a.b=1: the path names a section" },
		{ "", "", { "train.lr=" }, "--set train.lr=: no value" },
		{ "", "", { "train.lr=[1" }, "--set train.lr=[1: the value is not YAML: " },
		{ "", "", { "train.lr=-1" }, "--set train.lr=-1: 'lr': expected a number in (0, inf), got '-1'" },
		{ "", "", { "train.lrr=1" }, "--set train.lrr=1: the train section has no key 'lrr'" },
		{ "", "", { "noise.sd=1" },
		  "--set noise.sd=1: no noise plugin of this pipeline (none, recon) has an option 'sd'" },
		{ "", "", { "train.lr=1", "train.lr=2" },
		  "--set train.lr=2: train.lr is set twice (also by --set train.lr=1)" },
		{ "sweep: {train.lr: [1]}\n", "", { "train.lr=2" }, "--set train.lr=2: the pipeline sweeps train.lr (" },
		{ "sweep: 3\n", "", { NULL }, ":9:8: 'sweep': expected a mapping of SECTION.KEY: [values]" },
		{ "sweep: {optim.lr: [1]}\n", "", { NULL }, ":9:19: 'sweep': unknown section in 'optim.lr'" },
		{ "sweep: {lr: [1]}\n", "", { NULL }, ":9:13: 'sweep': 'lr' is not SECTION.KEY" },
		{ "sweep: {train.lr: 1}\n", "", { NULL }, ":9:19: 'sweep': 'train.lr': expected a list of values" },
		{ "sweep: {train.lr: []}\n", "", { NULL }, ":9:19: 'sweep': 'train.lr': expected a list of values" },
		{ "sweep: {train.lr: [1, 2, 1]}\n", "", { NULL }, ":9:26: 'sweep': 'train.lr': the value 1 is listed twice" },
		{ "sweep: {train.lr: [1, ~]}\n", "", { NULL }, ": 'sweep': 'train.lr': a value is empty" },
		{ "sweep: {noise.sd: [1]}\n", "", { NULL }, ":9:19: 'sweep': 'noise.sd' applies to no experiment here" },
		{ "", "    sweep: {noise.sd: [1]}\n", { NULL }, ":14:23: 'sweep': noise 'recon' has no option 'sd'" },
		{ "", "    sweep: {noise.weight: [-1]}\n", { NULL },
		  ":14:28: 'weight': expected a number in [0, inf), got '-1'" },
		{ "", "    sweep: {train.lr: [1], noise.weight: [1]}\n",
		  { "train.epochs=123456789012345678901234567890123456789012345678901234567890123456789012345678901"
		    "2345678901234567890123456789012345678901234567890" }, "--set train.epochs=" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
		const char *path = write_pipeline("bad.yaml", cases[i].top, cases[i].rec);
		int n = cases[i].set[0] == NULL ? 0 : cases[i].set[1] == NULL ? 1 : 2;
		snm_error e;
		snm_pipeline *p = load(path, n, cases[i].set, &e);
		CU_ASSERT_PTR_NULL(p);
		snm_pipeline_free(p);
		if (strstr(e.msg, cases[i].want) == NULL || strchr(e.msg, '\n') != NULL
		    || (n > 0 && strncmp(e.msg, "--set ", 6) != 0 && cases[i].top[0] == '\0' && cases[i].rec[0] == '\0')) {
			CU_FAIL("message");
			fprintf(stderr, "case %zu: want '%s', got: %s\n", i, cases[i].want, e.msg);
		}
	}
}

static int suite_init(void)
{
	return snm_test_tmpdir(tmp, sizeof tmp, "override") == NULL;
}

static int suite_clean(void)
{
	return snm_test_rmtree(tmp) != 0;
}

static CU_TestInfo tests[] = {
	{ "set_keys_and_hashes", test_set_keys_and_hashes },
	{ "sweep_keys", test_sweep_keys },
	{ "names", test_names },
	{ "errors", test_errors },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "override", suite_init, suite_clean, NULL, NULL, tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_override", suites);
}
