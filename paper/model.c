/* model.c: a trained network rebuilt from its run file, for the figures that look inside it
 * (see paper.h).
 *
 * From the file: the root attribute "config" (the run's effective configuration, canonical YAML)
 * names the data, model and noise plugins with their options; the stored sections include the
 * `type` key, which plugins do not accept, so it is dropped as src/run/pipeline.c does.  The model and
 * the noise plugin are created (the noise plugin only because /best holds its parameters too, when
 * it has any) and /best is loaded over their initial values.
 *
 * The training subset is recomputed as src/run/trainer.c draws it: per class, the indices of the
 * train split with that label, shuffled by gsl_ran_shuffle with the "subset" stream seeded by
 * (master seed, "<data section>/n<per_class>/set<set>"), the first per_class of each class, sorted.
 * The result is checked against the file's n_train and seed_subset, so a change in the trainer
 * shows up here as an error rather than as a silently different picture.  The per-pixel mean is
 * then summed over the subset in the same order and precision as the trainer's (double sums of
 * the float inputs, one float division), so the network sees exactly the inputs it was trained on.
 *
 * Inference runs on one tape with gradients and training mode off, in batches of at most 500. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "snm/ops.h"
#include "paper.h"
#include "snm/rng.h"
#include "run/dataset.h"
#include "run/store.h"
#include "run/subset.h"

enum { BATCH = 500 };

struct snm_paper_model {
	char *path;
	int finished;
	snm_cfg *config;
	snm_cfg *data_opts;        /* the data plugin's options (kept while it is open) */
	snm_data_cache cache;
	snm_data_source *ds;
	snm_plugin_handle mh, nh;
	snm_model model;
	const snm_noise_vt *nvt;
	void *noise;
	snm_params *params;
	snm_tape *tape;
	size_t dim;
	int zdim;
	int32_t *labels;           /* the whole train split */
	long *subset, n_sub;
	float *mean;
	float *x;                  /* BATCH inputs */
};

const snm_data_info *snm_paper_model_info(const snm_paper_model *m) { return &m->ds->info; }
int snm_paper_model_finished(const snm_paper_model *m) { return m->finished; }
int snm_paper_model_zdim(const snm_paper_model *m) { return m->zdim; }
const int32_t *snm_paper_model_labels(const snm_paper_model *m) { return m->labels; }
const float *snm_paper_model_mean(const snm_paper_model *m) { return m->mean; }

long snm_paper_model_subset(const snm_paper_model *m, const long **idx)
{
	*idx = m->subset;
	return m->n_sub;
}

void snm_paper_model_close(snm_paper_model *m)
{
	if (m == NULL)
		return;
	if (m->noise != NULL)
		m->nvt->destroy(m->noise);
	if (m->model.state != NULL)
		m->model.vt->destroy(m->model.state);
	snm_plugin_close(&m->nh);
	snm_plugin_close(&m->mh);
	snm_params_free(m->params);
	snm_tape_free(m->tape);
	snm_data_cache_clear(&m->cache);
	snm_cfg_free(m->data_opts);
	snm_cfg_free(m->config);
	free(m->labels);
	free(m->subset);
	free(m->mean);
	free(m->x);
	free(m->path);
	free(m);
}

/* The section without its `type` key (the plugin's options), as src/run/pipeline.c makes them. */
static snm_cfg *without_type(const snm_cfg *sec, snm_error *err)
{
	snm_cfg *m = snm_cfg_new(SNM_CFG_MAP, NULL, snm_cfg_file(sec), snm_cfg_line(sec), snm_cfg_col(sec), err);
	for (size_t i = 0; m != NULL && i < snm_cfg_len(sec); ++i) {
		snm_cfg *v;
		if (strcmp(snm_cfg_key_at(sec, i), "type") == 0)
			continue;
		v = snm_cfg_value_at(sec, i) ? snm_cfg_dup(snm_cfg_value_at(sec, i), err)
		                             : snm_cfg_new(SNM_CFG_NULL, NULL, NULL, 0, 0, err);
		if (v == NULL || snm_cfg_map_set(m, snm_cfg_key_at(sec, i), v, err) != SNM_OK) {
			snm_cfg_free(v);
			snm_cfg_free(m);
			return NULL;
		}
	}
	return m;
}

/* The `type` of a recorded section, checked. */
static int section(const snm_paper_model *m, const char *name, const snm_cfg **sec, const char **type,
                   snm_error *err)
{
	*sec = snm_cfg_get(m->config, name);
	*type = snm_cfg_text(snm_cfg_get(*sec, "type"));
	if (snm_cfg_kind(*sec) != SNM_CFG_MAP || *type == NULL)
		return SNM_FAIL(err, SNM_EIO, "%s: the recorded config has no %s section with a type", m->path, name);
	return SNM_OK;
}

