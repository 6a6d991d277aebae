/* error.c: the snm_error struct's setters (see snm/error.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "snm/error.h"

#define ERROR_BIG 4096        /* a message is formatted whole this long, then fitted */
#define ERROR_TAIL 200        /* what a message too long keeps of its end */

/* Keeps a message on one line (error.h): a line break or another control character that came in
 * with outside text -- a YAML scalar or key, a path, an attribute of a run file -- is written as
 * an escape (\n, \r, \xHH; a tab stays), so that it can neither break the line nor reach a
 * terminal as a control sequence.  msg has room for cap bytes; an escape that does not fit is
 * dropped with the rest. */
static void one_line(char *msg, size_t cap)
{
	char out[ERROR_BIG];
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)msg;
	if (cap > sizeof out)
		cap = sizeof out;
	while (*p && (*p >= 0x20 || *p == '\t') && *p != 0x7f)
		++p;
	if (*p == '\0')
		return;
	o = (size_t)((const char *)p - msg);
	if (o >= cap)
		o = cap - 1;
	memcpy(out, msg, o);
	for (; *p; ++p) {
		char esc[8];
		size_t n;
		if ((*p >= 0x20 || *p == '\t') && *p != 0x7f) {
			esc[0] = (char)*p;
			n = 1;
		} else if (*p == '\n' || *p == '\r') {
			n = (size_t)snprintf(esc, sizeof esc, "\\%c", *p == '\n' ? 'n' : 'r');
		} else {
			n = (size_t)snprintf(esc, sizeof esc, "\\x%02x", *p);
		}
		if (o + n >= cap)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o] = '\0';
	memcpy(msg, out, o + 1);
}

/* e->msg = big, one line; a message longer than e->msg holds keeps its beginning (the file it
 * names) and its last ERROR_TAIL bytes (the reason), joined by " ... ", instead of losing the
 * reason behind a long path. */
static void fit(snm_error *e, char *big)
{
	size_t n, head;
	one_line(big, ERROR_BIG);
	n = strlen(big);
	if (n < sizeof e->msg) {
		memcpy(e->msg, big, n + 1);
		return;
	}
	head = sizeof e->msg - 1 - ERROR_TAIL - 5;
	memcpy(e->msg, big, head);
	memcpy(e->msg + head, " ... ", 5);
	memcpy(e->msg + head + 5, big + n - ERROR_TAIL, ERROR_TAIL + 1);
}

int snm_error_set(snm_error *e, int code, const char *file, int line, const char *fmt, ...)
{
	char big[ERROR_BIG], *whole;
	va_list ap, again;
	int n;
	if (e == NULL)
		return code;
	e->code = code;
	e->file = file;
	e->line = line;
	va_start(ap, fmt);
	va_copy(again, ap);
	n = vsnprintf(big, sizeof big, fmt, ap);
	/* longer than big (a path near PATH_MAX and its reason): formatted whole on the heap, and
	 * big keeps its beginning and its last ERROR_TAIL bytes for fit(); without memory, the
	 * beginning alone */
	if (n >= (int)sizeof big && (whole = malloc((size_t)n + 1)) != NULL) {
		size_t head = sizeof big - 1 - ERROR_TAIL - 5;
		vsnprintf(whole, (size_t)n + 1, fmt, again);
		memcpy(big + head, " ... ", 5);
		memcpy(big + head + 5, whole + n - ERROR_TAIL, ERROR_TAIL + 1);
		free(whole);
	}
	va_end(again);
	va_end(ap);
	fit(e, big);
	return code;
}

int snm_error_prefix(snm_error *e, const char *fmt, ...)
{
	char pre[ERROR_BIG], big[ERROR_BIG];
	va_list ap;
	if (e == NULL)
		return SNM_OK;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	snprintf(big, sizeof big, "%.1500s: %s", pre, e->msg);
	fit(e, big);
	return e->code;
}

void snm_error_clear(snm_error *e)
{
	if (e == NULL)
		return;
	e->code = SNM_OK;
	e->msg[0] = '\0';
	e->file = NULL;
	e->line = 0;
}

const char *snm_strerror(int code)
{
	static const char *const names[SNM_E__COUNT] = {
		[SNM_OK] = "SNM_OK", [SNM_ENOMEM] = "SNM_ENOMEM", [SNM_EINVAL] = "SNM_EINVAL",
		[SNM_ESHAPE] = "SNM_ESHAPE", [SNM_EIO] = "SNM_EIO", [SNM_ECONFIG] = "SNM_ECONFIG",
		[SNM_EPLUGIN] = "SNM_EPLUGIN", [SNM_EABI] = "SNM_EABI", [SNM_EHDF5] = "SNM_EHDF5",
		[SNM_ENUMERIC] = "SNM_ENUMERIC", [SNM_ESTATE] = "SNM_ESTATE",
	};
	if (code < 0 || code >= SNM_E__COUNT)
		return "SNM_E(unknown)";
	return names[code];
}
