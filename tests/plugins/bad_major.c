/* bad_major.c: a plugin built for a future ABI major (2.0); the loader must refuse it with SNM_EABI. */
#include <stdint.h>

struct future_entry {
	uint32_t abi_major, abi_minor, size, kind;
	const char *name, *version, *description;
	const void *vtable, *options;
	const void *more[4];
};

static const uint32_t vt[16] = { sizeof vt };

__attribute__((visibility("default")))
const struct future_entry snm_plugin_entry = { 2, 0, sizeof(struct future_entry), 2, "badmajor", "9.0",
	"a plugin from the future", vt, 0, { 0 } };
