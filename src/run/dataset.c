/* dataset.c: the open-dataset cache of a process (see dataset.h). */
#include <stdlib.h>
#include <string.h>
#include "dataset.h"

static void source_free(snm_data_source *s)
{
	if (s == NULL)
		return;
	if (s->state != NULL)
		s->vt->close(s->state);
	snm_plugin_close(&s->h);
	free(s->key);
	free(s);
}

int snm_data_cache_get(snm_data_cache *c, const char *type, const snm_cfg *data, const char *key,
                       snm_data_source **out, snm_error *err)
{
	snm_data_source *s;
	int rc;
	for (int i = 0; i < c->n; ++i)
		if (strcmp(c->v[i]->key, key) == 0) {
			*out = c->v[i];
			return SNM_OK;
		}
	if (c->n == c->m) {
		int m = c->m ? 2 * c->m : 4;
		snm_data_source **v = realloc(c->v, (size_t)m * sizeof *v);
		if (v == NULL)
			return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
		c->v = v;
		c->m = m;
	}
	s = calloc(1, sizeof *s);
	if (s == NULL || (s->key = strdup(key)) == NULL) {
		free(s);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	rc = snm_plugin_find(c->plugin_path, SNM_KIND_DATA, type, &s->h, err);
	if (rc == SNM_OK) {
		s->vt = s->h.p->vtable;
		rc = s->vt->open(data, &s->state, err);
		if (rc != SNM_OK) {
			s->state = NULL;
			snm_error_prefix(err, "%s:%d:%d: data '%s'", snm_cfg_file(data), snm_cfg_line(data),
			                 snm_cfg_col(data), s->h.p->name);
		}
	}
	if (rc != SNM_OK) {
		source_free(s);
		return rc;
	}
	s->vt->info(s->state, &s->info);
	c->v[c->n++] = s;
	*out = s;
	return SNM_OK;
}

void snm_data_cache_clear(snm_data_cache *c)
{
	for (int i = 0; i < c->n; ++i)
		source_free(c->v[i]);
	free(c->v);
	c->v = NULL;
	c->n = c->m = 0;
}
