/* probe.c: read a run file whole in a child process (see probe.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "probe.h"

/* bad: libhdf5 failed to list the attributes or links of an object, or to open an object it listed
 * (never in a sound file); depth: of the group being read; visits: objects opened so far, bounded
 * (PROBE_VISITS) because a forged file's links can form cycles. */
typedef struct probe { size_t bytes; int bad, depth; long visits; } probe;
enum { PROBE_DEPTH = 16, PROBE_VISITS = 100000, PROBE_EXIT_UNLISTED = 3 };

/* Reads n values of the attribute (or the dataset, d) into a buffer of n x size(mt) bytes as
 * memory type mt; a failure marks the file bad: the readers' conversions take the same paths,
 * and libhdf5 1.10.8's cleanup after a failed string conversion left an object header that
 * crashed H5Fclose later (test_store, a damaged format-1 file). */
static void read_as(probe *p, hid_t a, hid_t d, hid_t mt, hssize_t n)
{
	size_t size = H5Tget_size(mt);
	void *buf;
	if (size == 0 || (buf = calloc((size_t)n + 1, size)) == NULL)
		return;
	if ((a >= 0 ? H5Aread(a, mt, buf) : H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf)) < 0)
		p->bad = 1;
	free(buf);
}

/* Reads the attribute as the store's readers do (store.c: attr_read_str, attr_read_i64, ...):
 * a string as a C string of its own size, padding and character set, a variable-length one as
 * such (freed again); an integer as int64 and as a double; a float as a double and as a float. */
static herr_t probe_attr(hid_t obj, const char *name, const H5A_info_t *info, void *data)
{
	probe *p = data;
	hid_t a = H5Aopen(obj, name, H5P_DEFAULT), t = -1, sp = -1, mt = -1;
	hssize_t n;
	size_t size;
	(void)info;
	if (a < 0 || (t = H5Aget_type(a)) < 0 || (sp = H5Aget_space(a)) < 0
	    || (n = H5Sget_simple_extent_npoints(sp)) < 0 || (size = H5Tget_size(t)) == 0) {
		p->bad = 1;
		goto out;
	}
	if ((double)n * (double)(size > 8 ? size : 8) > (double)p->bytes)
		goto out;
	switch (H5Tget_class(t)) {
	case H5T_STRING:
		if ((mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_cset(mt, H5Tget_cset(t)) < 0) {
			p->bad = 1;
		} else if (H5Tis_variable_str(t) > 0) {
			char **s = calloc((size_t)n + 1, sizeof *s);
			if (s != NULL && H5Tset_size(mt, H5T_VARIABLE) >= 0) {
				if (H5Aread(a, mt, s) < 0)
					p->bad = 1;
				else
					for (hssize_t i = 0; i < n; ++i)
						H5free_memory(s[i]);
			}
			free(s);
		} else if (H5Tset_size(mt, size) >= 0 && H5Tset_strpad(mt, H5Tget_strpad(t)) >= 0) {
			read_as(p, a, -1, mt, n);
		}
		break;
	case H5T_INTEGER:
		read_as(p, a, -1, H5T_NATIVE_INT64, n);
		read_as(p, a, -1, H5T_NATIVE_DOUBLE, n);
		break;
	case H5T_FLOAT:
		read_as(p, a, -1, H5T_NATIVE_DOUBLE, n);
		read_as(p, a, -1, H5T_NATIVE_FLOAT, n);
		break;
	default:
		break;
	}
out:
	if (mt >= 0) H5Tclose(mt);
	if (sp >= 0) H5Sclose(sp);
	if (t >= 0) H5Tclose(t);
	if (a >= 0) H5Aclose(a);
	return 0;
}

/* Reads the object `name` of group g (its attributes, a dataset's values) and, for a group, what
 * it holds: a group at a time with H5Literate, as the store's readers list a group, and not with
 * H5Lvisit, which gives up on the whole file at the first group it cannot descend into (a
 * forged file then crashed the parent in a dataset of /best that the child never opened). */
static herr_t probe_link(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
	probe *p = data;
	hid_t o, t = -1, sp = -1;
	hssize_t n;
	(void)info;
	if (++p->visits > PROBE_VISITS)
		return 0;
	if ((o = H5Oopen(g, name, H5P_DEFAULT)) < 0) {
		p->bad = 1;
		return 0;
	}
	if (H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_INC, NULL, probe_attr, p) < 0)
		p->bad = 1;
	if (H5Iget_type(o) == H5I_GROUP && p->depth < PROBE_DEPTH) {
		p->depth++;
		if (H5Literate(o, H5_INDEX_NAME, H5_ITER_INC, NULL, probe_link, p) < 0)
			p->bad = 1;
		p->depth--;
	}
	if (H5Iget_type(o) == H5I_DATASET && (t = H5Dget_type(o)) >= 0 && (sp = H5Dget_space(o)) >= 0
	    && (n = H5Sget_simple_extent_npoints(sp)) >= 0 && (double)n * 8 <= (double)p->bytes
	    && (H5Tget_class(t) == H5T_FLOAT || H5Tget_class(t) == H5T_INTEGER)) {
		read_as(p, -1, o, H5T_NATIVE_DOUBLE, n);       /* metrics, tables */
		if (H5Tget_class(t) == H5T_FLOAT) {
			read_as(p, -1, o, H5T_NATIVE_FLOAT, n);       /* parameters, checkpoints */
		} else {
			read_as(p, -1, o, H5T_NATIVE_INT64, n);
			read_as(p, -1, o, H5T_NATIVE_UINT8, n);       /* RNG states */
		}
	}
	if (sp >= 0) H5Sclose(sp);
	if (t >= 0) H5Tclose(t);
	H5Oclose(o);
	return 0;
}

