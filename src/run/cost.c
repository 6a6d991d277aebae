/* cost.c: snm's cost model (cost.h) -- runs' shapes, the calibration and its cache, the schedules
 * made from the estimates, and the time left that `snm status` prints. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/blas.h"
#include "snm/rng.h"
#include "cost.h"
#include "fs.h"
#include "identity.h"
#include "run.h"
#include "trainer.h"
#include "trystep.h"

#define REPS 5                    /* timed steps and evaluation batches per calibration */

/* ---- shapes ------------------------------------------------------------------------------------ */

int snm_cost_epoch_of(const snm_run_spec *r, const char *plugin_path, snm_data_cache *cache,
                      snm_cost_shape *out, snm_error *err)
{
	long epochs = 1, batch = 100, eval_batch = 100, ub = 100, tmax = 10000, steps = 0, n_train, n_sub;
	long n_u, refit;
	const char *mode = "labelled", *bn = "running";
	snm_run R;
	int rc;
	memset(out, 0, sizeof *out);
	if ((rc = snm_cfg_opt_int(r->train, snm_train_options, "epochs", &epochs, err))
	    || (rc = snm_cfg_opt_int(r->train, snm_train_options, "batch", &batch, err))
	    || (rc = snm_cfg_opt_int(r->train, snm_train_options, "eval_batch", &eval_batch, err))
	    || (rc = snm_cfg_opt_int(r->train, snm_train_options, "unlabelled_batch", &ub, err))
	    || (rc = snm_cfg_opt_int(r->train, snm_train_options, "train_eval_max", &tmax, err))
	    || (rc = snm_cfg_opt_str(r->train, snm_train_options, "epoch", &mode, err))
	    || (rc = snm_cfg_opt_int(r->train, snm_train_options, "steps", &steps, err))
	    || (rc = snm_cfg_opt_str(r->train, snm_train_options, "bn_stats", &bn, err)))
		return rc;
	if ((rc = snm_run_data(&R, r, plugin_path, cache, err)))
		return rc;
	n_train = R.ds->info.n[SNM_SPLIT_TRAIN];
	n_sub = r->per_class > 0 ? (long)r->per_class * R.ds->info.n_classes : n_train;
	if (n_sub > n_train)
		n_sub = n_train;
	out->epochs = epochs;
	out->batch = batch;
	out->unlabelled_batch = ub;
	out->eval_batch = eval_batch;
	out->unlabelled_epoch = strcmp(mode, "unlabelled") == 0;
	n_u = r->per_class > 0 ? n_train - n_sub : n_train;
	if (steps > 0)
		out->steps = steps;
	else if (out->unlabelled_epoch)
		out->steps = (n_u + ub - 1) / ub;
	else
		out->steps = (n_sub + batch - 1) / batch;
	/* train.bn_stats: the re-estimation's forward pass over whole batches, counted as evaluation */
	refit = strcmp(bn, "labelled") == 0 ? (n_sub < batch ? n_sub : n_sub / batch * batch)
	      : strcmp(bn, "unlabelled") == 0 ? (n_u < ub ? n_u : n_u / ub * ub) : 0;
	out->evaluated = (double)(n_sub < tmax ? n_sub : tmax) + (double)R.ds->info.n[SNM_SPLIT_VALID]
	                 + fmin(1.0, 2.0 / sqrt((double)(epochs > 0 ? epochs : 1)))
	                   * (double)R.ds->info.n[SNM_SPLIT_TEST] + (double)refit;
	out->work = 3.0 * (double)out->steps * (double)(batch + (out->unlabelled_epoch ? ub : 0))
	            + out->evaluated;
	snm_run_close(&R);
	return SNM_OK;
}

