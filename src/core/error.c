/* error.c: the snm_error struct's setters (see snm/error.h). */
#include <stdio.h>
#include <string.h>
#include "snm/error.h"

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
