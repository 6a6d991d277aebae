/* snm/rng.h: seeded random streams.
 *
 * Every random number in snm comes from a GSL mt19937 stream seeded from a hash of
 * (master seed, purpose, key), so each consumer has its own stream and adding a new consumer never
 * shifts the numbers another one sees.  Purposes in use: "subset" (key: dataset/per-class/set),
 * "init", "order", "noise", "augment" (key: the run key). */
#ifndef SNM_RNG_H
#define SNM_RNG_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include "snm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 64-bit seed from the master seed and two strings (FNV-1a over both, finished with splitmix64).
 * Stable across platforms and releases: changing it changes every result. */
uint64_t snm_seed_derive(uint64_t master, const char *purpose, const char *key);

/* A new mt19937 stream seeded with the low 32 bits of seed folded with its high 32 bits
 * (gsl_rng_set takes an unsigned long; mt19937 uses 32 bits of it).  NULL on ENOMEM. */
gsl_rng *snm_rng_new(uint64_t seed, snm_error *err);

/* Shortcut: snm_rng_new(snm_seed_derive(master, purpose, key)). */
gsl_rng *snm_rng_stream(uint64_t master, const char *purpose, const char *key, snm_error *err);

/* Raw state bytes of r (gsl_rng_state / gsl_rng_size) for checkpoints, and their restoration into
 * a stream of the same type: SNM_EINVAL when the size or type name does not match. */
size_t snm_rng_state_size(const gsl_rng *r);
const void *snm_rng_state(const gsl_rng *r);
int snm_rng_restore(gsl_rng *r, const char *type_name, const void *state, size_t size, snm_error *err);

#ifdef __cplusplus
}
#endif
#endif
