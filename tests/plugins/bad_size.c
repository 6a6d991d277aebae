/* bad_size.c: an entry whose declared size is smaller than ABI 1.0's struct (a truncated or hand-
 * made entry); the loader must refuse it with SNM_EABI. */
#include <stdint.h>

struct short_entry {
	uint32_t abi_major, abi_minor, size, kind;
	const char *name;
};

__attribute__((visibility("default")))
const struct short_entry snm_plugin_entry = { 1, 0, sizeof(struct short_entry), 2, "badsize" };
