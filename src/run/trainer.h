/* trainer.h: trains one run of a pipeline, deterministically, with checkpoints and resume.
 *
 * For a run (pipeline.h) the trainer opens it as run.h does for every user of a run: its dataset
 * (through a cache shared by the runs of one process), the balanced training subset from the
 * "subset" stream (seeded by master seed, data section, per-class size and set only), inputs in
 * [0,1] minus the subset's per-pixel mean, the model and the regularizer (parameters from the
 * "init" stream).  It trains with Adam: batch order from the "order" stream, augmentation from
 * "augment", the regularizer's noise from "noise" (all keyed by the run key, so a new consumer
 * never shifts another).  The regularizer's objective is built through snm_noise_objective
 * (loader.h), so one with an objective_at (ABI 1.2) is told the epoch being trained (0-based) and
 * the global step (optimizer steps taken before this one, across a resume too).  A regularizer
 * whose wants_unlabelled() says so also gets, at every step, `unlabelled_batch` examples drawn
 * without replacement from the "unlabelled" stream out of the training examples outside the
 * labelled subset (the whole training split for a full run).
 * After every epoch -- with train.bn_stats labelled or unlabelled, once the model's batch-norm
 * statistics are re-estimated over that data (no random stream drawn) -- it measures training
 * error (on at most train_eval_max subset examples), validation error, and -- when validation
 * improved -- test error, keeps the best-on-validation weights, and saves the whole run file
 * (store.h) through a temporary file and a rename.
 *
 * Result file (results/<key>.h5), besides the store's own layout:
 *   root strings: run_key, config (canonical text), config_hash (16 hex digits), status
 *                 ("running" while training, "finished", "failed" with error: the reason),
 *                 snm_version, plugins ("data idx 0.1.0;
 *                 model convnet 0.1.0; noise none 0.1.0"), libraries (GSL, HDF5, libyaml and
 *                 OpenBLAS versions and OpenBLAS's configuration), plugin_sha256 and
 *                 libsnm_sha256 (the code: the SHA-256 of each plugin's shared object and of
 *                 libsnm's, identity.h; files written before snm recorded them have neither)
 *   root ints:    master_seed, threads, epoch (epochs done), epochs (planned), step, best_epoch,
 *                 per_class, set, n_train, seed_subset, seed_init, seed_order, seed_noise,
 *                 numerics (train.numerics, snm/tape.h; files made before it have none: 1)
 *   /metrics:     epoch, lr, loss, loss.<term> per regularizer term, train_error, valid_error,
 *                 test_error (NaN where not measured), best_valid_error, test_at_best, seconds
 *   /best:        best-on-validation parameters and buffers (attribute-free group)
 *   /checkpoint/params, /checkpoint/adam_m, /checkpoint/adam_v, /checkpoint/rng/{order,augment,noise,unlabelled}
 *                 the state after `epoch` whole epochs (`step` optimizer steps)
 *   updates:      a regularizer with updates (snm/plugin.h, ABI 1.3) adds, for each update's Adam
 *                 state besides the run's own, /checkpoint/optim/<update>/{m,v} and the root int
 *                 step.<update>, as the above: the state after `epoch` whole epochs
 *   mid-epoch:    a run stopped (opts->stop) after some steps of epoch `epoch` + 1 keeps the above
 *                 as the last whole epoch left it, and beside it: root int partial_steps (the
 *                 steps done of that epoch), /checkpoint/partial/{params,adam_m,adam_v} and
 *                 /checkpoint/rng/partial.{augment,noise,unlabelled} (the state after them; the
 *                 order stream, which only shuffles, is replayed from its state at the epoch's
 *                 start), /checkpoint/partial/sums/{loss,loss.<term>...,seconds} (one row: the
 *                 running sums of those steps, and their time), and for each update's Adam
 *                 state besides the run's own /checkpoint/partial/optim/<update>/{m,v} and the
 *                 root int partial_step.<update> (after those steps).  Files saved at an epoch's end
 *                 have none of it, and are the bytes they were before mid-epoch checkpoints; an
 *                 snm that knows nothing of them resumes a mid-epoch file from its last whole epoch.
 * Errors are percentages.  Everything but the `seconds` column is a pure function of the
 * configuration and the thread count: the same run twice gives the same bits.
 *
 * Resume: a file with status "running" and the same config hash and thread count is resumed from
 * its checkpoint (mid-epoch where it has one), and ends bitwise equal to an uninterrupted run;
 * "finished" is skipped; "failed" is refused (SNM_ESTATE, with its reason) unless force, which
 * retrains it from scratch and keeps the old file beside; another
 * hash or thread count is refused (SNM_ESTATE, naming the keys that differ, cfgdiff.h) unless
 * force is set, which retrains from scratch and keeps the old file beside (supersede.h).  The
 * code is compared too (identity.h): an unfinished run made by other code (a plugin's or libsnm's
 * SHA-256 differs) is refused like another configuration, naming what changed, and retrained with
 * force; a finished one is skipped all the same, its result saying so (res->code), since `snm
 * verify` is the way to check it.  A file that records no code (written before snm did) is taken
 * as it is: resumed, or skipped, its code unknown; a resumed one records the code that goes on. 
 * A non-finite loss stops the run with SNM_ENUMERIC naming the epoch, step and term; so does a
 * parameter or an Adam moment that is not finite at the end of an epoch (named, with the step
 * count), before anything of that epoch is saved.  Such a failure, and any other of training
 * that training again would meet again (a plugin's error: every code but SNM_ENOMEM, SNM_EIO and
 * SNM_EHDF5), is recorded: the file is saved with status "failed", the message in `error`, and
 * the checkpoint of the last whole epoch (the initial state when none was done); the message
 * returned says so.
 *
 * Epochs: the trainer's messages and progress reports count epochs from 1 ("epoch 7" is the
 * seventh), as everything snm prints or draws does.  The file keeps its own, older convention:
 * the root `epoch` is the number of epochs done (so also the last epoch done, counted from 1),
 * while `best_epoch` and /metrics/epoch are 0-based row indices (best_epoch + 1 is the epoch a
 * message names).
 *
 * Progress and interruption are the caller's: the trainer prints nothing.  It reports the start
 * of training and every saved epoch through opts->progress, and reads opts->stop between steps.
 * It keeps a copy of the state at the start of each epoch (weights, buffers, every Adam state's
 * moments and step count, the streams): what a mid-epoch checkpoint and a failed run's file save as the last
 * whole epoch's checkpoint. */
