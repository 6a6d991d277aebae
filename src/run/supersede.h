/* supersede.h: a run file set aside instead of destroyed (supersede.c) -- what `snm run --force`
 * does with the file of a run it retrains from scratch (made by another configuration, or an
 * unfinished run made by other code), so that the old result stays on disk beside the new one.
 *
 * The file "<dir>/<stem>.h5" is renamed to "<dir>/<stem>.superseded-<config hash>.h5" in the
 * same directory (so the rename is atomic and copies nothing), or, when that name is taken,
 * "<dir>/<stem>.superseded-<config hash>-2.h5", -3, ...  A file of that form is no run's own
 * file: every command that enumerates the run files under a directory (`snm compact DIR`, the
 * run files `snm paper` did not use) passes such files over, and `snm status`, `snm report` and
 * `snm run` never look at them (they read <results>/<run key>.h5 alone).  Nothing here prints. */
#ifndef SNM_RUN_SUPERSEDE_H
#define SNM_RUN_SUPERSEDE_H

#include <stddef.h>
#include "snm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Renames the run file at path (ending in ".h5") beside itself as above, hash being the file's
 * config_hash (16 hex digits; anything but [0-9a-f] is dropped), never over an existing file; the
 * new path into kept (size bytes).  Errors: SNM_EINVAL (path does not end in ".h5", or kept is
 * too small), SNM_EIO "<path>: cannot keep it as <kept>: <strerror>". */
int snm_supersede(const char *path, const char *hash, char *kept, size_t size, snm_error *err);

/* 1 when the last component of path is of a superseded file ("<stem>.superseded-<...>.h5"),
 * else 0. */
int snm_is_superseded(const char *path);

#ifdef __cplusplus
}
#endif
#endif
