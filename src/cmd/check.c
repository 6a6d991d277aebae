/* check.c: `snm check`, a pipeline validated, one training step of each of its model and
 * regularizer pairs taken on a few examples (src/run/trystep.h; nothing written), and its runs
 * listed; the check of every selected run that `snm run` makes too before it starts
 * (snm_cmd_check_runs); the --only selection and the one error line the subcommands share. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/trainer.h"
#include "run/trystep.h"
#include "cmd.h"

int snm_cmd_fail(const snm_error *e)
{
	fprintf(stderr, "snm: %s\n", e->msg);
	return 1;
}

int snm_cmd_load(const cli *c, const char *path, snm_pipeline **out, snm_error *e)
{
	return snm_pipeline_load_set(path, c->plugin_path, c->n_sets, c->sets, out, e);
}

int snm_cmd_selected(const cli *c, const snm_run_spec *r)
{
	if (c->mask != NULL && !c->mask[r - c->mask_base])
		return 0;
	if (c->n_only == 0)
		return 1;
	for (int k = 0; k < c->n_only; ++k)
		if (fnmatch(c->only[k], r->key, 0) == 0)
			return 1;
	return 0;
}

int snm_cmd_no_match(const cli *c, const snm_pipeline *p, const char *path)
{
	for (int k = 0; k < c->n_only; ++k) {
		int hit = 0;
		for (int i = 0; i < p->n_runs && !hit; ++i)
			hit = (c->mask == NULL || c->mask[&p->runs[i] - c->mask_base])
			      && fnmatch(c->only[k], p->runs[i].key, 0) == 0;
		if (!hit) {
			fprintf(stderr, "snm: --only '%s' matches none of the %d runs of %s (`snm check %s` lists "
			        "them)\n", c->only[k], p->n_runs, path, path);
			return 1;
		}
	}
	return 0;
}

/* What a run's check depends on: its data section, per-class size, model, regularizer and train
 * section (not the set or the seed).  A new string, or NULL when out of memory. */
static char *check_signature(const snm_run_spec *r)
{
	char *m = snm_cfg_dump_alloc(r->model, NULL), *n = snm_cfg_dump_alloc(r->noise, NULL);
	char *t = snm_cfg_dump_alloc(r->train, NULL), *sig = NULL;
	if (m && n && t) {
		size_t len = strlen(r->data_key) + strlen(r->model_type) + strlen(m) + strlen(r->noise_type)
		             + strlen(n) + strlen(t) + 32;
		if ((sig = malloc(len)) != NULL)
			snprintf(sig, len, "%s|%d|%s %s|%s %s|%s", r->data_key, r->per_class, r->model_type, m,
			         r->noise_type, n, t);
	}
	free(m);
	free(n);
	free(t);
	return sig;
}

/* snm_run_check for every selected run (its dataset opened, the class sizes, the model and
 * regularizer created on the data's shape), once per distinct configuration (check_signature). */
int snm_cmd_check_runs(const cli *c, const snm_pipeline *p, snm_data_cache *cache, snm_error *e)
{
	char **seen = calloc((size_t)p->n_runs + 1, sizeof *seen);
	int n_seen = 0, rc = SNM_OK;
	if (seen == NULL)
		return SNM_FAIL(e, SNM_ENOMEM, "out of memory");
	for (int i = 0; i < p->n_runs && rc == SNM_OK; ++i) {
		char *sig;
		int dup = 0;
		if (!snm_cmd_selected(c, &p->runs[i]))
			continue;
		if ((sig = check_signature(&p->runs[i])) == NULL) {
			rc = SNM_FAIL(e, SNM_ENOMEM, "out of memory");
			break;
		}
		for (int k = 0; k < n_seen && !dup; ++k)
			dup = strcmp(seen[k], sig) == 0;
		if (dup) {
			free(sig);
			continue;
		}
		seen[n_seen++] = sig;
		rc = snm_run_check(&p->runs[i], c->plugin_path, cache, e);
	}
	for (int k = 0; k < n_seen; ++k)
		free(seen[k]);
	free(seen);
	return rc;
}

