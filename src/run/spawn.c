/* spawn.c: finding and running another program (see spawn.h). */
#define _GNU_SOURCE        /* posix_spawn_file_actions_addchdir_np (glibc >= 2.29, musl, BSDs, macOS) */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "spawn.h"

extern char **environ;

static int runnable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int snm_find_program(const char *prog, const char *search, char *out, size_t size)
{
	if (strchr(prog, '/') != NULL)
		return (size_t)snprintf(out, size, "%s", prog) < size && runnable(out);
	while (*search != '\0') {
		const char *end = strchr(search, ':');
		size_t len = end ? (size_t)(end - search) : strlen(search);
		if ((size_t)snprintf(out, size, "%.*s/%s", (int)(len ? len : 1), len ? search : ".", prog) < size
		    && runnable(out))
			return 1;
		search += len + (end != NULL);
	}
	return 0;
}

int snm_spawn(const char *exe, char *const argv[], const char *cwd, const char *log, int mode, int out_to_log,
              int *wstatus, const char **failed)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;
	*failed = "start";
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		return rc;
	if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) == 0
	    && (rc = posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, (mode_t)mode)) == 0
	    && (rc = out_to_log ? posix_spawn_file_actions_adddup2(&fa, 2, 1)
	                        : posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0)) == 0
	    && (cwd == NULL || (rc = posix_spawn_file_actions_addchdir_np(&fa, cwd)) == 0))
		rc = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return rc;
	while (waitpid(pid, wstatus, 0) < 0)
		if (errno != EINTR) {
			*failed = "wait";
			return errno;
		}
	return 0;
}
