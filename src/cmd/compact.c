/* compact.c: `snm compact`, the compact form of finished run files (runfile.h), for keeping
 * results in a repository.  An argument that is a directory stands for every regular *.h5 file
 * under it (a link named as the argument is followed), of which unfinished runs and superseded
 * files (kept by `snm run --force`, supersede.h: their run's own file is another) are passed
 * over, and so are links and special files under it (each counted in the last line); a file named
 * directly must be finished and not superseded (it would take its run's place under --out).
 *
 * Nothing kept is lost.  Best weights are kept where --keep-best names the run, where the input
 * is a compact file that kept them (compacting is idempotent), and where the file at the
 * destination keeps them and the input has them too; a destination that is the same run to the
 * same bits and keeps best weights the input lacks is left as it is (one line says so).  A
 * destination that is not the same run recorded to the same bits (not a run file, another run,
 * another recording of the key: another OpenBLAS kernel's, say) is left as it is with one error
 * line, unless --force, which replaces it but keeps best weights all the same.  A --keep-best
 * pattern that matches no run of the files given is an error found before any file is written
 * (a typo would drop the weights): one line a pattern, exit 1.
 *
 * One line per file; a file that cannot be compacted is one error line and the others go on;
 * exit 0 when every file was written, 1 otherwise, 2 on a usage error. */
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

/* What the command was asked (the options), and which --keep-best patterns matched a run. */
typedef struct opts {
	const char *out, *keep[MAX_KEEP];
	int n_keep, force, matched[MAX_KEEP];
	char last[SNM_ERROR_MSG_MAX];      /* the last error line, and how many files had it again */
	int same;
} opts;

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* 1 when the file at path has /best (0 when not, or unreadable). */
static int has_best(const char *path)
{
	int has = 0;
	snm_error e;
	return snm_store_has_group(path, "/best", &has, &e) == SNM_OK && has;
}

/* Whether dst, an existing file other than src, may be replaced by the compact form of src (the
 * run `key`): SNM_OK, with *keep_best raised where dst keeps best weights that src has too, and
 * *same raised where dst is the same run to the same bits and already keeps best weights src
 * lacks (nothing to write); else one line in e saying why not.  With force only the raising. */
static int may_replace(const char *src, const char *dst, const char *key, int force, int *keep_best,
                       int *same, snm_error *e)
{
	snm_runfile_diff d;
	char *dkey = NULL, why[SNM_ERROR_MSG_MAX];
	int same_key;
	if (snm_store_get_str(dst, "run_key", &dkey, e) != SNM_OK) {
		snprintf(why, sizeof why, "%s", e->msg);
		return force ? SNM_OK : SNM_FAIL(e, SNM_EIO, "%s: is there and is no run file snm reads (%.200s): "
		                                 "not replaced (--force replaces it)", dst, why);
	}
	same_key = strcmp(dkey, key) == 0;
	free(dkey);
	if (!same_key)
		return force ? SNM_OK : SNM_FAIL(e, SNM_EIO, "%s: is there and holds another run than %s: not "
		                                 "replaced (--force replaces it)", dst, key);
	if (snm_runfile_compare(dst, src, &d, e) != SNM_OK) {
		snprintf(why, sizeof why, "%s", e->msg);
		return force ? SNM_OK : SNM_FAIL(e, SNM_EIO, "%s: cannot be compared with %s (%.200s): not "
		                                 "replaced (--force replaces it)", dst, src, why);
	}
	if (!d.equal) {
		char worst[128] = "";
		if (force)
			return SNM_OK;
		if (d.worst[0])
			snprintf(worst, sizeof worst, "largest difference %s %.3g at epoch %d%s", d.worst, d.worst_abs,
			         d.worst_epoch, d.detail[0] ? "; " : "");
		return SNM_FAIL(e, SNM_EIO, "%s: is there and holds another recording of %s (%s%.200s): not "
		                "replaced (--force replaces it)", dst, key, worst, d.detail);
	}
	if (has_best(dst)) {
		if (has_best(src))
			*keep_best = 1;
		else if (!force)
			*same = 1;
	}
	return SNM_OK;
}

