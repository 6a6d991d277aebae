/* param.c: the named parameter registry and weight initialisers (see snm/param.h). */
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "snm/param.h"

#define PARAM_ALIGN 64

struct snm_params {
	snm_tensor **v;
	int n, m;
};

snm_params *snm_params_new(snm_error *err)
{
	snm_params *p = calloc(1, sizeof *p);
	if (p == NULL)
		SNM_FAIL(err, SNM_ENOMEM, "out of memory for a parameter registry");
	return p;
}

static void entry_free(snm_tensor *e)
{
	free(e->x);
	free(e->g);
	free((char *)e->name);
	free(e);
}

void snm_params_free(snm_params *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < p->n; ++i)
		entry_free(p->v[i]);
	free(p->v);
	free(p);
}

static float *zeros(size_t n)
{
	size_t bytes = (n * sizeof(float) + PARAM_ALIGN - 1) / PARAM_ALIGN * PARAM_ALIGN;
	float *x = aligned_alloc(PARAM_ALIGN, bytes);
	if (x != NULL)
		memset(x, 0, bytes);
	return x;
}

snm_tensor *snm_params_add(snm_params *p, const char *name, int n_d, const int *d, unsigned kind,
                           snm_error *err)
{
	snm_tensor *e;
	size_t len = 1;
	if (name == NULL || name[0] == '\0') {
		SNM_FAIL(err, SNM_EINVAL, "parameter without a name");
		return NULL;
	}
	if (kind != SNM_T_PARAM && kind != SNM_T_BUFFER) {
		SNM_FAIL(err, SNM_EINVAL, "parameter '%s': kind must be SNM_T_PARAM or SNM_T_BUFFER", name);
		return NULL;
	}
	if (snm_params_find(p, name) != NULL) {
		SNM_FAIL(err, SNM_EINVAL, "parameter '%s' is defined twice", name);
		return NULL;
	}
	if (n_d < 1 || n_d > SNM_MAX_DIM) {
		SNM_FAIL(err, SNM_EINVAL, "parameter '%s': %d dimensions (1..%d allowed)", name, n_d, SNM_MAX_DIM);
		return NULL;
	}
	for (int i = 0; i < n_d; ++i) {
		if (d[i] < 1) {
			SNM_FAIL(err, SNM_EINVAL, "parameter '%s': dimension %d has size %d", name, i, d[i]);
			return NULL;
		}
		len *= (size_t)d[i];
	}
	if (p->n == p->m) {
		int m = p->m ? 2 * p->m : 16;
		snm_tensor **v = realloc(p->v, (size_t)m * sizeof *v);
		if (v == NULL)
			goto nomem;
		p->v = v;
		p->m = m;
	}
	e = calloc(1, sizeof *e);
	if (e == NULL)
		goto nomem;
	e->n_d = n_d;
	memcpy(e->d, d, (size_t)n_d * sizeof *d);
	e->flags = kind;
	e->name = strdup(name);
	e->x = zeros(len);
	e->g = kind == SNM_T_PARAM ? zeros(len) : NULL;
	if (e->name == NULL || e->x == NULL || (kind == SNM_T_PARAM && e->g == NULL)) {
		entry_free(e);
		goto nomem;
	}
	p->v[p->n++] = e;
	return e;
nomem:
	SNM_FAIL(err, SNM_ENOMEM, "out of memory for parameter '%s'", name);
	return NULL;
}

int snm_params_count(const snm_params *p) { return p->n; }

snm_tensor *snm_params_at(const snm_params *p, int i)
{
	return i >= 0 && i < p->n ? p->v[i] : NULL;
}

snm_tensor *snm_params_find(const snm_params *p, const char *name)
{
	for (int i = 0; i < p->n; ++i)
		if (strcmp(p->v[i]->name, name) == 0)
			return p->v[i];
	return NULL;
}

size_t snm_params_n_trainable(const snm_params *p)
{
	size_t n = 0;
	for (int i = 0; i < p->n; ++i)
		if (p->v[i]->flags & SNM_T_PARAM)
			n += snm_tensor_len(p->v[i]);
	return n;
}

void snm_params_zero_grad(snm_params *p)
{
	for (int i = 0; i < p->n; ++i)
		if (p->v[i]->g != NULL)
			memset(p->v[i]->g, 0, snm_tensor_len(p->v[i]) * sizeof(float));
}

int snm_params_copy(snm_params *dst, const snm_params *src, snm_error *err)
{
	for (int i = 0; i < dst->n; ++i) {
		snm_tensor *a = dst->v[i], *b = snm_params_find(src, a->name);
		if (b == NULL)
			return SNM_FAIL(err, SNM_EINVAL, "parameter '%s' is missing from the source", a->name);
		if (!snm_tensor_same_shape(a, b))
			return SNM_FAIL(err, SNM_EINVAL, "parameter '%s' has another shape in the source", a->name);
	}
	for (int i = 0; i < dst->n; ++i) {
		snm_tensor *a = dst->v[i];
		memcpy(a->x, snm_params_find(src, a->name)->x, snm_tensor_len(a) * sizeof(float));
	}
	return SNM_OK;
}

void snm_init_uniform(snm_tensor *w, gsl_rng *rng, double lo, double hi)
{
	size_t n = snm_tensor_len(w);
	for (size_t i = 0; i < n; ++i)
		w->x[i] = (float)(lo + (hi - lo) * gsl_rng_uniform(rng));
}

void snm_init_normal(snm_tensor *w, gsl_rng *rng, double sd)
{
	size_t n = snm_tensor_len(w);
	for (size_t i = 0; i < n; ++i)
		w->x[i] = (float)gsl_ran_gaussian(rng, sd);
}

void snm_init_fill(snm_tensor *w, float v)
{
	size_t n = snm_tensor_len(w);
	for (size_t i = 0; i < n; ++i)
		w->x[i] = v;
}

void snm_init_torch_default(snm_tensor *w, gsl_rng *rng, int fan_in)
{
	double bound = 1.0 / sqrt((double)(fan_in > 0 ? fan_in : 1));
	snm_init_uniform(w, rng, -bound, bound);
}
