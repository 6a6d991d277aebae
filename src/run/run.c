/* run.c: an opened run -- dataset, training subset, per-pixel mean, model and regularizer (see
 * run.h), for the trainer and the paper stage alike. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "snm/rng.h"
#include "run.h"
#include "subset.h"

int snm_run_data(snm_run *R, const snm_run_spec *spec, const char *plugin_path, snm_data_cache *cache,
                 snm_error *err)
{
	int rc;
	memset(R, 0, sizeof *R);
	R->spec = spec;
	R->plugin_path = plugin_path;
	R->own_cache.plugin_path = plugin_path;
	rc = snm_data_cache_get(cache ? cache : &R->own_cache, spec->data_type, spec->data, spec->data_key,
	                        &R->ds, err);
	if (rc == SNM_OK)
		R->dim = (size_t)R->ds->info.d[0] * (size_t)R->ds->info.d[1] * (size_t)R->ds->info.d[2];
	return rc;
}

int snm_run_subset(snm_run *R, snm_error *err)
{
	const snm_run_spec *r = R->spec;
	long n = R->ds->info.n[SNM_SPLIT_TRAIN];
	int32_t *lab = malloc((size_t)(n > 0 ? n : 1) * sizeof *lab);
	int rc;
	R->subset = malloc((size_t)(n > 0 ? n : 1) * sizeof *R->subset);
	if (lab == NULL || R->subset == NULL) {
		free(lab);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	if (r->per_class > 0)
		R->seeds[SNM_SEED_SUBSET] = snm_subset_seed(r->seed, r->data_key, r->per_class, r->set);
	rc = R->ds->vt->labels(R->ds->state, SNM_SPLIT_TRAIN, lab, err);
	if (rc == SNM_OK)
		rc = snm_subset_choose(lab, n, R->ds->info.n_classes, r->per_class, R->seeds[SNM_SEED_SUBSET],
		                       R->subset, &R->n_sub, err);
	free(lab);
	return rc;
}

int snm_run_mean(snm_run *R, long batch, snm_error *err)
{
	long rows = batch < R->n_sub ? batch : R->n_sub;     /* no batch is larger than the subset */
	double *acc = calloc(R->dim, sizeof *acc);
	float *x = malloc((size_t)(rows > 0 ? rows : 1) * R->dim * sizeof *x);
	int32_t *y = malloc((size_t)(rows > 0 ? rows : 1) * sizeof *y);
	int rc = SNM_OK;
	R->mean = malloc(R->dim * sizeof *R->mean);
	if (acc == NULL || x == NULL || y == NULL || R->mean == NULL) {
		free(acc);
		free(x);
		free(y);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	for (long s = 0; s < R->n_sub && rc == SNM_OK; s += batch) {
		long n = R->n_sub - s < batch ? R->n_sub - s : batch;
		rc = snm_run_examples(R, SNM_SPLIT_TRAIN, R->subset + s, n, NULL, x, y, err);
		for (long i = 0; rc == SNM_OK && i < n; ++i)
			for (size_t j = 0; j < R->dim; ++j)
				acc[j] += x[(size_t)i * R->dim + j];
	}
	for (size_t j = 0; j < R->dim; ++j)
		R->mean[j] = (float)(acc[j] / (double)R->n_sub);
	free(acc);
	free(x);
	free(y);
	return rc;
}

void snm_run_plugin_prefix(snm_error *err, const char *who, const char *kind, const char *name,
                           const snm_cfg *sec)
{
	char self[160];
	snprintf(self, sizeof self, "%s '%s'", kind, name);
	if (err == NULL)
		return;
	if (strstr(err->msg, self) != NULL)
		snm_error_prefix(err, "%s", who);
	else
		snm_error_prefix(err, "%s: %s", who, self);
	if (sec != NULL && snm_cfg_line(sec) > 0 && strstr(err->msg, snm_cfg_file(sec)) == NULL)
		snm_error_prefix(err, "%s:%d:%d", snm_cfg_file(sec), snm_cfg_line(sec), snm_cfg_col(sec));
}

/* A create method's failure as one line: a code outside SNM_E*, or no message, is said so. */
static int create_failed(int rc, snm_error *err)
{
	if (err != NULL && err->msg[0] == '\0')
		return SNM_FAIL(err, SNM_EPLUGIN, "create failed (returned %d) without saying why", rc);
	if (rc <= SNM_OK || rc >= SNM_E__COUNT) {
		if (err != NULL)
			err->code = SNM_EPLUGIN;
		return SNM_EPLUGIN;
	}
	return rc;
}

