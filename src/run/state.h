/* state.h: where a run stands, from its files alone (state.c) -- what `snm status` shows for
 * each run of a pipeline (the estimate of what is left to train is cost.h's).  Nothing is trained, taken
 * (the run's lock is looked at, never locked) or written.
 *
 * A run is, from its run file (trainer.h) and its lock file (lock.h):
 *   finished     the file's status is "finished" under the pipeline's configuration (config_hash):
 *                its result is /metrics/test_at_best at the last row.  Made by other code (a
 *                plugin's or libsnm's SHA-256 is not that of the files found now, identity.h), it
 *                stays finished, flagged (code): `snm run` skips it, `snm verify` checks it
 *   running      a live process holds the lock (whatever the file says meanwhile)
 *   resumable    status "running", the same configuration and code (or a file that records no
 *                code), no live holder, and a /checkpoint group: `snm run` resumes it after the
 *                epochs it has done
 *   not started  no file (and no live holder)
 *   refused      a file made by another configuration (its config_hash is not the run's), or an
 *                unfinished one made by other code: `snm run` refuses it without --force; what
 *                differs is named (cfgdiff.h, identity.h)
 *   failed       status "failed": the trainer stopped it for a reason that training it again
 *                would meet again (a loss not finite, a plugin's error: the file's `error`
 *                attribute says which); `snm run` refuses it without --force.  Also what `snm
 *                run` cannot take as it is: a file that cannot be read (damaged, not a run
 *                file), another run's file in this run's place, another status (with the file's
 *                `error` attribute when it has one), an unfinished run without a checkpoint, a
 *                finished run without a result
 * A lock file left by a process that died (a stale lock) is noted beside the state; it stops
 * nothing.  The thread count is not compared: the trainer refuses another one only in a build
 * whose bits depend on it, and status does not know the count the next `snm run` will use. */
#ifndef SNM_RUN_STATE_H
#define SNM_RUN_STATE_H

#include "snm/error.h"
#include "lock.h"
#include "pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
	SNM_STATE_FINISHED = 0, SNM_STATE_RUNNING, SNM_STATE_RESUMABLE, SNM_STATE_NOT_STARTED,
	SNM_STATE_REFUSED, SNM_STATE_FAILED, SNM_N_STATES
};

/* "finished", "running", "resumable", "not started", "refused", "failed". */
const char *snm_state_name(int state);

typedef struct snm_run_state {
	int state;                 /* SNM_STATE_* */
	snm_lock_info lock;        /* its lock file: a live holder (running) or a stale lock */
	int epochs_done;           /* the file's `epoch` (epochs done); 0 without a file */
	long partial_steps;        /* steps of epoch epochs_done + 1 that a mid-epoch checkpoint holds
	                            * (the file's `partial_steps`); 0 for none */
	int epochs;                /* epochs planned: the file's `epochs`, else the run's train.epochs */
	int best_epoch;            /* finished: the best validation epoch, counted from 1 */
	double test_at_best;       /* finished: the result (%); NaN otherwise */
	int threads;               /* the file's thread count; 0 without a file */
	int timed;                 /* epochs of /metrics with a finite `seconds` */
	double seconds;            /* their sum: wall seconds of training and evaluation */
	double typical;            /* their median: the seconds of an epoch as the run goes, which an
	                            * epoch stretched by a pause (kill -STOP, a suspend) does not
	                            * move; 0 when none is timed */
	char why[SNM_ERROR_MSG_MAX]; /* refused: what differs (cfgdiff.h, or identity.h's "noise
	                              * semantic changed" when code is SNM_CODE_OTHER); failed: the
	                              * reason */
	int code;                  /* finished and resumable: the file's code against the code of
	                            * now, SNM_CODE_* (identity.h); refused: SNM_CODE_OTHER when
	                            * refused for its code, else SNM_CODE_UNKNOWN (not compared);
	                            * SNM_CODE_UNKNOWN in the other states */
	char code_what[256];       /* finished, SNM_CODE_OTHER: what differs ("noise semantic changed") */
} snm_run_state;

/* Where run r stands, from the run file at path (r->result_path, or the same key under another
 * results directory) and "<path>.lock"; its code compared with the plugins found on the search
 * path (plugin_path first, may be NULL) and this process's libsnm.  Never fails for what the
 * files hold (that is a state; a plugin that cannot be found leaves the code unknown); returns
 * SNM_ENOMEM only. */
int snm_run_state_read(const snm_run_spec *r, const char *plugin_path, const char *path,
                       snm_run_state *st, snm_error *err);

#ifdef __cplusplus
}
#endif
#endif
