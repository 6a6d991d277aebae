/* harness_plugin.c: snm_test_plugin, the tests' cached plugin lookup (see harness.h).  A file of
 * its own so that only the programs that call it pull in the loader. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "harness.h"
#include "run/loader.h"
#include "snm/rng.h"

enum { MAX_PLUGINS = 16 };

const snm_plugin *snm_test_plugin(int kind, const char *name)
{
	static snm_plugin_handle h[MAX_PLUGINS];
	static int kinds[MAX_PLUGINS];
	static int n;
	snm_error e;
	for (int i = 0; i < n; ++i)
		if (kinds[i] == kind && strcmp(h[i].p->name, name) == 0)
			return h[i].p;
	if (n == MAX_PLUGINS) {
		fprintf(stderr, "%s: more than %d plugins asked of snm_test_plugin ('%s')\n",
		        snm_test_prog(), MAX_PLUGINS, name);
		return NULL;
	}
	if (snm_plugin_find(NULL, kind, name, &h[n], &e) != SNM_OK) {
		fprintf(stderr, "%s: %s\n", snm_test_prog(), e.msg);
		return NULL;
	}
	kinds[n] = kind;
	return h[n++].p;
}

int snm_test_pair_new(snm_test_pair *f, const char *model, const char *model_yaml, const char *noise,
                      const char *noise_yaml, const snm_data_info *in, uint64_t seed)
{
	const snm_plugin *mp = snm_test_plugin(SNM_KIND_MODEL, model);
	const snm_plugin *np = snm_test_plugin(SNM_KIND_NOISE, noise);
	snm_error e;
	memset(f, 0, sizeof *f);
	if (mp == NULL || np == NULL)
		return -1;               /* snm_test_plugin said why */
	f->model.vt = mp->vtable;
	f->nvt = np->vtable;
	if (snm_cfg_parse(model_yaml, strlen(model_yaml), "m.yaml", &f->mcfg, &e) != SNM_OK
	    || snm_cfg_parse(noise_yaml, strlen(noise_yaml), "n.yaml", &f->ncfg, &e) != SNM_OK) {
		fprintf(stderr, "%s: options: %s\n", snm_test_prog(), e.msg);
		return -1;
	}
	f->params = snm_params_new(NULL);
	f->init = snm_rng_new(seed, &e);
	if (f->params == NULL || f->init == NULL) {
		fprintf(stderr, "%s: out of memory for the pair '%s', '%s'\n", snm_test_prog(), model, noise);
		return -1;
	}
	if (f->model.vt->create(f->mcfg, in, f->params, f->init, &f->model.state, &e) != SNM_OK) {
		fprintf(stderr, "%s: model '%s': %s\n", snm_test_prog(), model, e.msg);
		return -1;
	}
	f->rc = f->nvt->create(f->ncfg, &f->model, f->params, f->init, &f->ns, &f->err);
	return 0;
}

void snm_test_pair_free(snm_test_pair *f)
{
	if (f->ns != NULL)
		f->nvt->destroy(f->ns);
	if (f->model.state != NULL)
		f->model.vt->destroy(f->model.state);
	snm_params_free(f->params);
	if (f->init != NULL)
		gsl_rng_free(f->init);
	snm_cfg_free(f->mcfg);
	snm_cfg_free(f->ncfg);
	memset(f, 0, sizeof *f);
}

double snm_test_point_loss(void *point)
{
	snm_test_point *a = point;
	snm_tensor *l = a->build(a->f, a->t, a->semi, a->seed, &a->o);
	return l != NULL ? l->x[0] : NAN;
}
