/* fs.h: making directories and removing scratch trees (fs.c), for the trainer (the directories of
 * a run file), the paper stage (its output directory) and the `snm` command.
 *
 * Directories are made with mode 0777 less the umask, one component at a time from the first;
 * a component that already exists as a directory (or a link to one) is fine.  An error names the
 * directory that cannot be made, in one line:
 *   "<dir>: cannot create directory: a file of that name is in the way"   (a non-directory there)
 *   "<dir>: cannot create directory: <strerror>"                         (permissions, ...)
 * Errors: SNM_EIO as above, SNM_ENOMEM; nothing is printed. */
#ifndef SNM_FS_H
#define SNM_FS_H

#include "snm/error.h"

/* Creates the missing directories above the file `path` ("a/b/c.h5": a and a/b); nothing for a
 * path without a '/' (or the empty path). */
int snm_mkparents(const char *path, snm_error *err);

/* Creates the directory `dir` and the missing ones above it ("a/b": a and a/b).  The empty name
 * is SNM_EINVAL. */
int snm_mkdirs(const char *dir, snm_error *err);

/* A results directory a command reads run files from: SNM_OK when dir is a directory (or a link
 * to one), else SNM_EIO "results directory '<dir>': <strerror> (give --results DIR, where `snm run`
 * wrote the run files)" or "...: not a directory".  So that a mistyped --results is one line,
 * not a table of "missing" cells written over a good one. */
int snm_results_dir_check(const char *dir, snm_error *err);

/* Opens the file at path for reading without blocking (a FIFO waits for no writer) and returns
 * its descriptor (close-on-exec) when it is a regular file, its size in *size; -1 with errno from
 * open or fstat, or -2 when it is no regular file (a FIFO, a device, a directory: nothing is read
 * from it).  For readers of files that snm wrote: run files, lock files. */
int snm_open_regular(const char *path, long long *size);

/* Removes the directory tree dir (files, links and directories, not following links), best
 * effort; for scratch directories snm made itself. */
void snm_rmtree(const char *dir);

#endif
