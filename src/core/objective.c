/* objective.c: assembling and checking what a regularizer's objective returns (snm_objective of
 * snm/plugin.h; the functions are declared with the other regularizer helpers in
 * snm/regularize.h). */
#include "snm/regularize.h"

int snm_objective_add(snm_objective *o, const char *name, snm_tensor *term)
{
	if (o->n_terms >= SNM_MAX_TERMS)
		return SNM_EINVAL;
	o->term_names[o->n_terms] = name;
	o->terms[o->n_terms] = term;
	o->n_terms++;
	return 0;
}

int snm_objective_check(snm_tape *t, const snm_objective *o, const char *who, snm_error *err)
{
	int ok = o->loss != NULL, rc;
	for (int i = 0; i < o->n_terms; ++i)
		ok &= o->terms[i] != NULL;
	if (ok)
		return 0;
	rc = snm_tape_error(t, err);
	return rc != 0 ? rc : SNM_FAIL(err, SNM_EINVAL, "%s: the model returned no output", who);
}
