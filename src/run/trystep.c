/* trystep.c: one training step of a run's model and regularizer on a few examples, for `snm
 * check` (trystep.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/blas.h"
#include "core/optim.h"
#include "snm/rng.h"
#include "loader.h"
#include "run.h"
#include "steps.h"
#include "trystep.h"

typedef struct step {
	const snm_run_spec *r;
	snm_run R;
	snm_tape *tape;
	long n, nu;                  /* labelled and unlabelled examples */
	float *x, *xu;
	int32_t *y;
	long *idx;
	gsl_rng *aug, *noise;
	snm_steps *steps;            /* the regularizer's updates and their Adam states */
	int k;                       /* the update being tried */
} step;

enum { MODEL, NOISE };

/* err as the step's one line, naming the model or the regularizer; returns its code. */
static int blame(const step *S, int who, snm_error *err)
{
	if (who == NOISE && S->steps != NULL && snm_steps_name(S->steps, S->k) != NULL)
		snm_error_prefix(err, "update '%s'", snm_steps_name(S->steps, S->k));
	snm_error_prefix(err, "one training step on %ld examples", S->n);
	if (who == MODEL)
		snm_run_plugin_prefix(err, S->r->key, "model", S->R.mh.p->name, S->r->model);
	else
		snm_run_plugin_prefix(err, S->r->key, "noise", S->R.nh.p->name, S->r->noise);
	return err ? err->code : SNM_EPLUGIN;
}

/* The tape's error after a method returned NULL, or `what` when it recorded none. */
static int tape_or(const step *S, const char *what, snm_error *err)
{
	if (snm_tape_error(S->tape, err) != SNM_OK)
		return err ? err->code : SNM_EPLUGIN;
	return SNM_FAIL(err, SNM_EPLUGIN, "%s returned NULL and recorded no error on the tape", what);
}

static int finite(const snm_tensor *t)
{
	for (size_t i = 0, n = snm_tensor_len(t); i < n; ++i)
		if (!isfinite(t->x[i]))
			return 0;
	return 1;
}

static snm_tensor *input(step *S, const float *x, long n)
{
	const snm_data_info *in = &S->R.ds->info;
	return snm_tape_const(S->tape, 4, (int[]){ (int)n, in->d[0], in->d[1], in->d[2] }, x);
}

/* The data, the examples minus their own mean, the model and the regularizer: want examples (as
 * many as the training split has, if fewer), and want_u unlabelled ones (0: as many as labelled)
 * for a regularizer that wants them. */
static int open_step(step *S, const char *plugin_path, snm_data_cache *cache, long want, long want_u,
                     snm_error *err)
{
	const snm_run_spec *r = S->r;
	long n_train, wants, n_u, numerics;
	int rc;
	if ((rc = snm_run_data(&S->R, r, plugin_path, cache, err)))
		return rc;
	n_train = S->R.ds->info.n[SNM_SPLIT_TRAIN];
	S->n = n_train < want ? n_train : want;
	if (S->n < 1)
		return SNM_FAIL(err, SNM_ECONFIG, "%s: data '%s' has no training examples", r->key, r->data_type);
	n_u = want_u > 0 && want_u < n_train ? want_u : (want_u > 0 ? n_train : S->n);
	S->idx = malloc((size_t)(S->n + n_u) * sizeof *S->idx);
	S->R.subset = malloc((size_t)S->n * sizeof *S->R.subset);
	S->x = malloc((size_t)S->n * S->R.dim * sizeof *S->x);
	S->xu = malloc((size_t)n_u * S->R.dim * sizeof *S->xu);
	S->y = malloc((size_t)S->n * sizeof *S->y);
	S->tape = snm_tape_new(0, err);
	S->aug = snm_rng_stream(r->seed, "augment", r->key, err);
	S->noise = snm_rng_stream(r->seed, "noise", r->key, err);
	if (!S->idx || !S->R.subset || !S->x || !S->xu || !S->y || !S->tape || !S->aug || !S->noise)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	if ((rc = snm_cfg_opt_int(r->train, snm_train_options, "numerics", &numerics, err)))
		return rc;
	if (snm_tape_set_numerics(S->tape, (int)numerics) < 0)   /* the step the run takes */
		return SNM_FAIL(err, SNM_ECONFIG, "%s: train.numerics %ld is not a version of this libsnm "
		                "(1 to %d)", r->key, numerics, SNM_NUMERICS_MAX);
	for (long i = 0; i < S->n + n_u; ++i)
		S->idx[i] = i < n_train ? i : i % S->n;          /* unlabelled: the next ones, if any */
	memcpy(S->R.subset, S->idx, (size_t)S->n * sizeof *S->idx);
	S->R.n_sub = S->n;
	if ((rc = snm_run_mean(&S->R, S->n, err)) || (rc = snm_run_build(&S->R, r->key, err))
	    || (rc = snm_run_inputs(&S->R, SNM_SPLIT_TRAIN, S->idx, S->n, S->aug, S->x, S->y, err)))
		return rc;
	wants = S->R.nvt->wants_unlabelled != NULL && S->R.nvt->wants_unlabelled(S->R.noise);
	if (wants) {
		S->nu = n_u;
		return snm_run_inputs(&S->R, SNM_SPLIT_TRAIN, S->idx + S->n, S->nu, S->aug, S->xu, NULL, err);
	}
	return SNM_OK;
}

