/* model.c: a trained network rebuilt from its run file, for the figures that look inside it
 * (see paper.h).
 *
 * The run is opened as the trainer opens it, by the same code (src/run/run.h): the root attribute
 * "config" (the run's effective configuration) becomes a one-run pipeline
 * (snm_pipeline_from_config), whose run has the recorded key and seeds; its dataset, training
 * subset, per-pixel mean, model and regularizer are made by snm_run_data, _subset, _mean and
 * _build, and /best is loaded over the parameters (the regularizer is created too because /best
 * holds its parameters, when it has any).  The subset is checked against the file's n_train and
 * seed_subset, so a change in how runs draw it shows up here as an error rather than as a
 * silently different picture.
 *
 * Perturbations of the latent space are the noise plugins' own (their perturb entry, ABI 1.1):
 * the plugin is created with the figure's options on the run's model, and z' is what its
 * objective would draw, in batches of the run's training batch size (so that statistics over a
 * batch, per_example: false, are over as many examples as in training).
 *
 * Inference runs on one tape with gradients and training mode off, in batches of at most 500. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "snm/ops.h"
#include "paper.h"
#include "snm/rng.h"
#include "run/run.h"
#include "run/store.h"

enum { BATCH = 500 };

struct snm_paper_model {
	char *path;
	int finished;
	snm_pipeline *pipeline;    /* the recorded configuration as a one-run pipeline */
	snm_run R;                 /* data, subset, mean, model and regularizer */
	snm_tape *tape;
	int zdim;
	long batch;                /* the run's training batch: the perturbations' batches */
	int32_t *labels;           /* the whole train split */
	float *x;                  /* BATCH inputs */
};

const snm_run *snm_paper_model_run(const snm_paper_model *m) { return &m->R; }
const snm_data_info *snm_paper_model_info(const snm_paper_model *m) { return &m->R.ds->info; }
int snm_paper_model_finished(const snm_paper_model *m) { return m->finished; }
int snm_paper_model_zdim(const snm_paper_model *m) { return m->zdim; }
const int32_t *snm_paper_model_labels(const snm_paper_model *m) { return m->labels; }
const float *snm_paper_model_mean(const snm_paper_model *m) { return m->R.mean; }

long snm_paper_model_subset(const snm_paper_model *m, const long **idx)
{
	*idx = m->R.subset;
	return m->R.n_sub;
}

void snm_paper_model_close(snm_paper_model *m)
{
	if (m == NULL)
		return;
	snm_run_close(&m->R);
	snm_pipeline_free(m->pipeline);
	snm_tape_free(m->tape);
	free(m->labels);
	free(m->x);
	free(m->path);
	free(m);
}

/* The run's training subset, checked against the file's recorded seed_subset and n_train. */
static int subset(snm_paper_model *m, int64_t n_train, int64_t seed_subset, snm_error *err)
{
	int rc = snm_run_subset(&m->R, err);
	if (rc)
		return snm_error_prefix(err, "%s", m->path);
	if (m->R.spec->per_class > 0 && (int64_t)(m->R.seeds[SNM_SEED_SUBSET] & INT64_MAX) != seed_subset)
		return SNM_FAIL(err, SNM_EIO, "%s: cannot recompute the training subset (its seed differs "
		                "from the recorded seed_subset)", m->path);
	if (m->R.n_sub != n_train)
		return SNM_FAIL(err, SNM_EIO, "%s: the recomputed training subset has %ld examples, the file says "
		                "n_train = %lld", m->path, m->R.n_sub, (long long)n_train);
	return SNM_OK;
}

/* The best weights over the parameters the model and the regularizer were created with. */
static int load_best(snm_paper_model *m, snm_error *err)
{
	const char *group = "/best";
	snm_params *groups[1] = { m->R.params };
	snm_store_run run = { 0, NULL, NULL, 0, NULL, NULL, NULL, 1, &group, groups, 0, NULL, NULL, 0, NULL, NULL };
	return snm_store_load(m->path, &run, NULL, err);
}

int snm_paper_model_read(snm_paper_model *m, const long *idx, long n, float *x, snm_error *err)
{
	int32_t y[BATCH];
	for (long s = 0; s < n; s += BATCH) {
		long b = n - s < BATCH ? n - s : BATCH;
		int rc = snm_run_examples(&m->R, SNM_SPLIT_TRAIN, idx + s, b, NULL, x + (size_t)s * m->R.dim, y, err);
		if (rc)
			return rc;
	}
	return SNM_OK;
}

