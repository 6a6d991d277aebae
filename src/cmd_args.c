/* cmd_args.c: argument parsing shared by the `snm` command's subcommands (cmd_args.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "cmd_args.h"

int snm_cmd_count(const char *prog, const char *opt, const char *text, long max, int *out)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < 1 || v > max) {
		fprintf(stderr, "%s: %s: expected a whole number from 1 to %ld, got '%s'\n", prog, opt, max,
		        text);
		return -1;
	}
	*out = (int)v;
	return 0;
}
