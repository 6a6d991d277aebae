/* fs.c: making directories and removing scratch trees (fs.h), for the trainer (the directories of
 * a run file), the paper stage (its output directory) and the `snm` command (compact and verify
 * outputs, verify's and fetch's scratch directories). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fs.h"

/* One directory: made, or already there as a directory. */
static int make_one(const char *dir, snm_error *err)
{
	struct stat st;
	int e;
	if (mkdir(dir, 0777) == 0)
		return SNM_OK;
	e = errno;
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return SNM_OK;
	return SNM_FAIL(err, SNM_EIO, "%s: cannot create directory: %s", dir,
	                e == EEXIST ? "a file of that name is in the way" : strerror(e));
}

int snm_results_dir_check(const char *dir, snm_error *err)
{
	struct stat st;
	if (stat(dir, &st) != 0)
		return SNM_FAIL(err, SNM_EIO, "results directory '%s': %s (give --results DIR, where `snm run` "
		                "wrote the run files)", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return SNM_FAIL(err, SNM_EIO, "results directory '%s': not a directory", dir);
	return SNM_OK;
}

int snm_open_regular(const char *path, long long *size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), e;
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -2;
	}
	*size = (long long)st.st_size;
	return fd;
}

/* Every prefix of path that ends before a '/' and, with whole, path itself. */
static int make_path(const char *path, int whole, snm_error *err)
{
	char *p;
	int rc = SNM_OK;
	if (*path == '\0')
		return whole ? SNM_FAIL(err, SNM_EINVAL, "empty directory name") : SNM_OK;
	if ((p = strdup(path)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	for (char *s = p + 1; rc == SNM_OK; ++s) {
		char c = *s;
		if (c != '/' && c != '\0')
			continue;
		if (c == '\0' && !whole)
			break;
		*s = '\0';
		rc = make_one(p, err);
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

int snm_mkparents(const char *path, snm_error *err)
{
	return make_path(path, 0, err);
}

int snm_mkdirs(const char *dir, snm_error *err)
{
	return make_path(dir, 1, err);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void snm_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
