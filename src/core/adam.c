/* adam.c: the Adam optimizer over a parameter registry (see optim.h).
 *
 * The update mirrors torch.optim.Adam's single-tensor path (PyTorch 1.13, no weight decay, no
 * amsgrad) operation by operation, each in float32 with float coefficients, so that one step
 * agrees with PyTorch to rounding:
 *
 *     m = m * b1 + (1 - b1) * g                       (mul_, add_ with alpha)
 *     v = v * b2 + ((1 - b2) * g) * g                 (mul_, addcmul_)
 *     p = p + ((-lr / bc1) * m) / (sqrt(v) / sqrt(bc2) + eps)   (sqrt, div, add_, addcdiv_)
 *
 * where bc1 = 1 - b1^t, bc2 = 1 - b2^t, lr / bc1 and sqrt(bc2) are computed in double.  The
 * moments are two registries with the parameters' names (kind SNM_T_BUFFER), so that the store
 * can write and read them by name.  A step first checks every gradient and only then updates, so
 * a non-finite gradient leaves parameters, moments and step count as they were.
 *
 * Speed: the check and the update run over blocks of SNM_BLOCK elements with restrict pointers
 * (vec.h), which the compiler vectorises at -O2, and the update of a large registry is split
 * among snm's threads (par.h), each element computed alike on any thread. */
#include <math.h>
#include <stdlib.h>
#include "optim.h"
#include "par.h"
#include "vec.h"

typedef struct adam_slot {
	snm_tensor *p, *m, *v;     /* parameter (borrowed) and its two moments (owned by m/v) */
} adam_slot;

struct snm_adam {
	snm_params *params;        /* borrowed */
	int n_entries;             /* snm_params_count(params) at creation */
	snm_params *m, *v;
	adam_slot *slot;
	int n_slot;
	double b1, b2, eps;
	int64_t t;
};

snm_adam *snm_adam_new(snm_params *params, double b1, double b2, double eps, snm_error *err)
{
	return snm_adam_new_select(params, NULL, NULL, b1, b2, eps, err);
}

snm_adam *snm_adam_new_select(snm_params *params, int (*keep)(const snm_tensor *p, void *ctx),
                              void *ctx, double b1, double b2, double eps, snm_error *err)
{
	snm_adam *a;
	int n;
	if (params == NULL) {
		SNM_FAIL(err, SNM_EINVAL, "adam: no parameter registry");
		return NULL;
	}
	if (!(b1 >= 0.0 && b1 < 1.0) || !(b2 >= 0.0 && b2 < 1.0)) {
		SNM_FAIL(err, SNM_EINVAL, "adam: betas (%g, %g) must lie in [0, 1)", b1, b2);
		return NULL;
	}
	if (!(eps > 0.0) || !isfinite(eps)) {
		SNM_FAIL(err, SNM_EINVAL, "adam: eps %g must be finite and > 0", eps);
		return NULL;
	}
	a = calloc(1, sizeof *a);
	if (a == NULL) {
		SNM_FAIL(err, SNM_ENOMEM, "adam: out of memory");
		return NULL;
	}
	a->params = params;
	a->b1 = b1;
	a->b2 = b2;
	a->eps = eps;
	n = a->n_entries = snm_params_count(params);
	a->m = snm_params_new(err);
	a->v = snm_params_new(err);
	a->slot = calloc(n > 0 ? (size_t)n : 1, sizeof *a->slot);
	if (a->m == NULL || a->v == NULL || a->slot == NULL) {
		SNM_FAIL(err, SNM_ENOMEM, "adam: out of memory");
		goto error;
	}
	for (int i = 0; i < n; ++i) {
		snm_tensor *p = snm_params_at(params, i);
		adam_slot *s = &a->slot[a->n_slot];
		if (!(p->flags & SNM_T_PARAM) || (keep != NULL && !keep(p, ctx)))
			continue;
		s->p = p;
		s->m = snm_params_add(a->m, p->name, p->n_d, p->d, SNM_T_BUFFER, err);
		s->v = snm_params_add(a->v, p->name, p->n_d, p->d, SNM_T_BUFFER, err);
		if (s->m == NULL || s->v == NULL)
			goto error;
		a->n_slot++;
	}
	return a;
error:
	snm_adam_free(a);
	return NULL;
}

void snm_adam_free(snm_adam *a)
{
	if (a == NULL)
		return;
	snm_params_free(a->m);
	snm_params_free(a->v);
	free(a->slot);
	free(a);
}

