/* lock.c: the lock file of a run (lock.h) -- taken by the trainer, looked at by `snm status`. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "fs.h"
#include "lock.h"

int snm_lock_take(const char *path, int wait, const volatile sig_atomic_t *stop, int *fd,
                  snm_error *err)
{
	for (;;) {
		struct stat held, named;
		int rc;
		if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666)) < 0)
			return SNM_FAIL(err, SNM_EIO, "%s: cannot create: %s", path, strerror(errno));
		while ((rc = flock(*fd, LOCK_EX | (wait ? 0 : LOCK_NB))) != 0 && errno == EINTR
		       && (stop == NULL || !*stop))
			;
		if (rc != 0) {
			int e = errno;
			close(*fd);
			*fd = -1;
			if (e != EWOULDBLOCK && e != EINTR)
				return SNM_FAIL(err, SNM_EIO, "%s: cannot lock: %s", path, strerror(e));
			return SNM_OK;      /* busy, or stopped while waiting */
		}
		if (fstat(*fd, &held) == 0 && stat(path, &named) == 0 && held.st_dev == named.st_dev
		    && held.st_ino == named.st_ino) {
			char id[32];
			int n = snprintf(id, sizeof id, "%ld\n", (long)getpid());
			/* who holds it, for `snm status`; a stale lock's old id is overwritten */
			if (ftruncate(*fd, 0) == 0 && pwrite(*fd, id, (size_t)n, 0) != n)
				(void)ftruncate(*fd, 0);
			return SNM_OK;
		}
		close(*fd);
	}
}

void snm_lock_release(const char *path, int fd)
{
	if (fd < 0)
		return;
	unlink(path);
	close(fd);
}

/* The pid the lock file names: its first line, a decimal number; 0 when there is none (or the
 * path is no regular file: a FIFO would block the reader). */
static long file_pid(const char *path)
{
	char buf[32];
	long long size;
	int fd = snm_open_regular(path, &size);
	FILE *f;
	long pid = 0;
	if (fd < 0)
		return 0;
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return 0;
	}
	if (fgets(buf, sizeof buf, f) != NULL) {
		char *end;
		pid = strtol(buf, &end, 10);
		if (end == buf || (*end != '\n' && *end != '\0') || pid < 1)
			pid = 0;
	}
	fclose(f);
	return pid;
}

/* From /proc/locks: 1 when some process holds an exclusive flock on the file of st (*pid: that
 * process, as the kernel lists it), 0 when none does, -1 when the table cannot be read.  A line
 * is "<n>: FLOCK  ADVISORY  WRITE <pid> <major>:<minor>:<inode> 0 EOF" (major and minor in hex);
 * a process waiting for the lock is listed as "<n>: -> FLOCK ...", which is not a holder.  On an
 * overlay file system stat(2) and the table name different devices for one file: a lock on the
 * same inode of another device counts only when its holder is the pid the file names. */
static int proc_holder(const struct stat *st, long named, long *pid)
{
	FILE *f = fopen("/proc/locks", "r");
	char line[256];
	int found = 0;
	if (f == NULL)
		return -1;
	while (found != 2 && fgets(line, sizeof line, f) != NULL) {
		char kind[16], mode[16], rw[16];
		unsigned maj, min;
		unsigned long ino;
		long p;
		const char *s = strchr(line, ':');
		if (s == NULL || strstr(s, "->") != NULL)
			continue;
		if (sscanf(s + 1, "%15s %15s %15s %ld %x:%x:%lu", kind, mode, rw, &p, &maj, &min, &ino) != 7
		    || strcmp(kind, "FLOCK") != 0 || strcmp(rw, "WRITE") != 0 || ino != (unsigned long)st->st_ino)
			continue;
		if (maj == major(st->st_dev) && min == minor(st->st_dev)) {
			*pid = p;
			found = 2;
		} else if (p > 0 && p == named) {
			*pid = p;
			found = 1;
		}
	}
	fclose(f);
	return found > 0;
}

static int alive(long pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

void snm_lock_probe(const char *path, snm_lock_info *out)
{
	struct stat st;
	long named, listed = 0;
	int held;
	out->state = SNM_LOCK_NONE;
	out->pid = 0;
	if (stat(path, &st) != 0)
		return;
	named = file_pid(path);
	held = proc_holder(&st, named, &listed);
	if (held < 0)
		held = alive(named);
	else if (held && listed > 0)
		named = listed;
	out->state = held ? SNM_LOCK_HELD : SNM_LOCK_STALE;
	out->pid = named;
}
