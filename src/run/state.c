/* state.c: where a run stands, from its run file and its lock file (state.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cfgdiff.h"
#include "identity.h"
#include "state.h"
#include "store.h"

const char *snm_state_name(int state)
{
	static const char *const names[SNM_N_STATES] = {
		"finished", "running", "resumable", "not started", "refused", "failed"
	};
	return state >= 0 && state < SNM_N_STATES ? names[state] : "?";
}

static const char *str_attr(const snm_store_attrs *a, const char *name)
{
	for (int i = 0; i < a->n_str; ++i)
		if (strcmp(a->str_names[i], name) == 0)
			return a->str_values[i];
	return NULL;
}

static int int_attr(const snm_store_attrs *a, const char *name, int64_t *out)
{
	for (int i = 0; i < a->n_int; ++i)
		if (strcmp(a->int_names[i], name) == 0) {
			*out = a->int_values[i];
			return 1;
		}
	return 0;
}

/* The file could not be used: state failed, why the error's message.  SNM_ENOMEM stays an error. */
static int failed(snm_run_state *st, const snm_error *e, snm_error *err)
{
	if (e->code == SNM_ENOMEM)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	st->state = SNM_STATE_FAILED;
	snprintf(st->why, sizeof st->why, "%s", e->msg);
	return SNM_OK;
}

/* The timed epochs (their count, sum and median: snm_metrics_timed) and the result from
 * /metrics (a file without it keeps the defaults). */
static int read_metrics(const char *path, snm_run_state *st, snm_error *err)
{
	snm_metrics *m = NULL;
	int rc;
	snm_error e;
	if (snm_store_read_metrics(path, &m, &e) != SNM_OK)
		return e.code == SNM_ENOMEM ? SNM_FAIL(err, SNM_ENOMEM, "out of memory") : SNM_OK;
	rc = snm_metrics_timed(m, snm_metrics_find(m, "seconds"), &st->timed, &st->seconds, &st->typical, err);
	if (rc == SNM_OK && !snm_metrics_result(m, &st->test_at_best))
		st->test_at_best = NAN;
	snm_metrics_free(m);
	return rc;
}

/* The file's code (attributes a) against the plugins of r found now and this process's libsnm:
 * st->code and st->code_what; a plugin that cannot be found leaves it unknown. */
static int read_code(const snm_run_spec *r, const char *plugin_path, const snm_store_attrs *a,
                     snm_run_state *st, snm_error *err)
{
	snm_identity now;
	snm_error e;
	if (snm_identity_find(r, plugin_path, &now, &e) != SNM_OK)
		return e.code == SNM_ENOMEM ? SNM_FAIL(err, SNM_ENOMEM, "out of memory") : SNM_OK;
	st->code = snm_identity_compare(str_attr(a, "plugin_sha256"), str_attr(a, "libsnm_sha256"), &now,
	                                st->code_what, sizeof st->code_what);
	return SNM_OK;
}

