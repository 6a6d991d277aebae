/* lock.h: one trainer of a run at a time, across processes (lock.c) -- the lock file beside a run
 * file, taken by the trainer (trainer.c) and looked at, never taken, by `snm status`.
 *
 * The lock is an advisory flock(2) on "<run file>.lock", exclusive, held for as long as a process
 * trains (or looks at, or skips) the run; the kernel lets it go when the process dies, however it
 * dies.  Its holder writes its process id into the file ("<pid>\n") once it holds the lock, so
 * that others can say who trains the run.  The holder removes the file before letting go, so a
 * lock file that outlives its holder means the holder was killed (kill -9, a power cut): a stale
 * lock, harmless, since the next trainer locks the same file again. */
#ifndef SNM_RUN_LOCK_H
#define SNM_RUN_LOCK_H

#include <signal.h>
#include "snm/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opens (creating it) and locks the file at path.  On success *fd holds the lock, and the file
 * holds this process's id (written best effort: a full disk does not stop a run over the id).
 * While another process holds it: at once *fd = -1 and SNM_OK, or with wait, once it is free --
 * or *fd = -1 and SNM_OK as soon as a signal interrupts the wait with *stop set (stop may be
 * NULL: the wait goes on).  A
 * lock taken on a file that its holder removed meanwhile (the path now names another file, or
 * none) is dropped and taken again, so that two processes never hold two different locks for one
 * run.  Errors: SNM_EIO "<path>: cannot create: <reason>" / "<path>: cannot lock: <reason>". */
int snm_lock_take(const char *path, int wait, const volatile sig_atomic_t *stop, int *fd,
                  snm_error *err);

/* Removes the file at path, then lets go of the lock fd held on it (in that order: a waiter that
 * then locks the removed file notices, see snm_lock_take).  fd < 0 is a no-op. */
void snm_lock_release(const char *path, int fd);

/* What a lock file says, as a reader sees it without taking the lock. */
enum {
	SNM_LOCK_NONE = 0,       /* no lock file */
	SNM_LOCK_HELD,           /* a live process holds it: pid */
	SNM_LOCK_STALE           /* a lock file no live process holds; pid: the one it names (0: none) */
};

typedef struct snm_lock_info {
	int state;               /* SNM_LOCK_* */
	long pid;                /* the holder, or the process a stale lock names; 0 when unknown */
} snm_lock_info;

/* Looks at the lock file at path.  Where /proc/locks can be read (Linux), the holder is the
 * process it lists with an exclusive flock on the file's device and inode (on an overlay file
 * system, whose stat(2) device differs from the table's, on the same inode by the pid the file
 * names), so a pid written in the file but no longer holding the lock, even reused by another
 * process, is not taken for a holder; elsewhere the pid written in the file, alive (kill(pid, 0)).
 * A holder that has not yet written its pid is HELD under the pid the table lists.  Never fails:
 * an unreadable file is looked at as one that names no pid. */
void snm_lock_probe(const char *path, snm_lock_info *out);

#ifdef __cplusplus
}
#endif
#endif
