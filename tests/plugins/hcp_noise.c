/* hcp_noise.c: a test regularizer -- vib_hcp itself (plugins/noise/vib_hcp.c, compiled in: the
 * same updates, Adam states and objectives, bit for bit) under the name `hcp_int`, honouring
 * SNM_TEST_INTERRUPT_AT as ramp_noise.c does, so that the interruption test
 * (tests/test_interrupt_updates.sh) can stop a run with several Adam states at a chosen step.
 *
 * SNM_TEST_INTERRUPT_AT (interrupt.h) counts training steps in this process (0: its first): at
 * the first update's objective (at->update 0) of each listed step the plugin raises SIGINT once it
 * has built that update's loss; the runner finishes the step -- every update -- and `snm run`
 * stops before the next one, as after a Ctrl-C. */
#include "snm/plugin.h"
#include "interrupt.h"

/* vib_hcp.c's own entry is left out: this file exports the wrapper's (below). */
#undef SNM_PLUGIN_DEFINE
#define SNM_PLUGIN_DEFINE(kind_, name_, version_, desc_, vt_, opts_) typedef int hcp_own_entry_
#include "../../plugins/noise/vib_hcp.c"

static int objective_int(void *state, const snm_model *model, snm_tape *t, const snm_batch *b,
                         gsl_rng *noise, const snm_progress *at, snm_objective *out, snm_error *err)
{
	int rc = vt.objective_at(state, model, t, b, noise, at, out, err);
	if (rc == SNM_OK && at->size >= sizeof *at && at->update == 0)
		interrupt_at();
	return rc;
}

static const snm_noise_vt vt_int = {
	.size = sizeof vt_int, .create = create, .destroy = destroy, .wants_unlabelled = wants_unlabelled,
	.objective_at = objective_int, .updates = updates
};

SNM_EXPORT const snm_plugin snm_plugin_entry = {
	SNM_PLUGIN_ABI_MAJOR, SNM_PLUGIN_ABI_MINOR, sizeof(snm_plugin), SNM_KIND_NOISE, "hcp_int", "1.0.0",
	"vib_hcp with SNM_TEST_INTERRUPT_AT (a test plugin)", &vt_int, options
};