#ifndef SNM_RUN_TRAINER_H
#define SNM_RUN_TRAINER_H

#include <signal.h>
#include <stdint.h>
#include "dataset.h"
#include "identity.h"
#include "pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What snm_trainer_opts.progress receives.  Epochs count from 1. */
enum { SNM_PROGRESS_START = 1, SNM_PROGRESS_EPOCH };
typedef struct snm_train_progress {
	int event;                 /* SNM_PROGRESS_START or SNM_PROGRESS_EPOCH */
	const char *key;           /* the run key */
	int epoch;                 /* epochs done: START, those of the checkpoint (0 for a new run);
	                              EPOCH, the epoch just saved, 1..epochs */
	int epochs;                /* epochs planned */
	int64_t step;              /* optimizer steps done */
	double loss;               /* EPOCH: the epoch's mean loss */
	double train_error, valid_error, best_valid, test_at_best;   /* EPOCH: %, as /metrics */
	double seconds;            /* EPOCH: the epoch's training and evaluation time */
	long partial;              /* START: steps of epoch `epoch` + 1 done before, which a
	                              mid-epoch checkpoint holds (0: none) */
} snm_train_progress;

typedef struct snm_trainer_opts {
	const char *plugin_path;   /* searched before $SNM_PLUGIN_PATH */
	snm_data_cache *cache;     /* may be NULL: the dataset is opened and closed for this run */
	int threads;               /* snm's thread count (core/blas.h: its own threads over a single-
	                              threaded OpenBLAS, or OpenBLAS's without OpenMP); recorded */
	int force;                 /* retrain a run whose result file has another config (or another
	                              thread count, where snm_blas_thread_invariant() is 0), or is
	                              unfinished and of other code; the old file is kept beside */
	int stop_after;            /* > 0: return after this many epochs as if killed (tests) */
	/* NULL, or called in this process after the run's checkpoint is loaded and before its first
	 * step (SNM_PROGRESS_START), and after every epoch once the epoch is saved
	 * (SNM_PROGRESS_EPOCH); p and its strings live for the call only.  It must not call the
	 * trainer.  progress_ctx is its first argument. */
	void (*progress)(void *ctx, const snm_train_progress *p);
	const char *version;       /* snm's version string to record */
	int wait;                  /* 1: wait while another process trains the run, then take it as
	                              that process left it (finished: skipped); 0: SNM_RUN_BUSY */
	void *progress_ctx;
	/* NULL, or a flag (a signal handler's) read before every training step and while waiting
	 * for another process's lock: once it is non-zero, the run stops before its next step and
	 * snm_train returns SNM_OK with res->status SNM_RUN_INTERRUPTED.  Stopped after some steps
	 * of an epoch, the run is saved there (a mid-epoch checkpoint, above; a save that fails is
	 * the error returned, the file as it was); before an epoch's first step, the file already
	 * holds that state.  The resume goes on from that step and ends bitwise equal to an
	 * uninterrupted run. */
	const volatile sig_atomic_t *stop;
} snm_trainer_opts;

