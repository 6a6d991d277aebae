/* args.c: argument checks shared by the `snm` command's subcommands (args.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"

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

int snm_cmd_safe_key(const char *key)
{
	size_t n = strlen(key), start = 0;
	if (n == 0 || key[0] == '/' || key[n - 1] == '/')
		return 0;
	for (size_t i = 0; i <= n; ++i) {
		char ch = key[i];
		if (ch == '/' || ch == '\0') {
			size_t len = i - start;
			if (len == 0 || (len == 1 && key[start] == '.')
			    || (len == 2 && key[start] == '.' && key[start + 1] == '.'))
				return 0;
			start = i + 1;
		} else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
		             || ch == '.' || ch == '_' || ch == '-')) {
			return 0;
		}
	}
	return 1;
}