/* n rows of inputs (minus the mean) of train-split examples idx in m->x, on the tape. */
static snm_tensor *input(snm_paper_model *m, const long *idx, long n, snm_error *err)
{
	const snm_data_info *in = &m->R.ds->info;
	int32_t y[BATCH];
	if (snm_run_inputs(&m->R, SNM_SPLIT_TRAIN, idx, n, NULL, m->x, y, err))
		return NULL;
	return snm_tape_const(m->tape, 4, (int[]){ (int)n, in->d[0], in->d[1], in->d[2] }, m->x);
}

int snm_paper_model_open(const char *path, const char *plugin_path, snm_paper_model **out, snm_error *err)
{
	const char *int_names[] = { "n_train", "seed_subset" };
	int64_t ints[2];
	char *status = NULL, *text = NULL;
	snm_paper_model *m;
	long n_train;
	int rc;
	*out = NULL;
	if ((m = calloc(1, sizeof *m)) == NULL || (m->path = strdup(path)) == NULL) {
		free(m);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	if ((rc = snm_store_get_str(path, "status", &status, err)) || (rc = snm_store_get_str(path, "config", &text, err)))
		goto done;
	m->finished = strcmp(status, "finished") == 0;
	for (int i = 0; i < 2; ++i)
		if ((rc = snm_store_get_int(path, int_names[i], &ints[i], err)))
			goto done;
	if ((rc = snm_pipeline_from_config(text, path, ".", plugin_path, &m->pipeline, err))
	    || (rc = snm_cfg_opt_int(m->pipeline->runs[0].train, snm_train_options, "batch", &m->batch, err))
	    || (rc = snm_run_data(&m->R, &m->pipeline->runs[0], plugin_path, NULL, err)))
		goto done;
	n_train = m->R.ds->info.n[SNM_SPLIT_TRAIN];
	m->labels = malloc((size_t)(n_train > 0 ? n_train : 1) * sizeof *m->labels);
	m->x = malloc((size_t)BATCH * m->R.dim * sizeof *m->x);
	m->tape = snm_tape_new(0, err);
	if (!m->labels || !m->x || !m->tape) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		goto done;
	}
	snm_tape_set_grad(m->tape, 0);
	snm_tape_set_training(m->tape, 0);
	if ((rc = m->R.ds->vt->labels(m->R.ds->state, SNM_SPLIT_TRAIN, m->labels, err))
	    || (rc = subset(m, ints[0], ints[1], err))
	    || (rc = snm_run_mean(&m->R, BATCH, err))
	    || (rc = snm_run_build(&m->R, path, err))
	    || (rc = load_best(m, err)))
		goto done;
	if (m->R.n_sub < 1) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: the run has no training examples", path);
		goto done;
	}
	{
		snm_tensor *x, *z;
		snm_tape_reset(m->tape);
		if ((x = input(m, m->R.subset, 1, err)) == NULL) {
			rc = err ? err->code : SNM_EIO;
			goto done;
		}
		if ((z = m->R.model.vt->encode(m->R.model.state, m->tape, x, NULL, NULL, NULL)) == NULL) {
			rc = snm_tape_error(m->tape, err);
			goto done;
		}
		m->zdim = (int)snm_tensor_cols(z);
		snm_tape_reset(m->tape);
	}
done:
	free(status);
	free(text);
	if (rc)
		snm_paper_model_close(m);
	else
		*out = m;
	return rc;
}

int snm_paper_model_encode(snm_paper_model *m, const long *idx, long n, float *z, snm_error *err)
{
	for (long s = 0; s < n; s += BATCH) {
		long b = n - s < BATCH ? n - s : BATCH;
		snm_tensor *x, *zt;
		snm_tape_reset(m->tape);
		if ((x = input(m, idx + s, b, err)) == NULL)
			return err ? err->code : SNM_EIO;
		zt = m->R.model.vt->encode(m->R.model.state, m->tape, x, NULL, NULL, NULL);
		if (zt == NULL)
			return snm_tape_error(m->tape, err);
		memcpy(z + (size_t)s * m->zdim, zt->x, (size_t)b * m->zdim * sizeof *z);
	}
	snm_tape_reset(m->tape);
	return SNM_OK;
}

int snm_paper_model_classify(snm_paper_model *m, const float *z, long n, int32_t *pred, snm_error *err)
{
	for (long s = 0; s < n; s += BATCH) {
		long b = n - s < BATCH ? n - s : BATCH;
		snm_tensor *y;
		int K;
		snm_tape_reset(m->tape);
		y = m->R.model.vt->classify(m->R.model.state, m->tape,
		                            snm_tape_const(m->tape, 2, (int[]){ (int)b, m->zdim }, z + (size_t)s * m->zdim));
		if (y == NULL)
			return snm_tape_error(m->tape, err);
		K = (int)snm_tensor_cols(y);
		for (long i = 0; i < b; ++i)
			pred[s + i] = snm_argmax(y->x + (size_t)i * K, K);
	}
	snm_tape_reset(m->tape);
	return SNM_OK;
}

