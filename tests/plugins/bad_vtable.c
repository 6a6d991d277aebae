/* bad_vtable.c: a current entry whose noise vtable is shorter than ABI 1.0's; refused (SNM_EABI). */
#include "snm/plugin.h"

static const uint32_t short_vt[2] = { 8, 0 };
SNM_PLUGIN_DEFINE(SNM_KIND_NOISE, "badvtable", "1.0.0", "vtable too short", short_vt, NULL);