/* 1: the model as evaluation calls it -- z (N, Z) and logits (N, classes), finite. */
static int check_model(step *S, snm_error *err)
{
	const snm_model *m = &S->R.model;
	int K = S->R.ds->info.n_classes, rc = SNM_OK;
	int g = snm_tape_set_grad(S->tape, 0), tr = snm_tape_set_training(S->tape, 0);
	char shape[64];
	snm_tensor *z, *y = NULL;
	snm_tape_reset(S->tape);
	z = m->vt->encode(m->state, S->tape, input(S, S->x, S->n), NULL, NULL, NULL);
	if (z == NULL)
		rc = tape_or(S, "encode", err);
	else if (z->n_d != 2 || z->d[0] != S->n)
		rc = SNM_FAIL(err, SNM_EPLUGIN, "encode gives z of shape %s for %ld examples, not (%ld, Z)",
		              snm_tensor_shape_str(z, shape, sizeof shape), S->n, S->n);
	else if (!finite(z))
		rc = SNM_FAIL(err, SNM_ENUMERIC, "encode gives a z that is not finite (evaluation mode)");
	else if ((y = m->vt->classify(m->state, S->tape, z)) == NULL)
		rc = tape_or(S, "classify", err);
	else if (y->n_d != 2 || y->d[0] != S->n || y->d[1] != K)
		rc = SNM_FAIL(err, SNM_EPLUGIN, "classify gives logits of shape %s, not (%ld, %d) for %d classes",
		              snm_tensor_shape_str(y, shape, sizeof shape), S->n, K, K);
	else if (!finite(y))
		rc = SNM_FAIL(err, SNM_ENUMERIC, "classify gives logits that are not finite (evaluation mode)");
	snm_tape_reset(S->tape);
	snm_tape_set_grad(S->tape, g);
	snm_tape_set_training(S->tape, tr);
	return rc ? blame(S, MODEL, err) : SNM_OK;
}

/* 2: the objective -- a loss of one element, its terms named and of one element, all finite
 * (for each of the regularizer's updates in turn, S->k). */