/* Compacts one file; 0 or 1 (one line on stderr). */
static int compact_one(const char *src, opts *o)
{
	snm_error e;
	char *key = NULL, *dst = NULL, *form = NULL;
	long before = file_size(src);
	int keep_best = 0, rc = 1;
	const char *why = "";
	struct stat ss, ds;
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
	for (int i = 0; i < o->n_keep; ++i)
		if (fnmatch(o->keep[i], key, 0) == 0)
			keep_best = o->matched[i] = 1;
	if (!keep_best && snm_store_get_str(src, "form", &form, NULL) == SNM_OK && strcmp(form, "compact") == 0
	    && has_best(src)) {
		keep_best = 1;
		why = ": the compact input kept them";
	}
	if ((dst = malloc(strlen(o->out) + strlen(key) + 8)) == NULL) {
		SNM_FAIL(&e, SNM_ENOMEM, "out of memory");
		goto out;
	}
	sprintf(dst, "%s/%s.h5", o->out, key);
	if (stat(dst, &ds) == 0 && !(stat(src, &ss) == 0 && ss.st_dev == ds.st_dev && ss.st_ino == ds.st_ino)) {
		int had = keep_best, same = 0;
		if (may_replace(src, dst, key, o->force, &keep_best, &same, &e) != SNM_OK)
			goto out;
		if (same) {
			printf("%s: %s already holds it, with best weights (left as it is)\n", key, dst);
			rc = 0;
			goto out;
		}
		if (keep_best && !had)
			why = ": the file replaced kept them";
	}
	if (snm_mkparents(dst, &e) != SNM_OK || snm_runfile_compact(src, dst, keep_best, &e) != SNM_OK)
		goto out;
	printf("%s: %s (%ld -> %ld bytes%s%s)\n", key, dst, before, file_size(dst),
	       keep_best ? ", best weights kept" : "", why);
	fflush(stdout);     /* the file is written: its line survives a Ctrl-C of a long compaction */
	rc = 0;
out:
	if (rc && strcmp(e.msg, o->last) == 0)     /* an --out that cannot be made fails every file alike */
		o->same++;
	else if (rc) {
		fprintf(stderr, "snm compact: %s\n", e.msg);
		snprintf(o->last, sizeof o->last, "%s", e.msg);
	}
	free(key);
	free(dst);
	free(form);
	return rc;
}

/* The --keep-best patterns that run file src's key matches, marked in o->matched (nothing for a
 * file whose key cannot be read: compacting it says why). */
static void match_keep(const char *src, opts *o)
{
	char *key = NULL;
	snm_error e;
	if (snm_store_get_str(src, "run_key", &key, &e) != SNM_OK)
		return;
	for (int i = 0; i < o->n_keep; ++i)
		if (fnmatch(o->keep[i], key, 0) == 0)
			o->matched[i] = 1;
	free(key);
}

/* The walk over a directory argument (nftw has no user pointer); dry: only match_keep. */
static struct {
	opts *o;
	int dry, failed, written, unfinished, superseded, links, special;
} walk;

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	size_t n = strlen(path);
	char *status = NULL;
	snm_error e;
	(void)f;
	if ((type != FTW_F && type != FTW_SL && type != FTW_SLN) || n < 3 || strcmp(path + n - 3, ".h5") != 0)
		return 0;
	if (type != FTW_F) {               /* not followed: its target, if a run, is named itself */
		walk.links++;
		return 0;
	}
	if (!S_ISREG(st->st_mode)) {       /* a FIFO would block the reader */
		walk.special++;
		return 0;
	}
	if (snm_is_superseded(path)) {
		walk.superseded++;
		return 0;
	}
	if (snm_store_get_str(path, "status", &status, &e) == SNM_OK && strcmp(status, "finished") != 0) {
		walk.unfinished++;
	} else if (walk.dry) {
		match_keep(path, walk.o);
	} else {
		int bad = compact_one(path, walk.o);
		walk.failed += bad;
		walk.written += !bad;
	}
	free(status);
	return 0;
}

