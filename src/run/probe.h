/* probe.h: a run file read once in a child process, so that libhdf5 crashing or hanging on a
 * hostile file costs one line and not the process.
 *
 * libhdf5 1.10 trusts the sizes, indices and addresses it finds in a file: a damaged or forged
 * file can make it read out of bounds, abort or loop forever, and no return code reaches the
 * caller.  The seal (seal.h) tells damage from a sound file before libhdf5 sees it; a file that
 * has no seal (format 1) or a forged one is probed: a forked child opens the same bytes and reads
 * every attribute and dataset of every object, as no reader of the store reads more, and the
 * parent waits for it.  When the child returned having listed and opened everything, the parent's
 * own reads of those bytes (a subset of the child's) take the same paths and return too. */
#ifndef SNM_RUN_PROBE_H
#define SNM_RUN_PROBE_H

#include <stddef.h>
#include <hdf5.h>
#include "snm/error.h"

#define SNM_PROBE_MS 10000       /* how long a child may read one file, by default */

/* Opens the file `name` with fapl (read-only; the core driver holding the file's image) in a
 * child process and reads it whole, for at most ms milliseconds: the root's and every object's attributes, every dataset of
 * at most `bytes` bytes.  SNM_OK when the child finished (an error it met is the parent's to
 * find and report); SNM_EIO, without a path (the caller prefixes it), "libhdf5 crashed reading
 * it (signal N)" (or "(exit status N)": a sanitizer's exit), "damaged: libhdf5 cannot list or
 * open all that it holds" (an attribute or link listing, or an object it listed, failed: the
 * parent never repeats a failure whose cleanup in libhdf5 is unsound) or "libhdf5 did not finish
 * reading it in N s" (the child is killed); SNM_EIO "cannot fork: ..." when no child could be made. */
int snm_probe(const char *name, hid_t fapl, size_t bytes, int ms, snm_error *err);

#endif
