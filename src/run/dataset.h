/* dataset.h: the open datasets of a process (dataset.c), shared by its runs: a data plugin is
 * opened once per distinct data section and kept until the cache is cleared. */
#ifndef SNM_RUN_DATASET_H
#define SNM_RUN_DATASET_H

#include "snm/plugin.h"
#include "loader.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Open datasets, keyed by the canonical text of their data section. */
typedef struct snm_data_source {
	char *key;
	snm_plugin_handle h;
	const snm_data_vt *vt;
	void *state;
	snm_data_info info;
} snm_data_source;

typedef struct snm_data_cache {
	const char *plugin_path;
	int n, m;
	snm_data_source **v;
} snm_data_cache;

/* The open dataset of a data plugin `type` with options `data` whose canonical section text is
 * key (opening it on first use).  Errors of the plugin's open are
 * prefixed with the section's file:line:col. */
int snm_data_cache_get(snm_data_cache *c, const char *type, const snm_cfg *data, const char *key,
                       snm_data_source **out, snm_error *err);
void snm_data_cache_clear(snm_data_cache *c);

#ifdef __cplusplus
}
#endif
#endif
