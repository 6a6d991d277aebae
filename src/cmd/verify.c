/* verify.c: `snm verify`, retraining runs from the configuration recorded in their files and
 * comparing the results bit for bit (runfile.h).  Per run one line: "bitwise equal", or where
 * and by how much the runs differ, whether the code is the same (src/run/identity.h), with the
 * build and OpenBLAS of both sides.  Exit 0 when every
 * run is bitwise equal, 1 when one differs or cannot be verified, 2 on a usage error.
 *
 * The retraining writes into a scratch directory under $TMPDIR (removed afterwards, unless
 * --keep names a directory to keep the retrained files in); dataset paths in the configuration
 * are taken relative to the working directory, as `snm run` takes them.  SIGINT or SIGTERM stops
 * the retraining at its next step (as `snm run`): one line, the scratch directory removed (with
 * --keep the partial file stays and the line names it), no further file verified, exit 128 + the
 * signal.
 *
 * The numeric version (train.numerics, snm/tape.h: which way an op computes where a faster way
 * gives other bits) is part of the configuration, so the retraining takes the file's; every
 * version stays in libsnm, so a run of any version verifies bit for bit.  Files made before the
 * version existed record none and are version 1. */
#include "config.h"
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/blas.h"
#include "run/identity.h"
#include "run/pipeline.h"
#include "run/store.h"
#include "run/trainer.h"
#include "args.h"
#include "cmd.h"
#include "run/fs.h"
#include "console.h"
#include "runfile.h"
#include "help.h"

typedef struct verify_opts {
	int threads;               /* 0: the recorded count */
	const char *keep, *plugin_path;
} verify_opts;

/* "same code", "other code (noise none changed)" or "code unknown": the code that made the run of
 * file a (its plugin_sha256 and libsnm_sha256) against the code that retrained it into b. */
static void code_of(const char *a, const char *b, char *out, size_t size)
{
	char *pa = NULL, *la = NULL, *pb = NULL, *lb = NULL, what[256];
	snm_identity now;
	snm_store_get_str(a, "plugin_sha256", &pa, NULL);
	snm_store_get_str(a, "libsnm_sha256", &la, NULL);
	snm_store_get_str(b, "plugin_sha256", &pb, NULL);
	snm_store_get_str(b, "libsnm_sha256", &lb, NULL);
	snprintf(now.plugins, sizeof now.plugins, "%s", pb ? pb : "");
	snprintf(now.libsnm, sizeof now.libsnm, "%s", lb ? lb : "unknown");
	switch (snm_identity_compare(pa, la, &now, what, sizeof what)) {
	case SNM_CODE_SAME: snprintf(out, size, "same code"); break;
	case SNM_CODE_OTHER: snprintf(out, size, "other code (%s)", what); break;
	default: snprintf(out, size, "code unknown (the file records none)"); break;
	}
	free(pa);
	free(la);
	free(pb);
	free(lb);
}

static void on_progress(void *ctx, const snm_train_progress *p)
{
	snm_console_progress(ctx, 0, p);
}

/* Retrains run p->runs[0] into its result file, with its progress on a terminal (stderr). */
static int retrain(const snm_pipeline *p, const verify_opts *vo, int threads, snm_run_result *res,
                   snm_error *e)
{
	snm_console *k = isatty(STDERR_FILENO) ? snm_console_new("snm verify", 1, 1, 1, 0) : NULL;
	snm_trainer_opts o = { .plugin_path = vo->plugin_path, .threads = threads,
	                       .progress = k ? on_progress : NULL, .progress_ctx = k,
	                       .version = PACKAGE_VERSION, .stop = &snm_cmd_stop };
	int rc;
	snm_console_run(k, 0, p->runs[0].key, 0, 0, 0, 0);
	rc = snm_train(&p->runs[0], &o, res, e);
	snm_console_close(k);
	snm_console_free(k);
	return rc;
}

