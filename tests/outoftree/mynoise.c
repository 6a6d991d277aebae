/* mynoise.c: a regularizer written outside the snm tree, built by tests/test_out_of_tree.sh with
 * nothing but `cc -shared $(pkg-config --cflags --libs snm)` against an installed snm:
 * loss = CE + w * ||decode_z(z) - x||^2 / N with w = weight * min(1, epoch / ramp), epoch counted
 * from 1 (the README's example: an ABI 1.2 objective_at, told the epoch and the step). */
#include <math.h>
#include <stdlib.h>
#include <snm/plugin.h>

static const snm_option opts[] = {
	{ "weight", SNM_OPT_DOUBLE, "0.1", NULL, "weight of the reconstruction term", "[0, inf)" },
	{ "ramp", SNM_OPT_INT, "1", NULL, "epochs over which the weight rises to `weight`", "[1, inf)" },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

typedef struct my { double weight; long ramp; } my;

static int create(const snm_cfg *o, const snm_model *m, snm_params *p, gsl_rng *init, void **st,
                  snm_error *err)
{
	my *s = malloc(sizeof *s);
	(void)m; (void)p; (void)init;
	if (s == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	*st = s;
	int rc = snm_cfg_opt_double(o, opts, "weight", &s->weight, err);
	return rc ? rc : snm_cfg_opt_int(o, opts, "ramp", &s->ramp, err);
}

static void destroy(void *st) { free(st); }

static int objective(void *st, const snm_model *m, snm_tape *t, const snm_batch *b, gsl_rng *noise,
                     const snm_progress *at, snm_objective *out, snm_error *err)
{
	const my *s = st;
	float w = (float)(s->weight * fmin(1.0, (at->epoch + 1.0) / (double)s->ramp));
	snm_tensor *z = m->vt->encode(m->state, t, b->x, NULL, NULL, NULL);
	snm_tensor *ce = snm_softmax_ce(t, m->vt->classify(m->state, t, z), b->labels);
	snm_tensor *rec = snm_sqerr(t, m->vt->decode_z(m->state, t, z, NULL), b->x);
	(void)noise;
	out->loss = snm_add(t, ce, snm_scale(t, rec, w));
	out->n_terms = 2;
	out->term_names[0] = "ce";
	out->terms[0] = ce;
	out->term_names[1] = "recon";
	out->terms[1] = rec;
	return out->loss ? SNM_OK : snm_tape_error(t, err);
}

static const snm_noise_vt vt = { .size = sizeof vt, .create = create, .destroy = destroy,
                                 .objective_at = objective };
SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "mynoise", "1.0.0", "CE plus weighted reconstruction (out of tree)",
                  &vt, opts);
