/* trainer.c: trains one run deterministically, with per-epoch checkpoints and resume (see
 * trainer.h for the contract and the result file's contents). */
#include "config.h"
#include <gsl/gsl_randist.h>
#include <gsl/gsl_version.h>
#include <hdf5.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>
#include "core/blas.h"
#include "core/optim.h"
#include "snm/rng.h"
#include "cfgdiff.h"
#include "identity.h"
#include "store.h"
#include "steps.h"
#include "run.h"
#include "supersede.h"
#include "trainer.h"
#include "fs.h"
#include "lock.h"

enum { RNG_ORDER, RNG_AUGMENT, RNG_NOISE, RNG_UNLABELLED, N_RNG };
static const char *const rng_names[N_RNG] = { "order", "augment", "noise", "unlabelled" };

/* train.test: when the test error is measured besides at a new best validation error. */
enum { TEST_BEST, TEST_CHECKPOINTS, TEST_EVERY };

/* train.bn_stats: the batch-norm statistics evaluation uses (refit_stats below). */
enum { BN_RUNNING, BN_LABELLED, BN_UNLABELLED };

typedef struct trainer {
	const snm_run_spec *run;
	const snm_trainer_opts *o;
	snm_run R;                         /* data, subset, mean, model, regularizer (run.h) */
	long *pool, n_pool;                /* the unlabelled stream's examples (semi-supervised) */
	long batch_u;                      /* unlabelled examples per step; 0: supervised only */
	int epoch_unlabelled;              /* an epoch is one pass over the unlabelled stream */
	long epoch_steps;                  /* train.steps: steps per epoch (0: as epoch_unlabelled says) */
	int bn_stats;                      /* train.bn_stats: BN_RUNNING, BN_LABELLED, BN_UNLABELLED */
	long numerics;                     /* train.numerics: the tape's numeric version (snm/tape.h) */
	float *xu;                         /* batch_u unlabelled examples */
	long *idx_u;
	snm_params *best;
	snm_steps *steps;                  /* the updates of a step and their Adam states (steps.h) */
	snm_adam *adam;                    /* the run's own Adam state: the main update's (borrowed) */
	int test_mode;                     /* train.test: TEST_BEST, TEST_CHECKPOINTS, TEST_EVERY */
	double min_test;                   /* the least test error at a test epoch (not TEST_BEST) */
	double lr_decay;                   /* train.lr_decay: Keras's inverse-time decay per Adam state */
	snm_schedule sched;
	long epochs, batch, eval_batch, train_eval_max;
	gsl_rng *rng[N_RNG];
	snm_metrics *metrics;
	int n_terms;                       /* this epoch's regularizer terms, in the objective's order */
	const char *term_names[SNM_MAX_TERMS];
	snm_tape *tape;
	float *x;                          /* max(batch, eval_batch) examples */
	int32_t *y;
	long *idx;
	long *valid_idx, *test_idx;        /* 0..n-1 of each split */
	int epoch;                         /* epochs done */
	int stopped;                       /* opts->stop was seen before step stop_step of n_steps */
	long stop_step, n_steps;
	/* The state at the start of the epoch being trained -- the last whole epoch's checkpoint --
	 * which a mid-epoch checkpoint and a failed run's file keep as their whole-epoch one. */
	snm_params *at_params, *at_m, *at_v;
	int64_t at_steps;
	/* ... and the Adam states of a regularizer's updates besides the run's own (steps.h): update
	 * k's moments and step count (NULL, 0 for the main update and without updates) */
	snm_params *at_xm[SNM_MAX_UPDATES], *at_xv[SNM_MAX_UPDATES];
	int64_t at_xsteps[SNM_MAX_UPDATES];
	gsl_rng *at_rng[N_RNG];
	/* A mid-epoch checkpoint being resumed: steps of epoch epoch + 1 done (0: none), their
	 * running sums (one row: loss, loss.<term>..., seconds) */
	long carry_steps;
	snm_metrics *carry;
	int best_epoch;
	double best_valid, test_at_best;
	snm_identity code;                 /* the plugins' and libsnm's SHA-256, recorded (identity.h) */
} trainer;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "<file>:<line>:<col>: <run key>: " before err's message: the place of pipeline node n (a key of
 * one of the run's sections), else of the section, else of the grid entry that made the run. */
static int at_run(const snm_run_spec *r, const snm_cfg *n, const snm_cfg *sec, snm_error *err)
{
	if (n == NULL || snm_cfg_line(n) <= 0)
		n = sec;
	if (n != NULL && snm_cfg_line(n) > 0)
		return snm_error_prefix(err, "%s:%d:%d: %s", snm_cfg_file(n), snm_cfg_line(n), snm_cfg_col(n),
		                        r->key);
	if (r->where != NULL && r->where[0] != '\0')
		return snm_error_prefix(err, "%s: %s", r->where, r->key);
	return snm_error_prefix(err, "%s", r->key);
}

/* ---- data ------------------------------------------------------------------------------------ */

/* The run's training subset (run.h), a too-small class named with the run's grid entry. */
static int choose_subset(trainer *T, snm_error *err)
{
	const snm_run_spec *r = T->run;
	int rc = snm_run_subset(&T->R, err);
	if (rc == SNM_EINVAL) {
		if (r->where != NULL && r->where[0] != '\0')
			snm_error_prefix(err, "%s: %s", r->where, r->key);
		else
			snm_error_prefix(err, "%s", r->key);
	}
	return rc;
}

/* Reads n examples of a split into T->x and T->y, minus the mean. */
static int read_batch(trainer *T, int split, const long *idx, long n, gsl_rng *aug, snm_error *err)
{
	return snm_run_inputs(&T->R, split, idx, n, aug, T->x, T->y, err);
}

/* The unlabelled stream: every training-split example outside the labelled subset (the whole
 * split when the subset is all of it), sampled batch_u at a time without replacement within a
 * step from the "unlabelled" stream. */