int snm_run_build(snm_run *R, const char *who, snm_error *err)
{
	const snm_run_spec *r = R->spec;
	gsl_rng *init;
	int rc;
	R->seeds[SNM_SEED_INIT] = snm_seed_derive(r->seed, "init", r->key);
	R->seeds[SNM_SEED_ORDER] = snm_seed_derive(r->seed, "order", r->key);
	R->seeds[SNM_SEED_NOISE] = snm_seed_derive(r->seed, "noise", r->key);
	if ((R->params = snm_params_new(err)) == NULL)
		return SNM_ENOMEM;
	if ((init = snm_rng_new(R->seeds[SNM_SEED_INIT], err)) == NULL)
		return SNM_ENOMEM;
	rc = snm_plugin_find(R->plugin_path, SNM_KIND_MODEL, r->model_type, &R->mh, err);
	if (!rc) {
		R->model.vt = R->mh.p->vtable;
		snm_error_clear(err);
		rc = R->model.vt->create(r->model, &R->ds->info, R->params, init, &R->model.state, err);
		R->n_model_params = snm_params_count(R->params);
		if (rc)
			rc = create_failed(rc, err);
		else if (R->model.state == NULL)      /* encode would be handed NULL: refused here */
			rc = SNM_FAIL(err, SNM_EPLUGIN, "create succeeded but left no state (NULL)");
		if (rc) {
			R->model.state = NULL;
			snm_run_plugin_prefix(err, who, "model", R->mh.p->name, r->model);
		}
	}
	if (!rc)
		rc = snm_plugin_find(R->plugin_path, SNM_KIND_NOISE, r->noise_type, &R->nh, err);
	if (!rc) {
		R->nvt = R->nh.p->vtable;
		snm_error_clear(err);
		rc = R->nvt->create(r->noise, &R->model, R->params, init, &R->noise, err);
		if (rc) {
			rc = create_failed(rc, err);
			R->noise = NULL;
			snm_run_plugin_prefix(err, who, "noise", R->nh.p->name, r->noise);
		}
	}
	gsl_rng_free(init);
	return rc;
}

int snm_run_open(snm_run *R, const snm_run_spec *spec, const char *plugin_path, snm_data_cache *cache,
                 long batch, snm_error *err)
{
	int rc = snm_run_data(R, spec, plugin_path, cache, err);
	if (!rc)
		rc = snm_run_subset(R, err);
	if (!rc)
		rc = snm_run_mean(R, batch, err);
	if (!rc)
		rc = snm_run_build(R, spec->key, err);
	return rc;
}

void snm_run_close(snm_run *R)
{
	if (R->noise != NULL)
		R->nvt->destroy(R->noise);
	if (R->model.state != NULL)
		R->model.vt->destroy(R->model.state);
	snm_plugin_close(&R->nh);
	snm_plugin_close(&R->mh);
	snm_params_free(R->params);
	free(R->subset);
	free(R->mean);
	snm_data_cache_clear(&R->own_cache);
	memset(R, 0, sizeof *R);
}

int snm_run_examples(const snm_run *R, int split, const long *idx, long n, gsl_rng *aug, float *x,
                     int32_t *y, snm_error *err)
{
	return R->ds->vt->read(R->ds->state, split, idx, (int)n, aug, x, y, err);
}

int snm_run_inputs(const snm_run *R, int split, const long *idx, long n, gsl_rng *aug, float *x,
                   int32_t *y, snm_error *err)
{
	int rc = snm_run_examples(R, split, idx, n, aug, x, y, err);
	if (rc)
		return rc;
	for (long i = 0; i < n; ++i) {
		float *xi = x + (size_t)i * R->dim;
		for (size_t j = 0; j < R->dim; ++j)
			xi[j] -= R->mean[j];
	}
	return SNM_OK;
}

long snm_run_outside(const snm_run *R, long *out)
{
	long n = R->ds->info.n[SNM_SPLIT_TRAIN], k = 0;
	for (long i = 0, j = 0; i < n; ++i) {       /* the subset is sorted */
		if (j < R->n_sub && R->subset[j] == i) {
			++j;
			continue;
		}
		out[k++] = i;
	}
	return k;
}

int snm_argmax(const float *v, int K)
{
	int best = 0;
	for (int k = 1; k < K; ++k)
		if (v[k] > v[best])
			best = k;
	return best;
}
