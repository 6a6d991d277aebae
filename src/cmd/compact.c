/* compact.c: `snm compact`, the compact form of finished run files (runfile.h), for keeping
 * results in a repository.  An argument that is a directory stands for every *.h5 file under it,
 * of which unfinished runs and superseded files (kept by `snm run --force`, supersede.h: their
 * run's own file is another) are passed over (counted in the last line); a file named directly
 * must be finished and not superseded (it would take its run's place under --out).  One line per file; a file that cannot be compacted is one error line and the
 * others go on; exit 0 when every file was written, 1 otherwise, 2 on a usage error. */
#include <fnmatch.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "run/store.h"
#include "run/supersede.h"
#include "args.h"
#include "run/fs.h"
#include "runfile.h"
#include "help.h"

#define MAX_KEEP 64

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Compacts one file; 0 or 1 (one line on stderr). */
static int compact_one(const char *src, const char *out, const char *const *keep, int n_keep)
{
	snm_error e;
	char *key = NULL, *dst = NULL;
	long before = file_size(src);
	int keep_best = 0, rc = 1;
	if (snm_is_superseded(src)) {
		SNM_FAIL(&e, SNM_EINVAL, "%s: a superseded run file (snm run --force kept it); compacting it "
		         "would put it in its run's place", src);
		goto out;
	}
	if (snm_store_get_str(src, "run_key", &key, &e) != SNM_OK)
		goto out;
	if (!snm_cmd_safe_key(key)) {
		SNM_FAIL(&e, SNM_EIO, "%s: run_key '%.80s' is not a path inside a results directory", src, key);
		goto out;
	}
	for (int i = 0; i < n_keep; ++i)
		keep_best |= fnmatch(keep[i], key, 0) == 0;
	if ((dst = malloc(strlen(out) + strlen(key) + 8)) == NULL) {
		SNM_FAIL(&e, SNM_ENOMEM, "out of memory");
		goto out;
	}
	sprintf(dst, "%s/%s.h5", out, key);
	if (snm_mkparents(dst, &e) != SNM_OK || snm_runfile_compact(src, dst, keep_best, &e) != SNM_OK)
		goto out;
	printf("%s: %s (%ld -> %ld bytes%s)\n", key, dst, before, file_size(dst),
	       keep_best ? ", best weights kept" : "");
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "snm compact: %s\n", e.msg);
	free(key);
	free(dst);
	return rc;
}

/* The walk over a directory argument (nftw has no user pointer). */
static struct {
	const char *out, *const *keep;
	int n_keep, failed, written, unfinished, superseded;
} walk;

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	size_t n = strlen(path);
	char *status = NULL;
	snm_error e;
	(void)st;
	(void)f;
	if (type != FTW_F || n < 3 || strcmp(path + n - 3, ".h5") != 0)
		return 0;
	if (snm_is_superseded(path)) {
		walk.superseded++;
		return 0;
	}
	if (snm_store_get_str(path, "status", &status, &e) == SNM_OK && strcmp(status, "finished") != 0) {
		walk.unfinished++;
	} else {
		int bad = compact_one(path, walk.out, walk.keep, walk.n_keep);
		walk.failed += bad;
		walk.written += !bad;
	}
	free(status);
	return 0;
}

int snm_cmd_compact(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "out", required_argument, 0, 'o' }, { "keep-best", required_argument, 0, 'k' },
		{ "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
	};
	const char *out = "results", *keep[MAX_KEEP];
	int opt, n_keep = 0, failed = 0;
#ifdef __GLIBC__
	optind = 0;
#else
	optind = 1;
#endif
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":o:k:h", longs, NULL)) != -1) {
		switch (opt) {
		case 'o':
			if (optarg[0] == '\0') {
				fprintf(stderr, "snm compact: --out needs a directory\n");
				return 2;
			}
			out = optarg;
			break;
		case 'k':
			if (n_keep == MAX_KEEP) {
				fprintf(stderr, "snm compact: at most %d --keep-best patterns\n", MAX_KEEP);
				return 2;
			}
			keep[n_keep++] = optarg;
			break;
		case 'h': snm_cmd_help("compact", stdout); return 0;
		case ':':
			fprintf(stderr, "snm compact: %s needs a value (snm compact --help)\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "snm compact: unknown option '%s' (snm compact --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "snm compact: no run file given (snm compact --help)\n");
		return 2;
	}
	walk.out = out;
	walk.keep = keep;
	walk.n_keep = n_keep;
	for (int i = optind; i < argc; ++i) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (nftw(argv[i], walk_one, 16, FTW_PHYS) != 0) {
				fprintf(stderr, "snm compact: %s: cannot walk the directory\n", argv[i]);
				failed++;
			}
		} else {
			int bad = compact_one(argv[i], out, keep, n_keep);
			failed += bad;
			walk.written += !bad;
		}
	}
	failed += walk.failed;
	printf("snm compact: %d written, %d failed, %d unfinished passed over", walk.written, failed,
	       walk.unfinished);
	if (walk.superseded > 0)
		printf(", %d superseded passed over", walk.superseded);
	printf("\n");
	return failed ? 1 : 0;
}