static int make_pool(trainer *T, snm_error *err)
{
	long n = T->R.ds->info.n[SNM_SPLIT_TRAIN], k;
	if (T->batch_u > n)          /* at most the pool, which is at most the split (below) */
		T->batch_u = n > 0 ? n : 1;
	T->pool = malloc((size_t)(n > 0 ? n : 1) * sizeof *T->pool);
	T->xu = malloc((size_t)T->batch_u * T->R.dim * sizeof *T->xu);
	T->idx_u = malloc((size_t)T->batch_u * sizeof *T->idx_u);
	if (T->pool == NULL || T->xu == NULL || T->idx_u == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	if ((k = snm_run_outside(&T->R, T->pool)) == 0)
		for (; k < n; ++k)
			T->pool[k] = k;
	T->n_pool = k;
	if (T->n_pool < T->batch_u)
		T->batch_u = T->n_pool;
	return SNM_OK;
}

static snm_tensor *input(trainer *T, long n)
{
	const snm_data_info *in = &T->R.ds->info;
	return snm_tape_const(T->tape, 4, (int[]){ (int)n, in->d[0], in->d[1], in->d[2] }, T->x);
}

/* Classification error (%) over n examples idx of a split, in evaluation mode. */
static int eval_error(trainer *T, int split, const long *idx, long n, double *out, snm_error *err)
{
	long wrong = 0;
	int K = T->R.ds->info.n_classes, rc = SNM_OK;
	int g = snm_tape_set_grad(T->tape, 0), tr = snm_tape_set_training(T->tape, 0);
	for (long s = 0; s < n && rc == SNM_OK; s += T->eval_batch) {
		long b = n - s < T->eval_batch ? n - s : T->eval_batch;
		snm_tensor *y;
		snm_tape_reset(T->tape);
		if ((rc = read_batch(T, split, idx + s, b, NULL, err)))
			break;
		y = T->R.model.vt->classify(T->R.model.state, T->tape,
		                          T->R.model.vt->encode(T->R.model.state, T->tape, input(T, b), NULL, NULL, NULL));
		if (y == NULL) {
			rc = snm_tape_error(T->tape, err);
			break;
		}
		for (long i = 0; i < b; ++i)
			wrong += snm_argmax(y->x + (size_t)i * K, K) != T->y[i];
	}
	snm_tape_reset(T->tape);
	snm_tape_set_grad(T->tape, g);
	snm_tape_set_training(T->tape, tr);
	*out = n > 0 ? 100.0 * (double)wrong / (double)n : NAN;
	return rc;
}

/* ---- setup ----------------------------------------------------------------------------------- */

static snm_params *mirror(const snm_params *p, snm_error *err)
{
	snm_params *m = snm_params_new(err);
	for (int i = 0; m != NULL && i < snm_params_count(p); ++i) {
		snm_tensor *e = snm_params_at(p, i);
		if (snm_params_add(m, e->name, e->n_d, e->d, e->flags & (SNM_T_PARAM | SNM_T_BUFFER), err) == NULL) {
			snm_params_free(m);
			return NULL;
		}
	}
	return m;
}

static int read_train_options(trainer *T, snm_error *err)
{
	const snm_cfg *tr = T->run->train;
	const char *sched, *test, *bn;
	long every, start;
	double lr, factor;
	int rc = snm_cfg_opt_int(tr, snm_train_options, "epochs", &T->epochs, err);
	if (!rc) rc = snm_cfg_opt_int(tr, snm_train_options, "batch", &T->batch, err);
	if (!rc) rc = snm_cfg_opt_int(tr, snm_train_options, "eval_batch", &T->eval_batch, err);
	if (!rc) rc = snm_cfg_opt_int(tr, snm_train_options, "train_eval_max", &T->train_eval_max, err);
	if (!rc) rc = snm_cfg_opt_double(tr, snm_train_options, "lr", &lr, err);
	if (!rc) rc = snm_cfg_opt_double(tr, snm_train_options, "lr_factor", &factor, err);
	if (!rc) rc = snm_cfg_opt_int(tr, snm_train_options, "lr_every", &every, err);
	if (!rc) rc = snm_cfg_opt_int(tr, snm_train_options, "lr_decay_start", &start, err);
	if (!rc) rc = snm_cfg_opt_str(tr, snm_train_options, "schedule", &sched, err);
	if (!rc) rc = snm_cfg_opt_str(tr, snm_train_options, "test", &test, err);
	if (!rc) rc = snm_cfg_opt_double(tr, snm_train_options, "lr_decay", &T->lr_decay, err);
	if (!rc) rc = snm_cfg_opt_int(tr, snm_train_options, "steps", &T->epoch_steps, err);
	if (!rc) rc = snm_cfg_opt_str(tr, snm_train_options, "bn_stats", &bn, err);
	if (!rc) rc = snm_cfg_opt_int(tr, snm_train_options, "numerics", &T->numerics, err);
	if (rc)
		return rc;
	T->bn_stats = strcmp(bn, "labelled") == 0 ? BN_LABELLED
	            : strcmp(bn, "unlabelled") == 0 ? BN_UNLABELLED : BN_RUNNING;
	T->test_mode = strcmp(test, "best") == 0 ? TEST_BEST
	             : strcmp(test, "checkpoints") == 0 ? TEST_CHECKPOINTS : TEST_EVERY;
	T->min_test = NAN;
	T->sched.kind = strcmp(sched, "const") == 0 ? SNM_LR_CONST
	              : strcmp(sched, "step") == 0 ? SNM_LR_STEP : SNM_LR_LINEAR;
	T->sched.lr = lr;
	T->sched.factor = factor;
	T->sched.every = (int)every;
	T->sched.start = (int)start;
	T->sched.total = (int)T->epochs;
	if ((rc = snm_schedule_check(&T->sched, err))) {
		snm_error_prefix(err, "train");
		return at_run(T->run, NULL, T->run->train, err);
	}
	return SNM_OK;
}

/* The best-on-validation network is the one tested: a run needs validation and test examples
 * (a data plugin may offer an empty split, as idx and cifar10 do with valid: 0). */
static int need_splits(trainer *T, snm_error *err)
{
	if (T->R.ds->info.n[SNM_SPLIT_VALID] < 1 || T->R.ds->info.n[SNM_SPLIT_TEST] < 1) {
		SNM_FAIL(err, SNM_ECONFIG, "data '%s' has %ld validation and %ld test examples; training "
		         "needs both (the network best on validation is the one tested)", T->run->data_type,
		         T->R.ds->info.n[SNM_SPLIT_VALID], T->R.ds->info.n[SNM_SPLIT_TEST]);
		return at_run(T->run, snm_cfg_get(T->run->data, "valid"), T->run->data, err);
	}
	return SNM_OK;
}

/* 1 when the run's regularizer takes an unlabelled batch at every step (wants_unlabelled). */
static int uses_unlabelled(const trainer *T)
{
	return T->R.nvt->wants_unlabelled != NULL && T->R.nvt->wants_unlabelled(T->R.noise);
}

/* train.epoch 'unlabelled' needs a regularizer that uses unlabelled data. */
static int check_epoch_kind(trainer *T, snm_error *err)
{
	const char *epoch;
	int wants = uses_unlabelled(T), rc;
	if ((rc = snm_cfg_opt_str(T->run->train, snm_train_options, "epoch", &epoch, err)))
		return rc;
	T->epoch_unlabelled = strcmp(epoch, "unlabelled") == 0;
	if (T->epoch_unlabelled && !wants) {
		SNM_FAIL(err, SNM_ECONFIG, "train.epoch is 'unlabelled' but noise '%s' uses no unlabelled "
		         "data", T->run->noise_type);
		return at_run(T->run, snm_cfg_get(T->run->train, "epoch"), T->run->train, err);
	}
	return SNM_OK;
}

/* train.bn_stats other than 'running' needs running statistics in the model (buffers its create
 * registered: a regularizer's own do not count), and 'unlabelled' a regularizer that uses
 * unlabelled data. */
static int check_bn_stats(trainer *T, snm_error *err)
{
	int buffers = 0;
	int wants = uses_unlabelled(T);
	if (T->bn_stats == BN_RUNNING)
		return SNM_OK;
	for (int i = 0; i < T->R.n_model_params; ++i)
		buffers += (snm_params_at(T->R.params, i)->flags & SNM_T_BUFFER) != 0;
	if (buffers == 0)
		SNM_FAIL(err, SNM_ECONFIG, "train.bn_stats is '%s' but model '%s' keeps no running "
		         "statistics (no batch normalisation)", T->bn_stats == BN_LABELLED ? "labelled"
		         : "unlabelled", T->run->model_type);
	else if (T->bn_stats == BN_UNLABELLED && !wants)
		SNM_FAIL(err, SNM_ECONFIG, "train.bn_stats is 'unlabelled' but noise '%s' uses no "
		         "unlabelled data", T->run->noise_type);
	else
		return SNM_OK;
	return at_run(T->run, snm_cfg_get(T->run->train, "bn_stats"), T->run->train, err);
}

/* 1 when update k has an Adam state besides the run's own (a regularizer with updates, k not
 * its main update): the one the run file keeps under /checkpoint/optim/<name>. */
static int extra_update(const trainer *T, int k)
{
	return k != snm_steps_main(T->steps) && snm_steps_name(T->steps, k) != NULL;
}

static int setup(trainer *T, snm_error *err)
{
	const snm_run_spec *r = T->run;
	double b1, b2, eps;
	size_t nbuf;
	int rc;
	snm_blas_set_threads(T->o->threads > 0 ? T->o->threads : 1);
	T->best_epoch = -1;
	T->best_valid = INFINITY;
	T->test_at_best = NAN;
	if ((rc = read_train_options(T, err)))
		return rc;
	if ((rc = snm_run_data(&T->R, r, T->o->plugin_path, T->o->cache, err)) || (rc = need_splits(T, err)))
		return rc;
	/* every batch read into x is at most its split's size (a batch larger than the data is the
	 * whole of it): a train.batch of 10^8 on 50000 examples asks 50000 rows, not 10^8 */
	nbuf = (size_t)(T->batch > T->eval_batch ? T->batch : T->eval_batch);
	{
		long most = 1;
		for (int s = SNM_SPLIT_TRAIN; s <= SNM_SPLIT_TEST; ++s)
			if (T->R.ds->info.n[s] > most)
				most = T->R.ds->info.n[s];
		if (nbuf > (size_t)most)
			nbuf = (size_t)most;
	}
	T->x = malloc(nbuf * T->R.dim * sizeof *T->x);
	T->y = malloc(nbuf * sizeof *T->y);
	T->idx = malloc(nbuf * sizeof *T->idx);
	T->tape = snm_tape_new(0, err);
	if (!T->x || !T->y || !T->idx || !T->tape)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	if (snm_tape_set_numerics(T->tape, (int)T->numerics) < 0)
		return SNM_FAIL(err, SNM_ECONFIG, "%s: train.numerics %ld is not a version of this libsnm "
		                "(1 to %d)", r->key, T->numerics, SNM_NUMERICS_MAX);
	for (int s = SNM_SPLIT_VALID; s <= SNM_SPLIT_TEST; ++s) {
		long n = T->R.ds->info.n[s], *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
		if (v == NULL)
			return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		for (long i = 0; i < n; ++i)
			v[i] = i;
		if (s == SNM_SPLIT_VALID) T->valid_idx = v; else T->test_idx = v;
	}
	if ((rc = choose_subset(T, err)) || (rc = snm_run_mean(&T->R, T->eval_batch, err)))
		return rc;
	if ((rc = snm_run_build(&T->R, r->key, err))
	    || (rc = snm_identity_of(&T->R.ds->h, &T->R.mh, &T->R.nh, &T->code, err)))
		return rc;
	if (uses_unlabelled(T)) {
		if ((rc = snm_cfg_opt_int(r->train, snm_train_options, "unlabelled_batch", &T->batch_u, err))
		    || (rc = make_pool(T, err)))
			return rc;
	}
	if ((rc = check_epoch_kind(T, err)) || (rc = check_bn_stats(T, err)))
		return rc;
	if ((rc = snm_cfg_opt_double(r->train, snm_train_options, "beta1", &b1, err))
	    || (rc = snm_cfg_opt_double(r->train, snm_train_options, "beta2", &b2, err))
	    || (rc = snm_cfg_opt_double(r->train, snm_train_options, "eps", &eps, err)))
		return rc;
	{
		char who[96];
		snprintf(who, sizeof who, "noise '%s'", T->R.nh.p->name);
		if ((T->steps = snm_steps_new(T->R.nvt, T->R.noise, who, T->R.params, b1, b2, eps, err)) == NULL)
			return at_run(T->run, NULL, T->run->noise, err), err ? err->code : SNM_ENOMEM;
		T->adam = snm_steps_adam(T->steps, snm_steps_main(T->steps));
	}
	if ((T->best = mirror(T->R.params, err)) == NULL)
		return err ? err->code : SNM_ENOMEM;
	for (int i = 0; i < N_RNG; ++i)
		if ((T->rng[i] = snm_rng_stream(r->seed, rng_names[i], r->key, err)) == NULL)
			return SNM_ENOMEM;
	if ((T->at_params = mirror(T->R.params, err)) == NULL || (T->at_m = mirror(snm_adam_m(T->adam), err)) == NULL
	    || (T->at_v = mirror(snm_adam_v(T->adam), err)) == NULL)
		return err ? err->code : SNM_ENOMEM;
	for (int k = 0; k < snm_steps_count(T->steps); ++k)
		if (extra_update(T, k) && ((T->at_xm[k] = mirror(snm_adam_m(snm_steps_adam(T->steps, k)), err)) == NULL
		                           || (T->at_xv[k] = mirror(snm_adam_v(snm_steps_adam(T->steps, k)), err)) == NULL))
			return err ? err->code : SNM_ENOMEM;
	for (int i = 0; i < N_RNG; ++i)
		if ((T->at_rng[i] = gsl_rng_clone(T->rng[i])) == NULL)
			return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	return SNM_OK;
}

static void teardown(trainer *T)
{
	snm_steps_free(T->steps);
	snm_params_free(T->best);
	snm_params_free(T->at_params);
	snm_params_free(T->at_m);
	snm_params_free(T->at_v);
	for (int k = 0; k < SNM_MAX_UPDATES; ++k) {
		snm_params_free(T->at_xm[k]);
		snm_params_free(T->at_xv[k]);
	}
	snm_metrics_free(T->carry);
	snm_metrics_free(T->metrics);
	snm_tape_free(T->tape);
	for (int i = 0; i < N_RNG; ++i) {
		gsl_rng_free(T->rng[i]);
		gsl_rng_free(T->at_rng[i]);
	}
	free(T->x);
	free(T->y);
	free(T->pool);
	free(T->xu);
	free(T->idx_u);
	free(T->idx);
	free(T->valid_idx);
	free(T->test_idx);
	snm_run_close(&T->R);
}

int snm_run_check(const snm_run_spec *r, const char *plugin_path, snm_data_cache *cache,
                  snm_error *err)
{
	snm_trainer_opts o;
	trainer T;
	int rc;
	memset(&o, 0, sizeof o);
	memset(&T, 0, sizeof T);
	o.plugin_path = plugin_path;
	o.cache = cache;
	T.run = r;
	T.o = &o;
	rc = read_train_options(&T, err);
	if (!rc)
		rc = snm_run_data(&T.R, r, plugin_path, cache, err);
	if (!rc)
		rc = need_splits(&T, err);
	if (!rc)
		rc = choose_subset(&T, err);
	if (!rc)
		rc = snm_run_build(&T.R, r->key, err);
	if (!rc)
		rc = check_epoch_kind(&T, err);
	if (!rc)
		rc = check_bn_stats(&T, err);
	teardown(&T);
	return rc;
}

/* ---- the run file ---------------------------------------------------------------------------- */

/* The metrics table: fixed columns around one "loss.<term>" column per regularizer term. */
static int make_metrics(trainer *T, int n_terms, const char *const *terms, snm_error *err)
{
	const char *names[9 + SNM_MAX_TERMS];
	char term[SNM_MAX_TERMS][64];
	int n = 0;
	if (n_terms > SNM_MAX_TERMS)
		return SNM_FAIL(err, SNM_EINVAL, "%s: more than %d loss terms", T->run->key, SNM_MAX_TERMS);
	names[n++] = "epoch";
	names[n++] = "lr";
	names[n++] = "loss";
	for (int i = 0; i < n_terms; ++i) {
		snprintf(term[i], sizeof term[i], "loss.%s", terms[i]);
		names[n++] = term[i];
	}
	names[n++] = "train_error";
	names[n++] = "valid_error";
	names[n++] = "test_error";
	names[n++] = "best_valid_error";
	names[n++] = "test_at_best";
	if (T->test_mode != TEST_BEST)
		names[n++] = "min_test_error";
	names[n++] = "seconds";
	T->metrics = snm_metrics_new(n, names, err);
	return T->metrics ? SNM_OK : (err ? err->code : SNM_ENOMEM);
}

/* Column of a metric, by name (the file may list columns in another order than a fresh table). */
static int col(const trainer *T, const char *name)
{
	return snm_metrics_find(T->metrics, name);
}

void snm_trainer_libraries(char *buf, size_t size)
{
	unsigned maj, min, rel;
	H5get_libversion(&maj, &min, &rel);
	snprintf(buf, size, "GSL %s; HDF5 %u.%u.%u; libyaml %s; OpenBLAS %s", GSL_VERSION, maj, min, rel,
	         yaml_get_version_string(), snm_blas_config());
}

/* The state at the start of an epoch (T->at_*): the checkpoint that a mid-epoch one keeps beside
 * its own, and the one a failed run's file keeps -- every update's Adam state included. */
static void snapshot_take(trainer *T)
{
	snm_params_copy(T->at_params, T->R.params, NULL);     /* mirrors: the same names and shapes */
	snm_params_copy(T->at_m, snm_adam_m(T->adam), NULL);
	snm_params_copy(T->at_v, snm_adam_v(T->adam), NULL);
	T->at_steps = snm_adam_steps(T->adam);
	for (int k = 0; k < snm_steps_count(T->steps); ++k) {
		snm_adam *a = snm_steps_adam(T->steps, k);
		if (!extra_update(T, k))
			continue;
		snm_params_copy(T->at_xm[k], snm_adam_m(a), NULL);
		snm_params_copy(T->at_xv[k], snm_adam_v(a), NULL);
		T->at_xsteps[k] = snm_adam_steps(a);
	}
	for (int i = 0; i < N_RNG; ++i)
		gsl_rng_memcpy(T->at_rng[i], T->rng[i]);
}

/* The streams a mid-epoch checkpoint saves as they stand after its steps (the order stream is
 * replayed from its state at the start of the epoch: it only shuffles), and their names there. */
static const int partial_rng[3] = { RNG_AUGMENT, RNG_NOISE, RNG_UNLABELLED };
static const char *const partial_rng_names[3] = { "partial.augment", "partial.noise", "partial.unlabelled" };

/* A mid-epoch checkpoint's part: steps of epoch T->epoch + 1 done and their running sums. */
typedef struct partial {
	long steps;
	double loss;               /* the sum of the steps' losses */
	const double *terms;       /* the sums of the regularizer's terms, T->n_terms of them */
	double seconds;            /* the epoch's training time so far */
} partial;

/* The one-row table of a partial's sums: loss, loss.<term>..., seconds. */
static snm_metrics *partial_table(const trainer *T, const partial *part, snm_error *err)
{
	const char *names[2 + SNM_MAX_TERMS];
	char term[SNM_MAX_TERMS][64];
	double row[2 + SNM_MAX_TERMS];
	int n = 0;
	snm_metrics *m;
	names[n] = "loss";
	row[n++] = part->loss;
	for (int i = 0; i < T->n_terms; ++i) {
		snprintf(term[i], sizeof term[i], "loss.%s", T->term_names[i]);
		names[n] = term[i];
		row[n++] = part->terms[i];
	}
	names[n] = "seconds";
	row[n++] = part->seconds;
	if ((m = snm_metrics_new(n, names, err)) != NULL && snm_metrics_append(m, row, err) != SNM_OK) {
		snm_metrics_free(m);
		m = NULL;
	}
	return m;
}

/* The Adam states of a regularizer's updates besides the run's own (steps.h), as groups and
 * root integers of the run file, appended after the run's own (the file of a regularizer without
 * updates has none of them: its bytes are as before). */
enum { OPTIMS_MAX = 2 * SNM_MAX_UPDATES };
typedef struct optims {
	const char *path[2 * OPTIMS_MAX];          /* groups */
	snm_params *group[2 * OPTIMS_MAX];
	const char *name[OPTIMS_MAX];              /* root integers: step counts */
	int64_t step[OPTIMS_MAX];
	int n_groups, n_ints;
	char buf[3 * OPTIMS_MAX][96];
} optims;

/* Appends to O, for each update with an Adam state besides the run's own: <dir>/<name>/m and v
 * (its moments) and the root integer <prefix><name> (its step count) -- the live state, or with
 * at the one at the start of the epoch (T->at_x*).  dir "/checkpoint/optim", prefix "step." for
 * the whole-epoch checkpoint; "/checkpoint/partial/optim", "partial_step." for a mid-epoch one. */
static void optims_add(const trainer *T, int at, const char *dir, const char *prefix, optims *O)
{
	for (int k = 0; k < snm_steps_count(T->steps); ++k) {
		snm_adam *a = snm_steps_adam(T->steps, k);
		const char *name = snm_steps_name(T->steps, k);
		char *m, *v, *s;
		if (!extra_update(T, k))
			continue;
		m = O->buf[O->n_groups + O->n_ints];
		v = O->buf[O->n_groups + O->n_ints + 1];
		s = O->buf[O->n_groups + O->n_ints + 2];
		snprintf(m, sizeof O->buf[0], "%s/%s/m", dir, name);
		snprintf(v, sizeof O->buf[0], "%s/%s/v", dir, name);
		snprintf(s, sizeof O->buf[0], "%s%s", prefix, name);
		O->path[O->n_groups] = m;
		O->group[O->n_groups++] = at ? T->at_xm[k] : snm_adam_m(a);
		O->path[O->n_groups] = v;
		O->group[O->n_groups++] = at ? T->at_xv[k] : snm_adam_v(a);
		O->name[O->n_ints] = s;
		O->step[O->n_ints++] = at ? T->at_xsteps[k] : snm_adam_steps(a);
	}
}

/* Sets each extra update's Adam step count from steps[] (O's order, as optims_add listed them). */
static void optims_set_steps(trainer *T, const int64_t *steps)
{
	for (int k = 0, i = 0; k < snm_steps_count(T->steps); ++k)
		if (extra_update(T, k))
			snm_adam_set_steps(snm_steps_adam(T->steps, k), steps[i++]);
}

/* Writes the run file.  At an epoch's end (status "running" or "finished", part and error NULL)
 * its checkpoint is the state now.  Otherwise the whole-epoch checkpoint is the state at the
 * start of the epoch (T->at_*, the file as the last epoch's end wrote it) and, with part, the
 * state after part->steps steps of the epoch is saved beside it (/checkpoint/partial, trainer.h);
 * with error, status "failed" and the error are recorded.  The Adam states of a regularizer's
 * updates follow the same rule (/checkpoint/optim, /checkpoint/partial/optim). */
static int save(trainer *T, const char *status, const partial *part, const char *error, snm_error *err)
{
	enum { N_INT = 15, N_GROUP = 7 };
	const snm_run_spec *r = T->run;
	int whole = part == NULL && error == NULL;
	char hash[32], plugins[512], libs[512];
	const char *str_names[] = { "run_key", "config", "config_hash", "status", "snm_version", "plugins",
	                            "libraries", "plugin_sha256", "libsnm_sha256", "error" };
	const char *str_values[10];
	const char *int_names[N_INT + 2 * OPTIMS_MAX] = { "master_seed", "threads", "epoch", "epochs", "step",
	                            "best_epoch", "per_class", "set", "n_train", "seed_subset", "seed_init",
	                            "seed_order", "seed_noise", "numerics", "partial_steps" };
	int64_t ints[N_INT + 2 * OPTIMS_MAX];
	const char *groups_p[N_GROUP + 4 * OPTIMS_MAX] = { "/checkpoint/params", "/checkpoint/adam_m",
	                           "/checkpoint/adam_v", "/best", "/checkpoint/partial/params",
	                           "/checkpoint/partial/adam_m", "/checkpoint/partial/adam_v" };
	snm_params *groups[N_GROUP + 4 * OPTIMS_MAX];
	const char *rng_n[N_RNG + 3], *table_p = "/checkpoint/partial/sums";
	gsl_rng *rngs[N_RNG + 3];
	snm_metrics *sums = NULL;
	optims O;
	int n_ints = part ? N_INT : N_INT - 1, n_groups = part ? N_GROUP : 4;
	snm_store_run run;
	int rc;
	snprintf(hash, sizeof hash, "%016" PRIx64, r->config_hash);
	snprintf(plugins, sizeof plugins, "data %s %s; model %s %s; noise %s %s", T->R.ds->h.p->name,
	         T->R.ds->h.p->version, T->R.mh.p->name, T->R.mh.p->version, T->R.nh.p->name, T->R.nh.p->version);
	snm_trainer_libraries(libs, sizeof libs);
	str_values[0] = r->key;
	str_values[1] = r->config_text;
	str_values[2] = hash;
	str_values[3] = status;
	str_values[4] = T->o->version ? T->o->version : PACKAGE_VERSION;
	str_values[5] = plugins;
	str_values[6] = libs;
	str_values[7] = T->code.plugins;
	str_values[8] = T->code.libsnm;
	str_values[9] = error;
	ints[0] = (int64_t)r->seed;
	ints[1] = T->o->threads;
	ints[2] = T->epoch;
	ints[3] = T->epochs;
	ints[4] = whole ? snm_adam_steps(T->adam) : T->at_steps;
	ints[5] = T->best_epoch;
	ints[6] = r->per_class;
	ints[7] = r->set;
	ints[8] = T->R.n_sub;
	for (int i = 0; i < 4; ++i)
		ints[9 + i] = (int64_t)(T->R.seeds[i] & INT64_MAX);
	ints[13] = T->tape ? snm_tape_numerics(T->tape) : 1;
	ints[14] = part ? part->steps : 0;
	groups[0] = whole ? T->R.params : T->at_params;
	groups[1] = whole ? snm_adam_m(T->adam) : T->at_m;
	groups[2] = whole ? snm_adam_v(T->adam) : T->at_v;
	groups[3] = T->best;
	groups[4] = T->R.params;
	groups[5] = snm_adam_m(T->adam);
	groups[6] = snm_adam_v(T->adam);
	memset(&O, 0, sizeof O);
	optims_add(T, !whole, "/checkpoint/optim", "step.", &O);
	if (part != NULL)
		optims_add(T, 0, "/checkpoint/partial/optim", "partial_step.", &O);
	for (int i = 0; i < O.n_groups; ++i) {
		groups_p[n_groups] = O.path[i];
		groups[n_groups++] = O.group[i];
	}
	for (int i = 0; i < O.n_ints; ++i) {
		int_names[n_ints] = O.name[i];
		ints[n_ints++] = O.step[i];
	}
	for (int i = 0; i < N_RNG; ++i) {
		rng_n[i] = rng_names[i];
		rngs[i] = whole ? T->rng[i] : T->at_rng[i];
	}
	for (int i = 0; i < 3; ++i) {
		rng_n[N_RNG + i] = partial_rng_names[i];
		rngs[N_RNG + i] = T->rng[partial_rng[i]];
	}
	if (part != NULL && (sums = partial_table(T, part, err)) == NULL)
		return err ? err->code : SNM_ENOMEM;
	run = (snm_store_run){ error ? 10 : 9, str_names, str_values, n_ints, int_names, ints, T->metrics,
	                       n_groups, groups_p, groups, part ? N_RNG + 3 : N_RNG, rng_n, rngs,
	                       part ? 1 : 0, &table_p, &sums };
	rc = snm_store_save(r->result_path, &run, err);
	snm_metrics_free(sums);
	return rc;
}

/* The mid-epoch part of a checkpoint (file has /checkpoint/partial), over the whole-epoch state
 * resume() loaded: that state becomes the snapshot, the partial one the live state (every
 * update's Adam state with it), and its sums wait in T->carry for the epoch's next step. */
static int resume_partial(trainer *T, snm_error *err)
{
	const char *int_names[1 + OPTIMS_MAX] = { "partial_steps" };
	int64_t ints[1 + OPTIMS_MAX];
	const char *groups_p[3 + 2 * OPTIMS_MAX] = { "/checkpoint/partial/params", "/checkpoint/partial/adam_m",
	                                             "/checkpoint/partial/adam_v" };
	snm_params *groups[3 + 2 * OPTIMS_MAX] = { T->R.params, snm_adam_m(T->adam), snm_adam_v(T->adam) };
	gsl_rng *rngs[3];
	optims O;
	snm_store_run run;
	int rc;
	snapshot_take(T);
	for (int i = 0; i < 3; ++i)
		rngs[i] = T->rng[partial_rng[i]];
	memset(&O, 0, sizeof O);
	optims_add(T, 0, "/checkpoint/partial/optim", "partial_step.", &O);
	for (int i = 0; i < O.n_groups; ++i) {
		groups_p[3 + i] = O.path[i];
		groups[3 + i] = O.group[i];
	}
	for (int i = 0; i < O.n_ints; ++i)
		int_names[1 + i] = O.name[i];
	run = (snm_store_run){ 0, NULL, NULL, 1 + O.n_ints, int_names, NULL, NULL, 3 + O.n_groups, groups_p,
	                       groups, 3, partial_rng_names, rngs, 0, NULL, NULL };
	if ((rc = snm_store_read_table(T->run->result_path, "/checkpoint/partial/sums", &T->carry, err))
	    || (rc = snm_store_load(T->run->result_path, &run, ints, err)))
		return rc;
	if (ints[0] < 1 || snm_metrics_rows(T->carry) != 1 || snm_metrics_find(T->carry, "loss") < 0
	    || snm_metrics_find(T->carry, "seconds") < 0)
		return SNM_FAIL(err, SNM_EIO, "%s: a mid-epoch checkpoint of %" PRId64 " steps with %zu rows of "
		                "sums: not one snm writes", T->run->result_path, ints[0], snm_metrics_rows(T->carry));
	T->carry_steps = (long)ints[0];
	snm_adam_set_steps(T->adam, T->at_steps + ints[0]);     /* one optimizer step a training step */
	optims_set_steps(T, ints + 1);
	return SNM_OK;
}

/* Loads the checkpoint of a "running" file: parameters, moments (every update's), best weights,
 * streams, metrics; then, where the file has one, the mid-epoch checkpoint (resume_partial). */
static int resume(trainer *T, snm_error *err)
{
	const char *int_names[3 + OPTIMS_MAX] = { "epoch", "step", "best_epoch" };
	int64_t ints[3 + OPTIMS_MAX];
	const char *groups_p[4 + 2 * OPTIMS_MAX] = { "/checkpoint/params", "/checkpoint/adam_m",
	                                             "/checkpoint/adam_v", "/best" };
	snm_params *groups[4 + 2 * OPTIMS_MAX] = { T->R.params, snm_adam_m(T->adam), snm_adam_v(T->adam), T->best };
	optims O;
	snm_store_run run;
	snm_metrics *file = NULL;
	const char *terms[SNM_MAX_TERMS];
	int n_terms = 0, has_partial = 0;
	int rc = snm_store_read_metrics(T->run->result_path, &file, err);
	if (rc)
		return rc;
	for (int c = 0; c < snm_metrics_cols(file) && n_terms < SNM_MAX_TERMS; ++c)
		if (strncmp(snm_metrics_name(file, c), "loss.", 5) == 0)
			terms[n_terms++] = snm_metrics_name(file, c) + 5;
	rc = make_metrics(T, n_terms, terms, err);
	snm_metrics_free(file);
	if (rc)
		return rc;
	memset(&O, 0, sizeof O);
	optims_add(T, 0, "/checkpoint/optim", "step.", &O);
	for (int i = 0; i < O.n_groups; ++i) {
		groups_p[4 + i] = O.path[i];
		groups[4 + i] = O.group[i];
	}
	for (int i = 0; i < O.n_ints; ++i)
		int_names[3 + i] = O.name[i];
	run = (snm_store_run){ 0, NULL, NULL, 3 + O.n_ints, int_names, NULL, T->metrics, 4 + O.n_groups, groups_p,
	                       groups, N_RNG, rng_names, T->rng, 0, NULL, NULL };
	if ((rc = snm_store_load(T->run->result_path, &run, ints, err)))
		return rc;
	T->epoch = (int)ints[0];
	snm_adam_set_steps(T->adam, ints[1]);
	optims_set_steps(T, ints + 3);
	T->best_epoch = (int)ints[2];
	if (snm_metrics_rows(T->metrics) != (size_t)T->epoch)
		return SNM_FAIL(err, SNM_EIO, "%s: checkpoint at epoch %d has %zu metric rows",
		                T->run->result_path, T->epoch, snm_metrics_rows(T->metrics));
	if (T->epoch > 0) {
		T->best_valid = snm_metrics_get(T->metrics, (size_t)T->epoch - 1, col(T, "best_valid_error"));
		T->test_at_best = snm_metrics_get(T->metrics, (size_t)T->epoch - 1, col(T, "test_at_best"));
		if (T->test_mode != TEST_BEST)
			T->min_test = snm_metrics_get(T->metrics, (size_t)T->epoch - 1, col(T, "min_test_error"));
	}
	if ((rc = snm_store_has_group(T->run->result_path, "/checkpoint/partial", &has_partial, err)))
		return rc;
	return has_partial ? resume_partial(T, err) : SNM_OK;
}

/* ---- training -------------------------------------------------------------------------------- */

/* The learning rate of update k's step: the schedule's, divided by 1 + lr_decay t with t the steps
 * that update's Adam state has taken (Keras's Adam(decay=...), seed 003's HCP scripts); the
 * schedule's itself when lr_decay is 0. */
static double step_lr(const trainer *T, int k, double lr)
{
	if (T->lr_decay <= 0)
		return lr;
	return lr / (1.0 + T->lr_decay * (double)snm_adam_steps(snm_steps_adam(T->steps, k)));
}

/* The running sums of the regularizer's terms a mid-epoch checkpoint carried (T->carry), into
 * sum_terms in the objective's order, once its first step named them. */
static int carry_terms(trainer *T, double *sum_terms, snm_error *err)
{
	int n = 0;
	for (int c = 0; c < snm_metrics_cols(T->carry); ++c)
		n += strncmp(snm_metrics_name(T->carry, c), "loss.", 5) == 0;
	for (int i = 0; i < T->n_terms; ++i) {
		char name[80];
		int c;
		snprintf(name, sizeof name, "loss.%s", T->term_names[i]);
		if ((c = snm_metrics_find(T->carry, name)) < 0)
			return SNM_FAIL(err, SNM_EIO, "%s: the mid-epoch checkpoint has no sum of term '%s'",
			                T->run->result_path, T->term_names[i]);
		sum_terms[i] = snm_metrics_get(T->carry, 0, c);
	}
	if (n != T->n_terms)
		return SNM_FAIL(err, SNM_EIO, "%s: the mid-epoch checkpoint sums %d terms, the regularizer "
		                "reports %d", T->run->result_path, n, T->n_terms);
	return SNM_OK;
}

/* Trains epoch T->epoch + 1: *sum_loss and sum_terms receive its mean loss and terms, *carried
 * the seconds a resumed mid-epoch checkpoint had spent on it (0 otherwise).  Stopped (opts->stop) before a
 * step that is not its first, it saves a mid-epoch checkpoint there (save(), partial).  Resuming
 * one (T->carry_steps), the steps it holds are passed over, only the order stream replayed. */
static int train_epoch(trainer *T, double *sum_loss, double *sum_terms, double *carried, snm_error *err)
{
	const snm_data_info *in = &T->R.ds->info;
	long *perm = malloc((size_t)T->R.n_sub * sizeof *perm);
	double lr = snm_schedule_lr(&T->sched, T->epoch), t0 = now();
	long first = T->carry_steps, n_batches = first, n_steps;
	int rc = SNM_OK;
	if (perm == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	if (first == 0)
		snapshot_take(T);
	memcpy(perm, T->R.subset, (size_t)T->R.n_sub * sizeof *perm);
	gsl_ran_shuffle(T->rng[RNG_ORDER], perm, (size_t)T->R.n_sub, sizeof *perm);
	*sum_loss = *carried = 0;
	for (int i = 0; i < SNM_MAX_TERMS; ++i)
		sum_terms[i] = 0;
	if (first > 0) {
		*sum_loss = snm_metrics_get(T->carry, 0, snm_metrics_find(T->carry, "loss"));
		*carried = snm_metrics_get(T->carry, 0, snm_metrics_find(T->carry, "seconds"));
	}
	/* Steps: one pass over the labelled subset (the last batch may be short), or, with epoch:
	 * unlabelled, one pass over the unlabelled stream, or train.steps of them; in the last two,
	 * full labelled batches cycle through the subset (reshuffled from the order stream when it
	 * runs out). */
	n_steps = T->epoch_steps > 0 ? T->epoch_steps
	        : T->epoch_unlabelled ? (T->n_pool + T->batch_u - 1) / T->batch_u
	        : (T->R.n_sub + T->batch - 1) / T->batch;
	if (first >= n_steps)
		rc = SNM_FAIL(err, SNM_EIO, "%s: a mid-epoch checkpoint after step %ld of an epoch of %ld",
		              T->run->result_path, first, n_steps);
	for (long step = 0, pos = 0; step < n_steps && rc == SNM_OK; ++step) {
		long b = T->R.n_sub - pos < T->batch ? T->R.n_sub - pos : T->batch;
		snm_objective obj;
		snm_batch batch;
		snm_progress at;
		const char *step_names[SNM_MAX_TERMS];
		double step_terms[SNM_MAX_TERMS], step_loss;
		int n_step, nonfinite = 0;
		if (step >= first && T->o->stop != NULL && *T->o->stop) {      /* interrupted: no further step */
			T->stopped = 1;
			T->stop_step = step;
			T->n_steps = n_steps;
			if (step > first)    /* else the file holds this very state already */
				rc = save(T, "running", &(partial){ step, *sum_loss, sum_terms, *carried + now() - t0 },
				          NULL, err);
			break;
		}
		if (T->epoch_unlabelled || T->epoch_steps > 0) {
			b = T->batch < T->R.n_sub ? T->batch : T->R.n_sub;
			if (pos + b > T->R.n_sub) {
				gsl_ran_shuffle(T->rng[RNG_ORDER], perm, (size_t)T->R.n_sub, sizeof *perm);
				pos = 0;
			}
		}
		if (step < first) {      /* done before the mid-epoch checkpoint: its batch's place only */
			pos += b;
			continue;
		}
		memset(&obj, 0, sizeof obj);
		snm_tape_reset(T->tape);
		if ((rc = read_batch(T, SNM_SPLIT_TRAIN, perm + pos, b, T->rng[RNG_AUGMENT], err)))
			break;
		pos += b;
		batch.x = input(T, b);
		batch.labels = T->y;
		batch.xu = NULL;
		batch.mean = T->R.mean;
		if (T->batch_u > 0) {
			gsl_ran_choose(T->rng[RNG_UNLABELLED], T->idx_u, (size_t)T->batch_u, T->pool, (size_t)T->n_pool,
			               sizeof *T->idx_u);
			if ((rc = snm_run_inputs(&T->R, SNM_SPLIT_TRAIN, T->idx_u, T->batch_u, T->rng[RNG_AUGMENT], T->xu, NULL, err)))
				break;
			batch.xu = snm_tape_const(T->tape, 4, (int[]){ (int)T->batch_u, in->d[0], in->d[1], in->d[2] }, T->xu);
		}
		/* every update of the step sees the same batch and the same progress (the step count
		 * before the step, whichever update steps the run's own Adam) */
		at = (snm_progress){ sizeof at, T->epoch, (int32_t)T->epochs, snm_adam_steps(T->adam), n_steps, 0 };
		step_loss = 0;
		n_step = 0;
		for (int k = 0; k < snm_steps_count(T->steps) && rc == SNM_OK; ++k) {
			const char *upd = snm_steps_name(T->steps, k);
			if (k > 0) {              /* a fresh tape: the batch again, the parameters as moved */
				snm_tape_reset(T->tape);
				batch.x = input(T, b);
				if (batch.xu != NULL)
					batch.xu = snm_tape_const(T->tape, 4, (int[]){ (int)T->batch_u, in->d[0], in->d[1],
					                          in->d[2] }, T->xu);
			}
			memset(&obj, 0, sizeof obj);
			rc = snm_steps_objective(T->steps, k, &T->R.model, T->tape, &batch, T->rng[RNG_NOISE], &at,
			                         &obj, err);
			if (rc == SNM_OK && obj.loss == NULL)
				rc = snm_tape_error(T->tape, err) ? err->code : SNM_FAIL(err, SNM_EINVAL, "objective returned no loss");
			if (rc == SNM_OK && (obj.n_terms < 0 || n_step + obj.n_terms > SNM_MAX_TERMS))
				rc = SNM_FAIL(err, SNM_EPLUGIN, "more than %d loss terms in the updates of a step",
				              SNM_MAX_TERMS);
			if (rc) {
				if (upd != NULL)
					snm_error_prefix(err, "update '%s'", upd);
				snm_error_prefix(err, "%s: epoch %d", T->run->key, T->epoch + 1);
				break;
			}
			for (int i = 0; i < obj.n_terms; ++i) {
				step_names[n_step + i] = obj.term_names[i];
				step_terms[n_step + i] = obj.terms[i]->x[0];
			}
			n_step += obj.n_terms;
			if (!isfinite(obj.loss->x[0])) {
				const char *bad = "loss";
				for (int i = 0; i < obj.n_terms; ++i)
					if (!isfinite(obj.terms[i]->x[0]))
						bad = obj.term_names[i];
				rc = SNM_FAIL(err, SNM_ENUMERIC, "%s: epoch %d step %" PRId64 ": %s%s%sterm '%s' is not "
				              "finite", T->run->key, T->epoch + 1,
				              at.step + 1, upd ? "update '" : "", upd ? upd : "", upd ? "': " : "", bad);
				nonfinite = 1;
				break;
			}
			if ((rc = snm_steps_apply(T->steps, k, T->tape, obj.loss, step_lr(T, k, lr), err))) {
				snm_error_prefix(err, "%s: epoch %d", T->run->key, T->epoch + 1);
				break;
			}
			step_loss += obj.loss->x[0];
		}
		/* the metrics table once the objectives are built, a step whose loss is not finite
		 * included (a failed run's file has its columns) */
		if (T->metrics == NULL && (rc == SNM_OK || nonfinite)) {
			int made = make_metrics(T, n_step, step_names, rc == SNM_OK ? err : NULL);
			rc = rc == SNM_OK ? made : rc;
		}
		if (rc)
			break;
		if (step == first) {
			T->n_terms = n_step;
			for (int i = 0; i < n_step; ++i)
				T->term_names[i] = step_names[i];
			if (first > 0 && (rc = carry_terms(T, sum_terms, err)))
				break;
		}
		*sum_loss += step_loss;
		for (int i = 0; i < n_step && i < T->n_terms; ++i)
			sum_terms[i] += step_terms[i];
		++n_batches;
	}
	free(perm);
	snm_tape_reset(T->tape);
	T->carry_steps = 0;
	snm_metrics_free(T->carry);
	T->carry = NULL;
	if (n_batches > 0) {
		*sum_loss /= (double)n_batches;
		for (int i = 0; i < T->n_terms; ++i)
			sum_terms[i] /= (double)n_batches;
	}
	return rc;
}

/* The name of the first entry of p with a NaN or infinity, or NULL when all are finite. */
static const char *first_nonfinite(const snm_params *p)
{
	for (int i = 0; i < snm_params_count(p); ++i) {
		const snm_tensor *x = snm_params_at(p, i);
		for (size_t j = 0, n = snm_tensor_len(x); j < n; ++j)
			if (!isfinite(x->x[j]))
				return x->name;
	}
	return NULL;
}

/* After an epoch, before anything of it is saved: the loss was finite at every step, but a step
 * can still overflow a parameter or one of Adam's moments (a huge learning rate, weight or noise;
 * an infinite second moment silently stops its parameter).  Then the run stops, and the last
 * good checkpoint -- the previous epoch's -- stays on disk. */
static int check_state(const trainer *T, snm_error *err)
{
	static const char *const what[3] = { "parameter", "Adam's first moment of", "Adam's second moment of" };
	const snm_params *p[1 + 2 * SNM_MAX_UPDATES] = { T->R.params };
	int n = 1;
	for (int k = 0; k < snm_steps_count(T->steps); ++k) {
		p[n++] = snm_adam_m(snm_steps_adam(T->steps, k));
		p[n++] = snm_adam_v(snm_steps_adam(T->steps, k));
	}
	for (int k = 0; k < n; ++k) {
		const char *bad = first_nonfinite(p[k]);
		if (bad != NULL)
			return SNM_FAIL(err, SNM_ENUMERIC, "%s: epoch %d: %s '%s' is not finite after step %"
			                PRId64 " (the loss was finite)",
			                T->run->key, T->epoch + 1, what[k == 0 ? 0 : 2 - k % 2], bad,
			                snm_adam_steps(T->adam));
	}
	return SNM_OK;
}

/* Tells opts->progress, if any, that training starts (p->event START) or that an epoch was saved. */
static void progress(const trainer *T, snm_train_progress *p)
{
	if (T->o->progress == NULL)
		return;
	p->key = T->run->key;
	p->epoch = T->epoch;
	p->epochs = (int)T->epochs;
	p->step = snm_adam_steps(T->adam);
	p->best_valid = T->best_valid;
	p->test_at_best = T->test_at_best;
	T->o->progress(T->o->progress_ctx, p);
}

static int train_locked(const snm_run_spec *run, const snm_trainer_opts *o, snm_run_result *res,
                        snm_error *err);

/* One trainer of a run at a time, across processes: an advisory lock (flock, lock.h) on
 * "<result file>.lock", naming this process, taken before the result file is looked at and held
 * until snm_train returns; the kernel drops it if the process dies.  A second trainer of the same run (another
 * `snm run` on the same results, or workers left over from a killed one) is refused at once, or
 * waits with o->wait.  Whatever the outcome -- finished, stopped, refused, failed -- the lock file
 * is removed before the lock is let go. */
int snm_train(const snm_run_spec *run, const snm_trainer_opts *o, snm_run_result *res, snm_error *err)
{
	size_t n = strlen(run->result_path) + 6;
	char *lock = malloc(n);
	snm_run_result dummy;
	int fd, rc;
	if (lock == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	if (res == NULL)
		res = &dummy;
	memset(res, 0, sizeof *res);
	res->best_epoch = -1;
	snprintf(lock, n, "%s.lock", run->result_path);
	if ((rc = snm_mkparents(lock, err)) || (rc = snm_lock_take(lock, o->wait, o->stop, &fd, err))) {
		free(lock);
		return rc;
	}
	if (fd < 0 && o->stop != NULL && *o->stop) {     /* interrupted while waiting for the lock */
		res->status = SNM_RUN_INTERRUPTED;
		free(lock);
		return SNM_OK;
	}
	if (fd < 0) {
		res->status = SNM_RUN_BUSY;
		rc = SNM_FAIL(err, SNM_ESTATE, "%s: another process is training this run (it holds %s)",
		              run->key, lock);
		free(lock);
		return rc;
	}
	rc = train_locked(run, o, res, err);
	snm_lock_release(lock, fd);
	free(lock);
	return rc;
}

/* A root attribute of a run file read whole (snm_store_read_attrs): a string, or NULL. */
static const char *attr_str(const snm_store_attrs *a, const char *name)
{
	for (int i = 0; i < a->n_str; ++i)
		if (strcmp(a->str_names[i], name) == 0)
			return a->str_values[i];
	return NULL;
}

static int attr_int(const snm_store_attrs *a, const char *name, int64_t *out)
{
	for (int i = 0; i < a->n_int; ++i)
		if (strcmp(a->int_names[i], name) == 0) {
			*out = a->int_values[i];
			return 1;
		}
	return 0;
}

/* The refusal of a file made by another configuration (its config_hash) or, where the bits depend
 * on it, another thread count: one line naming what differs, the keys first (cfgdiff.h). */
static int refuse_config(const snm_run_spec *run, const snm_trainer_opts *o, const char *config,
                         const char *hash, const char *want, int64_t threads, snm_error *err)
{
	char keys[400];
	int n;
	if (strcmp(hash, want) == 0)
		return SNM_FAIL(err, SNM_ESTATE, "%s: trained with %" PRId64 " thread%s, whose bits differ from "
		                "%d's in this build (without OpenMP): use --force to retrain it",
		                run->result_path, threads, threads == 1 ? "" : "s", o->threads);
	n = config ? snm_cfg_diff_text_brief(config, run->config_text, 3, keys, sizeof keys) : -1;
	if (n > 0)
		return SNM_FAIL(err, SNM_ESTATE, "%s: made by another configuration (%s; config hash %.16s, now "
		                "%s): use --force to retrain it", run->result_path, keys, hash, want);
	return SNM_FAIL(err, SNM_ESTATE, "%s: made by another configuration (%s; config hash %.16s, now %s): "
	                "use --force to retrain it", run->result_path,
	                n == 0 ? "no key differs, only their order" : "the file records no readable config",
	                hash, want);
}

/* What to do with a run whose result file may exist: train it from scratch (the file is absent;
 * or, with force, made by another configuration or, unfinished, by other code: then the file is
 * kept beside, supersede.h, and res->superseded names it), resume it (*resumed = 1: the same
 * configuration, status "running", code the same or unknown), or skip it (*skipped = 1, res
 * filled from the file, res->code saying whether other code made it: the same configuration,
 * "finished").  Another configuration, or an unfinished run of other code, without force is
 * SNM_ESTATE, one line naming what differs. */
static int check_existing(const snm_run_spec *run, const snm_trainer_opts *o, snm_run_result *res,
                          int *resumed, int *skipped, snm_error *err)
{
	snm_store_attrs a;
	const char *status, *hash;
	char want_hash[32];
	int64_t threads = -1;
	int rc = SNM_OK, code = SNM_CODE_UNKNOWN;
	struct stat st;
	*resumed = *skipped = 0;
	snprintf(want_hash, sizeof want_hash, "%016" PRIx64, run->config_hash);
	if (access(run->result_path, F_OK) != 0)
		return SNM_OK;
	if (stat(run->result_path, &st) == 0 && S_ISDIR(st.st_mode))
		return SNM_FAIL(err, SNM_EIO, "%s: a directory is in the way of the run file",
		                run->result_path);
	if ((rc = snm_store_read_attrs(run->result_path, &a, err))) {
		/* a file that cannot be read is nobody's to replace, --force or not: say the way out */
		if (rc != SNM_ENOMEM && err != NULL && strlen(err->msg) + 60 < sizeof err->msg)
			strcat(err->msg, " (left as it is: move it away to train the run)");
		return rc;
	}
	status = attr_str(&a, "status");
	hash = attr_str(&a, "config_hash");
	if (status == NULL || hash == NULL || !attr_int(&a, "threads", &threads)) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: not a run file of snm (no %s attribute)", run->result_path,
		              status == NULL ? "status" : hash == NULL ? "config_hash" : "threads");
		goto out;
	}
	/* another thread count changes no bit where snm runs its own threads: resume then */
	if (strcmp(hash, want_hash) != 0 || (threads != o->threads && !snm_blas_thread_invariant())) {
		if (!o->force)
			rc = refuse_config(run, o, attr_str(&a, "config"), hash, want_hash, threads, err);
		else
			rc = snm_supersede(run->result_path, hash, res->superseded, sizeof res->superseded, err);
		goto out;
	}
	if (strcmp(status, "failed") == 0) {
		/* the same configuration and code fail the same way: retrained only when asked */
		const char *why = attr_str(&a, "error");
		if (!o->force)
			rc = SNM_FAIL(err, SNM_ESTATE, "%s: failed before (%.300s): not retrained; use --force to "
			              "retrain it from scratch", run->result_path, why ? why : "the file says no more");
		else
			rc = snm_supersede(run->result_path, hash, res->superseded, sizeof res->superseded, err);
		goto out;
	}
	if (strcmp(status, "finished") == 0 || strcmp(status, "running") == 0) {
		snm_identity now;
		if ((rc = snm_identity_find(run, o->plugin_path, &now, err)))
			goto out;
		code = snm_identity_compare(attr_str(&a, "plugin_sha256"), attr_str(&a, "libsnm_sha256"), &now,
		                            res->code_what, sizeof res->code_what);
	}
	if (strcmp(status, "finished") == 0) {
		char what[sizeof res->code_what];
		memcpy(what, res->code_what, sizeof what);
		rc = snm_run_read_result(run, res, err);     /* zeroes res first */
		res->status = SNM_RUN_SKIPPED;
		res->code = code;
		memcpy(res->code_what, what, sizeof what);
		*skipped = 1;
	} else if (strcmp(status, "running") == 0 && code == SNM_CODE_OTHER) {
		/* its checkpoint is of the other code's training: resuming would mix two codes in one run */
		if (!o->force)
			rc = SNM_FAIL(err, SNM_ESTATE, "%s: unfinished, made by other code (%s): this code does not "
			              "resume it; use --force to retrain it", run->result_path, res->code_what);
		else
			rc = snm_supersede(run->result_path, hash, res->superseded, sizeof res->superseded, err);
	} else if (strcmp(status, "running") == 0) {
		*resumed = 1;
	}
out:
	snm_store_attrs_free(&a);
	return rc;
}

/* 1 when the epoch being evaluated is one of train.test's: checkpoints, the epochs at which the
 * seed-003 code saved its checkpoints (1 to 10, then every tenth: 20, 30, ...; counted from 1),
 * and the last one; every, all of them. */
static int test_epoch(const trainer *T)
{
	int e = T->epoch + 1;
	if (T->test_mode == TEST_EVERY)
		return 1;
	return T->test_mode == TEST_CHECKPOINTS && (e <= 10 || e % 10 == 0 || e == T->epochs);
}

/* train.bn_stats labelled|unlabelled: the model's running statistics re-estimated over one pass
 * of the labelled subset (`batch` rows at a time) or of the unlabelled stream (`unlabelled_batch`
 * rows), in their stored order, no random stream drawn and no augmentation; trailing rows that
 * fill no whole batch are left out, as takerum/vat's finetuning leaves them (all of them form the
 * one batch when fewer than a batch).  Batch i (from 0) is a training-mode forward pass without
 * gradients whose statistics enter with weight 1/(i + 1) (snm_tape_set_stats_weight): the
 * statistics become the mean of the batches' means and unbiased variances. */
static int refit_stats(trainer *T, snm_error *err)
{
	const snm_data_info *in = &T->R.ds->info;
	int unl = T->bn_stats == BN_UNLABELLED, rc = SNM_OK;
	const long *idx = unl ? T->pool : T->R.subset;
	long n = unl ? T->n_pool : T->R.n_sub, b = unl ? T->batch_u : T->batch, nb;
	float *x = unl ? T->xu : T->x;     /* batch_u, or at least batch, rows */
	int g = snm_tape_set_grad(T->tape, 0), tr = snm_tape_set_training(T->tape, 1);
	int hold = snm_tape_set_hold_stats(T->tape, 0);
	double w = snm_tape_stats_weight(T->tape);
	if (b > n)
		b = n;
	nb = b > 0 ? n / b : 0;
	for (long i = 0; i < nb && rc == SNM_OK; ++i) {
		snm_tensor *y;
		snm_tape_reset(T->tape);
		snm_tape_set_stats_weight(T->tape, 1.0 / (double)(i + 1));
		if ((rc = snm_run_inputs(&T->R, SNM_SPLIT_TRAIN, idx + i * b, b, NULL, x, NULL, err)))
			break;
		y = snm_tape_const(T->tape, 4, (int[]){ (int)b, in->d[0], in->d[1], in->d[2] }, x);
		y = T->R.model.vt->classify(T->R.model.state, T->tape,
		                            T->R.model.vt->encode(T->R.model.state, T->tape, y, NULL, NULL, NULL));
		if (y == NULL) {
			if ((rc = snm_tape_error(T->tape, err)) == SNM_OK)
				rc = SNM_FAIL(err, SNM_EPLUGIN, "model '%s' returned no output", T->run->model_type);
			snm_error_prefix(err, "%s: train.bn_stats", T->run->key);
		}
	}
	snm_tape_reset(T->tape);
	snm_tape_set_stats_weight(T->tape, w);
	snm_tape_set_grad(T->tape, g);
	snm_tape_set_training(T->tape, tr);
	snm_tape_set_hold_stats(T->tape, hold);
	return rc;
}

/* The epoch's evaluation: the statistics re-estimated (train.bn_stats), training error on at most
 * train_eval_max subset examples, validation error, and -- when validation improved -- test error
 * and a copy of the weights as the best. */
static int evaluate(trainer *T, double *train_err, double *valid_err, double *test_err, snm_error *err)
{
	long n_tr = T->train_eval_max < T->R.n_sub ? T->train_eval_max : T->R.n_sub;
	int rc;
	*train_err = *test_err = NAN;
	if (T->bn_stats != BN_RUNNING && (rc = refit_stats(T, err)))
		return rc;
	if (n_tr > 0 && (rc = eval_error(T, SNM_SPLIT_TRAIN, T->R.subset, n_tr, train_err, err)))
		return rc;
	if ((rc = eval_error(T, SNM_SPLIT_VALID, T->valid_idx, T->R.ds->info.n[SNM_SPLIT_VALID], valid_err, err)))
		return rc;
	if (*valid_err < T->best_valid) {
		if ((rc = eval_error(T, SNM_SPLIT_TEST, T->test_idx, T->R.ds->info.n[SNM_SPLIT_TEST], test_err, err))
		    || (rc = snm_params_copy(T->best, T->R.params, err)))
			return rc;
		T->best_valid = *valid_err;
		T->test_at_best = *test_err;
		T->best_epoch = T->epoch;
	}
	if (test_epoch(T)) {
		if (isnan(*test_err)
		    && (rc = eval_error(T, SNM_SPLIT_TEST, T->test_idx, T->R.ds->info.n[SNM_SPLIT_TEST], test_err, err)))
			return rc;
		if (isnan(T->min_test) || *test_err < T->min_test)
			T->min_test = *test_err;
	}
	return SNM_OK;
}

/* Appends the epoch's row to the metrics table (NaN in the columns this epoch has no value for). */
static int append_row(trainer *T, double loss, const double *terms, double train_err, double valid_err,
                      double test_err, double seconds, snm_error *err)
{
	double row[10 + SNM_MAX_TERMS];
	int k;
	for (k = 0; k < snm_metrics_cols(T->metrics); ++k)
		row[k] = NAN;
	row[col(T, "epoch")] = T->epoch;
	row[col(T, "lr")] = snm_schedule_lr(&T->sched, T->epoch);
	row[col(T, "loss")] = loss;
	for (int i = 0; i < T->n_terms; ++i) {
		char name[80];
		snprintf(name, sizeof name, "loss.%s", T->term_names[i]);
		if ((k = col(T, name)) < 0)
			return SNM_FAIL(err, SNM_ESTATE, "%s: the regularizer reports term '%s', unknown to "
			                "the run file", T->run->key, T->term_names[i]);
		row[k] = terms[i];
	}
	row[col(T, "train_error")] = train_err;
	row[col(T, "valid_error")] = valid_err;
	row[col(T, "test_error")] = test_err;
	row[col(T, "best_valid_error")] = T->best_valid;
	row[col(T, "test_at_best")] = T->test_at_best;
	if (T->test_mode != TEST_BEST)
		row[col(T, "min_test_error")] = T->min_test;
	row[col(T, "seconds")] = seconds;
	return snm_metrics_append(T->metrics, row, err);
}

/* A run whose training failed for a reason that training it again would meet again -- a loss,
 * parameter or moment not finite, a plugin's error -- is marked in its file: status "failed", the
 * error, and the last whole epoch's checkpoint (the state at the start of the failed epoch), so
 * that `snm status` says why and `snm run` does not retrain it unasked.  A failure of the disk,
 * of memory or of reading is not the run's: the file is left as it was. */
static void mark_failed(trainer *T, int rc, snm_error *err)
{
	snm_error e;
	char msg[SNM_ERROR_MSG_MAX];
	if (rc == SNM_ENOMEM || rc == SNM_EIO || rc == SNM_EHDF5 || T->at_params == NULL)
		return;
	snprintf(msg, sizeof msg, "%s", err->msg);
	if (save(T, "failed", NULL, msg, &e) != SNM_OK)
		SNM_FAIL(err, rc, "%s (not marked failed in its file: %s)", msg, e.msg);
	else
		SNM_FAIL(err, rc, "%s; marked failed in its file, which keeps the checkpoint of %s: snm run "
		         "retrains it only with --force", msg, T->epoch == 0 ? "no epoch (the initial state)"
		         : "its last whole epoch");
}

static int train_locked(const snm_run_spec *run, const snm_trainer_opts *o, snm_run_result *res,
                        snm_error *err)
{
	trainer T;
	snm_run_result dummy;
	snm_error local;
	int rc, resumed, skipped, start_epoch;
	double t0 = now();
	if (res == NULL)
		res = &dummy;
	if (err == NULL)
		err = &local;
	memset(res, 0, sizeof *res);
	res->best_epoch = -1;
	memset(&T, 0, sizeof T);
	T.run = run;
	T.o = o;
	if ((rc = check_existing(run, o, res, &resumed, &skipped, err)) || skipped)
		return rc;
	if ((rc = setup(&T, err)))
		goto done;
	if (resumed && (rc = resume(&T, err)))
		goto done;
	/* the result file's directory exists: snm_train made it for the lock file */
	start_epoch = T.epoch;
	progress(&T, &(snm_train_progress){ .event = SNM_PROGRESS_START, .partial = T.carry_steps });
	while (T.epoch < T.epochs) {
		double loss = 0, terms[SNM_MAX_TERMS], train_err, valid_err, test_err, carried = 0, te = now();
		if ((rc = train_epoch(&T, &loss, terms, &carried, err)))
			goto failed;
		if (T.stopped) {
			res->status = SNM_RUN_INTERRUPTED;
			res->step = T.stop_step;
			res->n_steps = T.n_steps;
			break;
		}
		if ((rc = check_state(&T, err))
		    || (rc = evaluate(&T, &train_err, &valid_err, &test_err, err))
		    || (rc = append_row(&T, loss, terms, train_err, valid_err, test_err, carried + now() - te, err)))
			goto failed;
		T.epoch++;
		if ((rc = save(&T, T.epoch == T.epochs ? "finished" : "running", NULL, NULL, err)))
			goto done;
		progress(&T, &(snm_train_progress){ .event = SNM_PROGRESS_EPOCH, .loss = loss, .train_error = train_err,
		                              .valid_error = valid_err, .seconds = carried + now() - te });
		if (o->stop_after > 0 && T.epoch - start_epoch >= o->stop_after && T.epoch < T.epochs) {
			res->status = SNM_RUN_STOPPED;
			break;
		}
	}
	if (res->status == 0)
		res->status = resumed ? SNM_RUN_RESUMED : SNM_RUN_TRAINED;
	res->epochs = T.epoch;
	res->best_epoch = T.best_epoch;
	res->best_valid = T.best_valid;
	res->test_at_best = T.test_at_best;
	goto done;
failed:
	mark_failed(&T, rc, err);
done:
	res->seconds = now() - t0;
	teardown(&T);
	return rc;
}

int snm_run_read_result(const snm_run_spec *r, snm_run_result *res, snm_error *err)
{
	const char *path = r->result_path;
	snm_metrics *m = NULL;
	char *status = NULL, *hash = NULL, want[32];
	int rc;
	size_t rows;
	memset(res, 0, sizeof *res);
	res->best_epoch = -1;
	snprintf(want, sizeof want, "%016" PRIx64, r->config_hash);
	if ((rc = snm_store_get_str(path, "config_hash", &hash, err)))
		return rc;
	if (strcmp(hash, want) != 0) {
		free(hash);
		return SNM_FAIL(err, SNM_ESTATE, "%s: made by another configuration", path);
	}
	free(hash);
	if ((rc = snm_store_get_str(path, "status", &status, err)))
		return rc;
	if (strcmp(status, "finished") != 0) {
		rc = SNM_FAIL(err, SNM_ESTATE, "%s: run is %s, not finished", path, status);
		free(status);
		return rc;
	}
	free(status);
	if ((rc = snm_store_read_metrics(path, &m, err)))
		return rc;
	rows = snm_metrics_rows(m);
	res->epochs = (int)rows;
	if (!snm_metrics_result(m, &res->test_at_best)) {
		snm_metrics_free(m);
		return SNM_FAIL(err, SNM_EIO, "%s: finished but /metrics/test_at_best has no test error (a "
		                "percentage) at the last row", path);
	}
	if (rows > 0) {
		res->best_valid = snm_metrics_get(m, rows - 1, snm_metrics_find(m, "best_valid_error"));
		for (size_t i = 0; i < rows; ++i)
			if (snm_metrics_get(m, i, snm_metrics_find(m, "valid_error")) == res->best_valid) {
				res->best_epoch = (int)i;
				break;
			}
	}
	snm_metrics_free(m);
	res->status = SNM_RUN_SKIPPED;
	return SNM_OK;
}