/* Retrains the run of `path` into results dir `dir` and compares; 0 equal, 1 otherwise. */
static int verify_one(const char *path, const char *dir, const verify_opts *vo)
{
	snm_error e;
	snm_pipeline *p = NULL;
	snm_run_result res;
	snm_runfile_diff d;
	char *config = NULL, *hash = NULL, *key = NULL, *version = NULL, *libs = NULL, *status = NULL;
	char ours[512], rebuilt[32], recorded[SNM_SHA256_HEX];
	snm_metrics *m = NULL;
	char code[300];
	int64_t threads = 1, numerics = 1;      /* numerics: absent from files made before it */
	int rc = 1, same_build;
	if (snm_store_get_str(path, "config", &config, &e) || snm_store_get_str(path, "config_hash", &hash, &e)
	    || snm_store_get_str(path, "run_key", &key, &e) || snm_store_get_int(path, "threads", &threads, &e))
		goto fail;
	/* what the comparison needs of the recorded file, checked before hours of retraining */
	if (snm_store_get_str(path, "status", &status, &e))
		goto fail;
	if (strcmp(status, "finished") != 0) {
		SNM_FAIL(&e, SNM_ESTATE, "%s: status '%.40s': only a finished run is verified", path, status);
		goto fail;
	}
	if (snm_runfile_best_digest(path, recorded, &e) || snm_store_read_metrics(path, &m, &e))
		goto fail;
	snm_store_get_str(path, "snm_version", &version, NULL);
	snm_store_get_str(path, "libraries", &libs, NULL);
	snm_store_get_int(path, "numerics", &numerics, NULL);
	if (snm_pipeline_from_config(config, path, dir, vo->plugin_path, &p, &e))
		goto fail;
	snprintf(rebuilt, sizeof rebuilt, "%016" PRIx64, p->runs[0].config_hash);
	if (strcmp(rebuilt, hash) != 0) {
		SNM_FAIL(&e, SNM_EIO, "%s: the recorded config does not have the recorded config_hash (%.40s, "
		         "rebuilt %s): the file was changed", path, hash, rebuilt);
		goto fail;
	}
	if (strcmp(p->runs[0].key, key) != 0) {
		SNM_FAIL(&e, SNM_EIO, "%s: run_key '%.80s' is not the key of its config ('%s')", path, key,
		         p->runs[0].key);
		goto fail;
	}
	if (access(p->runs[0].result_path, F_OK) == 0) {
		SNM_FAIL(&e, SNM_EIO, "%s: already exists: --keep needs a directory without this run",
		         p->runs[0].result_path);
		goto fail;
	}
	if (threads < 1 || threads > 1024)
		threads = 1;
	if (vo->threads > 0)
		threads = vo->threads;
	snm_blas_set_threads((int)threads);
	fprintf(stderr, "snm verify: %s: retraining (%" PRId64 " thread%s, numerics %" PRId64 ")\n", key,
	        threads, threads == 1 ? "" : "s", numerics);
	if (snm_mkparents(p->runs[0].result_path, &e)
	    || retrain(p, vo, (int)threads, &res, &e))
		goto fail;
	if (res.status == SNM_RUN_INTERRUPTED) {
		if (vo->keep != NULL)
			fprintf(stderr, "snm verify: %s: interrupted after %d of %d epochs: not verified (the "
			        "partial retraining is kept as %s)\n", key, res.epochs, (int)snm_metrics_rows(m),
			        p->runs[0].result_path);
		else
			fprintf(stderr, "snm verify: %s: interrupted after %d of %d epochs: not verified\n",
			        key, res.epochs, (int)snm_metrics_rows(m));
		goto out;
	}
	if (snm_runfile_compare(path, p->runs[0].result_path, &d, &e))
		goto fail;
	snm_trainer_libraries(ours, sizeof ours);
	if (d.equal) {
		printf("%s: bitwise equal (%d metrics x %d epochs, best weights sha256 %.16s...)\n", key, d.metrics,
		       d.rows, d.digest_a);
		rc = 0;
		goto out;
	}
	same_build = version != NULL && libs != NULL && strcmp(version, PACKAGE_VERSION) == 0
	             && strcmp(libs, ours) == 0;
	printf("%s: DIFFERS:", key);
	if (d.worst[0] != '\0')
		printf(" largest difference %s %.6g at epoch %d;", d.worst, d.worst_abs, d.worst_epoch);
	if (d.detail[0] != '\0')
		printf(" %s;", d.detail);
	code_of(path, p->runs[0].result_path, code, sizeof code);
	printf(" best weights %s; numerics %" PRId64 "; %s, %s: recorded by snm %s (%s), "
	       "retrained by snm %s (%s)\n",
	       d.digest_equal ? "equal" : "differ", numerics, code, same_build ? "same build" : "other build",
	       version ? version : "?", libs ? libs : "?", PACKAGE_VERSION, ours);
	goto out;
fail:
	fprintf(stderr, "snm verify: %s\n", e.msg);
out:
	snm_pipeline_free(p);
	free(config);
	free(hash);
	free(key);
	free(version);
	free(libs);
	free(status);
	snm_metrics_free(m);
	return rc;
}

int snm_cmd_verify(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "threads", required_argument, 0, 't' }, { "keep", required_argument, 0, 'k' },
		{ "plugin-path", required_argument, 0, 'p' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
	};
	verify_opts vo = { 0, NULL, NULL };
	int opt, failed = 0;
#ifdef __GLIBC__
	optind = 0;
#else
	optind = 1;
#endif
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":t:k:p:h", longs, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (snm_cmd_count("snm verify", "--threads", optarg, 1024, &vo.threads))
				return 2;
			break;
		case 'k': vo.keep = optarg; break;
		case 'p': vo.plugin_path = optarg; break;
		case 'h': snm_cmd_help("verify", stdout); return 0;
		case ':':
			fprintf(stderr, "snm verify: %s needs a value (snm verify --help)\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "snm verify: unknown option '%s' (snm verify --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "snm verify: no run file given (snm verify --help)\n");
		return 2;
	}
	if (vo.keep != NULL && vo.keep[0] == '\0') {
		fprintf(stderr, "snm verify: --keep needs a directory (snm verify --help)\n");
		return 2;
	}
	snm_cmd_catch_signals();
	for (int i = optind; i < argc && !snm_cmd_stop; ++i) {
		char scratch[4096];
		const char *tmp = getenv("TMPDIR");
		const char *dir = vo.keep;
		if (dir == NULL) {
			tmp = tmp && tmp[0] ? tmp : "/tmp";
			snprintf(scratch, sizeof scratch, "%s/snm-verify.XXXXXX", tmp);
			if (mkdtemp(scratch) == NULL) {
				fprintf(stderr, "snm verify: %s: cannot make a scratch directory there: %s\n", tmp,
				        strerror(errno));
				return 1;
			}
			dir = scratch;
		}
		failed += verify_one(argv[i], dir, &vo);
		if (vo.keep == NULL)
			snm_rmtree(scratch);
	}
	if (snm_cmd_stop)
		return 128 + snm_cmd_stop;
	if (argc - optind > 1)
		printf("snm verify: %d of %d runs bitwise equal\n", argc - optind - failed, argc - optind);
	return failed ? 1 : 0;
}