/* What a run's training step depends on: its data section, model and regularizer (not the
 * per-class size, the set, the seed or the train section).  A new string, or NULL. */
static char *step_signature(const snm_run_spec *r)
{
	char *m = snm_cfg_dump_alloc(r->model, NULL), *n = snm_cfg_dump_alloc(r->noise, NULL), *sig = NULL;
	if (m && n) {
		size_t len = strlen(r->data_key) + strlen(r->model_type) + strlen(m) + strlen(r->noise_type)
		             + strlen(n) + 16;
		if ((sig = malloc(len)) != NULL)
			snprintf(sig, len, "%s|%s %s|%s %s", r->data_key, r->model_type, m, r->noise_type, n);
	}
	free(m);
	free(n);
	return sig;
}

/* One training step (trystep.h) of each distinct model and regularizer pair of the selected runs,
 * on each dataset they train on; *pairs counts them. */
static int check_steps(const cli *c, const snm_pipeline *p, snm_data_cache *cache, int *pairs,
                       snm_error *e)
{
	char **seen = calloc((size_t)p->n_runs + 1, sizeof *seen);
	int rc = SNM_OK;
	*pairs = 0;
	if (seen == NULL)
		return SNM_FAIL(e, SNM_ENOMEM, "out of memory");
	for (int i = 0; i < p->n_runs && rc == SNM_OK; ++i) {
		char *sig;
		int dup = 0;
		if (!snm_cmd_selected(c, &p->runs[i]))
			continue;
		if ((sig = step_signature(&p->runs[i])) == NULL) {
			rc = SNM_FAIL(e, SNM_ENOMEM, "out of memory");
			break;
		}
		for (int k = 0; k < *pairs && !dup; ++k)
			dup = strcmp(seen[k], sig) == 0;
		if (dup) {
			free(sig);
			continue;
		}
		seen[(*pairs)++] = sig;
		rc = snm_run_try_step(&p->runs[i], c->plugin_path, cache, e);
	}
	for (int k = 0; k < *pairs; ++k)
		free(seen[k]);
	free(seen);
	return rc;
}

int snm_cmd_check(const cli *given, const char *path)
{
	cli cc = *given, *c = &cc;
	snm_pipeline *p;
	snm_data_cache cache = { given->plugin_path, 0, 0, NULL };
	snm_error e;
	unsigned char *mask = NULL;
	char note[4400] = "";
	int n = 0, pairs = 0, rc = 0;
	if (snm_cmd_load(c, path, &p, &e))
		return snm_cmd_fail(&e);
	if (snm_cmd_no_match(c, p, path)) {
		snm_pipeline_free(p);
		return 1;
	}
	if (snm_cmd_check_runs(c, p, &cache, &e) || check_steps(c, p, &cache, &pairs, &e)
	    || (c->shard_n > 0 && snm_cmd_shard(c, p, &cache, 0, &mask, note, sizeof note, &e))) {
		snm_data_cache_clear(&cache);
		snm_pipeline_free(p);
		free(mask);
		return snm_cmd_fail(&e);
	}
	for (int i = 0; i < p->n_runs; ++i)
		if (snm_cmd_selected(c, &p->runs[i])) {
			printf("%-48s %s\n", p->runs[i].key, p->runs[i].result_path);
			++n;
		}
	printf("%s: one training step of each of its %d model and regularizer pair%s on %d examples: ok\n",
	       path, pairs, pairs == 1 ? "" : "s", SNM_TRY_EXAMPLES);
	if (note[0] != '\0')
		printf("%s: --shard %d/%d: %d runs, %s\n", path, c->shard_k, c->shard_n, n, note);
	printf("%s: ok, %d runs\n", path, n);
	if (c->cost)
		rc = snm_cmd_cost(c, p, &cache);
	snm_data_cache_clear(&cache);
	snm_pipeline_free(p);
	free(mask);
	return rc;
}
