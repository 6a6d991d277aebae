/* loader.h: the plugin loader (loader.c) -- the runner's side of the plugin ABI (snm/plugin.h):
 * dlopen, the ABI checks, the search path.
 *
 * The search path: --plugin-path (the `extra` argument), then $SNM_PLUGIN_PATH (colon-separated),
 * then the build tree's plugin directories when this program is the one in its build tree, then
 * the install directory (pkglibdir).  Plugins are found by the `name` in their entry, never by
 * file name. */
#ifndef SNM_RUN_LOADER_H
#define SNM_RUN_LOADER_H

#include "snm/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "model", "noise", "data", or "unknown". */
const char *snm_kind_name(int kind);

typedef struct snm_plugin_handle {
	void *dl;                       /* dlopen handle, closed by snm_plugin_close */
	const snm_plugin *p;
	char *path;                     /* the file it came from */
} snm_plugin_handle;

/* Opens the shared object at path and checks its entry: SNM_EPLUGIN (not loadable, no symbol,
 * wrong kind -- want = 0 accepts any kind) or SNM_EABI (other major, short struct or vtable),
 * each with one line naming the file. */
int snm_plugin_open(const char *path, int want, snm_plugin_handle *out, snm_error *err);
void snm_plugin_close(snm_plugin_handle *h);

/* The search path: dirs from `extra` (colon-separated, may be NULL), then $SNM_PLUGIN_PATH,
 * then the install directory.  Finds the plugin of kind `kind` named `name` by opening each
 * candidate *.so; SNM_EPLUGIN "no noise plugin named 'x' (searched: ...)" when none. */
int snm_plugin_find(const char *extra, int kind, const char *name, snm_plugin_handle *out,
                    snm_error *err);

/* Calls fn for every loadable plugin on the search path (first of each kind/name wins); files
 * that are not snm plugins are reported through bad (may be NULL) and skipped. */
int snm_plugin_each(const char *extra, void (*fn)(void *ctx, const snm_plugin_handle *h),
                    void (*bad)(void *ctx, const char *path, const snm_error *e), void *ctx);

/* The perturb entry of a noise plugin (snm_noise_vt.perturb, ABI 1.1), or NULL when the plugin
 * has none or was built for ABI 1.0 (its vtable ends before the member). */
typedef snm_tensor *(*snm_noise_perturb_fn)(void *state, const snm_model *model, snm_tape *t,
                                            snm_tensor *z, gsl_rng *noise);
snm_noise_perturb_fn snm_noise_perturb(const snm_noise_vt *vt);

/* The objective_at entry of a noise plugin (snm_noise_vt.objective_at, ABI 1.2), or NULL when the
 * plugin has none or was built for ABI 1.0 or 1.1 (its vtable ends before the member). */
typedef int (*snm_noise_objective_at_fn)(void *state, const snm_model *model, snm_tape *t,
                                         const snm_batch *b, gsl_rng *noise, const snm_progress *at,
                                         snm_objective *out, snm_error *err);
snm_noise_objective_at_fn snm_noise_objective_at(const snm_noise_vt *vt);

/* The updates entry of a noise plugin (snm_noise_vt.updates, ABI 1.3), or NULL when the plugin has
 * none or was built for an older minor (its vtable ends before the member). */
typedef int (*snm_noise_updates_fn)(void *state, const snm_update **out);
snm_noise_updates_fn snm_noise_updates(const snm_noise_vt *vt);

/* Builds a regularizer's objective of one training batch: through objective_at, given `at`, when
 * the plugin has one, else through objective (at unused).  Every caller that trains calls the
 * objective through this, so that a plugin with objective_at alone works everywhere. */
int snm_noise_objective(const snm_noise_vt *vt, void *state, const snm_model *model, snm_tape *t,
                        const snm_batch *b, gsl_rng *noise, const snm_progress *at,
                        snm_objective *out, snm_error *err);

#ifdef __cplusplus
}
#endif
#endif