/* Each argument from first on: a directory walked (walk_one), a file compacted -- or, with
 * walk.dry, only matched against --keep-best.  Returns the arguments that failed. */
static int over_args(int argc, char **argv, int first, opts *o)
{
	int failed = 0;
	for (int i = first; i < argc; ++i) {
		struct stat st, lst;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			/* a link named as the argument is followed (DIR/.), links under it are not */
			char *top = malloc(strlen(argv[i]) + 3);
			int linked = lstat(argv[i], &lst) == 0 && S_ISLNK(lst.st_mode);
			if (top == NULL || nftw(linked ? strcat(strcpy(top, argv[i]), "/.") : argv[i], walk_one, 16,
			                        FTW_PHYS) != 0) {
				if (!walk.dry)
					fprintf(stderr, "snm compact: %s: cannot walk the directory\n", argv[i]);
				failed++;
			}
			free(top);
		} else if (walk.dry) {
			match_keep(argv[i], o);
		} else {
			int bad = compact_one(argv[i], o);
			failed += bad;
			walk.written += !bad;
		}
	}
	return failed;
}

int snm_cmd_compact(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "out", required_argument, 0, 'o' }, { "keep-best", required_argument, 0, 'k' },
		{ "force", no_argument, 0, 'f' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
	};
	static opts o;
	int opt, failed = 0, unmatched = 0;
#ifdef __GLIBC__
	optind = 0;
#else
	optind = 1;
#endif
	opterr = 0;
	memset(&o, 0, sizeof o);
	memset(&walk, 0, sizeof walk);
	o.out = "results";
	while ((opt = getopt_long(argc, argv, ":o:k:fh", longs, NULL)) != -1) {
		switch (opt) {
		case 'o':
			if (optarg[0] == '\0') {
				fprintf(stderr, "snm compact: --out needs a directory\n");
				return 2;
			}
			o.out = optarg;
			break;
		case 'k':
			if (o.n_keep == MAX_KEEP) {
				fprintf(stderr, "snm compact: at most %d --keep-best patterns\n", MAX_KEEP);
				return 2;
			}
			if (optarg[0] == '\0') {
				fprintf(stderr, "snm compact: --keep-best needs a pattern\n");
				return 2;
			}
			o.keep[o.n_keep++] = optarg;
			break;
		case 'f': o.force = 1; break;
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
	walk.o = &o;
	/* a --keep-best pattern that matches no run is refused before a file is written: the weights
	 * a typo drops cannot be had back from the compact files */
	if (o.n_keep > 0) {
		walk.dry = 1;
		over_args(argc, argv, optind, &o);
		for (int k = 0; k < o.n_keep; ++k)
			if (!o.matched[k]) {
				fprintf(stderr, "snm compact: --keep-best '%s' matches no run of the files given "
				        "(nothing written)\n", o.keep[k]);
				unmatched++;
			}
		if (unmatched)
			return 1;
		memset(&walk, 0, sizeof walk);
		walk.o = &o;
	}
	failed = over_args(argc, argv, optind, &o);
	failed += walk.failed;
	if (o.same > 0)
		fprintf(stderr, "snm compact: the same error for %d more file%s\n", o.same, o.same == 1 ? "" : "s");
	printf("snm compact: %d written, %d failed, %d unfinished passed over", walk.written, failed,
	       walk.unfinished);
	if (walk.superseded > 0)
		printf(", %d superseded passed over", walk.superseded);
	if (walk.links > 0)
		printf(", %d symbolic link%s passed over", walk.links, walk.links == 1 ? "" : "s");
	if (walk.special > 0)
		printf(", %d special file%s passed over", walk.special, walk.special == 1 ? "" : "s");
	printf("\n");
	return failed ? 1 : 0;
}