int snm_cost_shape_of(const snm_run_spec *r, const char *plugin_path, snm_data_cache *cache,
                      snm_cost_shape *out, snm_error *err)
{
	const char *mode;
	snm_identity id;
	char *m = NULL, *n = NULL, *text, *cut;
	size_t len;
	int rc;
	memset(out, 0, sizeof *out);
	if ((rc = snm_identity_find(r, plugin_path, &id, err)))
		return rc;
	if ((rc = snm_cost_epoch_of(r, plugin_path, cache, out, err)))
		return rc;
	mode = out->unlabelled_epoch ? "unlabelled" : "labelled";
	m = snm_cfg_dump_alloc(r->model, NULL);
	n = snm_cfg_dump_alloc(r->noise, NULL);
	if (m == NULL || n == NULL) {
		free(m);
		free(n);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	len = strlen(r->data_key) + strlen(m) + strlen(n) + strlen(id.plugins) + strlen(id.libsnm) + 160;
	if ((text = malloc(len)) == NULL) {
		free(m);
		free(n);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	snprintf(text, len, "%s|%s %s|%s %s|batch %ld unlabelled %ld %s|%s|%s", r->data_key, r->model_type, m,
	         r->noise_type, n, out->batch, out->unlabelled_batch, mode, id.plugins, id.libsnm);
	out->step_sig = snm_seed_derive(0, "cost step", text);
	/* the evaluation runs the data and the model alone: the noise plugin's hash is left out */
	if ((cut = strstr(id.plugins, "; noise ")) != NULL)
		*cut = '\0';
	snprintf(text, len, "%s|%s %s|eval_batch %ld|%s|%s", r->data_key, r->model_type, m, out->eval_batch,
	         id.plugins, id.libsnm);
	out->eval_sig = snm_seed_derive(0, "cost eval", text);
	snprintf(out->label, sizeof out->label, "data %s, model %s, noise %s, batch %ld, eval_batch %ld",
	         r->data_type, r->model_type, r->noise_type, out->batch, out->eval_batch);
	free(text);
	free(m);
	free(n);
	return SNM_OK;
}

/* ---- the cache ----------------------------------------------------------------------------------- */

/* "<model name>, <n> processors, OpenBLAS <kernel>" of this machine. */
static void machine_text(char *buf, size_t size)
{
	char line[512], model[256] = "unknown processor";
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
			colon += 1 + (colon[1] == ' ');
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(model, sizeof model, "%s", colon);
			break;
		}
	}
	if (f != NULL)
		fclose(f);
	snprintf(buf, size, "%.150s, %ld processors, OpenBLAS %.40s", model, sysconf(_SC_NPROCESSORS_ONLN),
	         snm_blas_corename());
}

static void cache_path(char *buf, size_t size)
{
	const char *env = getenv("SNM_COST_CACHE"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (env != NULL && env[0] != '\0')
		snprintf(buf, size, "%s", env);
	else if (xdg != NULL && xdg[0] == '/')
		snprintf(buf, size, "%s/snm/cost", xdg);
	else
		snprintf(buf, size, "%s/.cache/snm/cost", home != NULL && home[0] != '\0' ? home : ".");
}

static int add(snm_cost_cache *c, const snm_cost_entry *e, snm_error *err)
{
	if (c->n == c->cap) {
		int cap = c->cap ? 2 * c->cap : 64;
		snm_cost_entry *p = realloc(c->e, (size_t)cap * sizeof *p);
		if (p == NULL)
			return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		c->e = p;
		c->cap = cap;
	}
	c->e[c->n++] = *e;
	return SNM_OK;
}

int snm_cost_cache_open(snm_cost_cache *c, snm_error *err)
{
	char line[512], hex[65] = "unknown";
	const char *lib = snm_libsnm_path();
	FILE *f;
	int no = 0, rc = SNM_OK;
	memset(c, 0, sizeof *c);
	cache_path(c->path, sizeof c->path);
	machine_text(c->machine_text, sizeof c->machine_text);
	c->machine = snm_seed_derive(0, "cost machine", c->machine_text);
	if (lib != NULL && snm_file_sha256(lib, hex, NULL) != SNM_OK)
		snprintf(hex, sizeof hex, "unknown");
	c->build = snm_seed_derive(0, "cost build", hex);
	if ((f = fopen(c->path, "r")) == NULL) {
		if (errno == ENOENT)
			return SNM_OK;
		return SNM_FAIL(err, SNM_EIO, "%s: cannot read: %s", c->path, strerror(errno));
	}
	while (rc == SNM_OK && fgets(line, sizeof line, f) != NULL) {
		snm_cost_entry e;
		int used = 0;
		++no;
		if (no == 1 && strcmp(line, "snm-cost 1\n") == 0)
			continue;
		memset(&e, 0, sizeof e);
		line[strcspn(line, "\n")] = '\0';
		if (no == 1 || sscanf(line, "%c %" SCNx64 " %" SCNx64 " %d %" SCNx64 " %lf %n", &e.kind, &e.machine,
		                      &e.build, &e.threads, &e.sig, &e.seconds, &used) != 6
		    || (e.kind != 's' && e.kind != 'e') || !(e.seconds >= 0) || e.threads < 1) {
			rc = SNM_FAIL(err, SNM_EIO, "%s:%d: not a cost entry (delete the file to calibrate anew)",
			              c->path, no);
			break;
		}
		snprintf(e.label, sizeof e.label, "%s", line + used);
		rc = add(c, &e, err);
	}
	fclose(f);
	if (rc != SNM_OK)
		snm_cost_cache_free(c);
	return rc;
}

int snm_cost_cache_save(snm_cost_cache *c, snm_error *err)
{
	char tmp[4400];
	FILE *f;
	int rc, ok;
	if (!c->dirty)
		return SNM_OK;
	if ((rc = snm_mkparents(c->path, err)))
		return rc;
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", c->path, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL)
		return SNM_FAIL(err, SNM_EIO, "%s: cannot write: %s", tmp, strerror(errno));
	fprintf(f, "snm-cost 1\n");
	for (int i = 0; i < c->n; ++i)
		fprintf(f, "%c %016" PRIx64 " %016" PRIx64 " %d %016" PRIx64 " %.6g %s\n", c->e[i].kind,
		        c->e[i].machine, c->e[i].build, c->e[i].threads, c->e[i].sig, c->e[i].seconds,
		        c->e[i].label);
	ok = !ferror(f);
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, c->path) != 0) {
		int e = errno;
		unlink(tmp);
		return SNM_FAIL(err, SNM_EIO, "%s: cannot write: %s", c->path, strerror(e));
	}
	c->dirty = 0;
	return SNM_OK;
}