/* ---- perturbations ---------------------------------------------------------------------------- */

void snm_paper_perturb_close(snm_paper_perturb *p)
{
	if (p == NULL)
		return;
	if (p->state != NULL)
		p->vt->destroy(p->state);
	snm_plugin_close(&p->h);
	snm_params_free(p->params);
	free(p);
}

int snm_paper_perturb_open(snm_paper_model *m, const char *type, const snm_cfg *opts, snm_paper_perturb **out,
                           snm_error *err)
{
	snm_paper_perturb *p = calloc(1, sizeof *p);
	snm_cfg *none = NULL;
	gsl_rng *init = NULL;
	int rc;
	*out = NULL;
	if (p == NULL || (p->params = snm_params_new(err)) == NULL || (init = snm_rng_new(1, err)) == NULL
	    || (opts == NULL && (opts = none = snm_cfg_new(SNM_CFG_MAP, NULL, NULL, 0, 0, err)) == NULL)) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = snm_plugin_find(m->R.plugin_path, SNM_KIND_NOISE, type, &p->h, err)))
		goto done;
	p->vt = p->h.p->vtable;
	if ((p->perturb = snm_noise_perturb(p->vt)) == NULL) {
		rc = SNM_FAIL(err, SNM_EPLUGIN, "noise '%s' (%s) has no perturb entry: it perturbs no latent "
		              "vector", type, p->h.path);
		goto done;
	}
	p->model = &m->R.model;
	if ((rc = p->vt->create(opts, p->model, p->params, init, &p->state, err))) {
		p->state = NULL;
		if (strstr(err ? err->msg : "", "noise '") == NULL)
			snm_error_prefix(err, "noise '%s'", type);
	}
done:
	gsl_rng_free(init);
	snm_cfg_free(none);
	if (rc)
		snm_paper_perturb_close(p);
	else
		*out = p;
	return rc;
}

int snm_paper_model_perturb(snm_paper_model *m, const snm_paper_perturb *p, const float *z, long n, gsl_rng *rng,
                            float *zp, snm_error *err)
{
	long batch = m->batch;
	for (long s = 0; s < n; s += batch) {
		long b = n - s < batch ? n - s : batch;
		snm_tensor *out;
		snm_tape_reset(m->tape);
		out = p->perturb(p->state, p->model, m->tape,
		                 snm_tape_const(m->tape, 2, (int[]){ (int)b, m->zdim }, z + (size_t)s * m->zdim), rng);
		if (out == NULL)
			return snm_tape_error(m->tape, err);
		memcpy(zp + (size_t)s * m->zdim, out->x, (size_t)b * m->zdim * sizeof *zp);
	}
	snm_tape_reset(m->tape);
	return SNM_OK;
}

int snm_paper_model_decode(snm_paper_model *m, const float *z, long n, float *x, snm_error *err)
{
	const snm_data_info *in = &m->R.ds->info;
	for (long s = 0; s < n; s += BATCH) {
		long b = n - s < BATCH ? n - s : BATCH;
		snm_tensor *xr;
		snm_tape_reset(m->tape);
		xr = m->R.model.vt->decode_z(m->R.model.state, m->tape,
		                           snm_tape_const(m->tape, 2, (int[]){ (int)b, m->zdim }, z + (size_t)s * m->zdim),
		                           NULL);
		if (xr == NULL)
			return snm_tape_error(m->tape, err);
		if (snm_tensor_len(xr) != (size_t)b * m->R.dim) {
			snm_tape_reset(m->tape);
			return SNM_FAIL(err, SNM_ESHAPE, "%s: decode_z gives %zu values per example, the data %d x %d x %d",
			                m->path, snm_tensor_cols(xr), in->d[0], in->d[1], in->d[2]);
		}
		for (long i = 0; i < b; ++i)
			for (size_t j = 0; j < m->R.dim; ++j) {
				float v = xr->x[(size_t)i * m->R.dim + j] + m->R.mean[j];
				x[(size_t)(s + i) * m->R.dim + j] = v < 0 ? 0 : v > 1 ? 1 : v;
			}
	}
	snm_tape_reset(m->tape);
	return SNM_OK;
}
