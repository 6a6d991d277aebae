/* interrupt.h: Ctrl-C at chosen calls, for the interruption tests (tests/test_interrupt.sh,
 * tests/test_interrupt_updates.sh), shared by the test regularizers semi_noise, ramp_noise and
 * hcp_noise.
 *
 * SNM_TEST_INTERRUPT_AT: a comma-separated list of call counts (0: the first call in this
 * process).  interrupt_at() counts its own calls -- each plugin that includes this header keeps
 * its own count -- and raises SIGINT when the call's count is on the list, returning 1 then, 0
 * otherwise (no variable, an empty one, or parsing stops at the first entry that is not a
 * number).  A plugin calls it once its objective has built the step's loss; `snm run` then
 * finishes the step and stops before the next one, as after a Ctrl-C.
 *
 * SNM_TEST_HOLD_AT: a call count at which the call sleeps until a signal interrupts the sleep (60 s
 * at most), so that a signal sent from outside once the log shows a run under way finds it still
 * training however slow the test's shell is to send it: the tests' runs last about a second, and
 * on a loaded machine one could otherwise finish before the signal comes.  The sleep ends at the
 * signal itself where it is delivered to the training thread (Linux gives a signal sent to the
 * process to its first thread, which trains), else after the 60 s.  With SNM_TEST_HOLD_UNTIL (a
 * path) the hold lasts instead until that file exists (looked for every 10 ms, 60 s at most):
 * another process's progress releases it.  With SNM_TEST_HOLD_SAY (a path) the hold creates that
 * file as it begins, so that a test knows the run is held. */
#ifndef SNM_TEST_PLUGINS_INTERRUPT_H
#define SNM_TEST_PLUGINS_INTERRUPT_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* The hold of SNM_TEST_HOLD_AT at call `call` (above). */
static inline void hold_at(long long call)
{
	const char *at = getenv("SNM_TEST_HOLD_AT"), *until = getenv("SNM_TEST_HOLD_UNTIL");
	const char *say = getenv("SNM_TEST_HOLD_SAY");
	FILE *f;
	if (at == NULL || *at == '\0' || strtoll(at, NULL, 10) != call)
		return;
	if (say != NULL && *say != '\0' && (f = fopen(say, "w")) != NULL)
		fclose(f);
	if (until != NULL && *until != '\0') {
		struct timespec t = { 0, 10000000 };
		for (int i = 0; i < 6000 && access(until, F_OK) != 0; ++i)
			nanosleep(&t, NULL);
	} else {
		struct timespec t = { 60, 0 };
		nanosleep(&t, NULL);
	}
}

static inline int interrupt_at(void)
{
	static long long calls;
	const char *v = getenv("SNM_TEST_INTERRUPT_AT");
	long long call = calls++;
	hold_at(call);
	while (v != NULL && *v != '\0') {
		char *end;
		long long k = strtoll(v, &end, 10);
		if (end == v)
			return 0;
		if (k == call) {
			raise(SIGINT);
			return 1;
		}
		v = *end == ',' ? end + 1 : end;
	}
	return 0;
}

#endif
