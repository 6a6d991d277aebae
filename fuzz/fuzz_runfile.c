/* fuzz_runfile.c: libFuzzer harness of the run-file readers: the store (src/run/store.c), the
 * runner's result reader (snm_run_read_result), the paper stage's (snm_paper_read_result) and
 * snm status's (snm_run_state_read).
 * These read files that others committed or sent, or that a disk damaged.
 *
 * The input is the bytes of a run file.  The harness writes them to
 * "<scratch>/results/fz/e/n1/set1.h5" (the place of run fz/e/n1/set1, the run key of the seeds,
 * so that the paper stage's check of a file's key against its path passes for them), seals it
 * anew (prepare(): the readers behind the seal are what is fuzzed), and calls every public
 * reader on it in the order snm does:
 * the quick attribute reads (check_existing, snm verify, the paper stage), all attributes (snm
 * compact), the metrics, the groups, the all-or-nothing load of a resume into registries of the
 * file's own shapes, the runner's and the paper stage's result readers, and `snm status`'s
 * snm_run_state_read against the seeds' pipeline.  Each failure must be one line; a load that
 * succeeds must give exactly what the whole-file reads gave; the paper stage's and the status
 * readers fail only for lack of memory and give anything else as a state, with a reason of one
 * line; and no HDF5 identifier stays open after the reads, whatever failed.  libhdf5 itself is not
 * instrumented: the sanitizers see its faults only where it crashes or calls an intercepted
 * function (memcpy, malloc), and libFuzzer's -timeout sees its hangs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hdf5.h>
#include <gsl/gsl_rng.h>
#include "run/pipeline.h"
#include "run/state.h"
#include "run/store.h"
#include "run/trainer.h"
#include "paper/paper.h"
#include "fuzz.h"

#ifndef FUZZ_PLUGIN_PATH
#error "FUZZ_PLUGIN_PATH: the build's plugin directories, colon-separated (fuzz/local.mk)"
#endif

#define RUN_FILE "results/fz/e/n1/set1.h5"
/* The pipeline of the seeds' run (fuzz/seeds.sh), for snm_run_state_read: a file of its
 * configuration reads as that run's, finished or resumable; another one as refused. */
static const char pipeline_text[] =
	"name: fz\nseed: 1\nresults: %s/results\ndefaults:\n"
	"  data: {type: synthetic, classes: 2, per_class: 4, size: 4}\n"
	"  model: {type: convnet, preset: custom, layers: [{fc: 3}]}\n"
	"  noise: {type: none}\n"
	"  train: {epochs: 2, batch: 4, lr: 0.01, eval_batch: 4}\n"
	"grid: {per_class: [1], sets: 1}\nexperiments:\n  - name: e\n";
static snm_pipeline *pipe_fz;
#define N_GROUPS 4
#define N_RNG 4

static const char *const group_path[N_GROUPS] = { "/checkpoint/params", "/checkpoint/adam_m",
                                                   "/checkpoint/adam_v", "/best" };
static const char *const rng_name[N_RNG] = { "order", "augment", "noise", "unlabelled" };
static gsl_rng *rng[N_RNG];
static char path[1024];

/* The kinds of HDF5 identifier the store opens, and how many of each there are between calls
 * (the library's own: predefined types, default property lists). */
static const H5I_type_t id_type[] = { H5I_FILE, H5I_GROUP, H5I_DATATYPE, H5I_DATASPACE, H5I_DATASET,
                                      H5I_ATTR, H5I_GENPROP_LST };
#define N_ID_TYPES (sizeof id_type / sizeof *id_type)
static hsize_t id_base[N_ID_TYPES];

static void count_ids(hsize_t *n)
{
	for (size_t k = 0; k < N_ID_TYPES; ++k)
		if (H5Inmembers(id_type[k], &n[k]) < 0)
			n[k] = 0;   /* a kind HDF5 has not set up yet: none */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);   /* the store switches it off per call; this is all */
	/* HDF5 keeps the blocks it frees for reuse, but by default gives them back past 1 MiB, and
	 * every file open callocs about that much (its metadata cache): fresh pages, zeroed, for
	 * each of the dozen opens of an input.  No limit: the blocks are reused, at 2-3 times the
	 * inputs per second.  The store's behaviour does not depend on it. */
	H5set_free_list_limits(-1, -1, -1, -1, -1, -1);
	for (int i = 0; i < N_RNG; ++i)
		if ((rng[i] = gsl_rng_alloc(gsl_rng_mt19937)) == NULL)
			fuzz_die("out of memory");
	fuzz_path(path, sizeof path, RUN_FILE);
	/* The readers' child process (src/run/probe.h) reads each file first, as it does for every
	 * user: libhdf5 crashing or hanging on an input is then the one-line error the harness
	 * checks, not the harness's death.  Its time is kept below libFuzzer's -timeout (1 s).
	 * FUZZ_PROBE_MS=0 fuzzes libhdf5 in-process (fuzz/known/ lists what that finds). */
	{
		const char *ms = getenv("FUZZ_PROBE_MS");
		snm_store_set_probe(ms != NULL ? atoi(ms) : 300);
	}
	fuzz_preload_plugins(FUZZ_PLUGIN_PATH);
	{
		char text[sizeof pipeline_text + 1024], yaml[1024];
		snm_error e;
		snprintf(text, sizeof text, pipeline_text, fuzz_dir());
		fuzz_write(fuzz_path(yaml, sizeof yaml, "fz.yaml"), (const uint8_t *)text, strlen(text));
		if (snm_pipeline_load(yaml, FUZZ_PLUGIN_PATH, &pipe_fz, &e) != SNM_OK)
			fuzz_die("the seeds' pipeline does not load: %s", e.msg);
		if (strcmp(pipe_fz->runs[0].result_path, path) != 0)
			fuzz_die("the seeds' run is at %s, not %s", pipe_fz->runs[0].result_path, path);
	}
	H5open();
	count_ids(id_base);
	return 0;
}