void snm_cost_cache_free(snm_cost_cache *c)
{
	free(c->e);
	c->e = NULL;
	c->n = c->cap = 0;
}

/* The entry of this machine and build, else NULL. */
static const snm_cost_entry *find(const snm_cost_cache *c, char kind, uint64_t sig, int threads)
{
	for (int i = c->n - 1; i >= 0; --i) {
		const snm_cost_entry *e = &c->e[i];
		if (e->kind == kind && e->sig == sig && e->threads == threads && e->machine == c->machine
		    && e->build == c->build)
			return e;
	}
	return NULL;
}

double snm_cost_seconds(const snm_cost_cache *c, const snm_cost_shape *s, int threads)
{
	const snm_cost_entry *step = find(c, 's', s->step_sig, threads), *eval = find(c, 'e', s->eval_sig, threads);
	if (step == NULL || eval == NULL)
		return NAN;
	return (double)s->epochs * ((double)s->steps * step->seconds + s->evaluated * eval->seconds);
}

int snm_cost_calibrate(snm_cost_cache *c, const snm_run_spec *r, const snm_cost_shape *s,
                       const char *plugin_path, snm_data_cache *cache, int threads, int *measured,
                       snm_error *err)
{
	snm_step_timing t;
	snm_cost_entry e;
	int rc, have_s = find(c, 's', s->step_sig, threads) != NULL, have_e = find(c, 'e', s->eval_sig, threads) != NULL;
	*measured = 0;
	if (have_s && have_e)
		return SNM_OK;
	if ((rc = snm_run_time_step(r, plugin_path, cache, REPS, &t, err)))
		return rc;
	*measured = 1;
	memset(&e, 0, sizeof e);
	e.machine = c->machine;
	e.build = c->build;
	e.threads = threads;
	if (!have_s) {
		e.kind = 's';
		e.sig = s->step_sig;
		e.seconds = t.step;
		snprintf(e.label, sizeof e.label, "%s", s->label);
		if ((rc = add(c, &e, err)))
			return rc;
	}
	if (!have_e) {
		e.kind = 'e';
		e.sig = s->eval_sig;
		e.seconds = t.eval;
		snprintf(e.label, sizeof e.label, "%s", s->label);
		if ((rc = add(c, &e, err)))
			return rc;
	}
	c->dirty = 1;
	return SNM_OK;
}

int snm_cost_pipeline(const snm_pipeline *p, const unsigned char *sel, const char *plugin_path,
                      snm_data_cache *cache, int threads, int calibrate, snm_cost_cache *c,
                      double *seconds, int *n_measured, snm_error *err)
{
	int rc = SNM_OK, count = 0;
	for (int i = 0; i < p->n_runs; ++i)
		seconds[i] = NAN;
	for (int i = 0; i < p->n_runs && rc == SNM_OK; ++i) {
		snm_cost_shape s;
		int measured = 0;
		if (sel != NULL && !sel[i])
			continue;
		if ((rc = snm_cost_shape_of(&p->runs[i], plugin_path, cache, &s, err)))
			break;
		if (calibrate && (rc = snm_cost_calibrate(c, &p->runs[i], &s, plugin_path, cache, threads,
		                                          &measured, err)))
			break;
		count += measured;
		seconds[i] = snm_cost_seconds(c, &s, threads);
	}
	if (rc == SNM_OK && calibrate)
		rc = snm_cost_cache_save(c, err);
	if (n_measured != NULL)
		*n_measured = count;
	return rc;
}

/* ---- schedules ------------------------------------------------------------------------------------ */

static const double *sort_cost;     /* snm_cost_order's keys, for qsort */

static double key(double v)
{
	return isnan(v) ? 0.0 : v;
}

static int by_cost(const void *a, const void *b)
{
	int i = *(const int *)a, j = *(const int *)b;
	double x = key(sort_cost[i]), y = key(sort_cost[j]);
	if (x != y)
		return x > y ? -1 : 1;
	return (i > j) - (i < j);
}

