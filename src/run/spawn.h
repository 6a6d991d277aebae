/* spawn.h: running another program (spawn.c) -- finding it on a search path, and running it with
 * its output in a log file while this process waits.  Written once for the paper stage (gnuplot)
 * and `snm fetch` (curl, tar, npm); nothing here prints. */
#ifndef SNM_RUN_SPAWN_H
#define SNM_RUN_SPAWN_H

#include <stddef.h>

/* The file that runs as prog, into out (size bytes): prog itself when it holds a '/', else the
 * first <dir>/prog of the colon-separated search path that is an executable regular file (an empty
 * entry is the working directory).  1 when found, 0 otherwise. */
int snm_find_program(const char *prog, const char *search, char *out, size_t size);

/* Runs the program file exe with argv (argv[0] its name), the environment of this process,
 * stdin from /dev/null, in directory cwd (NULL: this process's; log is opened before the change,
 * so a relative log is relative to this process's directory), stderr into the file log
 * (truncated; created with the given mode), stdout into log too when out_to_log, else into
 * /dev/null; and waits for it.  Returns 0 with *wstatus its wait status, or the errno of the step
 * that failed, *failed naming it: "start" (posix_spawn: the program is missing or not runnable,
 * the log cannot be made, ...) or "wait". */
int snm_spawn(const char *exe, char *const argv[], const char *cwd, const char *log, int mode, int out_to_log,
              int *wstatus, const char **failed);

#endif
