/* ramp_noise.c: a test regularizer of ABI 1.2 -- objective_at alone, a weight ramped by epoch, state
 * carried from step to step, and an op of its own:
 *
 *     loss = CE + w dev,   w = weight min(1, (epoch + 1) / ramp),   dev = (s - ema)^2,
 *
 * where s = ||z||^2 / N is the batch's mean squared latent norm and ema an exponential moving
 * average of s over the steps so far (ema <- decay ema + (1 - decay) s after each step's use; 0 at
 * the start).  dev is a custom op (snm_tape_custom): ds += 2 dy (s - ema).
 *
 * keep: true (the way snm/plugin.h asks for) registers ema and a step counter as SNM_T_BUFFER
 * entries "ramp.ema" and "ramp.count", so the run file's checkpoint carries them; false keeps them
 * in the plugin's own memory, where a resume loses them (the control case of the resume test).
 * log: a file to which every call appends one line "epoch step steps_per_epoch n_epochs count w"
 * (count: the plugin's own counter, equal to step while nothing is lost).  Terms: ce, dev, and w
 * (a constant: the metrics show the ramp, one value per epoch).
 * Honours SNM_TEST_INTERRUPT_AT (interrupt.h, through interrupt_and_flood below). */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include "snm/plugin.h"
#include "interrupt.h"

/* SNM_TEST_INTERRUPT_FLOOD: SIGINT after SIGINT at the training thread, every 50 us until the
 * regularizer is destroyed (after the run's last save, before its plugin is unloaded), so that
 * they fall on the checkpoint being saved. */
static pthread_t trainer, flooder;
static volatile sig_atomic_t flooding;