void snm_cost_order(const double *cost, int n, int *order)
{
	for (int i = 0; i < n; ++i)
		order[i] = i;
	sort_cost = cost;
	qsort(order, (size_t)n, sizeof *order, by_cost);
	sort_cost = NULL;
}

double snm_cost_lpt(const double *cost, int n, int workers, int *worker_of)
{
	int *order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
	double *load = calloc((size_t)(workers > 0 ? workers : 1), sizeof *load), span = 0;
	if (order == NULL || load == NULL || workers < 1) {
		free(order);
		free(load);
		return NAN;
	}
	snm_cost_order(cost, n, order);
	for (int k = 0; k < n; ++k) {
		int w = 0;
		for (int v = 1; v < workers; ++v)
			if (load[v] < load[w])
				w = v;
		load[w] += key(cost[order[k]]);
		if (worker_of != NULL)
			worker_of[order[k]] = w;
	}
	for (int w = 0; w < workers; ++w)
		span = load[w] > span ? load[w] : span;
	free(order);
	free(load);
	return span;
}

double snm_cost_round_robin(const double *cost, int n, int workers, int *worker_of)
{
	double *load = calloc((size_t)(workers > 0 ? workers : 1), sizeof *load), span = 0;
	if (load == NULL || workers < 1) {
		free(load);
		return NAN;
	}
	for (int i = 0; i < n; ++i) {
		load[i % workers] += key(cost[i]);
		if (worker_of != NULL)
			worker_of[i] = i % workers;
	}
	for (int w = 0; w < workers; ++w)
		span = load[w] > span ? load[w] : span;
	free(load);
	return span;
}

/* ---- the time left ---------------------------------------------------------------------------- */

static int same_row(const snm_run_spec *a, const snm_run_spec *b)
{
	size_t n = snm_run_row_len(a);
	return n == snm_run_row_len(b) && strncmp(a->key, b->key, n) == 0;
}

static int measured(const snm_run_state *st)
{
	return st->timed > 0 && st->threads > 0
	       && (st->state == SNM_STATE_FINISHED || st->state == SNM_STATE_RUNNING
	           || st->state == SNM_STATE_RESUMABLE);
}

/* May run j's measured epochs price run i's under tier (cost.h's order)? */
static int comparable(const snm_run_spec *q, const snm_run_spec *r, int tier, int scalable)
{
	switch (tier) {
	case 0: return q->per_class == r->per_class && same_row(q, r);
	case 1: return scalable && q->per_class != r->per_class && same_row(q, r);
	case 2: return q->per_class == r->per_class;
	default: return 1;
	}
}

void snm_run_estimate(const snm_pipeline *p, const snm_run_state *st, const double *model,
                      const double *work, int threads, const unsigned char *sel, snm_estimate *out)
{
	memset(out, 0, sizeof *out);
	for (int i = 0; i < p->n_runs; ++i)
		out->measured += measured(&st[i]);
	for (int i = 0; i < p->n_runs; ++i) {
		const snm_run_spec *r = &p->runs[i];
		int left = st[i].epochs - st[i].epochs_done;
		int known = work != NULL && isfinite(work[i]) && work[i] > 0;
		if (sel != NULL && !sel[i])
			continue;
		if (st[i].state != SNM_STATE_NOT_STARTED && st[i].state != SNM_STATE_RESUMABLE
		    && st[i].state != SNM_STATE_RUNNING)
			continue;
		if (left <= 0)
			continue;
		out->runs++;
		out->epochs += left;
		if (model != NULL && isfinite(model[i]) && st[i].epochs > 0) {
			out->core_seconds += model[i] * threads * left / (double)st[i].epochs;
			out->by_model++;
			continue;
		}
		for (int tier = 0; tier < 4; ++tier) {
			double core = 0;
			long epochs = 0;
			int scaled = 0;
			for (int j = 0; j < p->n_runs; ++j) {
				double f = 1;
				int wj;
				if (!measured(&st[j]) || !comparable(&p->runs[j], r, tier, known))
					continue;
				wj = known && isfinite(work[j]) && work[j] > 0;
				if (tier == 1 && !wj)
					continue;        /* another size whose work is unknown: not comparable */
				if (wj && work[j] != work[i]) {
					f = work[i] / work[j];
					scaled = 1;
				}
				core += st[j].typical * st[j].timed * st[j].threads * f;
				epochs += st[j].timed;
			}
			if (epochs > 0) {
				out->core_seconds += left * core / (double)epochs;
				out->by[tier]++;
				out->scaled += scaled;
				break;
			}
			if (tier == 3)
				out->unmeasured++;
		}
	}
}
