/* adversarial.c: the pieces of adversarial regularizers (snm/regularize.h) -- the balanced one-hot
 * prior sample and the discriminator's and generator's losses of a GAN-style density-ratio term.
 *
 * Like regularize.c, nothing here is an op of its own: the losses are snm_bce_logits (ops.h, with
 * its finite-difference test) on rows concatenated by snm_concat_rows, against constant targets. */
#include "snm/regularize.h"

snm_tensor *snm_fill(snm_tape *t, int n_d, const int *d, float v)
{
	snm_tensor *c = snm_tape_const(t, n_d, d, NULL);
	if (c != NULL)
		for (size_t i = 0, n = snm_tensor_len(c); i < n; ++i)
			c->x[i] = v;
	return c;
}

snm_tensor *snm_onehot_tile(snm_tape *t, int n, int k)
{
	snm_tensor *c;
	if (n < 1 || k < 1) {
		snm_tape_fail(t, SNM_EINVAL, "onehot_tile: %d rows of %d classes", n, k);
		return NULL;
	}
	if ((c = snm_tape_const(t, 2, (int[]){ n, k }, NULL)) != NULL)
		for (int i = 0; i < n; ++i)
			c->x[(size_t)i * k + i % k] = 1.0f;
	return c;
}

/* mean BCE over [real; fake] against [1 ... 1; 0 ... 0] */
snm_tensor *snm_adv_d_loss(snm_tape *t, snm_tensor *real, snm_tensor *fake)
{
	snm_tensor *both, *tg;
	int nr, nf;
	if (real == NULL || fake == NULL)
		return NULL;
	nr = (int)snm_tensor_len(real);
	nf = (int)snm_tensor_len(fake);
	both = snm_concat_rows(t, snm_reshape(t, real, 2, (int[]){ nr, 1 }),
	                       snm_reshape(t, fake, 2, (int[]){ nf, 1 }));
	tg = snm_tape_const(t, 2, (int[]){ nr + nf, 1 }, NULL);
	if (tg != NULL)
		for (int i = 0; i < nr; ++i)
			tg->x[i] = 1.0f;
	return snm_bce_logits(t, both, tg);
}

/* mean BCE(fake, 1): the non-saturating generator loss -log D(fake) */
snm_tensor *snm_adv_g_loss(snm_tape *t, snm_tensor *fake)
{
	if (fake == NULL)
		return NULL;
	return snm_bce_logits(t, fake, snm_fill(t, fake->n_d, fake->d, 1.0f));
}
