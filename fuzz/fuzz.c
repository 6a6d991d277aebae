/* fuzz.c: the harnesses' shared helpers (see fuzz.h). */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "run/fs.h"
#include "fuzz.h"

static char scratch[1024];

void fuzz_die(const char *fmt, ...)
{
	va_list ap;
	fputs("fuzz: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static void remove_scratch(void)
{
	if (scratch[0] != '\0')
		snm_rmtree(scratch);
}

const char *fuzz_dir(void)
{
	if (scratch[0] == '\0') {
		const char *t = getenv("TMPDIR");
		if (t == NULL || t[0] == '\0')
			t = "/tmp";
		if ((size_t)snprintf(scratch, sizeof scratch, "%s/snm-fuzz.XXXXXX", t) >= sizeof scratch)
			fuzz_die("TMPDIR is too long: %s", t);
		if (mkdtemp(scratch) == NULL)
			fuzz_die("cannot make a scratch directory %s: %s", scratch, strerror(errno));
		atexit(remove_scratch);
	}
	return scratch;
}

char *fuzz_path(char *buf, size_t size, const char *name)
{
	if ((size_t)snprintf(buf, size, "%s/%s", fuzz_dir(), name) >= size)
		fuzz_die("path too long: %s/%s", fuzz_dir(), name);
	return buf;
}

void fuzz_write(const char *path, const uint8_t *data, size_t size)
{
	snm_error e;
	int fd;
	if (snm_mkparents(path, &e) != SNM_OK)
		fuzz_die("%s", e.msg);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		fuzz_die("cannot create %s: %s", path, strerror(errno));
	while (size > 0) {
		ssize_t w = write(fd, data, size);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fuzz_die("cannot write %s: %s", path, strerror(errno));
		data += w;
		size -= (size_t)w;
	}
	if (close(fd) != 0)
		fuzz_die("cannot close %s: %s", path, strerror(errno));
}

void fuzz_unlink(const char *path)
{
	if (unlink(path) != 0 && errno != ENOENT)
		fuzz_die("cannot remove %s: %s", path, strerror(errno));
}

void fuzz_preload_plugins(const char *path)
{
	char *dirs = strdup(path), *save = NULL;
	if (dirs == NULL)
		fuzz_die("out of memory");
	for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		DIR *d = opendir(dir);
		struct dirent *e;
		if (d == NULL)
			fuzz_die("no plugin directory %s (build the plugins first)", dir);
		while ((e = readdir(d)) != NULL) {
			char so[4096];
			size_t n = strlen(e->d_name);
			void *h;
			if (n < 4 || strcmp(e->d_name + n - 3, ".so") != 0)
				continue;
			snprintf(so, sizeof so, "%s/%s", dir, e->d_name);
			if ((h = dlopen(so, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) == NULL)
				fuzz_die("cannot load %s: %s", so, dlerror());
			dlclose(h);
		}
		closedir(d);
	}
	free(dirs);
}

size_t fuzz_split(const uint8_t *data, size_t size, const char *sep, fuzz_part *parts, size_t max)
{
	const size_t n = strlen(sep);
	size_t k = 0, start = 0;
	if (max == 0)
		return 0;
	for (size_t i = 0; n > 0 && k + 1 < max && i + n <= size; ++i)
		if (memcmp(data + i, sep, n) == 0) {
			parts[k].data = data + start;
			parts[k].size = i - start;
			++k;
			start = i + n;
			i += n - 1;
		}
	parts[k].data = data + start;
	parts[k].size = size - start;
	return k + 1;
}

void fuzz_check_error(int rc, const snm_error *err, const char *what)
{
	if (rc == SNM_OK)
		return;
	if (rc < 0 || rc >= SNM_E__COUNT)
		fuzz_die("%s returned %d, not an SNM_E* code", what, rc);
	if (err->code != rc)
		fuzz_die("%s returned %s but its error holds %s (\"%s\")", what, snm_strerror(rc),
		         snm_strerror(err->code), err->msg);
	if (memchr(err->msg, '\0', sizeof err->msg) == NULL)
		fuzz_die("%s: the message is not NUL-terminated", what);
	if (err->msg[0] == '\0')
		fuzz_die("%s returned %s with an empty message", what, snm_strerror(rc));
	if (strpbrk(err->msg, "\n\r") != NULL)
		fuzz_die("%s returned a message of more than one line: \"%s\"", what, err->msg);
}