/* The file as the readers get it.
 *
 * SEALING.  A run file of format 2 starts with a 512-byte seal, the SHA-256 of the rest, checked
 * before libhdf5 sees a byte (src/run/seal.h): against it nearly every mutated input stops at the
 * check, which the tests cover (tests/test_store's damaged_bytes).  This harness fuzzes the
 * readers behind the seal, as a forged file reaches them: whatever the input's first 512 bytes,
 * snm_store_seal writes a matching seal over them (the format-2 seeds are run files with 512
 * bytes of room in front).  Except a format-1 file (HDF5's signature first: snm before the seal),
 * which the readers still take without a seal: it is read as it is. */
static void prepare(const char *file, const uint8_t *data, size_t size)
{
	static const unsigned char hdf5[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
	snm_error e;
	if (size > 512 && memcmp(data, hdf5, sizeof hdf5) != 0 && snm_store_seal(file, &e) != SNM_OK)
		fuzz_die("cannot seal %s: %s", file, e.msg);
}

static void quick_reads(void)
{
	/* a string, an integer read as a string, a missing one; an integer, a string read as one
	 * (every open reads format and format_version too; snm_store_read_attrs reads the rest) */
	static const char *const str_names[] = { "status", "epoch", "no_such_attribute" };
	static const char *const int_names[] = { "threads", "status" };
	snm_store_attrs a;
	snm_metrics *sums = NULL;
	snm_error e;
	int rc, has;
	for (size_t i = 0; i < sizeof str_names / sizeof *str_names; ++i) {
		char *s = (char *)&s;
		snm_error_clear(&e);
		rc = snm_store_get_str(path, str_names[i], &s, &e);
		fuzz_check_error(rc, &e, "snm_store_get_str");
		if ((rc == SNM_OK) != (s != NULL))
			fuzz_die("snm_store_get_str returned %s with%s a string", snm_strerror(rc), s ? "" : "out");
		free(s);
	}
	for (size_t i = 0; i < sizeof int_names / sizeof *int_names; ++i) {
		int64_t v;
		snm_error_clear(&e);
		fuzz_check_error(snm_store_get_int(path, int_names[i], &v, &e), &e, "snm_store_get_int");
	}
	snm_error_clear(&e);
	rc = snm_store_read_attrs(path, &a, &e);
	fuzz_check_error(rc, &e, "snm_store_read_attrs");
	if (rc == SNM_OK) {
		for (int i = 0; i < a.n_str; ++i)
			if (a.str_names[i] == NULL || a.str_values[i] == NULL)
				fuzz_die("snm_store_read_attrs gave a NULL string");
		snm_store_attrs_free(&a);
	}
	snm_error_clear(&e);
	fuzz_check_error(snm_store_has_group(path, "/best", &has, &e), &e, "snm_store_has_group");
	snm_error_clear(&e);
	rc = snm_store_read_table(path, "/checkpoint/partial/sums", &sums, &e);   /* a mid-epoch checkpoint's */
	fuzz_check_error(rc, &e, "snm_store_read_table");
	snm_metrics_free(sums);
}

/* A copy of the values of every entry of p (for comparing after a load). */
static float *values(const snm_params *p, size_t *n)
{
	float *v, *w;
	*n = 0;
	for (int i = 0; i < snm_params_count(p); ++i)
		*n += snm_tensor_len(snm_params_at(p, i));
	if ((v = malloc((*n + 1) * sizeof *v)) == NULL)
		fuzz_die("out of memory");
	w = v;
	for (int i = 0; i < snm_params_count(p); ++i) {
		const snm_tensor *t = snm_params_at(p, i);
		memcpy(w, t->x, snm_tensor_len(t) * sizeof *w);
		w += snm_tensor_len(t);
	}
	return v;
}

/* A resume's load (the trainer's) when the file has a checkpoint, else the paper stage's load of
 * /best, into registries made from the file itself; both must give what the whole-file reads
 * gave. */
static void loads(void)
{
	const char *int_names[3] = { "epoch", "step", "best_epoch" };
	int64_t ints[3];
	snm_params *g[N_GROUPS] = { NULL, NULL, NULL, NULL };
	snm_metrics *m = NULL;
	float *before[N_GROUPS] = { NULL, NULL, NULL, NULL };
	size_t len[N_GROUPS] = { 0, 0, 0, 0 };
	snm_error e;
	int have = 0, rc;
	snm_error_clear(&e);
	rc = snm_store_read_metrics(path, &m, &e);
	fuzz_check_error(rc, &e, "snm_store_read_metrics");
	for (int k = 0; k < N_GROUPS; ++k) {
		snm_error_clear(&e);
		rc = snm_store_read_group(path, group_path[k], &g[k], &e);
		fuzz_check_error(rc, &e, "snm_store_read_group");
		if (rc == SNM_OK) {
			before[k] = values(g[k], &len[k]);
			++have;
		}
	}
	if (have == N_GROUPS && m != NULL) {
		size_t rows = snm_metrics_rows(m);
		snm_store_run run = { 0, NULL, NULL, 3, int_names, NULL, m, N_GROUPS, group_path, g,
		                      N_RNG, rng_name, rng, 0, NULL, NULL };
		snm_error_clear(&e);
		rc = snm_store_load(path, &run, ints, &e);
		fuzz_check_error(rc, &e, "snm_store_load (resume)");
		if (rc == SNM_OK && snm_metrics_rows(m) != rows)
			fuzz_die("snm_store_load read %zu metric rows, snm_store_read_metrics %zu",
			         snm_metrics_rows(m), rows);
	} else if (g[3] != NULL) {
		snm_store_run run = { 0, NULL, NULL, 0, NULL, NULL, NULL, 1, &group_path[3], &g[3],
		                      0, NULL, NULL, 0, NULL, NULL };
		snm_error_clear(&e);
		rc = snm_store_load(path, &run, NULL, &e);
		fuzz_check_error(rc, &e, "snm_store_load (best)");
	}
	for (int k = 0; k < N_GROUPS; ++k) {
		if (g[k] != NULL) {
			size_t n;
			float *after = values(g[k], &n);
			if (n != len[k] || memcmp(after, before[k], n * sizeof *after) != 0)
				fuzz_die("snm_store_load changed group %s: it reads otherwise than "
				         "snm_store_read_group", group_path[k]);
			free(after);
		}
		free(before[k]);
		snm_params_free(g[k]);
	}
	snm_metrics_free(m);
}

static void result_reads(void)
{
	snm_run_result res;
	snm_paper_result r;
	snm_error e;
	int rc;
	snm_error_clear(&e);
	fuzz_check_error(snm_run_read_result(path, &res, &e), &e, "snm_run_read_result");
	snm_error_clear(&e);
	rc = snm_paper_read_result(path, 1, &r, &e);
	fuzz_check_error(rc, &e, "snm_paper_read_result");
	if (rc != SNM_OK && rc != SNM_ENOMEM)
		fuzz_die("snm_paper_read_result failed (%s) for a bad file", e.msg);
	if (rc == SNM_OK && r.state == SNM_PAPER_ABSENT)
		fuzz_die("snm_paper_read_result: the file is absent");
	if (rc == SNM_OK && r.state == SNM_PAPER_UNREADABLE
	    && (r.why[0] == '\0' || strpbrk(r.why, "\r\n") != NULL))
		fuzz_die("snm_paper_read_result: unreadable without a reason of one line: \"%s\"", r.why);
	snm_metrics_free(r.metrics);
	{
		snm_run_state st;
		snm_error_clear(&e);
		rc = snm_run_state_read(&pipe_fz->runs[0], FUZZ_PLUGIN_PATH, path, &st, &e);
		fuzz_check_error(rc, &e, "snm_run_state_read");
		if (rc != SNM_OK && rc != SNM_ENOMEM)
			fuzz_die("snm_run_state_read failed (%s) for a bad file", e.msg);
		if (rc == SNM_OK && (st.state < 0 || st.state >= SNM_N_STATES))
			fuzz_die("snm_run_state_read: state %d", st.state);
		if (rc == SNM_OK && (st.state == SNM_STATE_FAILED || st.state == SNM_STATE_REFUSED)
		    && (st.why[0] == '\0' || strpbrk(st.why, "\r\n") != NULL))
			fuzz_die("snm_run_state_read: %s without a reason of one line: \"%s\"",
			         snm_state_name(st.state), st.why);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_write(path, data, size);
	prepare(path, data, size);
	quick_reads();
	loads();
	result_reads();
	{
		/* store.c: "closes every hid_t it opened on every path" */
		hsize_t n[N_ID_TYPES];
		count_ids(n);
		for (size_t k = 0; k < N_ID_TYPES; ++k)
			if (n[k] != id_base[k])
				fuzz_die("HDF5 identifiers of type %d: %llu open after the reads, %llu before",
				         (int)id_type[k], (unsigned long long)n[k],
				         (unsigned long long)id_base[k]);
	}
	return 0;
}