/* The child: read everything and close the file, as the readers do, then leave without running
 * libhdf5's exit handlers; its exit status says whether libhdf5 failed to list or open anything
 * (PROBE_EXIT_UNLISTED).  Such a failure is not left for the parent to meet: libhdf5 1.10.8's
 * cleanup after a failed attribute listing reads uninitialised memory (H5A__attr_release_table,
 * valgrind), and a damaged format-1 file in test_store crashed the parent later in H5Fclose while
 * the child, its memory laid out otherwise, came through.  Its stderr is
 * /dev/null: a crash is the parent's one line, not a sanitizer's or libhdf5's report. */
static void probe_child(const char *name, hid_t fapl, size_t bytes)
{
	probe p = { bytes, 0, 0, 0 };
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	hid_t f;
	if (null >= 0)
		dup2(null, STDERR_FILENO);
	f = H5Fopen(name, H5F_ACC_RDONLY, fapl);
	if (f >= 0) {
		if (H5Aiterate2(f, H5_INDEX_NAME, H5_ITER_INC, NULL, probe_attr, &p) < 0
		    || H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, NULL, probe_link, &p) < 0)
			p.bad = 1;
		if (H5Fclose(f) < 0) /* closing frees what the reads loaded: a damaged message can crash there */
			p.bad = 1;
	}
	_exit(p.bad ? PROBE_EXIT_UNLISTED : 0);
}

int snm_probe(const char *name, hid_t fapl, size_t bytes, int ms, snm_error *err)
{
	int fds[2], status = 0, ready;
	struct pollfd pfd;
	pid_t pid;
	if (pipe(fds) < 0)
		return SNM_FAIL(err, SNM_EIO, "cannot fork: %s", strerror(errno));
	if ((pid = fork()) < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		return SNM_FAIL(err, SNM_EIO, "cannot fork: %s", strerror(e));
	}
	if (pid == 0) {
		close(fds[0]);           /* the write end closes when the child ends, however it ends */
		probe_child(name, fapl, bytes);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	do
		ready = poll(&pfd, 1, ms);
	while (ready < 0 && errno == EINTR);
	close(fds[0]);
	if (ready == 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (ready == 0)
		return SNM_FAIL(err, SNM_EIO, "libhdf5 did not finish reading it in %.1f s", ms / 1000.0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == PROBE_EXIT_UNLISTED)
		return SNM_FAIL(err, SNM_EIO, "damaged: libhdf5 cannot list or open all that it holds");
	if (WIFSIGNALED(status))
		return SNM_FAIL(err, SNM_EIO, "libhdf5 crashed reading it (signal %d)", WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)     /* a sanitizer's exit, say */
		return SNM_FAIL(err, SNM_EIO, "libhdf5 crashed reading it (exit status %d)",
		                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return SNM_OK;
}
