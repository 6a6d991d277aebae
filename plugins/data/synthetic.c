/* synthetic.c: the `synthetic` data plugin -- small generated images with class structure, for
 * tests and quick pipeline checks that must not depend on downloaded data.
 *
 * Images are 1 x size x size.  Class k has a fixed prototype: a Gaussian blob
 *     proto_k(r, c) = exp(-((r - r_k)^2 + (c - c_k)^2) / (2 sigma^2))      values in (0, 1]
 * centred in cell k of a g x g grid over the image (g = ceil(sqrt(classes)), cells in row-major
 * order, sigma = 0.3 * size / g).  An example of class k is proto_k plus independent Gaussian
 * noise of standard deviation `noise` per pixel, clipped to [0, 1].  Nearby blobs make the task
 * non-trivial for large noise, but at the defaults a linear classifier separates the classes.
 *
 * Splits: train has per_class examples of each class, valid and test ceil(per_class / 2) each.
 * Example i of every split has label i % classes (balanced; every prefix nearly so).  Each split
 * is generated at open from its own mt19937 stream, snm_rng_stream(seed, "synthetic", "<split>"),
 * so the same options always give the same bytes, and raising per_class only appends examples:
 * the existing ones stay as they were.  The prototypes do not depend on the seed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "snm/plugin.h"
#include "snm/rng.h"

static const snm_option syn_options[] = {
	{ "classes", SNM_OPT_INT, "3", NULL, "number of classes (at most size*size)", "[2, 1024]" },
	{ "per_class", SNM_OPT_INT, "40", NULL,
	  "training examples per class; valid and test get ceil(per_class/2) per class", "[1, 1000000]" },
	{ "size", SNM_OPT_INT, "8", NULL, "images are 1 x size x size", "[2, 256]" },
	{ "noise", SNM_OPT_DOUBLE, "0.1", NULL,
	  "standard deviation of the per-pixel Gaussian noise (before clipping to [0,1])", "[0, inf)" },
	{ "seed", SNM_OPT_INT, "1", NULL, "seed of the generated noise", "[0, inf)" },
	{ NULL, 0, NULL, NULL, NULL, NULL }
};

static const char *const split_name[3] = { "train", "valid", "test" };

typedef struct syn_state {
	int classes, size;
	long n[3];
	float *x[3];             /* n[split] * size*size values */
} syn_state;

static void syn_close(void *vs)
{
	syn_state *s = vs;
	if (s == NULL)
		return;
	for (int k = 0; k < 3; ++k)
		free(s->x[k]);
	free(s);
}

/* proto (classes * D) = the blobs described at the top. */
static void syn_prototypes(int classes, int size, float *proto)
{
	int g = 1;
	while (g * g < classes)
		++g;
	const double cell = (double)size / g, sigma = 0.3 * cell;
	for (int k = 0; k < classes; ++k) {
		const double rk = (k / g + 0.5) * cell - 0.5, ck = (k % g + 0.5) * cell - 0.5;
		for (int r = 0; r < size; ++r)
			for (int c = 0; c < size; ++c) {
				double d2 = (r - rk) * (r - rk) + (c - ck) * (c - ck);
				proto[((size_t)k * size + r) * size + c] = (float)exp(-d2 / (2 * sigma * sigma));
			}
	}
}

