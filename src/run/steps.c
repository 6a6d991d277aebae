/* steps.c: the updates of a training step and their Adam states (see steps.h). */
#include <stdlib.h>
#include <string.h>
#include "loader.h"
#include "steps.h"

struct snm_steps {
	const snm_noise_vt *vt;
	void *noise;
	snm_params *params;
	int n, main;
	const snm_update *u;               /* the plugin's, NULL without updates */
	snm_adam *adam[SNM_MAX_UPDATES];
};

/* 1 when name starts with the prefix tok[0..n). */
static int starts(const char *name, const char *tok, size_t n)
{
	return strncmp(name, tok, n) == 0;
}

/* The selection rule of snm_update.params (snm/plugin.h): some including prefix (or none at
 * all), and no excluding one. */
static int selected(const snm_tensor *p, void *ctx)
{
	const char *sel = ctx, *c = sel;
	int n_incl = 0, incl = 0;
	while (*c != '\0') {
		const char *tok;
		size_t n;
		int ex;
		while (*c == ' ')
			++c;
		if (*c == '\0')
			break;
		ex = *c == '-';
		tok = c + ex;
		n = strcspn(tok, " ");
		c = tok + n;
		if (ex && starts(p->name, tok, n))
			return 0;
		if (!ex) {
			n_incl++;
			incl |= starts(p->name, tok, n);
		}
	}
	return n_incl == 0 || incl;
}

static int name_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 40)
		return 0;
	for (; *s; ++s)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* Checks the plan against the rules of snm/plugin.h. */
static int check_plan(const snm_steps *s, const char *who, snm_error *err)
{
	int n_main = 0;
	if (s->n < 1 || s->n > SNM_MAX_UPDATES)
		return SNM_FAIL(err, SNM_EPLUGIN, "%s: %d updates per step (1 to %d)", who, s->n, SNM_MAX_UPDATES);
	for (int k = 0; k < s->n; ++k) {
		const snm_update *u = &s->u[k];
		if (!name_ok(u->name))
			return SNM_FAIL(err, SNM_EPLUGIN, "%s: update %d: its name '%.40s' is not 1 to 40 of "
			                "[a-z0-9_]", who, k + 1, u->name ? u->name : "(null)");
		for (int j = 0; j < k; ++j)
			if (strcmp(s->u[j].name, u->name) == 0)
				return SNM_FAIL(err, SNM_EPLUGIN, "%s: updates %d and %d are both named '%s'", who,
				                j + 1, k + 1, u->name);
		n_main += u->main != 0;
	}
	if (n_main != 1)
		return SNM_FAIL(err, SNM_EPLUGIN, "%s: %d updates are main (exactly one steps the run's "
		                "own Adam state)", who, n_main);
	return SNM_OK;
}

snm_steps *snm_steps_new(const snm_noise_vt *vt, void *noise, const char *who, snm_params *params,
                         double b1, double b2, double eps, snm_error *err)
{
	snm_noise_updates_fn f = snm_noise_updates(vt);
	snm_steps *s = calloc(1, sizeof *s);
	if (s == NULL) {
		SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		return NULL;
	}
	s->vt = vt;
	s->noise = noise;
	s->params = params;
	s->n = f != NULL ? f(noise, &s->u) : 0;
	if (s->n == 0 || s->u == NULL) {          /* one update over everything: the run's Adam */
		s->n = 1;
		s->u = NULL;
		if ((s->adam[0] = snm_adam_new(params, b1, b2, eps, err)) == NULL)
			goto fail;
		return s;
	}
	if (check_plan(s, who, err))
		goto fail;
	for (int k = 0; k < s->n; ++k) {
		const char *sel = s->u[k].params ? s->u[k].params : "";
		snm_adam *a = snm_adam_new_select(params, selected, (void *)sel, b1, b2, eps, err);
		if ((s->adam[k] = a) == NULL)
			goto fail;
		if (snm_params_count(snm_adam_m(a)) == 0) {
			SNM_FAIL(err, SNM_EPLUGIN, "%s: update %d ('%s'): its selection '%s' holds no trainable "
			         "parameter", who, k + 1, s->u[k].name, sel);
			goto fail;
		}
		if (s->u[k].main)
			s->main = k;
	}
	return s;
fail:
	snm_steps_free(s);
	return NULL;
}

void snm_steps_free(snm_steps *s)
{
	if (s == NULL)
		return;
	for (int k = 0; k < SNM_MAX_UPDATES; ++k)
		snm_adam_free(s->adam[k]);
	free(s);
}

int snm_steps_count(const snm_steps *s) { return s->n; }
int snm_steps_main(const snm_steps *s) { return s->main; }
const char *snm_steps_name(const snm_steps *s, int k) { return s->u ? s->u[k].name : NULL; }
snm_adam *snm_steps_adam(const snm_steps *s, int k) { return s->adam[k]; }

int snm_steps_objective(const snm_steps *s, int k, const snm_model *model, snm_tape *t,
                        const snm_batch *b, gsl_rng *noise, snm_progress *at, snm_objective *out,
                        snm_error *err)
{
	at->update = k;
	return snm_noise_objective(s->vt, s->noise, model, t, b, noise, at, out, err);
}

int snm_steps_apply(snm_steps *s, int k, snm_tape *t, snm_tensor *loss, double lr, snm_error *err)
{
	int rc = snm_tape_backward(t, loss, err);
	if (rc == SNM_OK)
		rc = snm_adam_step(s->adam[k], lr, err);
	if (rc == SNM_OK)
		snm_params_zero_grad(s->params);
	if (rc != SNM_OK && s->u != NULL)
		snm_error_prefix(err, "update '%s'", s->u[k].name);
	return rc;
}
