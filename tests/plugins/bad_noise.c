/* bad_noise.c: a regularizer (the plain cross-entropy when it makes no mistake) that makes the
 * mistake its `mistake` option names, for `snm check`'s training step (src/run/trystep.h) to
 * catch, one line each naming the regularizer, never a crash:
 *   none          no mistake
 *   create_fails  create fails, saying why
 *   create_silent create fails without saying why
 *   no_loss       the objective succeeds but returns no loss
 *   vector_loss   the loss is the logits, (N, classes), not one element
 *   shapes        the loss adds z to x, whose shapes do not match (the tape records the error)
 *   unnamed_term  a loss term without a name
 *   fail_silently the objective fails without saying why
 *   nan_grad      a finite loss whose gradient is not finite (sqrt at 0, times 0) */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "snm/plugin.h"

static const snm_option options[] = {
	{ "mistake", SNM_OPT_CHOICE, "none",
	  "none|create_fails|create_silent|no_loss|vector_loss|shapes|unnamed_term|fail_silently|nan_grad",
	  "the mistake this regularizer makes", NULL },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

typedef struct bad { char mistake[16]; } bad;

static int create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                  void **state, snm_error *err)
{
	const char *mistake;
	bad *s;
	(void)model, (void)params, (void)init;
	*state = NULL;
	if (snm_cfg_opt_str(opts, options, "mistake", &mistake, err))
		return err->code;
	if (strcmp(mistake, "create_fails") == 0)
		return SNM_FAIL(err, SNM_ECONFIG, "badnoise: this regularizer refuses to be created");
	if (strcmp(mistake, "create_silent") == 0)
		return SNM_ECONFIG;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	snprintf(s->mistake, sizeof s->mistake, "%s", mistake);
	*state = s;
	return SNM_OK;
}

static void destroy(void *state)
{
	free(state);
}

static int objective(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
                     gsl_rng *noise, snm_objective *out, snm_error *err)
{
	const bad *s = state;
	const snm_model_vt *m = model->vt;
	snm_tensor *z = m->encode(model->state, t, b->x, NULL, NULL, NULL);
	snm_tensor *y = m->classify(model->state, t, z);
	snm_tensor *ce = snm_softmax_ce(t, y, b->labels);
	(void)noise;
	if (strcmp(s->mistake, "fail_silently") == 0)
		return SNM_EINVAL;
	out->n_terms = 1;
	out->term_names[0] = strcmp(s->mistake, "unnamed_term") == 0 ? NULL : "ce";
	out->terms[0] = ce;
	out->loss = ce;
	if (strcmp(s->mistake, "no_loss") == 0)
		out->loss = NULL;
	else if (strcmp(s->mistake, "vector_loss") == 0)
		out->loss = y;
	else if (strcmp(s->mistake, "shapes") == 0)
		out->loss = snm_add(t, z, b->x);
	else if (strcmp(s->mistake, "nan_grad") == 0)
		out->loss = snm_add(t, ce, snm_sqrt(t, snm_scale(t, ce, 0.0f)));
	(void)err;
	return SNM_OK;
}

static const snm_noise_vt vt = { sizeof vt, create, destroy, objective, NULL, NULL, NULL, NULL };
SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "badnoise", "0.0.1", "test plugin: a regularizer that makes a mistake",
                  &vt, options);
