/* test_runfile.c: compact run files, the best-weight digest, the comparison of two runs, a run
 * rebuilt from its recorded configuration, `snm compact` and `snm verify` end to end on the
 * synthetic data plugin, and one run defined by two pipelines of an include. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "harness.h"
#include "run/fs.h"
#include "run/pipeline.h"
#include "run/store.h"
#include "run/trainer.h"
#include "cmd/runfile.h"

static char tmp[512];

static const char tiny_yaml[] =
	"name: tiny\n"
	"seed: 3\n"
	"results: %s/%s\n"
	"defaults:\n"
	"  data: {type: synthetic, classes: 3, per_class: 30, size: 8}\n"
	"  model: {type: convnet, preset: custom, layers: [{conv: 3, k: 3, stride: 2, pad: 1}, {fc: 6}]}\n"
	"  train: {epochs: 4, batch: 8, lr: 0.01, eval_batch: 16}\n"
	"grid: {per_class: [4], sets: 1}\n"
	"experiments:\n"
	"  - name: base\n"
	"    noise: {type: recon, targets: xz}\n";

static char *path_in(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/%s", tmp, rel);
	return buf;
}

static void write_text(const char *rel, const char *text)
{
	char p[1024];
	FILE *f = fopen(path_in(p, sizeof p, rel), "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

/* The tiny pipeline with results under tmp/<results>, trained once (stop_after > 0: left running
 * after that many epochs). */
static snm_pipeline *tiny(const char *results, int stop_after)
{
	char text[2048], p[1024];
	snm_pipeline *pl = NULL;
	snm_error e;
	snm_trainer_opts o = { .threads = 1, .stop_after = stop_after, .version = "test" };
	snprintf(text, sizeof text, tiny_yaml, tmp, results);
	write_text("tiny.yaml", text);
	if (snm_pipeline_load(path_in(p, sizeof p, "tiny.yaml"), NULL, &pl, &e) != SNM_OK) {
		fprintf(stderr, "load: %s\n", e.msg);
		return NULL;
	}
	if (snm_train(&pl->runs[0], &o, NULL, &e) != SNM_OK) {
		fprintf(stderr, "train: %s\n", e.msg);
		snm_pipeline_free(pl);
		return NULL;
	}
	return pl;
}

static long size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int has_group(const char *path, const char *g)
{
	int yes = -1;
	snm_error e;
	return snm_store_has_group(path, g, &yes, &e) == SNM_OK ? yes : -1;
}

/* A copy of the compact file src at dst with test_at_best of epoch `row` + 1 changed, or (when
 * sha is not NULL) best_sha256 replaced by sha, or (config not NULL) the config text replaced, or
 * (row == -2) a metric column "extra" added. */
static int tampered_copy(const char *src, const char *dst, int row, const char *sha, const char *config)
{
	snm_store_attrs a;
	snm_metrics *m = NULL;
	snm_error e;
	const char **sv;
	int rc;
	if (snm_store_read_attrs(src, &a, &e) || snm_store_read_metrics(src, &m, &e))
		return -1;
	sv = malloc((size_t)a.n_str * sizeof *sv);
	for (int i = 0; i < a.n_str; ++i) {
		sv[i] = a.str_values[i];
		if (sha && strcmp(a.str_names[i], "best_sha256") == 0)
			sv[i] = sha;
		if (config && strcmp(a.str_names[i], "config") == 0)
			sv[i] = config;
	}
	if (row >= 0 || row == -2) {
		snm_metrics *c = NULL;
		int col = snm_metrics_find(m, "test_at_best");
		const char *names[64];
		double vals[64];
		int n = snm_metrics_cols(m);
		for (int k = 0; k < n; ++k)
			names[k] = snm_metrics_name(m, k);
		vals[n] = 1.0;
		names[n] = "extra";
		c = snm_metrics_new(n + (row == -2), names, &e);
		for (size_t r = 0; r < snm_metrics_rows(m); ++r) {
			for (int k = 0; k < n; ++k)
				vals[k] = snm_metrics_get(m, r, k);
			if ((int)r == row)
				vals[col] += 0.25;
			snm_metrics_append(c, vals, &e);
		}
		snm_metrics_free(m);
		m = c;
	}
	rc = snm_store_save(dst, &(snm_store_run){ a.n_str, (const char *const *)a.str_names, sv, a.n_int,
	                                           (const char *const *)a.int_names, a.int_values, m, 0, NULL,
	                                           NULL, 0, NULL, NULL, 0, NULL, NULL }, &e);
	free(sv);
	snm_metrics_free(m);
	snm_store_attrs_free(&a);
	return rc;
}