static int syn_open(const snm_cfg *opts, void **state, snm_error *err)
{
	long classes, per_class, size, seed;
	double noise;
	float *proto = NULL;
	syn_state *s;
	int rc;

	*state = NULL;
	if ((rc = snm_cfg_opt_int(opts, syn_options, "classes", &classes, err)) != SNM_OK
	    || (rc = snm_cfg_opt_int(opts, syn_options, "per_class", &per_class, err)) != SNM_OK
	    || (rc = snm_cfg_opt_int(opts, syn_options, "size", &size, err)) != SNM_OK
	    || (rc = snm_cfg_opt_double(opts, syn_options, "noise", &noise, err)) != SNM_OK
	    || (rc = snm_cfg_opt_int(opts, syn_options, "seed", &seed, err)) != SNM_OK)
		return rc;
	if (size < 2 || size > 256)
		return SNM_FAIL(err, SNM_EINVAL, "synthetic: option 'size' must be in [2, 256] (got %ld)", size);
	if (classes < 2 || classes > size * size)
		return SNM_FAIL(err, SNM_EINVAL, "synthetic: option 'classes' must be in [2, size*size = %ld] "
		                "(got %ld)", size * size, classes);
	if (per_class < 1 || per_class > 1000000)
		return SNM_FAIL(err, SNM_EINVAL, "synthetic: option 'per_class' must be in [1, 1000000] "
		                "(got %ld)", per_class);
	if (!(noise >= 0) || !isfinite(noise))
		return SNM_FAIL(err, SNM_EINVAL, "synthetic: option 'noise' must be finite and >= 0 (got %g)",
		                noise);
	if (seed < 0)
		return SNM_FAIL(err, SNM_EINVAL, "synthetic: option 'seed' must not be negative (got %ld)", seed);

	const size_t D = (size_t)size * (size_t)size;
	s = calloc(1, sizeof *s);
	proto = malloc((size_t)classes * D * sizeof *proto);
	if (s == NULL || proto == NULL) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "synthetic: out of memory");
		goto fail;
	}
	s->classes = (int)classes;
	s->size = (int)size;
	s->n[SNM_SPLIT_TRAIN] = per_class * classes;
	s->n[SNM_SPLIT_VALID] = s->n[SNM_SPLIT_TEST] = (per_class + 1) / 2 * classes;
	syn_prototypes(s->classes, s->size, proto);
	for (int k = 0; k < 3; ++k) {
		gsl_rng *r;
		s->x[k] = malloc((size_t)s->n[k] * D * sizeof *s->x[k]);
		if (s->x[k] == NULL) {
			rc = SNM_FAIL(err, SNM_ENOMEM, "synthetic: out of memory for %ld examples", s->n[k]);
			goto fail;
		}
		r = snm_rng_stream((uint64_t)seed, "synthetic", split_name[k], err);
		if (r == NULL) {
			rc = SNM_ENOMEM;
			goto fail;
		}
		for (long i = 0; i < s->n[k]; ++i) {
			const float *p = proto + (size_t)(i % classes) * D;
			float *xi = s->x[k] + (size_t)i * D;
			for (size_t j = 0; j < D; ++j) {
				double v = p[j] + gsl_ran_gaussian(r, noise);
				xi[j] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
			}
		}
		gsl_rng_free(r);
	}
	free(proto);
	*state = s;
	return SNM_OK;
fail:
	free(proto);
	syn_close(s);
	return rc;
}

static void syn_info(void *vs, snm_data_info *out)
{
	const syn_state *s = vs;
	memset(out, 0, sizeof *out);
	out->n_d = 3;
	out->d[0] = 1;
	out->d[1] = s->size;
	out->d[2] = s->size;
	out->n_classes = s->classes;
	for (int k = 0; k < 3; ++k)
		out->n[k] = s->n[k];
}

static int syn_read(void *vs, int split, const long *idx, int n, gsl_rng *aug, float *x, int32_t *y,
                    snm_error *err)
{
	const syn_state *s = vs;
	const size_t D = (size_t)s->size * (size_t)s->size;
	(void)aug;
	if (split < 0 || split > 2)
		return SNM_FAIL(err, SNM_EINVAL, "synthetic: unknown split %d", split);
	if (n < 0)
		return SNM_FAIL(err, SNM_EINVAL, "synthetic: negative example count %d", n);
	for (int i = 0; i < n; ++i)
		if (idx[i] < 0 || idx[i] >= s->n[split])
			return SNM_FAIL(err, SNM_EINVAL, "synthetic: index %ld out of range for split %s "
			                "(%ld examples)", idx[i], split_name[split], s->n[split]);
	for (int i = 0; i < n; ++i) {
		if (x != NULL)
			memcpy(x + (size_t)i * D, s->x[split] + (size_t)idx[i] * D, D * sizeof *x);
		if (y != NULL)
			y[i] = (int32_t)(idx[i] % s->classes);
	}
	return SNM_OK;
}

static int syn_labels(void *vs, int split, int32_t *y, snm_error *err)
{
	const syn_state *s = vs;
	if (split < 0 || split > 2)
		return SNM_FAIL(err, SNM_EINVAL, "synthetic: unknown split %d", split);
	for (long i = 0; i < s->n[split]; ++i)
		y[i] = (int32_t)(i % s->classes);
	return SNM_OK;
}

static const snm_data_vt syn_vt = { sizeof syn_vt, syn_open, syn_close, syn_info, syn_read, syn_labels };

SNM_PLUGIN_DEFINE(SNM_KIND_DATA, "synthetic", "1.0.0",
                  "generated class-structured images (Gaussian blob per class plus noise) for tests",
                  &syn_vt, syn_options);