static int check_objective(step *S, snm_objective *obj, snm_error *err)
{
	char shape[64];
	long epochs = 1;
	snm_batch b;
	snm_progress at;
	int rc;
	snm_tape_reset(S->tape);
	snm_tape_set_grad(S->tape, 1);
	snm_tape_set_training(S->tape, 1);
	snm_cfg_opt_int(S->r->train, snm_train_options, "epochs", &epochs, NULL);
	b.x = input(S, S->x, S->n);
	b.labels = S->y;
	b.xu = S->nu > 0 ? input(S, S->xu, S->nu) : NULL;
	b.mean = S->R.mean;
	at = (snm_progress){ sizeof at, 0, (int32_t)epochs, 0, 1, 0 };
	memset(obj, 0, sizeof *obj);
	snm_error_clear(err);
	rc = snm_steps_objective(S->steps, S->k, &S->R.model, S->tape, &b, S->noise, &at, obj, err);
	if (rc != SNM_OK) {
		if (err != NULL && err->msg[0] == '\0')
			SNM_FAIL(err, SNM_EPLUGIN, "the objective failed (returned %d) without saying why", rc);
		else if (err != NULL && (rc < 0 || rc >= SNM_E__COUNT))
			err->code = SNM_EPLUGIN;
		return blame(S, NOISE, err);
	}
	if (obj->loss == NULL) {
		if (snm_tape_error(S->tape, err) == SNM_OK)
			SNM_FAIL(err, SNM_EPLUGIN, "the objective returned no loss");
		return blame(S, NOISE, err);
	}
	if (snm_tensor_len(obj->loss) != 1) {
		SNM_FAIL(err, SNM_EPLUGIN, "the objective's loss has shape %s, not one element (a loss is the "
		         "batch's scalar: reduce it)", snm_tensor_shape_str(obj->loss, shape, sizeof shape));
		return blame(S, NOISE, err);
	}
	if (obj->n_terms < 0 || obj->n_terms > SNM_MAX_TERMS) {
		SNM_FAIL(err, SNM_EPLUGIN, "the objective reports %d loss terms (0 to %d)", obj->n_terms,
		         SNM_MAX_TERMS);
		return blame(S, NOISE, err);
	}
	for (int i = 0; i < obj->n_terms; ++i) {
		const char *name = obj->term_names[i];
		if (name == NULL || name[0] == '\0' || obj->terms[i] == NULL) {
			SNM_FAIL(err, SNM_EPLUGIN, "the objective's loss term %d has no %s", i + 1,
			         obj->terms[i] == NULL ? "tensor" : "name");
			return blame(S, NOISE, err);
		}
		if (snm_tensor_len(obj->terms[i]) != 1) {
			SNM_FAIL(err, SNM_EPLUGIN, "the objective's loss term '%.60s' has shape %s, not one element",
			         name, snm_tensor_shape_str(obj->terms[i], shape, sizeof shape));
			return blame(S, NOISE, err);
		}
	}
	if (!isfinite(obj->loss->x[0])) {
		const char *bad = "loss";
		for (int i = 0; i < obj->n_terms; ++i)
			if (!isfinite(obj->terms[i]->x[0]))
				bad = obj->term_names[i];
		SNM_FAIL(err, SNM_ENUMERIC, "the loss is not finite (term '%.60s')", bad);
		return blame(S, NOISE, err);
	}
	return SNM_OK;
}

/* The name of the first entry of p with `flag` whose values (or, with grad, gradients) are not
 * finite; NULL when there is none. */
static const char *first_bad(const snm_params *p, unsigned flag, int grad)
{
	for (int i = 0; i < snm_params_count(p); ++i) {
		const snm_tensor *t = snm_params_at(p, i);
		const float *v = grad ? t->g : t->x;
		if (!(t->flags & flag) || v == NULL)
			continue;
		for (size_t j = 0, n = snm_tensor_len(t); j < n; ++j)
			if (!isfinite(v[j]))
				return t->name;
	}
	return NULL;
}

/* 3 and 4: the backward pass and one Adam step. */
static int check_step(step *S, const snm_objective *obj, snm_error *err)
{
	const snm_cfg *tr = S->r->train;
	double lr = 0;
	const char *bad;
	int rc;
	if ((rc = snm_tape_backward(S->tape, obj->loss, err)))
		return blame(S, NOISE, err);
	if ((bad = first_bad(S->R.params, SNM_T_PARAM, 1)) != NULL) {
		SNM_FAIL(err, SNM_ENUMERIC, "the gradient of parameter '%.80s' is not finite", bad);
		return blame(S, NOISE, err);
	}
	if ((rc = snm_cfg_opt_double(tr, snm_train_options, "lr", &lr, err)))
		return rc;
	if ((rc = snm_adam_step(snm_steps_adam(S->steps, S->k), lr, err)))
		return rc;
	snm_params_zero_grad(S->R.params);
	if ((bad = first_bad(S->R.params, SNM_T_PARAM | SNM_T_BUFFER, 0)) != NULL) {
		SNM_FAIL(err, SNM_ENUMERIC, "'%.80s' is not finite after one Adam step at lr %g", bad, lr);
		return blame(S, NOISE, err);
	}
	return SNM_OK;
}

/* The regularizer's updates (steps.h) with the train section's Adam settings; a broken rule of
 * snm_update is the regularizer's. */
