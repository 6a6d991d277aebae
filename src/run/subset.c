/* subset.c: the balanced training subset of a run (see subset.h), drawn through run.c for the
 * trainer and for the paper stage, which recomputes a finished run's subset to rebuild its
 * network. */
#include <gsl/gsl_randist.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "snm/rng.h"
#include "subset.h"

static int by_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

uint64_t snm_subset_seed(uint64_t master, const char *data_key, int per_class, int set)
{
	size_t n = strlen(data_key) + 64;
	char *k = malloc(n);
	uint64_t seed;
	if (k == NULL)
		return 0;
	snprintf(k, n, "%s/n%d/set%d", data_key, per_class, set);
	seed = snm_seed_derive(master, "subset", k);
	free(k);
	return seed;
}

int snm_subset_choose(const int32_t *labels, long n, int n_classes, int per_class, uint64_t seed,
                      long *out, long *n_out, snm_error *err)
{
	long *pool;
	gsl_rng *rs;
	int rc = SNM_OK;
	*n_out = 0;
	if (per_class == 0) {
		for (long i = 0; i < n; ++i)
			out[i] = i;
		*n_out = n;
		return SNM_OK;
	}
	pool = malloc((size_t)(n > 0 ? n : 1) * sizeof *pool);
	rs = snm_rng_new(seed, err);
	if (pool == NULL || rs == NULL) {
		free(pool);
		gsl_rng_free(rs);
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	}
	for (int c = 0; c < n_classes && rc == SNM_OK; ++c) {
		long m = 0;
		for (long i = 0; i < n; ++i)
			if (labels[i] == c)
				pool[m++] = i;
		if (m < per_class) {
			rc = SNM_FAIL(err, SNM_EINVAL, "class %d has %ld training examples, fewer than per_class %d",
			              c, m, per_class);
			break;
		}
		gsl_ran_shuffle(rs, pool, (size_t)m, sizeof *pool);
		memcpy(out + *n_out, pool, (size_t)per_class * sizeof *pool);
		*n_out += per_class;
	}
	if (rc == SNM_OK)
		qsort(out, (size_t)*n_out, sizeof *out, by_long);
	gsl_rng_free(rs);
	free(pool);
	return rc;
}
