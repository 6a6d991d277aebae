/* schedule.c: learning-rate schedules, epoch -> learning rate (see optim.h).
 *
 *   SNM_LR_CONST:   lr
 *   SNM_LR_STEP:    lr factor^floor(epoch / every)      (the paper: 0.005, factor 0.2, every 40)
 *   SNM_LR_LINEAR:  lr                                  for epoch <  start
 *                   lr (total - epoch) / (total - start) for start <= epoch < total
 *                   0                                   for epoch >= total
 * Epochs are 0-based; everything is computed in double. */
#include <math.h>
#include "optim.h"

double snm_schedule_lr(const snm_schedule *s, int epoch)
{
	if (epoch < 0)
		epoch = 0;
	switch (s->kind) {
	case SNM_LR_STEP:
		return s->lr * pow(s->factor, (double)(s->every > 0 ? epoch / s->every : 0));
	case SNM_LR_LINEAR:
		if (epoch < s->start)
			return s->lr;
		if (epoch >= s->total)
			return 0.0;
		return s->lr * (double)(s->total - epoch) / (double)(s->total - s->start);
	default:
		return s->lr;
	}
}

int snm_schedule_check(const snm_schedule *s, snm_error *err)
{
	if (s->kind != SNM_LR_CONST && s->kind != SNM_LR_STEP && s->kind != SNM_LR_LINEAR)
		return SNM_FAIL(err, SNM_EINVAL, "learning-rate schedule: unknown kind %d", s->kind);
	if (!(s->lr > 0.0) || !isfinite(s->lr))
		return SNM_FAIL(err, SNM_EINVAL, "learning-rate schedule: lr %g must be finite and > 0",
		                s->lr);
	if (s->kind == SNM_LR_STEP) {
		if (!(s->factor > 0.0 && s->factor <= 1.0))
			return SNM_FAIL(err, SNM_EINVAL, "learning-rate schedule: step factor %g must lie in "
			                "(0, 1]", s->factor);
		if (s->every < 1)
			return SNM_FAIL(err, SNM_EINVAL, "learning-rate schedule: step every %d epochs must "
			                "be >= 1", s->every);
	}
	if (s->kind == SNM_LR_LINEAR && !(s->start >= 0 && s->start < s->total))
		return SNM_FAIL(err, SNM_EINVAL, "learning-rate schedule: linear decay from epoch %d to "
		                "%d needs 0 <= start < total", s->start, s->total);
	return SNM_OK;
}
