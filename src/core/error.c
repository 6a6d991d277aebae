/* error.c: the snm_error struct's setters (see snm/error.h). */
#include <stdio.h>
#include <string.h>
#include "snm/error.h"

/* Keeps a message on one line (error.h): a line break or another control character that came in
 * with outside text -- a YAML scalar or key, a path, an attribute of a run file -- is written as
 * an escape (\n, \r, \xHH; a tab stays), so that it can neither break the line nor reach a
 * terminal as a control sequence.  An escape that does not fit is dropped with the rest. */
static void one_line(char *msg)
{
	char out[SNM_ERROR_MSG_MAX];
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)msg;
	while (*p && (*p >= 0x20 || *p == '\t') && *p != 0x7f)
		++p;
	if (*p == '\0')
		return;
	o = (size_t)((const char *)p - msg);
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
		if (o + n >= sizeof out)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o] = '\0';
	memcpy(msg, out, o + 1);
}

int snm_error_set(snm_error *e, int code, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	if (e == NULL)
		return code;
	e->code = code;
	e->file = file;
	e->line = line;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	one_line(e->msg);
	return code;
}

int snm_error_prefix(snm_error *e, const char *fmt, ...)
{
	char pre[SNM_ERROR_MSG_MAX], old[SNM_ERROR_MSG_MAX];
	va_list ap;
	if (e == NULL)
		return SNM_OK;
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	snprintf(e->msg, sizeof e->msg, "%.200s: %.300s", pre, old);
	one_line(e->msg);
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
