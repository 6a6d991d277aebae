/* regularize.c: helpers shared by the noise plugins (snm/regularize.h) -- the paper's min-max
 * noise scheme and the reconstruction objectives through the model's tied decoders.
 *
 * Nothing here is an op of its own: each helper strings together ops of snm/ops.h on the
 * caller's tape, so their gradients are those ops' gradients and every helper is checked by
 * those ops' finite-difference tests plus the plugin tests (tests/test_perturb.c).  Memory comes
 * from the tape's arena only (the hidden-layer slots of recon-all included), so the helpers run
 * in the per-step loop without malloc. */
#include <string.h>
#include "op.h"
#include "snm/regularize.h"

/* ---- the min-max noise scheme ------------------------------------------------------------- */

/* v' = descale(scale(v, st) + sd e, st),  st = minmax_stats(v, per_example).
 * The order of the float operations is that of torch_ref.py's minmax_noise:
 * ((v - lo) / span + sd * e) * span + lo, with sd * e rounded to float first. */
snm_tensor *snm_minmax_noise_with(snm_tape *t, snm_tensor *v, float sd, int per_example,
                                  snm_tensor *e)
{
	snm_tensor *st, *noise;
	if (v == NULL || e == NULL)
		return NULL;
	st = snm_minmax_stats(t, v, per_example);
	noise = snm_stopgrad(t, snm_scale(t, e, sd));
	return snm_minmax_descale(t, snm_add(t, snm_minmax_scale(t, v, st), noise), st);
}

/* e ~ N(0,1) of v's shape from rng (snm_randn: element order, rounded to float), then as above. */
snm_tensor *snm_minmax_noise(snm_tape *t, snm_tensor *v, float sd, int per_example, gsl_rng *rng)
{
	if (v == NULL)
		return NULL;
	return snm_minmax_noise_with(t, v, sd, per_example, snm_randn(t, v->n_d, v->d, 1.0f, rng));
}

/* ---- reconstruction objectives ------------------------------------------------------------ */

int snm_recon_targets_parse(const char *name)
{
	if (name == NULL)
		return -1;
	if (!strcmp(name, "x"))
		return SNM_RECON_X;
	if (!strcmp(name, "all"))
		return SNM_RECON_ALL;
	if (!strcmp(name, "xz"))
		return SNM_RECON_XZ;
	return -1;
}

int snm_recon_check_model(const snm_model *model, int targets, const char *who, snm_error *err)
{
	if (targets == SNM_RECON_ALL && model->vt->n_hidden(model->state) < 1)
		return SNM_FAIL(err, SNM_ECONFIG, "%s: targets 'all' needs a model with hidden layers "
		                "(this one has none)", who);
	return 0;
}

/* Clean:  z = encode(x; h_1..h_L), y = classify(z), ce = softmax_ce(y, t).
 * Recon:  z_in, y_in = z, y, or encode(x_in; hook), classify(z_in);
 *         x_R = decode_z(z_in; h_1R..h_LR), z_R = decode_y(y_in).
 * Errors: recon_x = sqerr(x_R, x), recon_extra = sum_j sqerr(h_jR, h_j) or sqerr(z_R, z), the
 *         targets h_j and z through snm_stopgrad when detach.
 * Loss:   ce + weight (recon_x + recon_extra). */
snm_tensor *snm_recon_build(snm_tape *t, const snm_model *model, const snm_batch *b, int targets,
                            float weight, snm_tensor *x_in, snm_layer_hook hook, void *ctx,
                            int detach, snm_recon *out)
{
	const snm_model_vt *m = model->vt;
	void *s = model->state;
	int all = targets == SNM_RECON_ALL, L = 0;
	snm_tensor **h = NULL, **hr = NULL, *z_in, *y_in, *extra = NULL;
	memset(out, 0, sizeof *out);
	if (all) {
		L = m->n_hidden(s);
		if (L < 1) {
			snm_tape_fail(t, SNM_EINVAL, "recon: targets 'all' needs a model with hidden layers");
			return NULL;
		}
		h = snm_tape_alloc(t, 2 * (size_t)L * sizeof *h);
		if (h == NULL)
			return NULL;
		hr = h + L;
		for (int j = 0; j < 2 * L; ++j)
			h[j] = NULL;
	}
	out->z = m->encode(s, t, b->x, NULL, NULL, h);
	out->y = m->classify(s, t, out->z);
	out->ce = snm_softmax_ce(t, out->y, b->labels);
	if (x_in == NULL && hook == NULL) {
		z_in = out->z;
		y_in = out->y;
	} else {
		z_in = m->encode(s, t, x_in != NULL ? x_in : b->x, hook, ctx, NULL);
		y_in = targets == SNM_RECON_XZ ? m->classify(s, t, z_in) : NULL;
	}
	out->xr = m->decode_z(s, t, z_in, hr);
	out->recon_x = snm_sqerr(t, out->xr, b->x);
	if (all) {
		for (int j = 0; j < L; ++j) {
			snm_tensor *e = snm_sqerr(t, hr[j], detach ? snm_stopgrad(t, h[j]) : h[j]);
			extra = j == 0 ? e : snm_add(t, extra, e);
		}
		out->extra_name = "recon_h";
	} else if (targets == SNM_RECON_XZ) {
		out->zr = m->decode_y(s, t, y_in);
		extra = snm_sqerr(t, out->zr, detach ? snm_stopgrad(t, out->z) : out->z);
		out->extra_name = "recon_z";
	}
	out->recon_extra = extra;
	out->loss = snm_add(t, out->ce, snm_scale(t, extra ? snm_add(t, out->recon_x, extra)
	                                                   : out->recon_x, weight));
	return out->loss;
}

/* Loss: ce + weight (recon_x + hidden_scale recon_extra); at hidden_scale 1 the loss as built. */
snm_tensor *snm_recon_scale_hidden(snm_tape *t, snm_recon *r, float weight, float hidden_scale)
{
	if (hidden_scale == 1.0f)
		return r->loss;
	if (r->loss == NULL || r->recon_extra == NULL)
		return r->loss = NULL;
	r->loss = snm_add(t, r->ce, snm_scale(t, snm_add(t, r->recon_x,
	                                                  snm_scale(t, r->recon_extra, hidden_scale)),
	                                      weight));
	return r->loss;
}

/* Loss: ce_weight ce + weight (recon_x + recon_extra); at ce_weight 1 the loss as built. */
snm_tensor *snm_recon_scale_ce(snm_tape *t, snm_recon *r, float weight, float ce_weight)
{
	if (ce_weight == 1.0f)
		return r->loss;
	if (r->loss == NULL)
		return NULL;
	r->loss = snm_add(t, snm_scale(t, r->ce, ce_weight),
	                  snm_scale(t, r->recon_extra ? snm_add(t, r->recon_x, r->recon_extra)
	                                              : r->recon_x, weight));
	return r->loss;
}

/* The recon plugin's whole objective: r's loss and terms (snm_objective_add is objective.c's). */
void snm_recon_objective(const snm_recon *r, snm_objective *o)
{
	o->loss = r->loss;
	o->n_terms = 0;
	snm_objective_add(o, "ce", r->ce);
	snm_objective_add(o, "recon_x", r->recon_x);
	if (r->extra_name != NULL)
		snm_objective_add(o, r->extra_name, r->recon_extra);
}