int snm_run_state_read(const snm_run_spec *r, const char *plugin_path, const char *path,
                       snm_run_state *st, snm_error *err)
{
	snm_store_attrs a;
	const char *status, *hash, *key, *config, *why;
	char want[32], *lock;
	int64_t v;
	int rc = SNM_OK, has_ckpt = 0;
	long epochs = 0;
	snm_error e;
	memset(st, 0, sizeof *st);
	st->test_at_best = NAN;
	st->code = SNM_CODE_UNKNOWN;
	if (snm_cfg_opt_int(r->train, snm_train_options, "epochs", &epochs, NULL) == SNM_OK)
		st->epochs = (int)epochs;
	if ((lock = malloc(strlen(path) + 6)) == NULL)
		return SNM_FAIL(err, SNM_ENOMEM, "out of memory");
	sprintf(lock, "%s.lock", path);
	snm_lock_probe(lock, &st->lock);
	free(lock);
	if (access(path, F_OK) != 0) {
		if (errno != ENOENT) {     /* a link loop, a name too long, a file where a directory is */
			SNM_FAIL(&e, SNM_EIO, "%s: %s", path, strerror(errno));
			return failed(st, &e, err);
		}
		st->state = st->lock.state == SNM_LOCK_HELD ? SNM_STATE_RUNNING : SNM_STATE_NOT_STARTED;
		return SNM_OK;
	}
	if (snm_store_read_attrs(path, &a, &e) != SNM_OK) {
		/* a holder may be between its lock and its first save over a damaged file: it says */
		if ((rc = failed(st, &e, err)) == SNM_OK && st->lock.state == SNM_LOCK_HELD)
			st->state = SNM_STATE_RUNNING;
		return rc;
	}
	status = str_attr(&a, "status");
	hash = str_attr(&a, "config_hash");
	key = str_attr(&a, "run_key");
	config = str_attr(&a, "config");
	why = str_attr(&a, "error");
	if (int_attr(&a, "epoch", &v)) st->epochs_done = (int)v;
	if (int_attr(&a, "epochs", &v)) st->epochs = (int)v;
	if (int_attr(&a, "best_epoch", &v)) st->best_epoch = (int)v + 1;
	if (int_attr(&a, "threads", &v)) st->threads = (int)v;
	if (int_attr(&a, "partial_steps", &v)) st->partial_steps = v > 0 ? (long)v : 0;
	snprintf(want, sizeof want, "%016" PRIx64, r->config_hash);
	if (st->lock.state == SNM_LOCK_HELD) {
		st->state = SNM_STATE_RUNNING;
		rc = read_metrics(path, st, err);
	} else if (status == NULL || hash == NULL || key == NULL) {
		SNM_FAIL(&e, SNM_EIO, "%s: not a run file of snm (no %s attribute)", path,
		         status == NULL ? "status" : hash == NULL ? "config_hash" : "run_key");
		rc = failed(st, &e, err);
	} else if (strcmp(key, r->key) != 0) {
		SNM_FAIL(&e, SNM_EIO, "%s holds run '%.200s', not this one", path, key);
		rc = failed(st, &e, err);
	} else if (strcmp(hash, want) != 0) {
		int n;
		st->state = SNM_STATE_REFUSED;
		if (config == NULL)
			n = -1, snprintf(st->why, sizeof st->why, "the file records no config");
		else
			n = snm_cfg_diff_text(config, r->config_text, st->why, sizeof st->why);
		if (n == 0)
			snprintf(st->why, sizeof st->why, "no key differs: the same keys and values, written in "
			         "another order");
		rc = read_metrics(path, st, err);
	} else if (strcmp(status, "finished") == 0) {
		st->state = SNM_STATE_FINISHED;
		if ((rc = read_code(r, plugin_path, &a, st, err)) == SNM_OK
		    && (rc = read_metrics(path, st, err)) == SNM_OK && !isfinite(st->test_at_best)) {
			SNM_FAIL(&e, SNM_EIO, "%s: finished but /metrics/test_at_best has no test error (a "
			         "percentage) at the last row", path);
			rc = failed(st, &e, err);
		}
	} else if (strcmp(status, "running") == 0) {
		if (snm_store_has_group(path, "/checkpoint", &has_ckpt, &e) != SNM_OK) {
			rc = failed(st, &e, err);
		} else if (!has_ckpt) {
			SNM_FAIL(&e, SNM_ESTATE, "%s: unfinished (%d of %d epochs) but without a checkpoint "
			         "(compacted?): snm run cannot resume it; --force retrains it", path,
			         st->epochs_done, st->epochs);
			rc = failed(st, &e, err);
		} else if ((rc = read_code(r, plugin_path, &a, st, err)) != SNM_OK) {
			/* out of memory */
		} else if (st->code == SNM_CODE_OTHER) {
			/* `snm run` does not resume another code's checkpoint */
			st->state = SNM_STATE_REFUSED;
			snprintf(st->why, sizeof st->why, "%s", st->code_what);
			st->code_what[0] = '\0';
			rc = read_metrics(path, st, err);
		} else {
			st->state = SNM_STATE_RESUMABLE;
			rc = read_metrics(path, st, err);
		}
	} else if (strcmp(status, "failed") == 0) {
		/* the trainer marked it (trainer.h): `snm run` does not retrain it unasked */
		size_t n = strlen(r->key);
		st->state = SNM_STATE_FAILED;
		if (why != NULL && strncmp(why, r->key, n) == 0 && strncmp(why + n, ": ", 2) == 0)
			why += n + 2;       /* the line names the run already */
		snprintf(st->why, sizeof st->why, "%.400s; snm run --force retrains it",
		         why ? why : "the file says no more");
		rc = read_metrics(path, st, err);
	} else {
		SNM_FAIL(&e, SNM_ESTATE, "status '%.40s'%s%.300s", status, why ? ": " : " (the file says no more)",
		         why ? why : "");
		rc = failed(st, &e, err);
		if (rc == SNM_OK)
			rc = read_metrics(path, st, err);
	}
	snm_store_attrs_free(&a);
	return rc;
}
