/* interrupt.h: Ctrl-C at chosen calls, for the interruption tests (tests/test_interrupt.sh,
 * tests/test_interrupt_updates.sh), shared by the test regularizers semi_noise, ramp_noise and
 * hcp_noise.
 *
 * SNM_TEST_INTERRUPT_AT: a comma-separated list of call counts (0: the first call in this
 * process).  interrupt_at() counts its own calls -- each plugin that includes this header keeps
 * its own count -- and raises SIGINT when the call's count is on the list, returning 1 then, 0
 * otherwise (no variable, an empty one, or parsing stops at the first entry that is not a
 * number).  A plugin calls it once its objective has built the step's loss; `snm run` then
 * finishes the step and stops before the next one, as after a Ctrl-C. */
#ifndef SNM_TEST_PLUGINS_INTERRUPT_H
#define SNM_TEST_PLUGINS_INTERRUPT_H

#include <signal.h>
#include <stdlib.h>

static inline int interrupt_at(void)
{
	static long long calls;
	const char *v = getenv("SNM_TEST_INTERRUPT_AT");
	long long call = calls++;
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
