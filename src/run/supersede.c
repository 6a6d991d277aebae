/* supersede.c: a run file set aside instead of destroyed (supersede.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "supersede.h"

#define TAG ".superseded-"

int snm_is_superseded(const char *path)
{
	const char *base = strrchr(path, '/'), *tag;
	size_t n;
	base = base ? base + 1 : path;
	n = strlen(base);
	return n > 3 && strcmp(base + n - 3, ".h5") == 0 && (tag = strstr(base, TAG)) != NULL && tag > base;
}

int snm_supersede(const char *path, const char *hash, char *kept, size_t size, snm_error *err)
{
	size_t n = strlen(path), k = 0;
	char clean[17];
	for (const char *h = hash ? hash : ""; *h && k < 16; ++h)
		if (strchr("0123456789abcdef", *h) != NULL)
			clean[k++] = *h;
	clean[k] = '\0';
	if (n < 4 || strcmp(path + n - 3, ".h5") != 0)
		return SNM_FAIL(err, SNM_EINVAL, "%s: not a run file's name (*.h5)", path);
	for (int i = 1; i < 10000; ++i) {
		char count[16] = "";
		int w;
		if (i > 1)
			snprintf(count, sizeof count, "-%d", i);
		w = snprintf(kept, size, "%.*s" TAG "%s%s.h5", (int)(n - 3), path, k ? clean : "unknown", count);
		if (w < 0 || (size_t)w >= size)
			return SNM_FAIL(err, SNM_EINVAL, "%s: no room for the name to keep it as", path);
		/* link(2) never replaces a file: EEXIST is the next name's turn */
		if (link(path, kept) == 0) {
			if (unlink(path) == 0)
				return SNM_OK;
			w = errno;
			unlink(kept);
			return SNM_FAIL(err, SNM_EIO, "%s: cannot keep it as %s: %s", path, kept, strerror(w));
		}
		if (errno == EEXIST)
			continue;
		/* a file system without hard links: rename where nothing is in the way */
		if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP || errno == EMLINK) {
			if (access(kept, F_OK) == 0)
				continue;
			if (rename(path, kept) == 0)
				return SNM_OK;
		}
		return SNM_FAIL(err, SNM_EIO, "%s: cannot keep it as %s: %s", path, kept, strerror(errno));
	}
	return SNM_FAIL(err, SNM_EIO, "%s: cannot keep it: 9999 superseded files beside it already", path);
}
