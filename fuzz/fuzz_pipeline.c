/* fuzz_pipeline.c: libFuzzer harness of the pipeline loader (src/run/pipeline.c): the input is a
 * pipeline and the pipelines it may include.
 *
 * The input is cut at each line "#%%" (FUZZ_SEP below, a YAML comment, so that every piece is
 * YAML by itself) into up to three files, p0.yaml, p1.yaml and p2.yaml in the scratch directory;
 * a piece the input lacks is no file.  snm_pipeline_load reads p0.yaml, which may include the
 * others (`include: [p1.yaml]`), itself, or files that are not there.  The plugins are the
 * build's own (FUZZ_PLUGIN_PATH, from fuzz/local.mk), so sections are checked against the real
 * option tables; they are loaded once at start (fuzz_preload_plugins).
 *
 * A failure must be one line.  A loaded pipeline must give runs whose recorded configuration
 * rebuilds them: snm_pipeline_from_config (what `snm verify` and the paper stage do with a run
 * file's `config` attribute) on the config_text of each of its first runs must give the same key,
 * text and hash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/pipeline.h"
#include "fuzz.h"

#ifndef FUZZ_PLUGIN_PATH
#error "FUZZ_PLUGIN_PATH: the build's plugin directories, colon-separated (fuzz/local.mk)"
#endif

#define FUZZ_SEP "\n#%%\n"
#define N_FILES 3
#define CHECK_RUNS 8          /* runs of a loaded pipeline rebuilt from their recorded config */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_preload_plugins(FUZZ_PLUGIN_PATH);
	(void)fuzz_dir();
	return 0;
}

static void check_rebuild(const snm_run_spec *r)
{
	snm_pipeline *q = NULL;
	snm_error e;
	snm_error_clear(&e);
	if (snm_pipeline_from_config(r->config_text, "recorded", "results", FUZZ_PLUGIN_PATH, &q, &e)
	    != SNM_OK)
		fuzz_die("run '%s': its recorded config does not rebuild it: %s", r->key, e.msg);
	if (q->n_runs != 1 || strcmp(q->runs[0].key, r->key) != 0
	    || strcmp(q->runs[0].config_text, r->config_text) != 0
	    || q->runs[0].config_hash != r->config_hash)
		fuzz_die("run '%s': its recorded config rebuilds another run ('%s')", r->key,
		         q->n_runs > 0 ? q->runs[0].key : "none");
	snm_pipeline_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_part part[N_FILES];
	char path[N_FILES][1024];
	snm_pipeline *p = (snm_pipeline *)&p;   /* must become NULL on failure */
	snm_error e;
	size_t n = fuzz_split(data, size, FUZZ_SEP, part, N_FILES);
	int rc;
	for (size_t k = 0; k < N_FILES; ++k) {
		char name[16];
		snprintf(name, sizeof name, "p%zu.yaml", k);
		fuzz_path(path[k], sizeof path[k], name);
		if (k < n)
			fuzz_write(path[k], part[k].data, part[k].size);
		else
			fuzz_unlink(path[k]);
	}
	snm_error_clear(&e);
	rc = snm_pipeline_load(path[0], FUZZ_PLUGIN_PATH, &p, &e);
	fuzz_check_error(rc, &e, "snm_pipeline_load");
	if (rc != SNM_OK) {
		if (p != NULL)
			fuzz_die("snm_pipeline_load failed but left a pipeline");
		return 0;
	}
	if (p->n_runs < 1)
		fuzz_die("a loaded pipeline without runs");
	for (int i = 0; i < p->n_runs && i < CHECK_RUNS; ++i)
		check_rebuild(&p->runs[i]);
	snm_pipeline_free(p);
	return 0;
}
