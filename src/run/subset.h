/* subset.h: the balanced training subset of a run (subset.c): which examples of the training
 * split a run trains on, drawn from a stream seeded by the data section, the per-class size and
 * the set alone, so that every method of a set trains on the same examples. */
#ifndef SNM_RUN_SUBSET_H
#define SNM_RUN_SUBSET_H

#include <stdint.h>
#include "snm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The training subset of a run: per_class examples of each of n_classes classes (0: all n
 * examples), chosen from the n labels by shuffling each class's indices with an mt19937 seeded
 * with seed, and returned sorted in out (room for n).  SNM_EINVAL when a class is too small. */
int snm_subset_choose(const int32_t *labels, long n, int n_classes, int per_class, uint64_t seed,
                      long *out, long *n_out, snm_error *err);

/* The subset's seed: the "subset" stream of (master, "<data_key>/n<per_class>/set<set>"), so every
 * method of a set trains on the same examples.  0 only when out of memory. */
uint64_t snm_subset_seed(uint64_t master, const char *data_key, int per_class, int set);

#ifdef __cplusplus
}
#endif
#endif