/* The run's training subset, drawn as the trainer draws it (snm_subset_choose), checked against
 * the file's recorded seed_subset and n_train. */
static int subset(snm_paper_model *m, const snm_cfg *data_sec, uint64_t master, long per_class, long set,
                  int64_t n_train, int64_t seed_subset, snm_error *err)
{
	long n = m->ds->info.n[SNM_SPLIT_TRAIN];
	uint64_t seed = 0;
	int rc;
	m->subset = malloc((size_t)(n > 0 ? n : 1) * sizeof *m->subset);
	if (m->subset == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	if (per_class > 0) {
		char *sec = snm_cfg_dump_alloc(data_sec, err);
		if (sec == NULL)
			return SNM_ENOMEM;
		seed = snm_subset_seed(master, sec, (int)per_class, (int)set);
		free(sec);
		if ((int64_t)(seed & INT64_MAX) != seed_subset)
			return SNM_FAIL(err, SNM_EIO, "%s: cannot recompute the training subset (its seed differs "
			                "from the recorded seed_subset)", m->path);
	}
	rc = snm_subset_choose(m->labels, n, m->ds->info.n_classes, (int)per_class, seed, m->subset, &m->n_sub, err);
	if (rc)
		return snm_error_prefix(err, "%s", m->path);
	if (m->n_sub != n_train)
		return SNM_FAIL(err, SNM_EIO, "%s: the recomputed training subset has %ld examples, the file says "
		                "n_train = %lld", m->path, m->n_sub, (long long)n_train);
	return SNM_OK;
}

int snm_paper_model_read(snm_paper_model *m, const long *idx, long n, float *x, snm_error *err)
{
	int32_t y[BATCH];
	for (long s = 0; s < n; s += BATCH) {
		long b = n - s < BATCH ? n - s : BATCH;
		int rc = m->ds->vt->read(m->ds->state, SNM_SPLIT_TRAIN, idx + s, (int)b, NULL, x + (size_t)s * m->dim,
		                         y, err);
		if (rc)
			return rc;
	}
	return SNM_OK;
}

static int compute_mean(snm_paper_model *m, snm_error *err)
{
	double *acc = calloc(m->dim, sizeof *acc);
	int rc = SNM_OK;
	if (acc == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	for (long s = 0; s < m->n_sub && rc == SNM_OK; s += BATCH) {
		long b = m->n_sub - s < BATCH ? m->n_sub - s : BATCH;
		rc = snm_paper_model_read(m, m->subset + s, b, m->x, err);
		for (long i = 0; rc == SNM_OK && i < b; ++i)
			for (size_t j = 0; j < m->dim; ++j)
				acc[j] += m->x[(size_t)i * m->dim + j];
	}
	for (size_t j = 0; j < m->dim; ++j)
		m->mean[j] = (float)(acc[j] / (double)m->n_sub);
	free(acc);
	return rc;
}

/* Creates the model and noise plugins from their recorded sections and loads /best. */
static int build(snm_paper_model *m, const char *plugin_path, snm_error *err)
{
	const snm_cfg *msec, *nsec;
	const char *mtype, *ntype, *group = "/best";
	snm_cfg *mo = NULL, *no = NULL;
	gsl_rng *init = NULL;
	snm_params *groups[1];
	snm_store_run run;
	int rc;
	if ((rc = section(m, "model", &msec, &mtype, err)) || (rc = section(m, "noise", &nsec, &ntype, err)))
		return rc;
	mo = without_type(msec, err);
	no = without_type(nsec, err);
	m->params = snm_params_new(err);
	init = snm_rng_new(1, err);
	if (mo == NULL || no == NULL || m->params == NULL || init == NULL) {
		rc = err ? err->code : SNM_ENOMEM;
		goto done;
	}
	if ((rc = snm_plugin_find(plugin_path, SNM_KIND_MODEL, mtype, &m->mh, err)))
		goto done;
	m->model.vt = m->mh.p->vtable;
	if ((rc = m->model.vt->create(mo, &m->ds->info, m->params, init, &m->model.state, err))) {
		m->model.state = NULL;
		snm_error_prefix(err, "%s: model '%s'", m->path, mtype);
		goto done;
	}
	if ((rc = snm_plugin_find(plugin_path, SNM_KIND_NOISE, ntype, &m->nh, err)))
		goto done;
	m->nvt = m->nh.p->vtable;
	if ((rc = m->nvt->create(no, &m->model, m->params, init, &m->noise, err))) {
		m->noise = NULL;
		snm_error_prefix(err, "%s: noise '%s'", m->path, ntype);
		goto done;
	}
	groups[0] = m->params;
	run = (snm_store_run){ 0, NULL, NULL, 0, NULL, NULL, NULL, 1, &group, groups, 0, NULL, NULL };
	rc = snm_store_load(m->path, &run, NULL, err);
done:
	snm_cfg_free(mo);
	snm_cfg_free(no);
	gsl_rng_free(init);
	return rc;
}

int snm_paper_model_open(const char *path, const char *plugin_path, snm_paper_model **out, snm_error *err)
{
	const char *int_names[] = { "master_seed", "per_class", "set", "n_train", "seed_subset" };
	int64_t ints[5];
	const snm_cfg *dsec;
	const char *dtype;
	char *status = NULL, *text = NULL, *dkey = NULL;
	snm_paper_model *m;
	int rc;
	*out = NULL;
	if ((m = calloc(1, sizeof *m)) == NULL || (m->path = strdup(path)) == NULL) {
		free(m);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	m->cache.plugin_path = plugin_path;
	if ((rc = snm_store_get_str(path, "status", &status, err)) || (rc = snm_store_get_str(path, "config", &text, err)))
		goto done;
	m->finished = strcmp(status, "finished") == 0;
	for (int i = 0; i < 5; ++i)
		if ((rc = snm_store_get_int(path, int_names[i], &ints[i], err)))
			goto done;
	if ((rc = snm_cfg_parse(text, strlen(text), path, &m->config, err)))
		goto done;
	if ((rc = section(m, "data", &dsec, &dtype, err)))
		goto done;
	if ((m->data_opts = without_type(dsec, err)) == NULL || (dkey = snm_cfg_dump_alloc(dsec, err)) == NULL) {
		rc = err ? err->code : SNM_ENOMEM;
		goto done;
	}
	if ((rc = snm_data_cache_get(&m->cache, dtype, m->data_opts, dkey, &m->ds, err)))
		goto done;
	m->dim = (size_t)m->ds->info.d[0] * (size_t)m->ds->info.d[1] * (size_t)m->ds->info.d[2];
	m->labels = malloc((size_t)(m->ds->info.n[SNM_SPLIT_TRAIN] > 0 ? m->ds->info.n[SNM_SPLIT_TRAIN] : 1)
	                   * sizeof *m->labels);
	m->mean = malloc(m->dim * sizeof *m->mean);
	m->x = malloc((size_t)BATCH * m->dim * sizeof *m->x);
	m->tape = snm_tape_new(0, err);
	if (!m->labels || !m->mean || !m->x || !m->tape) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		goto done;
	}
	snm_tape_set_grad(m->tape, 0);
	snm_tape_set_training(m->tape, 0);
	if ((rc = m->ds->vt->labels(m->ds->state, SNM_SPLIT_TRAIN, m->labels, err))
	    || (rc = subset(m, dsec, (uint64_t)ints[0], (long)ints[1], (long)ints[2], ints[3], ints[4], err))
	    || (rc = compute_mean(m, err))
	    || (rc = build(m, plugin_path, err)))
		goto done;
	if (m->n_sub < 1) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: the run has no training examples", path);
		goto done;
	}
	{
		snm_tensor *z;
		snm_tape_reset(m->tape);
		if ((rc = snm_paper_model_read(m, m->subset, 1, m->x, err)))
			goto done;
		for (size_t j = 0; j < m->dim; ++j)
			m->x[j] -= m->mean[j];
		z = m->model.vt->encode(m->model.state, m->tape,
		                        snm_tape_const(m->tape, 4, (int[]){ 1, m->ds->info.d[0], m->ds->info.d[1],
		                                       m->ds->info.d[2] }, m->x), NULL, NULL, NULL);
		if (z == NULL) {
			rc = snm_tape_error(m->tape, err);
			goto done;
		}
		m->zdim = (int)snm_tensor_cols(z);
		snm_tape_reset(m->tape);
	}
done:
	free(dkey);
	free(status);
	free(text);
	if (rc)
		snm_paper_model_close(m);
	else
		*out = m;
	return rc;
}

/* x rows of inputs minus the mean, on the tape. */
static snm_tensor *input(snm_paper_model *m, long n)
{
	const snm_data_info *in = &m->ds->info;
	for (long i = 0; i < n; ++i)
		for (size_t j = 0; j < m->dim; ++j)
			m->x[(size_t)i * m->dim + j] -= m->mean[j];
	return snm_tape_const(m->tape, 4, (int[]){ (int)n, in->d[0], in->d[1], in->d[2] }, m->x);
}

int snm_paper_model_encode(snm_paper_model *m, const long *idx, long n, float *z, snm_error *err)
{
	for (long s = 0; s < n; s += BATCH) {
		long b = n - s < BATCH ? n - s : BATCH;
		snm_tensor *zt;
		int rc;
		snm_tape_reset(m->tape);
		if ((rc = snm_paper_model_read(m, idx + s, b, m->x, err)))
			return rc;
		zt = m->model.vt->encode(m->model.state, m->tape, input(m, b), NULL, NULL, NULL);
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
		y = m->model.vt->classify(m->model.state, m->tape,
		                          snm_tape_const(m->tape, 2, (int[]){ (int)b, m->zdim }, z + (size_t)s * m->zdim));
		if (y == NULL)
			return snm_tape_error(m->tape, err);
		K = (int)snm_tensor_cols(y);
		for (long i = 0; i < b; ++i) {
			const float *yi = y->x + (size_t)i * K;
			int best = 0;
			for (int k = 1; k < K; ++k)
				if (yi[k] > yi[best])
					best = k;
			pred[s + i] = best;
		}
	}
	snm_tape_reset(m->tape);
	return SNM_OK;
}

/* mmn(v) = descale(scale(v) + N(0, sd^2)) per example. */
static snm_tensor *minmax_noise(snm_tape *t, snm_tensor *v, double sd, gsl_rng *rng)
{
	snm_tensor *st = snm_minmax_stats(t, v, 1);
	return snm_minmax_descale(t, snm_gauss_noise(t, snm_minmax_scale(t, v, st), (float)sd, rng), st);
}

int snm_paper_model_perturb(snm_paper_model *m, const float *z, long n, int kind, double sd, gsl_rng *rng,
                            float *zp, snm_error *err)
{
	if (kind != SNM_PAPER_RANDOM && kind != SNM_PAPER_SEMANTIC)
		return SNM_FAIL(err, SNM_EINVAL, "perturb: unknown kind %d", kind);
	for (long s = 0; s < n; s += BATCH) {
		long b = n - s < BATCH ? n - s : BATCH;
		snm_tensor *zt, *out;
		snm_tape_reset(m->tape);
		zt = snm_tape_const(m->tape, 2, (int[]){ (int)b, m->zdim }, z + (size_t)s * m->zdim);
		if (kind == SNM_PAPER_RANDOM) {
			out = minmax_noise(m->tape, zt, sd, rng);
		} else {
			const snm_model_vt *vt = m->model.vt;
			snm_tensor *y = vt->classify(m->model.state, m->tape, zt);
			snm_tensor *zr = vt->decode_y(m->model.state, m->tape, y);
			snm_tensor *zr2 = vt->decode_y(m->model.state, m->tape, minmax_noise(m->tape, y, sd, rng));
			out = snm_add(m->tape, zt, snm_sub(m->tape, zr2, zr));
		}
		if (out == NULL)
			return snm_tape_error(m->tape, err);
		memcpy(zp + (size_t)s * m->zdim, out->x, (size_t)b * m->zdim * sizeof *zp);
	}
	snm_tape_reset(m->tape);
	return SNM_OK;
}

int snm_paper_model_decode(snm_paper_model *m, const float *z, long n, float *x, snm_error *err)
{
	const snm_data_info *in = &m->ds->info;
	for (long s = 0; s < n; s += BATCH) {
		long b = n - s < BATCH ? n - s : BATCH;
		snm_tensor *xr;
		snm_tape_reset(m->tape);
		xr = m->model.vt->decode_z(m->model.state, m->tape,
		                           snm_tape_const(m->tape, 2, (int[]){ (int)b, m->zdim }, z + (size_t)s * m->zdim),
		                           NULL);
		if (xr == NULL)
			return snm_tape_error(m->tape, err);
		if (snm_tensor_len(xr) != (size_t)b * m->dim) {
			snm_tape_reset(m->tape);
			return SNM_FAIL(err, SNM_ESHAPE, "%s: decode_z gives %zu values per example, the data %d x %d x %d",
			                m->path, snm_tensor_cols(xr), in->d[0], in->d[1], in->d[2]);
		}
		for (long i = 0; i < b; ++i)
			for (size_t j = 0; j < m->dim; ++j) {
				float v = xr->x[(size_t)i * m->dim + j] + m->mean[j];
				x[(size_t)(s + i) * m->dim + j] = v < 0 ? 0 : v > 1 ? 1 : v;
			}
	}
	snm_tape_reset(m->tape);
	return SNM_OK;
}