static int make_steps(step *S, snm_error *err)
{
	const snm_cfg *tr = S->r->train;
	double b1 = 0.9, b2 = 0.999, eps = 1e-8;
	int rc;
	if ((rc = snm_cfg_opt_double(tr, snm_train_options, "beta1", &b1, err))
	    || (rc = snm_cfg_opt_double(tr, snm_train_options, "beta2", &b2, err))
	    || (rc = snm_cfg_opt_double(tr, snm_train_options, "eps", &eps, err)))
		return rc;
	if ((S->steps = snm_steps_new(S->R.nvt, S->R.noise, "its updates", S->R.params, b1, b2, eps, err)) == NULL)
		return blame(S, NOISE, err);
	return SNM_OK;
}

int snm_run_try_step(const snm_run_spec *r, const char *plugin_path, snm_data_cache *cache,
                     snm_error *err)
{
	step S;
	snm_objective obj;
	int rc;
	memset(&S, 0, sizeof S);
	S.r = r;
	if ((rc = open_step(&S, plugin_path, cache, SNM_TRY_EXAMPLES, 0, err)) == SNM_OK && (rc = check_model(&S, err)) == SNM_OK
	    && (rc = make_steps(&S, err)) == SNM_OK)
		for (S.k = 0; S.k < snm_steps_count(S.steps) && rc == SNM_OK; ++S.k)
			if ((rc = check_objective(&S, &obj, err)) == SNM_OK)
				rc = check_step(&S, &obj, err);
	snm_steps_free(S.steps);
	snm_tape_free(S.tape);
	if (S.aug) gsl_rng_free(S.aug);
	if (S.noise) gsl_rng_free(S.noise);
	free(S.x);
	free(S.xu);
	free(S.y);
	free(S.idx);
	snm_run_close(&S.R);
	return rc;
}

/* ---- timing, for the cost model (cost.h) ------------------------------------------------------ */

/* The clock of the timings: the process's processor time at one thread (what other processes'
 * turns on a shared machine do not add to), the wall clock at more (where the threads' waits are
 * part of the cost). */
static clockid_t timing_clock;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(timing_clock, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The least of v[0..n): the cost of the work itself, with a processor to itself -- on a machine
 * that other work shares, the slower repetitions measure that work's share instead. */
static double least(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; ++i)
		m = v[i] < m ? v[i] : m;
	return m;
}

/* One evaluation batch of b examples as the trainer's evaluation does it: inputs read, the model
 * in evaluation mode without gradients, the predicted classes. */
static int eval_once(step *S, long b, snm_error *err)
{
	const snm_model *m = &S->R.model;
	int K = S->R.ds->info.n_classes, rc, wrong = 0;
	int g = snm_tape_set_grad(S->tape, 0), tr = snm_tape_set_training(S->tape, 0);
	snm_tensor *z, *y = NULL;
	if ((rc = snm_run_inputs(&S->R, SNM_SPLIT_TRAIN, S->idx, b, NULL, S->x, S->y, err)))
		return rc;
	snm_tape_reset(S->tape);
	z = m->vt->encode(m->state, S->tape, input(S, S->x, b), NULL, NULL, NULL);
	if (z == NULL || (y = m->vt->classify(m->state, S->tape, z)) == NULL)
		return tape_or(S, z == NULL ? "encode" : "classify", err);
	for (long i = 0; i < b; ++i)
		wrong += snm_argmax(y->x + i * K, K) != S->y[i];
	(void)wrong;
	snm_tape_reset(S->tape);
	snm_tape_set_grad(S->tape, g);
	snm_tape_set_training(S->tape, tr);
	return SNM_OK;
}

/* One training step on b labelled examples (and the unlabelled ones), as the trainer takes it:
 * inputs read with augmentation, then for each of the regularizer's updates (steps.h; one
 * without updates) on a fresh tape its objective, the backward pass, its Adam step and the
 * gradients zeroed -- so a regularizer with updates is timed for the whole step. */
