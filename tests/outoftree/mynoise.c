/* mynoise.c: a regularizer written outside the snm tree, built by tests/test_out_of_tree.sh with
 * nothing but `cc -shared $(pkg-config --cflags --libs snm)` against an installed snm:
 * loss = CE + weight * ||decode_z(z) - x||^2 / N (the README's example). */
#include <stdlib.h>
#include <snm/plugin.h>

static const snm_option opts[] = {
	{ "weight", SNM_OPT_DOUBLE, "0.1", NULL, "weight of the reconstruction term", "[0, inf)" },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static int create(const snm_cfg *o, const snm_model *m, snm_params *p, gsl_rng *init, void **st,
                  snm_error *err)
{
	double *w = malloc(sizeof *w);
	(void)m; (void)p; (void)init;
	if (w == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	*st = w;
	return snm_cfg_opt_double(o, opts, "weight", w, err);
}

static void destroy(void *st) { free(st); }

static int objective(void *st, const snm_model *m, snm_tape *t, const snm_batch *b, gsl_rng *noise,
                     snm_objective *out, snm_error *err)
{
	snm_tensor *z = m->vt->encode(m->state, t, b->x, NULL, NULL, NULL);
	snm_tensor *ce = snm_softmax_ce(t, m->vt->classify(m->state, t, z), b->labels);
	snm_tensor *rec = snm_sqerr(t, m->vt->decode_z(m->state, t, z, NULL), b->x);
	(void)noise;
	out->loss = snm_add(t, ce, snm_scale(t, rec, (float)*(double *)st));
	out->n_terms = 2;
	out->term_names[0] = "ce";
	out->terms[0] = ce;
	out->term_names[1] = "recon";
	out->terms[1] = rec;
	return out->loss ? SNM_OK : snm_tape_error(t, err);
}

static const snm_noise_vt vt = { sizeof vt, create, destroy, objective, NULL, NULL };
SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "mynoise", "1.0.0", "CE plus weighted reconstruction (out of tree)",
                  &vt, opts);
