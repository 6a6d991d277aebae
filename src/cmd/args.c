/* args.c: argument checks shared by the `snm` command's subcommands (args.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "args.h"

int snm_cmd_whole(const char *prog, const char *opt, const char *text, long min, long max, int *out)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "%s: %s: expected a whole number from %ld to %ld, got '%s'\n", prog, opt, min,
		        max, text);
		return -1;
	}
	*out = (int)v;
	return 0;
}

int snm_cmd_count(const char *prog, const char *opt, const char *text, long max, int *out)
{
	return snm_cmd_whole(prog, opt, text, 1, max, out);
}

char *snm_cmd_command_line(int argc, char *const argv[])
{
	size_t size = 1;
	char *s, *o;
	for (int i = 0; i < argc; ++i)
		size += 4 * strlen(argv[i]) + 3;
	if ((s = o = malloc(size)) == NULL)
		return NULL;
	for (int i = 0; i < argc; ++i) {
		const char *a = argv[i], *lt;
		size_t n = strlen(a);
		if (i > 0)
			*o++ = ' ';
		if (i == 0 && (lt = strstr(a, ".libs/")) != NULL && (lt == a || lt[-1] == '/')
		    && strchr(lt + 6, '/') == NULL) {          /* "<dir>/.libs/[lt-]snm" -> "<dir>/snm" */
			memcpy(o, a, (size_t)(lt - a));
			o += lt - a;
			a = lt + 6;
			if (strncmp(a, "lt-", 3) == 0)
				a += 3;
			n = strlen(a);
		}
		if (n > 0 && strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		                       "_./:=,+@%-") == n) {
			memcpy(o, a, n);
			o += n;
			continue;
		}
		*o++ = '\'';
		for (; *a; ++a) {
			if (*a == '\'') {
				memcpy(o, "'\\''", 4);
				o += 4;
			} else {
				*o++ = *a;
			}
		}
		*o++ = '\'';
	}
	*o = '\0';
	return s;
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
