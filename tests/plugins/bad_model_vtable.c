/* bad_model_vtable.c: a current entry whose model vtable ends before decode_y, shorter than ABI
 * 1.0's (the loader's minimum, offsetof(snm_model_vt, encode_post) since ABI 1.4); refused
 * (SNM_EABI). */
#include "snm/plugin.h"

static const struct {              /* snm_model_vt's first members, up to decode_z: all NULL */
	uint32_t size;
	void (*rest[6])(void);
} short_vt = { (uint32_t)offsetof(snm_model_vt, decode_y), { 0 } };
SNM_PLUGIN_DEFINE(SNM_KIND_MODEL, "badmodelvtable", "1.0.0", "model vtable too short", &short_vt,
                  NULL);