static void *flood(void *arg)
{
	struct timespec ts = { 0, 50000 };
	(void)arg;
	while (flooding) {
		pthread_kill(trainer, SIGINT);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Ctrl-C at chosen calls (interrupt.h); where SNM_TEST_INTERRUPT_FLOOD is set too, more SIGINTs
 * follow (flood) while snm saves and exits. */
static void interrupt_and_flood(void)
{
	if (!interrupt_at())
		return;
	trainer = pthread_self();
	flooding = 1;
	if (getenv("SNM_TEST_INTERRUPT_FLOOD") == NULL || pthread_create(&flooder, NULL, flood, NULL) != 0)
		flooding = 0;
}

static const snm_option ramp_options[] = {
	{ "weight", SNM_OPT_DOUBLE, "0.5", NULL, "the weight of dev once ramped up", "[0, inf)" },
	{ "ramp", SNM_OPT_INT, "3", NULL, "epochs over which the weight rises linearly", "[1, inf)" },
	{ "decay", SNM_OPT_DOUBLE, "0.5", NULL, "decay of the moving average", "[0, 1]" },
	{ "keep", SNM_OPT_BOOL, "true", NULL, "state in the parameter registry (checkpointed)", NULL },
	{ "log", SNM_OPT_STRING, "", NULL, "file to append one line per call to (empty: none)", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

typedef struct ramp_state {
	double weight, decay;
	long ramp;
	const char *log;
	float *ema, *count;      /* the buffers' x (keep), or own[0], own[1] */
	float own[2];
} ramp_state;

static int ramp_create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                       void **state, snm_error *err)
{
	ramp_state *s = calloc(1, sizeof *s);
	int keep = 1, rc;
	(void)model; (void)init;
	if (s == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	if ((rc = snm_cfg_opt_double(opts, ramp_options, "weight", &s->weight, err))
	    || (rc = snm_cfg_opt_int(opts, ramp_options, "ramp", &s->ramp, err))
	    || (rc = snm_cfg_opt_double(opts, ramp_options, "decay", &s->decay, err))
	    || (rc = snm_cfg_opt_bool(opts, ramp_options, "keep", &keep, err))
	    || (rc = snm_cfg_opt_str(opts, ramp_options, "log", &s->log, err))) {
		free(s);
		return rc;
	}
	s->ema = &s->own[0];
	s->count = &s->own[1];
	if (keep) {
		snm_tensor *e = snm_params_add(params, "ramp.ema", 1, (int[]){ 1 }, SNM_T_BUFFER, err);
		snm_tensor *c = e ? snm_params_add(params, "ramp.count", 1, (int[]){ 1 }, SNM_T_BUFFER, err) : NULL;
		if (c == NULL) {
			free(s);
			return err->code;
		}
		s->ema = e->x;
		s->count = c->x;
	}
	*state = s;
	return SNM_OK;
}

static void ramp_destroy(void *state)
{
	if (flooding) {
		flooding = 0;
		pthread_join(flooder, NULL);
	}
	free(state);
}

/* The custom op: s (1), ctx the moving average e -> y (1) = (s - e)^2;  ds += 2 dy (s - e). */
static int sqdev_fwd(snm_tape *t, void *ctx, int n_in, snm_tensor *const *in, snm_tensor *y)
{
	float d = in[0]->x[0] - *(const float *)ctx;
	(void)t; (void)n_in;
	y->x[0] = d * d;
	return SNM_OK;
}

static int sqdev_bwd(snm_tape *t, void *ctx, int n_in, snm_tensor *const *in, snm_tensor *y)
{
	(void)t; (void)n_in;
	if (in[0]->g != NULL)
		in[0]->g[0] += 2.0f * y->g[0] * (in[0]->x[0] - *(const float *)ctx);
	return SNM_OK;
}

static const snm_custom_op sqdev = { "sqdev", sqdev_fwd, sqdev_bwd };

static int ramp_objective(void *state, const snm_model *m, snm_tape *t, const snm_batch *b, gsl_rng *noise,
                          const snm_progress *at, snm_objective *out, snm_error *err)
{
	ramp_state *s = state;
	float w = (float)(s->weight * fmin(1.0, (at->epoch + 1.0) / (double)s->ramp)), e = *s->ema;
	snm_tensor *z, *sq, *dev;
	(void)noise;
	if (at->size < sizeof *at)
		return SNM_FAIL(err, SNM_EINVAL, "ramp: progress of %u bytes", at->size);
	if (s->log[0] != '\0') {
		FILE *f = fopen(s->log, "a");
		if (f == NULL)
			return SNM_FAIL(err, SNM_EIO, "ramp: cannot open %s", s->log);
		fprintf(f, "%d %lld %lld %d %.0f %.9g\n", (int)at->epoch, (long long)at->step,
		        (long long)at->steps_per_epoch, (int)at->n_epochs, (double)*s->count, (double)w);
		fclose(f);
	}
	z = m->vt->encode(m->state, t, b->x, NULL, NULL, NULL);
	sq = z ? snm_sqerr(t, z, snm_tape_const(t, z->n_d, z->d, NULL)) : NULL;
	dev = sq ? snm_tape_custom(t, &sqdev, 1, &sq, 1, (int[]){ 1 }, &e, sizeof e) : NULL;
	out->n_terms = 3;
	out->term_names[0] = "ce";
	out->terms[0] = snm_softmax_ce(t, m->vt->classify(m->state, t, z), b->labels);
	out->term_names[1] = "dev";
	out->terms[1] = dev;
	out->term_names[2] = "w";
	out->terms[2] = snm_tape_const(t, 1, (int[]){ 1 }, &w);
	out->loss = snm_add(t, out->terms[0], snm_scale(t, dev, w));
	if (out->loss == NULL)
		return snm_tape_error(t, err);
	*s->ema = (float)(s->decay * *s->ema + (1.0 - s->decay) * sq->x[0]);
	*s->count += 1.0f;
	interrupt_and_flood();
	return SNM_OK;
}

static const snm_noise_vt ramp_vt = { .size = sizeof ramp_vt, .create = ramp_create,
                                      .destroy = ramp_destroy, .objective_at = ramp_objective };
SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "ramp", "0.0.1",
                  "test plugin: a weight ramped by epoch, a checkpointed moving average, a custom op",
                  &ramp_vt, ramp_options);