/* 1 when every g[0..n) is finite: g * 0 is 0 for a finite g and NaN for an infinite or NaN one,
 * and a sum with a NaN in it is NaN. */
static int all_finite(const float *restrict g, size_t n)
{
	float lane[SNM_BLOCK] = { 0 };
	size_t i = 0;
	for (; i + SNM_BLOCK <= n; i += SNM_BLOCK)
		for (int k = 0; k < SNM_BLOCK; ++k)
			lane[k] += g[i + k] * 0.0f;
	for (; i < n; ++i)
		lane[0] += g[i] * 0.0f;
	for (int k = 0; k < SNM_BLOCK; ++k)
		if (lane[k] != lane[k])
			return 0;
	return 1;
}

typedef struct adam_coef {
	float b1, c1, b2, c2, step, bc2_sqrt, eps;
} adam_coef;

/* The update of elements [0, n) of one parameter (see the file comment for the operations),
 * SNM_CLONES (vec.h): compiled for AVX2 and for the baseline, the same operations in the same
 * order on 8 or 4 lanes, so the same bits either way. */
SNM_CLONES
static void update(const adam_coef *k, float *restrict p, float *restrict m, float *restrict v,
                   const float *restrict g, size_t n)
{
	const float b1 = k->b1, c1 = k->c1, b2 = k->b2, c2 = k->c2, step = k->step;
	const float bc2_sqrt = k->bc2_sqrt, eps = k->eps;
	SNM_BLOCKED(size_t, i, n, {
		float gi = g[i], mi = m[i] * b1 + c1 * gi, vi = v[i] * b2 + (c2 * gi) * gi;
		m[i] = mi;
		v[i] = vi;
		p[i] = p[i] + (step * mi) / (sqrtf(vi) / bc2_sqrt + eps);
	});
}

int snm_adam_step(snm_adam *a, double lr, snm_error *err)
{
	double bc1, bc2, total = 0;
	adam_coef k;
	int nt;
	if (!(lr >= 0.0) || !isfinite(lr))
		return SNM_FAIL(err, SNM_EINVAL, "adam: learning rate %g must be finite and >= 0", lr);
	if (snm_params_count(a->params) != a->n_entries)
		return SNM_FAIL(err, SNM_ESTATE, "adam: the registry had %d entries when the optimizer was "
		                "made and has %d now", a->n_entries, snm_params_count(a->params));
	for (int i = 0; i < a->n_slot; ++i) {
		const snm_tensor *p = a->slot[i].p;
		size_t n = snm_tensor_len(p);
		total += (double)n;
		if (all_finite(p->g, n))
			continue;
		for (size_t j = 0; j < n; ++j)
			if (!isfinite(p->g[j]))
				return SNM_FAIL(err, SNM_ENUMERIC, "adam: gradient of '%s' is not finite "
				                "(element %zu is %g) at step %lld; nothing was updated", p->name,
				                j, (double)p->g[j], (long long)a->t + 1);
	}
	a->t++;
	bc1 = 1.0 - pow(a->b1, (double)a->t);
	bc2 = 1.0 - pow(a->b2, (double)a->t);
	k.b1 = (float)a->b1;
	k.c1 = (float)(1.0 - a->b1);
	k.b2 = (float)a->b2;
	k.c2 = (float)(1.0 - a->b2);
	k.step = (float)(-(lr / bc1));
	k.bc2_sqrt = (float)sqrt(bc2);
	k.eps = (float)a->eps;
	nt = snm_par_threads(8 * total);
	(void)nt;
	SNM_PAR_REGION(nt)
	{
		int id = SNM_PAR_ID, n_par = SNM_PAR_N;
		for (int i = 0; i < a->n_slot; ++i) {
			const adam_slot *s = &a->slot[i];
			int n = (int)snm_tensor_len(s->p), lo, hi;
			snm_par_range(n, id, n_par, 16, &lo, &hi);
			update(&k, s->p->x + lo, s->m->x + lo, s->v->x + lo, s->p->g + lo, (size_t)(hi - lo));
		}
	}
	return SNM_OK;
}

snm_params *snm_adam_m(snm_adam *a) { return a->m; }
snm_params *snm_adam_v(snm_adam *a) { return a->v; }
int64_t snm_adam_steps(const snm_adam *a) { return a->t; }

int snm_adam_set_steps(snm_adam *a, int64_t t)
{
	if (t < 0)
		return SNM_EINVAL;
	a->t = t;
	return SNM_OK;
}
