/* old_minor1.c: a noise plugin as ABI 1.1 built it -- abi_minor 1 and a vtable that ends after
 * perturb, before the member 1.2 appended (objective_at); loaded, objective_at reads as absent and
 * the trainer calls its objective. */
#include "snm/plugin.h"

typedef struct noise_vt_1_1 {     /* snm_noise_vt of ABI 1.1 */
	uint32_t size;
	int (*create)(const snm_cfg *, const snm_model *, snm_params *, gsl_rng *, void **, snm_error *);
	void (*destroy)(void *);
	int (*objective)(void *, const snm_model *, snm_tape *, const snm_batch *, gsl_rng *,
	                 snm_objective *, snm_error *);
	int (*wants_unlabelled)(void *);
	snm_tensor *(*perturb)(void *, const snm_model *, snm_tape *, snm_tensor *, gsl_rng *);
} noise_vt_1_1;

static int om_create(const snm_cfg *opts, const snm_model *model, snm_params *params, gsl_rng *init,
                     void **state, snm_error *err)
{
	(void)opts; (void)model; (void)params; (void)init; (void)err;
	*state = NULL;
	return SNM_OK;
}

static void om_destroy(void *state) { (void)state; }

static int om_objective(void *state, const snm_model *m, snm_tape *t, const snm_batch *b, gsl_rng *noise,
                        snm_objective *out, snm_error *err)
{
	(void)state; (void)noise;
	out->loss = snm_softmax_ce(t, m->vt->classify(m->state, t, m->vt->encode(m->state, t, b->x, NULL,
	                                                                           NULL, NULL)), b->labels);
	return out->loss ? SNM_OK : snm_tape_error(t, err);
}

static snm_tensor *om_perturb(void *state, const snm_model *m, snm_tape *t, snm_tensor *z, gsl_rng *noise)
{
	(void)state; (void)m; (void)noise;
	return snm_scale(t, z, 1.0f);
}

static const noise_vt_1_1 om_vt = { sizeof om_vt, om_create, om_destroy, om_objective, NULL, om_perturb };
SNM_EXPORT const snm_plugin snm_plugin_entry = {
	SNM_PLUGIN_ABI_MAJOR, 1, sizeof(snm_plugin), SNM_KIND_NOISE, "oldminor1", "0.0.1",
	"a plugin built for ABI 1.1", &om_vt, NULL
};