/* SNM_RUN_BUSY: refused (SNM_ESTATE) because another process holds the run's lock.
 * SNM_RUN_INTERRUPTED: opts->stop was set; the run is saved where it stopped. */
enum { SNM_RUN_TRAINED = 1, SNM_RUN_RESUMED, SNM_RUN_SKIPPED, SNM_RUN_STOPPED, SNM_RUN_BUSY,
       SNM_RUN_INTERRUPTED };

typedef struct snm_run_result {
	int status;                /* SNM_RUN_* */
	int epochs;                /* epochs done (and saved) */
	int best_epoch;            /* 0-based; -1 when none */
	double best_valid;         /* % */
	double test_at_best;       /* % : the run's result */
	double seconds;            /* training time in this call */
	int code;                  /* SNM_RUN_SKIPPED: the file's code against the code of now,
	                              SNM_CODE_* (identity.h); SNM_CODE_SAME otherwise */
	char code_what[256];       /* SNM_CODE_OTHER: what differs ("noise semantic changed") */
	char superseded[4096];     /* force: where the file this run replaced was kept ("" if none) */
	long step, n_steps;        /* SNM_RUN_INTERRUPTED: steps done of the interrupted epoch (number
	                              epochs + 1), of its n_steps, saved in the file when step > 0;
	                              both 0 when it stopped before starting an epoch (while waiting
	                              for a lock, or before setup) */
} snm_run_result;

/* What snm_train would refuse before its first step, found without reading an image or
 * writing a file: the train section, the dataset (opened through cache), a class with fewer
 * training examples than per_class, the model's and the regularizer's options as their create
 * methods see them (both created on the dataset's shape and destroyed), train.epoch
 * 'unlabelled' with a regularizer that uses no unlabelled data, and train.bn_stats on a model
 * without running statistics ('unlabelled': or with such a regularizer).  Errors as snm_train's, naming
 * the run key (and file:line:col where the option has one). */
int snm_run_check(const snm_run_spec *r, const char *plugin_path, snm_data_cache *cache,
                  snm_error *err);

/* The `libraries` text a run file records: "GSL v; HDF5 v; libyaml v; OpenBLAS <its configuration,
 * with the core it runs>" of this process. */
void snm_trainer_libraries(char *buf, size_t size);

/* Trains (or resumes, or skips) one run, holding "<result file>.lock" (flock, lock.h: the file
 * names this process, for `snm status`) meanwhile: while another process holds it, SNM_ESTATE at
 * once with res->status SNM_RUN_BUSY, or with o->wait a wait for it.  The lock file is removed on
 * every outcome.  res may be NULL. */
int snm_train(const snm_run_spec *run, const snm_trainer_opts *o, snm_run_result *res, snm_error *err);

/* Run r's result from its file (r->result_path) without training: the file must hold r's
 * configuration (its config_hash; SNM_ESTATE "made by another configuration" otherwise, as for a
 * file --force would replace) and be finished (SNM_ESTATE otherwise); res is filled from
 * /metrics. */
int snm_run_read_result(const snm_run_spec *r, snm_run_result *res, snm_error *err);

#ifdef __cplusplus
}
#endif
#endif
