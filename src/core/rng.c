/* rng.c: seed derivation and GSL stream helpers (see snm/rng.h). */
#include <string.h>
#include "snm/rng.h"

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; s != NULL && *s; ++s) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t splitmix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t snm_seed_derive(uint64_t master, const char *purpose, const char *key)
{
	uint64_t h = 14695981039346656037ull;
	h = fnv1a(h, purpose);
	h = fnv1a(h ^ 0x1f, key);          /* separator: ("ab","c") and ("a","bc") differ */
	return splitmix64(h ^ splitmix64(master));
}

gsl_rng *snm_rng_new(uint64_t seed, snm_error *err)
{
	gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
	if (r == NULL) {
		SNM_FAIL(err, SNM_ENOMEM, "out of memory for a random stream");
		return NULL;
	}
	gsl_rng_set(r, (unsigned long)((seed ^ (seed >> 32)) & 0xffffffffu));
	return r;
}

gsl_rng *snm_rng_stream(uint64_t master, const char *purpose, const char *key, snm_error *err)
{
	return snm_rng_new(snm_seed_derive(master, purpose, key), err);
}

size_t snm_rng_state_size(const gsl_rng *r) { return gsl_rng_size(r); }
const void *snm_rng_state(const gsl_rng *r) { return gsl_rng_state(r); }

int snm_rng_restore(gsl_rng *r, const char *type_name, const void *state, size_t size, snm_error *err)
{
	if (strcmp(type_name, gsl_rng_name(r)) != 0)
		return SNM_FAIL(err, SNM_EINVAL, "random stream of type '%s' cannot restore a '%s' state",
		                gsl_rng_name(r), type_name);
	if (size != gsl_rng_size(r))
		return SNM_FAIL(err, SNM_EINVAL, "random stream state has %zu bytes, '%s' needs %zu",
		                size, type_name, gsl_rng_size(r));
	memcpy(gsl_rng_state(r), state, size);
	return SNM_OK;
}