/* ---- digest ---------------------------------------------------------------------------------- */

static void test_digest(void)
{
	snm_error e;
	snm_params *p = snm_params_new(&e), *q = snm_params_new(&e);
	int d2[1] = { 2 }, d3[2] = { 1, 3 };
	char h1[SNM_SHA256_HEX], h2[SNM_SHA256_HEX];
	snm_tensor *w = snm_params_add(p, "w", 1, d2, SNM_T_PARAM, &e);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w);
	w->x[0] = 1.0f;
	w->x[1] = -2.5f;
	/* the format of runfile.h, by a known answer: SHA-256 of "w\0" 01000000 02000000 0000803f 000020c0 */
	CU_ASSERT_EQUAL(snm_runfile_digest(p, h1, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(h1, "e2ed9259c6a9d432af41dbd0254a37f404805747d3f39f7a00f8789d81b138c8");
	/* name order, whatever the registry's */
	snm_params_add(p, "a", 2, d3, SNM_T_BUFFER, &e)->x[2] = 0.5f;
	snm_params_add(q, "a", 2, d3, SNM_T_BUFFER, &e)->x[2] = 0.5f;
	w = snm_params_add(q, "w", 1, d2, SNM_T_PARAM, &e);
	w->x[0] = 1.0f;
	w->x[1] = -2.5f;
	CU_ASSERT_EQUAL(snm_runfile_digest(p, h1, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_runfile_digest(q, h2, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(h1, h2);
	/* one ulp */
	w->x[1] = nextafterf(-2.5f, 0.0f);
	CU_ASSERT_EQUAL(snm_runfile_digest(q, h2, &e), SNM_OK);
	CU_ASSERT_STRING_NOT_EQUAL(h1, h2);
	snm_params_free(p);
	snm_params_free(q);
}

/* ---- compact form ---------------------------------------------------------------------------- */

static void test_compact(void)
{
	snm_pipeline *pl = tiny("r-compact", 0);
	snm_runfile_diff d;
	snm_error e;
	char c1[1024], c2[1024], c3[1024], full_hex[SNM_SHA256_HEX], hex[SNM_SHA256_HEX];
	char *form = NULL;
	const char *full;
	CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
	full = pl->runs[0].result_path;
	path_in(c1, sizeof c1, "c1.h5");
	path_in(c2, sizeof c2, "c2.h5");
	path_in(c3, sizeof c3, "c3.h5");
	CU_ASSERT_EQUAL_FATAL(snm_runfile_compact(full, c1, 0, &e), SNM_OK);
	/* what it holds and lacks */
	CU_ASSERT_EQUAL(has_group(full, "/checkpoint"), 1);
	CU_ASSERT_EQUAL(has_group(c1, "/checkpoint"), 0);
	CU_ASSERT_EQUAL(has_group(c1, "/best"), 0);
	CU_ASSERT_EQUAL(has_group(c1, "/metrics"), 1);
	CU_ASSERT(size_of(c1) > 0 && size_of(c1) < size_of(full));
	CU_ASSERT_EQUAL(snm_store_get_str(c1, "form", &form, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(form, "compact");
	free(form);
	CU_ASSERT_EQUAL(snm_runfile_best_digest(full, full_hex, &e), SNM_OK);
	CU_ASSERT_EQUAL(snm_runfile_best_digest(c1, hex, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(hex, full_hex);
	/* the same run: every metric, integer and the digest */
	CU_ASSERT_EQUAL(snm_runfile_compare(full, c1, &d, &e), SNM_OK);
	CU_ASSERT(d.equal);
	CU_ASSERT_EQUAL(d.rows, 4);
	CU_ASSERT(d.metrics >= 8);
	/* deterministic, and idempotent on a compact file */
	CU_ASSERT_EQUAL(snm_runfile_compact(full, c2, 0, &e), SNM_OK);
	CU_ASSERT(snm_test_files_equal(c1, c2));
	CU_ASSERT_EQUAL(snm_runfile_compact(c1, c2, 0, &e), SNM_OK);
	CU_ASSERT(snm_test_files_equal(c1, c2));
	/* keeping the best weights (a figure's run); a compact file without them cannot give them */
	CU_ASSERT_EQUAL(snm_runfile_compact(full, c3, 1, &e), SNM_OK);
	CU_ASSERT_EQUAL(has_group(c3, "/best"), 1);
	CU_ASSERT_EQUAL(has_group(c3, "/checkpoint"), 0);
	CU_ASSERT_EQUAL(snm_runfile_best_digest(c3, hex, &e), SNM_OK);
	CU_ASSERT_STRING_EQUAL(hex, full_hex);
	CU_ASSERT_EQUAL(snm_runfile_compact(c1, c2, 1, &e), SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no /best"));
	/* /best that does not match the recorded digest */
	CU_ASSERT_EQUAL(tampered_copy(c1, c2, -1, "00", NULL), SNM_OK);
	CU_ASSERT_EQUAL(snm_runfile_best_digest(c2, hex, &e), SNM_EIO);
	/* a run is skipped by the trainer as finished when its file is compact */
	{
		snm_run_result r;
		snm_trainer_opts o = { .threads = 1, .version = "test" };
		CU_ASSERT_EQUAL(snm_runfile_compact(full, full, 0, &e), SNM_OK);
		CU_ASSERT_EQUAL(snm_train(&pl->runs[0], &o, &r, &e), SNM_OK);
		CU_ASSERT_EQUAL(r.status, SNM_RUN_SKIPPED);
	}
	snm_pipeline_free(pl);
}

static void test_compact_refuses_running(void)
{
	snm_pipeline *pl = tiny("r-running", 2);
	snm_error e;
	char c[1024];
	CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
	path_in(c, sizeof c, "running-compact.h5");
	CU_ASSERT_EQUAL(snm_runfile_compact(pl->runs[0].result_path, c, 0, &e), SNM_ESTATE);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "not finished"));
	CU_ASSERT_EQUAL(size_of(c), -1);
	snm_pipeline_free(pl);
}

/* ---- comparison -------------------------------------------------------------------------------- */

static void test_compare_differences(void)
{
	snm_pipeline *pl = tiny("r-compare", 0);
	snm_runfile_diff d;
	snm_error e;
	char c1[1024], c2[1024];
	CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
	path_in(c1, sizeof c1, "d1.h5");
	path_in(c2, sizeof c2, "d2.h5");
	CU_ASSERT_EQUAL_FATAL(snm_runfile_compact(pl->runs[0].result_path, c1, 0, &e), SNM_OK);
	CU_ASSERT_EQUAL_FATAL(tampered_copy(c1, c2, 2, NULL, NULL), SNM_OK);
	CU_ASSERT_EQUAL(snm_runfile_compare(c1, c2, &d, &e), SNM_OK);
	CU_ASSERT_FALSE(d.equal);
	CU_ASSERT_STRING_EQUAL(d.worst, "test_at_best");
	CU_ASSERT_EQUAL(d.worst_epoch, 3);
	SNM_ASSERT_CLOSE(d.worst_abs, 0.25, 1e-9, 0);
	CU_ASSERT(d.digest_equal);
	/* a column either file lacks is a difference, whichever is the reference */
	CU_ASSERT_EQUAL_FATAL(tampered_copy(c1, c2, -2, NULL, NULL), SNM_OK);
	CU_ASSERT_EQUAL(snm_runfile_compare(c1, c2, &d, &e), SNM_OK);
	CU_ASSERT_FALSE(d.equal);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.detail, "column extra in the second only"));
	CU_ASSERT_EQUAL(snm_runfile_compare(c2, c1, &d, &e), SNM_OK);
	CU_ASSERT_FALSE(d.equal);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.detail, "no column extra"));
	CU_ASSERT_EQUAL_FATAL(tampered_copy(c1, c2, -1,
	        "0000000000000000000000000000000000000000000000000000000000000000", NULL), SNM_OK);
	CU_ASSERT_EQUAL(snm_runfile_compare(c1, c2, &d, &e), SNM_OK);
	CU_ASSERT_FALSE(d.equal);
	CU_ASSERT_FALSE(d.digest_equal);
	CU_ASSERT_STRING_EQUAL(d.worst, "");
	snm_pipeline_free(pl);
}

/* ---- a run from its recorded configuration ------------------------------------------------------ */

static void test_from_config(void)
{
	snm_pipeline *pl = tiny("r-config", 0), *one = NULL;
	snm_error e;
	char *config = NULL, dir[1024];
	CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
	CU_ASSERT_EQUAL_FATAL(snm_store_get_str(pl->runs[0].result_path, "config", &config, &e), SNM_OK);
	path_in(dir, sizeof dir, "elsewhere");
	CU_ASSERT_EQUAL_FATAL(snm_pipeline_from_config(config, "f.h5", dir, NULL, &one, &e), SNM_OK);
	CU_ASSERT_EQUAL(one->n_runs, 1);
	CU_ASSERT_STRING_EQUAL(one->runs[0].key, pl->runs[0].key);
	CU_ASSERT_STRING_EQUAL(one->runs[0].config_text, pl->runs[0].config_text);
	CU_ASSERT_EQUAL(one->runs[0].config_hash, pl->runs[0].config_hash);
	CU_ASSERT_STRING_EQUAL(one->runs[0].data_key, pl->runs[0].data_key);
	CU_ASSERT_PTR_NOT_NULL(strstr(one->runs[0].result_path, "elsewhere/tiny/base/n4/set1.h5"));
	snm_pipeline_free(one);
	/* not a configuration */
	CU_ASSERT_EQUAL(snm_pipeline_from_config("[1, 2]", "f.h5", dir, NULL, &one, &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "f.h5"));
	CU_ASSERT_EQUAL(snm_pipeline_from_config("{run: x, seed: 1}", "f.h5", dir, NULL, &one, &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NULL(one);
	free(config);
	snm_pipeline_free(pl);
}

/* ---- the commands ---------------------------------------------------------------------------- */

/* Whether the output of the last snm_cmd has a line containing want. */
static int printed(const char *want)
{
	char out[1024], line[1024];
	FILE *f;
	int found = 0;
	path_in(out, sizeof out, "out.txt");
	if ((f = fopen(out, "r")) != NULL) {
		while (fgets(line, sizeof line, f))
			found |= strstr(line, want) != NULL;
		fclose(f);
	}
	return found;
}

/* Runs `snm ARGS` (the build tree's) with output into tmp/out.txt; its exit status, and whether
 * the output contains want. */
static int snm_cmd(const char *args, const char *want, int *found)
{
	char cmd[4096], out[1024];
	const char *top = getenv("SNM_TEST_TOPBUILDDIR");
	int st;
	path_in(out, sizeof out, "out.txt");
	snprintf(cmd, sizeof cmd, "%s/snm %s > %s 2>&1", top ? top : ".", args, out);
	st = system(cmd);
	*found = printed(want);
	if (!*found) {
		fprintf(stderr, "`snm %s` did not print '%s'\n", args, want);
		system((snprintf(cmd, sizeof cmd, "cat %s >&2", out), cmd));
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_commands(void)
{
	snm_pipeline *pl = tiny("r-commands", 0);
	char args[4096], dir[1024], c[1024], t[1024], nb[1024], *config = NULL;
	snm_error e;
	int found;
	CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
	path_in(dir, sizeof dir, "kept");
	/* snm compact writes <out>/<run key>.h5 */
	snprintf(args, sizeof args, "compact --out %s %s --keep-best 'tiny/*'", dir, pl->runs[0].result_path);
	CU_ASSERT_EQUAL(snm_cmd(args, "best weights kept", &found), 0);
	CU_ASSERT(found);
	path_in(c, sizeof c, "kept/tiny/base/n4/set1.h5");
	CU_ASSERT_EQUAL(has_group(c, "/best"), 1);
	/* verify: the committed form retrains to the same bits */
	snprintf(args, sizeof args, "verify %s", c);
	CU_ASSERT_EQUAL(snm_cmd(args, "bitwise equal", &found), 0);
	CU_ASSERT(found);
	/* a changed metric is found, named and makes the exit status 1 */
	path_in(t, sizeof t, "tampered.h5");
	CU_ASSERT_EQUAL_FATAL(tampered_copy(c, t, 1, NULL, NULL), SNM_OK);
	snprintf(args, sizeof args, "verify %s", t);
	CU_ASSERT_EQUAL(snm_cmd(args, "DIFFERS: largest difference test_at_best 0.25 at epoch 2", &found), 1);
	CU_ASSERT(found);
	/* ... by the same code (the plugins' and libsnm's SHA-256 the file records), at the file's
	 * numeric version (train.numerics: 1, the default) */
	CU_ASSERT_EQUAL(snm_cmd(args, "best weights equal; numerics 1; same code, ", &found), 1);
	CU_ASSERT(found);
	/* a changed configuration text no longer has its hash */
	CU_ASSERT_EQUAL_FATAL(snm_store_get_str(c, "config", &config, &e), SNM_OK);
	config[strlen(config) - 3] = '9';    /* "...eval_batch: 16}}" -> "...eval_batch: 19}}" */
	CU_ASSERT_EQUAL_FATAL(tampered_copy(c, t, -1, NULL, config), SNM_OK);
	CU_ASSERT_EQUAL(snm_cmd(args, "was changed", &found), 1);
	CU_ASSERT(found);
	/* a finished file with neither /best nor a best_sha256 has nothing to compare the retrained
	 * weights with: refused before any retraining */
	path_in(nb, sizeof nb, "nobest.h5");
	CU_ASSERT_EQUAL_FATAL(snm_runfile_compact(pl->runs[0].result_path, nb, 0, &e), SNM_OK);
	CU_ASSERT_EQUAL_FATAL(tampered_copy(nb, t, -1, "", NULL), SNM_OK);
	CU_ASSERT_EQUAL(snm_cmd(args, "no /best weights and no best_sha256 attribute", &found), 1);
	CU_ASSERT(found);
	CU_ASSERT(!printed("retraining"));
	/* --keep DIR keeps the retrained file; a second verify into the same DIR is refused */
	path_in(dir, sizeof dir, "keep");
	snprintf(args, sizeof args, "verify --keep %s %s", dir, c);
	CU_ASSERT_EQUAL(snm_cmd(args, "bitwise equal", &found), 0);
	CU_ASSERT(found);
	CU_ASSERT_EQUAL(snm_cmd(args, "already exists: --keep needs a directory without this run", &found), 1);
	CU_ASSERT(found);
	/* usage and unreadable files */
	CU_ASSERT_EQUAL(snm_cmd("verify", "no run file given", &found), 2);
	CU_ASSERT_EQUAL(snm_cmd("compact /nonexistent.h5", "/nonexistent.h5", &found), 1);
	CU_ASSERT(found);
	free(config);
	snm_pipeline_free(pl);
}

/* snm compact loses nothing kept: best weights of a compact input or of the file replaced, a
 * destination holding another recording or no run at all (unless --force); a --keep-best pattern
 * matching nothing is an error; links and special files under a directory are passed over. */
static void test_compact_keeps(void)
{
	snm_pipeline *pl = tiny("r-keeps", 0), *run = NULL;
	char args[4096], c[1024], nb[1024], t[1024], saved[1024], d[1024], x[1024];
	snm_error e;
	int found;
	CU_ASSERT_PTR_NOT_NULL_FATAL(pl);
	path_in(c, sizeof c, "k/tiny/base/n4/set1.h5");
	path_in(saved, sizeof saved, "saved.h5");
	snprintf(args, sizeof args, "compact --out %s/k %s --keep-best 'tiny/*'", tmp, pl->runs[0].result_path);
	CU_ASSERT_EQUAL(snm_cmd(args, "best weights kept", &found), 0);
	CU_ASSERT_EQUAL_FATAL(has_group(c, "/best"), 1);
	/* in place, without --keep-best: the compact input kept them, so they stay */
	snprintf(args, sizeof args, "compact --out %s/k %s/k", tmp, tmp);
	CU_ASSERT_EQUAL(snm_cmd(args, "best weights kept: the compact input kept them", &found), 0);
	CU_ASSERT(found);
	CU_ASSERT_EQUAL(has_group(c, "/best"), 1);
	/* the full file again over the compact one that keeps them: kept */
	snprintf(args, sizeof args, "compact --out %s/k %s", tmp, pl->runs[0].result_path);
	CU_ASSERT_EQUAL(snm_cmd(args, "best weights kept: the file replaced kept them", &found), 0);
	CU_ASSERT(found);
	CU_ASSERT_EQUAL(has_group(c, "/best"), 1);
	CU_ASSERT_EQUAL_FATAL(snm_runfile_compact(c, saved, 1, &e), SNM_OK);
	/* a compact input without them does not replace one that keeps them */
	path_in(nb, sizeof nb, "nobest.h5");
	CU_ASSERT_EQUAL_FATAL(snm_runfile_compact(pl->runs[0].result_path, nb, 0, &e), SNM_OK);
	snprintf(args, sizeof args, "compact --out %s/k %s", tmp, nb);
	CU_ASSERT_EQUAL(snm_cmd(args, "already holds it, with best weights (left as it is)", &found), 0);
	CU_ASSERT(found);
	CU_ASSERT(snm_test_files_equal(c, saved));
	/* another recording of the run (a metric differs) is not replaced, but with --force */
	path_in(t, sizeof t, "other.h5");
	CU_ASSERT_EQUAL_FATAL(tampered_copy(nb, t, 1, NULL, NULL), SNM_OK);
	snprintf(args, sizeof args, "compact --out %s/k %s", tmp, t);
	CU_ASSERT_EQUAL(snm_cmd(args, "holds another recording of tiny/base/n4/set1 (largest difference "
	                        "test_at_best 0.25 at epoch 2", &found), 1);
	CU_ASSERT(found);
	CU_ASSERT(snm_test_files_equal(c, saved));
	/* --force replaces, but keeps what the same run to the same bits kept */
	snprintf(args, sizeof args, "compact --force --out %s/k %s", tmp, pl->runs[0].result_path);
	CU_ASSERT_EQUAL(snm_cmd(args, "best weights kept: the file replaced kept them", &found), 0);
	CU_ASSERT(found);
	CU_ASSERT_EQUAL(has_group(c, "/best"), 1);
	snprintf(args, sizeof args, "compact --force --out %s/k %s", tmp, t);
	CU_ASSERT_EQUAL(snm_cmd(args, "1 written, 0 failed", &found), 0);
	CU_ASSERT_EQUAL(has_group(c, "/best"), 0);
	/* a file that is no run, in the way */
	path_in(d, sizeof d, "junk/tiny/base/n4");
	CU_ASSERT_EQUAL_FATAL(snm_mkdirs(d, &e), SNM_OK);
	write_text("junk/tiny/base/n4/set1.h5", "not a run\n");
	snprintf(args, sizeof args, "compact --out %s/junk %s", tmp, nb);
	CU_ASSERT_EQUAL(snm_cmd(args, "is there and is no run file snm reads (", &found), 1);
	CU_ASSERT(found);
	CU_ASSERT_EQUAL(snm_cmd(args, "set1.h5: not an HDF5 file", &found), 1);     /* the reason, intact */
	CU_ASSERT(found);
	/* a --keep-best pattern that matches no run of the files given: refused before any file is
	 * written (another pattern that matches does not let the file through) */
	snprintf(args, sizeof args, "compact --out %s/k2 %s --keep-best 'tiny/*' --keep-best 'tiny/base/n4/set[1'",
	         tmp, nb);
	CU_ASSERT_EQUAL(snm_cmd(args, "--keep-best 'tiny/base/n4/set[1' matches no run of the files given "
	                        "(nothing written)", &found), 1);
	CU_ASSERT(found);
	path_in(x, sizeof x, "k2");
	CU_ASSERT_NOT_EQUAL(access(x, F_OK), 0);
	/* --out under a file: the same error for both files, printed once and counted */
	write_text("outfile", "a file\n");
	snprintf(args, sizeof args, "compact --out %s/outfile/x %s %s", tmp, nb, t);
	CU_ASSERT_EQUAL(snm_cmd(args, "snm compact: the same error for 1 more file", &found), 1);
	CU_ASSERT(found);
	CU_ASSERT_EQUAL(snm_cmd(args, "cannot create directory", &found), 1);
	CU_ASSERT(found);
	/* under a directory: a link and a FIFO named *.h5 are passed over, not followed or read */
	path_in(d, sizeof d, "walk");
	CU_ASSERT_EQUAL_FATAL(snm_mkdirs(d, &e), SNM_OK);
	path_in(x, sizeof x, "walk/link.h5");
	CU_ASSERT_EQUAL(symlink(nb, x), 0);
	path_in(x, sizeof x, "walk/fifo.h5");
	CU_ASSERT_EQUAL(mkfifo(x, 0600), 0);
	snprintf(args, sizeof args, "compact --out %s/k3 %s/walk", tmp, tmp);
	CU_ASSERT_EQUAL(snm_cmd(args, "0 written, 0 failed, 0 unfinished passed over, 1 symbolic link passed "
	                        "over, 1 special file passed over", &found), 0);
	CU_ASSERT(found);
	/* a directory argument that is a link is walked (the links under it still are not) */
	path_in(d, sizeof d, "walk2/tiny/base/n4");
	CU_ASSERT_EQUAL_FATAL(snm_mkdirs(d, &e), SNM_OK);
	path_in(x, sizeof x, "walk2/tiny/base/n4/set1.h5");
	CU_ASSERT_EQUAL_FATAL(snm_runfile_compact(nb, x, 0, &e), SNM_OK);
	path_in(x, sizeof x, "walk2-link");
	path_in(d, sizeof d, "walk2");
	CU_ASSERT_EQUAL(symlink(d, x), 0);
	snprintf(args, sizeof args, "compact --out %s/k4 %s", tmp, x);
	CU_ASSERT_EQUAL(snm_cmd(args, "1 written, 0 failed", &found), 0);
	CU_ASSERT(found);
	CU_ASSERT_EQUAL(snm_cmd("compact --keep-best '' x.h5", "--keep-best needs a pattern", &found), 2);
	CU_ASSERT(found);
	/* a file larger than a run file may be is refused before a byte is read (a sparse 5 GiB) */
	path_in(x, sizeof x, "huge.h5");
	write_text("huge.h5", "");
	CU_ASSERT_EQUAL_FATAL(truncate(x, 5LL << 30), 0);
	snprintf(args, sizeof args, "compact --out %s/k5 %s", tmp, x);
	CU_ASSERT_EQUAL(snm_cmd(args, "huge.h5: larger than the 4294967296 bytes a run file may have", &found), 1);
	CU_ASSERT(found);
	unlink(x);
	/* verify refuses an unfinished run before retraining it */
	run = tiny("r-unfinished", 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(run);
	snprintf(args, sizeof args, "verify %s", run->runs[0].result_path);
	CU_ASSERT_EQUAL(snm_cmd(args, "status 'running': only a finished run is verified", &found), 1);
	CU_ASSERT(found);
	snm_pipeline_free(run);
	snm_pipeline_free(pl);
}

/* ---- one run in two pipelines --------------------------------------------------------------------- */

static void test_same_run_twice(void)
{
	char p[1024], text[2048];
	snm_pipeline *pl = NULL;
	snm_error e;
	snprintf(text, sizeof text, tiny_yaml, tmp, "r-twice");
	write_text("one.yaml", text);
	write_text("both.yaml", "include: [one.yaml, two.yaml]\n");
	/* the same run, written again in another file: one run */
	write_text("two.yaml", text);
	CU_ASSERT_EQUAL(snm_pipeline_load(path_in(p, sizeof p, "both.yaml"), NULL, &pl, &e), SNM_OK);
	CU_ASSERT_EQUAL(pl ? pl->n_runs : -1, 1);
	snm_pipeline_free(pl);
	/* the same key with another configuration: an error naming both places */
	snprintf(text, sizeof text, tiny_yaml, tmp, "r-twice");
	strstr(text, "lr: 0.01")[7] = '2';
	write_text("two.yaml", text);
	CU_ASSERT_EQUAL(snm_pipeline_load(path_in(p, sizeof p, "both.yaml"), NULL, &pl, &e), SNM_ECONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "different configurations"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "one.yaml"));
}

static int suite_init(void)
{
	return snm_test_tmpdir(tmp, sizeof tmp, "runfile") == NULL;
}

static int suite_clean(void)
{
	return snm_test_rmtree(tmp) != 0;
}

static CU_TestInfo tests[] = {
	{ "digest", test_digest },
	{ "compact", test_compact },
	{ "compact_refuses_running", test_compact_refuses_running },
	{ "compare_differences", test_compare_differences },
	{ "from_config", test_from_config },
	{ "commands", test_commands },
	{ "compact_keeps", test_compact_keeps },
	{ "same_run_twice", test_same_run_twice },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "runfile", suite_init, suite_clean, NULL, NULL, tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_runfile", suites);
}
