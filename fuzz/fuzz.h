/* fuzz.h: what the libFuzzer harnesses (fuzz/fuzz_*.c) share: a scratch directory, writing the
 * input bytes to files in it, cutting an input into several files, and the checks every
 * harness makes of an error the code under test returns.
 *
 * A harness is one LLVMFuzzerTestOneInput, called many times in one process: it keeps no state
 * that grows from call to call, and everything it writes is under fuzz_dir(), one directory per
 * process ("$TMPDIR/snm-fuzz.XXXXXX", TMPDIR defaulting to /tmp), removed with its contents when
 * the process exits normally.  A process that dies (a crash, a timeout) leaves it behind: `make
 * fuzz` points TMPDIR into its own work directory and empties it after every harness.  Harnesses
 * print nothing themselves: the code under test reports through snm_error structs, which the
 * harness checks and drops.  A broken contract is a finding: the harness says what on stderr and
 * calls abort(), which libFuzzer reports as a crash with the input that caused it. */
#ifndef SNM_FUZZ_H
#define SNM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include "snm/error.h"

/* The libFuzzer entry points a harness defines (LLVMFuzzerInitialize is optional). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* This process's scratch directory, made on the first call (abort when it cannot be made). */
const char *fuzz_dir(void);

/* Writes "<fuzz_dir()>/<name>" into buf (abort when it does not fit); returns buf.  name may
 * contain '/': fuzz_write makes the directories. */
char *fuzz_path(char *buf, size_t size, const char *name);

/* Replaces the file at path with the size bytes at data, making the missing directories above
 * it; abort on any error (the harness's own disk, not the code under test). */
void fuzz_write(const char *path, const uint8_t *data, size_t size);

/* Removes the file at path if it is there. */
void fuzz_unlink(const char *path);

/* One piece of an input cut by fuzz_split. */
typedef struct fuzz_part {
	const uint8_t *data;
	size_t size;
} fuzz_part;

/* Cuts data at each occurrence of the separator sep (a string) into at most max pieces, the last
 * one taking the rest (separators included); returns the number of pieces (>= 1 when max >= 1:
 * an input without the separator is one piece).  So one input can stand for several files, and
 * the seeds and the dictionary hold the separator. */
size_t fuzz_split(const uint8_t *data, size_t size, const char *sep, fuzz_part *parts, size_t max);

/* Loads every plugin (*.so) of the colon-separated directories of path with RTLD_NODELETE, so
 * that the loader's dlopen and dlclose of them for every input cost a reference count, not a
 * load (abort when a directory or a plugin cannot be opened: build the plugins first). */
void fuzz_preload_plugins(const char *path);

/* The contract of a failed call that returned rc with err: rc is an SNM_E* code, err holds the
 * same code and a non-empty message of one line (no line break).  what names the call in the
 * report.  abort when it does not hold; nothing when rc is SNM_OK. */
void fuzz_check_error(int rc, const snm_error *err, const char *what);

/* Reports a broken contract on stderr ("fuzz: <message>") and aborts. */
void fuzz_die(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 1, 2), noreturn))
#endif
	;

#endif