static int step_once(step *S, long b, long epochs, double lr, snm_error *err)
{
	snm_objective obj;
	snm_batch bt;
	snm_progress at;
	int rc;
	if ((rc = snm_run_inputs(&S->R, SNM_SPLIT_TRAIN, S->idx, b, S->aug, S->x, S->y, err)))
		return rc;
	if (S->nu > 0 && (rc = snm_run_inputs(&S->R, SNM_SPLIT_TRAIN, S->idx + S->n, S->nu, S->aug, S->xu,
	                                      NULL, err)))
		return rc;
	snm_tape_set_grad(S->tape, 1);
	snm_tape_set_training(S->tape, 1);
	at = (snm_progress){ sizeof at, 0, (int32_t)epochs, 0, 1, 0 };
	for (S->k = 0; S->k < snm_steps_count(S->steps); ++S->k) {
		snm_tape_reset(S->tape);
		memset(&bt, 0, sizeof bt);
		bt.x = input(S, S->x, b);
		bt.labels = S->y;
		bt.xu = S->nu > 0 ? input(S, S->xu, S->nu) : NULL;
		bt.mean = S->R.mean;
		memset(&obj, 0, sizeof obj);
		if ((rc = snm_steps_objective(S->steps, S->k, &S->R.model, S->tape, &bt, S->noise, &at, &obj, err)))
			return blame(S, NOISE, err);
		if (obj.loss == NULL)
			return tape_or(S, "the objective", err);
		if ((rc = snm_steps_apply(S->steps, S->k, S->tape, obj.loss, lr, err)))
			return blame(S, NOISE, err);
	}
	return SNM_OK;
}

int snm_run_time_step(const snm_run_spec *r, const char *plugin_path, snm_data_cache *cache, int reps,
                      snm_step_timing *out, snm_error *err)
{
	step S;
	long batch = 100, eval_batch = 100, ub = 100, epochs = 1, nb, ne;
	double lr = 0, t_step[64], t_eval[64], spent_s = 0, spent_e = 0;
	int rc, n = 0;
	memset(&S, 0, sizeof S);
	memset(out, 0, sizeof *out);
	S.r = r;
	reps = reps < 1 ? 1 : reps > 63 ? 63 : reps;
	timing_clock = snm_blas_threads() > 1 ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID;
	if ((rc = snm_cfg_opt_int(r->train, snm_train_options, "batch", &batch, err))
	    || (rc = snm_cfg_opt_int(r->train, snm_train_options, "eval_batch", &eval_batch, err))
	    || (rc = snm_cfg_opt_int(r->train, snm_train_options, "unlabelled_batch", &ub, err))
	    || (rc = snm_cfg_opt_int(r->train, snm_train_options, "epochs", &epochs, err))
	    || (rc = snm_cfg_opt_double(r->train, snm_train_options, "lr", &lr, err)))
		return rc;
	if ((rc = open_step(&S, plugin_path, cache, batch > eval_batch ? batch : eval_batch, ub, err)) == SNM_OK)
		rc = make_steps(&S, err);
	nb = batch < S.n ? batch : S.n;
	ne = eval_batch < S.n ? eval_batch : S.n;
	/* one of each first, untimed (caches, the arena's first growth), then at least reps timed,
	 * more (up to 63) until each kind has taken a second, so that the fastest of them has had
	 * its chance on a machine that other work shares */
	for (int i = 0; rc == SNM_OK && i < 64; ++i) {
		double t0, t1;
		if (i > reps && (spent_s >= 1.0 || i > 63) && (spent_e >= 1.0 || i > 63))
			break;
		t0 = now_s();
		if ((rc = step_once(&S, nb, epochs, lr, err)) != SNM_OK)
			break;
		t1 = now_s();
		if ((rc = eval_once(&S, ne, err)) != SNM_OK)
			break;
		if (i > 0) {
			t_step[i - 1] = t1 - t0;
			t_eval[i - 1] = now_s() - t1;
			spent_s += t_step[i - 1];
			spent_e += t_eval[i - 1];
			n = i;
		}
	}
	if (rc == SNM_OK) {
		out->batch = nb;
		out->eval_batch = ne;
		out->step = least(t_step, n);
		out->eval = least(t_eval, n) / (double)ne;
	}
	snm_steps_free(S.steps);
	snm_tape_free(S.tape);
	if (S.aug) gsl_rng_free(S.aug);
	if (S.noise) gsl_rng_free(S.noise);
	free(S.x);
	free(S.xu);
	free(S.y);
	free(S.idx);
	snm_run_close(&S.R);
	return rc;
}
