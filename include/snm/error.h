/* snm/error.h: error codes and the error struct every library call fills.
 *
 * Library code (src/, plugins) never exits and never prints: a function that can fail returns
 * SNM_OK (0) or one of the SNM_E* codes below and, when given a non-NULL snm_error, writes a
 * one-line message into it.  Messages name what went wrong in the user's terms ("pipeline.yaml:
 * 12:5: unknown key 'lr'", "data/train.gz: truncated IDX header"), never C internals.  Only the
 * `snm` command turns an error into output on stderr and an exit status. */
#ifndef SNM_ERROR_H
#define SNM_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
	SNM_OK = 0,
	SNM_ENOMEM,     /* allocation failed */
	SNM_EINVAL,     /* invalid argument or value */
	SNM_ESHAPE,     /* tensor shapes do not fit the operation */
	SNM_EIO,        /* file missing, unreadable, truncated, or of the wrong format */
	SNM_ECONFIG,    /* pipeline (YAML) error: message carries file:line:col */
	SNM_EPLUGIN,    /* plugin not found, not loadable, wrong kind, missing symbol */
	SNM_EABI,       /* plugin built against another plugin ABI major or too old a struct */
	SNM_EHDF5,      /* HDF5 library call failed */
	SNM_ENUMERIC,   /* a non-finite value where a finite one is required (loss, gradient) */
	SNM_ESTATE,     /* operation not valid in the object's current state (e.g. finished run) */
	SNM_E__COUNT
};

#define SNM_ERROR_MSG_MAX 512

typedef struct snm_error {
	int code;                       /* SNM_OK or an SNM_E* value */
	char msg[SNM_ERROR_MSG_MAX];    /* one line, no trailing newline */
	const char *file;               /* source file that raised it (for debugging) */
	int line;
} snm_error;

/* Fills e (when non-NULL) with code and a printf-style message; returns code.  Never call it with
 * SNM_OK.  A second call overwrites the first: callers that add context use snm_error_prefix.
 * The message stays one line whatever the arguments hold: a line break or another control
 * character (a YAML scalar's, a file's) is written as an escape, \n, \r or \xHH (a tab stays).
 * One longer than msg holds keeps its beginning (the file it names) and its last 200 bytes (the
 * reason), joined by " ... ". */
int snm_error_set(snm_error *e, int code, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 5, 6)))
#endif
	;

/* Prepends "prefix: " to e->msg (context such as a file name), on one line as above; returns
 * e->code. */
int snm_error_prefix(snm_error *e, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* Resets e to SNM_OK with an empty message. */
void snm_error_clear(snm_error *e);

/* Short name of a code ("SNM_ESHAPE"); never NULL. */
const char *snm_strerror(int code);

/* Usage: return SNM_FAIL(err, SNM_EIO, "%s: truncated", path); */
#define SNM_FAIL(e, code, ...) snm_error_set((e), (code), __FILE__, __LINE__, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
