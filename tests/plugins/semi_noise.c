/* semi_noise.c: a semi-supervised test regularizer: CE on the labelled rows plus the reconstruction
 * error of the unlabelled rows.  It insists on receiving exactly `rows` unlabelled examples, so the
 * runner tests can check that the unlabelled stream is batched beside the labelled one.  Honours
 * SNM_TEST_INTERRUPT_AT (interrupt.h): at a listed call, SIGINT once the step's loss is built. */
#include <stdlib.h>
#include "snm/plugin.h"
#include "interrupt.h"

static const snm_option semi_options[] = {
	{ "rows", SNM_OPT_INT, "5", NULL, "unlabelled rows expected per step", "[1, inf)" },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static int semi_create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                       void **state, snm_error *err)
{
	long *rows = malloc(sizeof *rows);
	(void)model; (void)params; (void)init;
	if (rows == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	if (snm_cfg_opt_int(opts, semi_options, "rows", rows, err)) {
		free(rows);
		return err->code;
	}
	*state = rows;
	return SNM_OK;
}

static void semi_destroy(void *state) { free(state); }

static int semi_wants(void *state) { (void)state; return 1; }

static int semi_objective(void *state, const snm_model *m, snm_tape *t, const snm_batch *b, gsl_rng *noise,
                          snm_objective *out, snm_error *err)
{
	long rows = *(long *)state;
	snm_tensor *y, *zu;
	(void)noise;
	if (b->xu == NULL || b->xu->d[0] != rows)
		return SNM_FAIL(err, SNM_EINVAL, "semi: expected %ld unlabelled rows, got %d", rows,
		                b->xu ? b->xu->d[0] : 0);
	y = m->vt->classify(m->state, t, m->vt->encode(m->state, t, b->x, NULL, NULL, NULL));
	zu = m->vt->encode(m->state, t, b->xu, NULL, NULL, NULL);
	out->n_terms = 2;
	out->term_names[0] = "ce";
	out->terms[0] = snm_softmax_ce(t, y, b->labels);
	out->term_names[1] = "recon_u";
	out->terms[1] = snm_sqerr(t, m->vt->decode_z(m->state, t, zu, NULL), b->xu);
	out->loss = snm_add(t, out->terms[0], snm_scale(t, out->terms[1], 0.1f));
	if (out->loss == NULL)
		return snm_tape_error(t, err);
	interrupt_at();
	return SNM_OK;
}

static const snm_noise_vt semi_vt = { sizeof semi_vt, semi_create, semi_destroy, semi_objective, semi_wants,
                                       NULL, NULL, NULL };
SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "semi", "0.0.1", "test plugin: CE plus unlabelled reconstruction",
                  &semi_vt, semi_options);
