/* run.c: `snm run`, every selected run of a pipeline trained (resumed, or skipped when finished),
 * in -j worker processes, its progress shown as it goes (console.h), then the table of results.
 * SIGINT and SIGTERM stop every run at its next step: each says where it stopped and how to
 * resume, and snm run exits with 128 + the signal's number (130, 143). */
#include "config.h"
#include <errno.h>
#include <gsl/gsl_statistics_double.h>
#include <inttypes.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/wait.h>
#include <unistd.h>
#include "core/blas.h"
#include "run/store.h"
#include "run/trainer.h"
#include "cmd.h"
#include "console.h"

/* ---- stopping on a signal ---------------------------------------------------------------------- */

volatile sig_atomic_t snm_cmd_stop;          /* SIGINT or SIGTERM once one came, else 0 */
static pid_t workers[SNM_CMD_MAX_JOBS];      /* the -j workers of this process */
static volatile sig_atomic_t n_workers;

/* Asks every run of this process to stop at its next step (snm_trainer_opts.stop), and passes
 * the signal on to the workers: a Ctrl-C reaches them from the terminal too, a kill of the
 * parent alone does not. */
static void on_signal(int sig)
{
	int saved = errno;
	if (snm_cmd_stop == 0)
		snm_cmd_stop = sig;
	for (int w = 0; w < n_workers; ++w)
		kill(workers[w], sig);
	errno = saved;
}

/* SIGINT and SIGTERM from now on, without SA_RESTART, so that a wait for a run's lock ends too;
 * a SIGINT that was ignored when snm started (a background job of a shell without job
 * control, nohup) stays ignored. */
void snm_cmd_catch_signals(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
		sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* The one line of a run that a signal stopped: where, what is kept, and the command that resumes
 * it (res NULL: stopped before it began). */
static void say_interrupted(snm_console *k, const cli *c, const snm_run_spec *r,
                            const snm_run_result *res)
{
	char kept[64];
	if (res == NULL || res->n_steps == 0) {
		snm_console_err(k, "snm: %s: interrupted before it trained; resume with: %s", r->key, c->command);
		return;
	}
	if (res->epochs == 0)
		snprintf(kept, sizeof kept, "nothing is saved yet");
	else if (res->epochs == 1)
		snprintf(kept, sizeof kept, "epoch 1 is saved");
	else
		snprintf(kept, sizeof kept, "epochs 1-%d are saved", res->epochs);
	if (res->step == 0)
		snm_console_err(k, "snm: %s: interrupted before epoch %d (%s); resume with: %s", r->key,
		                res->epochs + 1, kept, c->command);
	else
		snm_console_err(k, "snm: %s: interrupted in epoch %d after step %ld of %ld, saved there "
		                "(resume goes on with step %ld); resume with: %s", r->key, res->epochs + 1,
		                res->step, res->n_steps, res->step + 1, c->command);
}

/* ---- training ---------------------------------------------------------------------------------- */

/* One run's outcome on stdout (a finished run of other code flagged; first, with --force, where
 * the file it replaces was kept), or its error on stderr: "snm: <run key>: <message>", the key
 * added where the message lacks it.  An error equal to the one before (a results directory that cannot
 * be made fails every run alike) is counted in *same, not printed again. */
static int report(snm_console *k, const snm_run_spec *r, int rc, const snm_run_result *res,
                  snm_error *e, char *last, int *same)
{
	if (res->superseded[0] != '\0')
		snm_console_out(k, "%-44s --force: the file it replaces is kept as %s", r->key, res->superseded);
	if (rc != SNM_OK) {
		if (strcmp(e->msg, last) == 0) {
			++*same;
			return 1;
		}
		snprintf(last, SNM_ERROR_MSG_MAX, "%s", e->msg);
		if (strstr(e->msg, r->key) == NULL)
			snm_error_prefix(e, "%s", r->key);
		snm_console_err(k, "snm: %s", e->msg);
		return 1;
	}
	if (res->status == SNM_RUN_SKIPPED && res->code == SNM_CODE_OTHER)
		snm_console_out(k, "%-44s finished before, made by other code (%s; `snm verify` checks it): "
		                "test error %.2f%%", r->key, res->code_what, res->test_at_best);
	else if (res->status == SNM_RUN_SKIPPED)
		snm_console_out(k, "%-44s finished before: test error %.2f%%", r->key, res->test_at_best);
	else
		snm_console_out(k, "%-44s %s: test error %.2f%% at epoch %d (valid %.2f%%), %.1f s", r->key,
		                res->status == SNM_RUN_RESUMED ? "resumed" : "trained", res->test_at_best,
		                res->best_epoch + 1, res->best_valid, res->seconds);
	return 0;
}

static void on_progress(void *ctx, const snm_train_progress *p)
{
	snm_cmd_job *J = ctx;
	snm_console_progress(J->k, J->j, p);
}

void snm_cmd_job_init(snm_cmd_job *J, const cli *c, snm_console *k)
{
	memset(J, 0, sizeof *J);
	J->c = c;
	J->k = k;
	J->cache = (snm_data_cache){ c->plugin_path, 0, 0, NULL };
	J->o = (snm_trainer_opts){ .plugin_path = c->plugin_path, .cache = &J->cache, .threads = c->threads,
	                           .force = c->force, .progress = on_progress, .progress_ctx = J,
	                           .version = PACKAGE_VERSION, .stop = &snm_cmd_stop };
}

int snm_cmd_job_run(snm_cmd_job *J, const snm_run_spec *r, int j, int wait)
{
	snm_run_result res;
	snm_error e;
	int rc;
	J->j = j;
	J->o.wait = wait;
	if (snm_cmd_stop) {
		say_interrupted(J->k, J->c, r, NULL);
		return 2;
	}
	rc = snm_train(r, &J->o, &res, &e);
	if (rc == SNM_OK && res.status == SNM_RUN_INTERRUPTED) {
		say_interrupted(J->k, J->c, r, &res);
		return 2;
	}
	if (rc != SNM_OK && res.status == SNM_RUN_BUSY && !wait)
		return 3;
	if (wait && rc == SNM_OK && res.status == SNM_RUN_SKIPPED && J->waited) {
		snm_console_out(J->k, "%-44s finished by another process: test error %.2f%%", r->key,
		                res.test_at_best);
		snm_console_end(J->k, j, 1);
		return 0;
	}
	rc = report(J->k, r, rc, &res, &e, J->last, &J->same);
	snm_console_end(J->k, j, !rc);
	return rc;
}

void snm_cmd_job_end(snm_cmd_job *J)
{
	if (J->same > 0)
		snm_console_err(J->k, "snm: the same error for %d more run%s", J->same, J->same == 1 ? "" : "s");
	J->same = 0;
	snm_data_cache_clear(&J->cache);
}

/* Trains the selected runs whose number (among the selected) is worker (mod jobs).  Returns the
 * exit status: 0, 1 when a run failed, 128 + the signal when one stopped it.  A run that another
 * process is training (another `snm run` on the same results) is put off; when this worker's
 * other runs are done, it waits for each such run's lock and takes the run as the other process
 * left it: finished ("finished by another process", not a failure), or else resumed here.  So two
 * `snm run` that split a pipeline both exit 0 once every run is finished. */
static int run_share(const cli *c, const snm_pipeline *p, int worker, int jobs, snm_console *k)
{
	snm_cmd_job J;
	int failures = 0, n = 0, n_busy = 0, stopped = 0;
	int *busy = malloc((size_t)p->n_runs * sizeof *busy), *busy_j = malloc((size_t)p->n_runs * sizeof *busy_j);
	if (busy == NULL || busy_j == NULL) {
		snm_console_err(k, "snm: out of memory");
		free(busy);
		free(busy_j);
		return 1;
	}
	snm_cmd_job_init(&J, c, k);
	for (int i = 0; i < p->n_runs && !stopped; ++i) {
		int j, rc;
		if (!snm_cmd_selected(c, &p->runs[i]) || (j = n++) % jobs != worker)
			continue;
		rc = snm_cmd_job_run(&J, &p->runs[i], j, 0);
		if (rc == 2)
			stopped = 1;
		else if (rc == 3) {
			busy_j[n_busy] = j;
			busy[n_busy++] = i;
		} else
			failures += rc;
	}
	J.waited = 1;
	for (int b = 0; b < n_busy && !stopped; ++b) {
		int rc = snm_cmd_job_run(&J, &p->runs[busy[b]], busy_j[b], 1);
		if (rc == 2)
			stopped = 1;
		else
			failures += rc;
	}
	snm_cmd_job_end(&J);
	free(busy);
	free(busy_j);
	if (stopped || snm_cmd_stop)
		return 128 + (snm_cmd_stop ? snm_cmd_stop : SIGINT);
	return failures ? 1 : 0;
}

/* Trains the selected runs in c->jobs worker processes, which report to this one over a pipe
 * while it shows their progress; returns the exit status, as run_share. */
static int run_workers(const cli *c, const snm_pipeline *p, snm_console *k)
{
	pid_t parent = getpid();
	sigset_t block, old;
	int fds[2], failures = 0;
	if (pipe(fds) != 0) {
		snm_console_err(k, "snm: cannot make a pipe for the workers: %s", strerror(errno));
		return 1;
	}
	/* the signals wait while the workers are made, so that each worker is told once it is known */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	fflush(NULL);
	for (int w = 0; w < c->jobs; ++w) {
		pid_t pid = fork();
		if (pid == 0) {
			n_workers = 0;
			sigprocmask(SIG_SETMASK, &old, NULL);
#ifdef __linux__
			/* workers end with the process that started them (a kill -9 of it would
			 * otherwise leave them training): SIGTERM, so they stop at a step like any
			 * interrupted run; a checkpoint is never half written */
			if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
				_exit(1);
#endif
			close(fds[0]);
			signal(SIGPIPE, SIG_IGN);    /* a parent gone: the worker says its lines itself */
			snm_console_forward(k, fds[1]);
			_exit(run_share(c, p, w, c->jobs, k));
		}
		if (pid < 0) {
			snm_console_err(k, "snm: cannot start worker %d: %s", w + 1, strerror(errno));
			++failures;
		} else {
			workers[n_workers] = pid;
			n_workers = n_workers + 1;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fds[1]);
	snm_console_pump(k, fds[0]);
	close(fds[0]);
	for (int w = 0; w < n_workers;) {
		int st;
		pid_t r = wait(&st);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		++w;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			++failures;
	}
	n_workers = 0;
	if (snm_cmd_stop)
		return 128 + snm_cmd_stop;
	return failures ? 1 : 0;
}

/* Tells the console about the selected runs: epochs planned, and from each run's file (one of
 * the same configuration) the epochs done and whether it is finished.  A file that cannot be
 * read counts as a run not started; its trainer says what is wrong with it. */
void snm_cmd_tell_console(snm_console *k, const cli *c, const snm_pipeline *p)
{
	int j = 0;
	for (int i = 0; i < p->n_runs; ++i) {
		const snm_run_spec *r = &p->runs[i];
		long epochs = 0;
		int64_t done = 0;
		int finished = 0;
		snm_store_attrs a;
		snm_error e;
		if (!snm_cmd_selected(c, r))
			continue;
		snm_cfg_opt_int(r->train, snm_train_options, "epochs", &epochs, &e);
		if (access(r->result_path, F_OK) == 0 && snm_store_read_attrs(r->result_path, &a, &e) == SNM_OK) {
			char want[32];
			int same = 0;
			snprintf(want, sizeof want, "%016" PRIx64, r->config_hash);
			for (int s = 0; s < a.n_str; ++s) {
				if (strcmp(a.str_names[s], "config_hash") == 0)
					same = strcmp(a.str_values[s], want) == 0;
				else if (strcmp(a.str_names[s], "status") == 0)
					finished = strcmp(a.str_values[s], "finished") == 0;
			}
			for (int s = 0; s < a.n_int; ++s)
				if (strcmp(a.int_names[s], "epoch") == 0)
					done = a.int_values[s];
			if (!same)
				done = finished = 0;
			snm_store_attrs_free(&a);
		}
		snm_console_run(k, j++, r->key, (int)epochs, (int)done, finished, r->per_class);
	}
}

/* The table row of a run: its key less "/set<k>" and, for a per-class size, "/n<size>". */
static void row_of(const snm_run_spec *r, char *row, size_t size)
{
	char *slash;
	snprintf(row, size, "%s", r->key);
	if ((slash = strrchr(row, '/')) != NULL)
		*slash = '\0';
	if (r->per_class && (slash = strrchr(row, '/')) != NULL)
		*slash = '\0';
}

/* The results table: one row per experiment, one column per per-class size, mean (std) of the
 * test error at the best validation epoch over the sets. */
void snm_cmd_print_table(const cli *c, const snm_pipeline *p)
{
	int sizes[64], n_sizes = 0;
	static char seen_row[256][ROW_MAX];
	int n_rows = 0, any_missing = 0;
	for (int i = 0; i < p->n_runs; ++i) {
		int s = p->runs[i].per_class, have = 0;
		if (!snm_cmd_selected(c, &p->runs[i]))
			continue;
		for (int k = 0; k < n_sizes; ++k)
			have |= sizes[k] == s;
		if (!have && n_sizes < 64) {
			int k = n_sizes++;
			while (k > 0 && (sizes[k - 1] == 0 || (s != 0 && sizes[k - 1] > s))) {
				sizes[k] = sizes[k - 1];
				--k;
			}
			sizes[k] = s;
		}
	}
	printf("\ntest error (%%) at the best validation epoch, mean (std) over sets\n%-32s", "run");
	for (int k = 0; k < n_sizes; ++k) {
		char h[32];
		if (sizes[k])
			snprintf(h, sizeof h, "n=%d", sizes[k]);
		else
			snprintf(h, sizeof h, "all");
		printf(" %16s", h);
	}
	printf("\n");
	for (int i = 0; i < p->n_runs; ++i) {
		const snm_run_spec *r = &p->runs[i];
		char row[ROW_MAX];
		int dup = 0;
		if (!snm_cmd_selected(c, r))
			continue;
		row_of(r, row, sizeof row);
		for (int k = 0; k < n_rows; ++k)
			dup |= strcmp(seen_row[k], row) == 0;
		if (dup || n_rows == 256)
			continue;
		strcpy(seen_row[n_rows++], row);
		printf("%-32s", row);
		for (int k = 0; k < n_sizes; ++k) {
			double v[64];
			int n = 0, missing = 0;
			char cell[40];
			for (int j = 0; j < p->n_runs; ++j) {
				const snm_run_spec *q = &p->runs[j];
				char qrow[ROW_MAX];
				snm_run_result res;
				snm_error e;
				if (!snm_cmd_selected(c, q) || q->per_class != sizes[k])
					continue;
				row_of(q, qrow, sizeof qrow);
				if (strcmp(qrow, row) != 0)
					continue;
				if (snm_run_read_result(q, &res, &e) == SNM_OK && n < 64)
					v[n++] = res.test_at_best;
				else
					++missing;
			}
			any_missing |= missing > 0;
			if (n == 0)
				snprintf(cell, sizeof cell, missing ? "missing" : "-");
			else if (n == 1)
				snprintf(cell, sizeof cell, "%.2f%s", v[0], missing ? "*" : "");
			else
				snprintf(cell, sizeof cell, "%.2f (%.2f)%s", gsl_stats_mean(v, 1, (size_t)n),
				         gsl_stats_sd(v, 1, (size_t)n), missing ? "*" : "");
			printf(" %16s", cell);
		}
		printf("\n");
	}
	if (any_missing)
		printf("(missing, * : some runs of the cell are missing or unfinished)\n");
}

/* Threads that wait for one another spin for a while first (libgomp's and OpenBLAS's default), so
 * with more threads than processors every barrier can wait on a thread that is not running, and
 * runs take several times as long (README, "What a run does", has the timings).  One line on stderr when the runs at a time times --threads exceed the
 * processors; the bits are the same either way. */
void snm_cmd_warn_oversubscribed(const cli *c, int n_sel)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long at_once = c->jobs < n_sel ? c->jobs : n_sel;
#ifdef _OPENMP
	const char *alt = ", or set OMP_WAIT_POLICY=passive";
	if (getenv("OMP_WAIT_POLICY") != NULL)      /* the user chose how OpenMP's threads wait */
		return;
#else
	const char *alt = "";
#endif
	if (c->threads < 2 || cpus < 1 || at_once * c->threads <= cpus)
		return;
	fprintf(stderr, "snm: warning: %ld run%s at a time x %d threads on %ld processors: waiting "
	        "threads spin, so runs can take several times as long; use -j N --threads 1%s\n",
	        at_once, at_once == 1 ? "" : "s", c->threads, cpus, alt);
}

int snm_cmd_mpi_launched(void)
{
	static const char *const vars[] = { "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", NULL };
	for (int v = 0; vars[v] != NULL; ++v)
		if (getenv(vars[v]) != NULL)
			return 1;
	return 0;
}

int snm_cmd_run(const cli *given, const char *path)
{
	cli cc = *given, *c = &cc;
	snm_pipeline *p;
	snm_data_cache cache = { c->plugin_path, 0, 0, NULL };
	snm_console *k;
	snm_error e;
	unsigned char *mask = NULL;
	char *title, note[4400] = "";
	int status, n_sel = 0;
	if (snm_cmd_load(c, path, &p, &e))
		return snm_cmd_fail(&e);
	if (snm_cmd_no_match(c, p, path)) {
		snm_pipeline_free(p);
		return 1;
	}
	if (snm_cmd_mpi_launched()) {
#ifdef SNM_HAVE_MPI
		if (c->jobs > 1 || c->shard_n > 0) {
			fprintf(stderr, "snm: under mpirun, the ranks are the workers: no -j, no --shard\n");
			snm_pipeline_free(p);
			return 2;
		}
		return snm_cmd_run_mpi(c, path, p);
#else
		fprintf(stderr, "snm: started by mpirun or srun, but this snm was built without MPI "
		        "(./configure found no Open MPI: Debian libopenmpi-dev), so every process would take "
		        "every run; rebuild with MPI, or use --shard K/N\n");
		snm_pipeline_free(p);
		return 1;
#endif
	}
	/* every run is checked (datasets opened, models created) before any training starts */
	if (snm_cmd_check_runs(c, p, &cache, &e)
	    || (c->shard_n > 0 && snm_cmd_shard(c, p, &cache, 1, &mask, note, sizeof note, &e))) {
		snm_data_cache_clear(&cache);
		snm_pipeline_free(p);
		return snm_cmd_fail(&e);
	}
	snm_data_cache_clear(&cache);
	for (int i = 0; i < p->n_runs; ++i)
		n_sel += snm_cmd_selected(c, &p->runs[i]);
	if (note[0] != '\0')
		printf("snm: --shard %d/%d: %d run%s, %s\n", c->shard_k, c->shard_n, n_sel, n_sel == 1 ? "" : "s",
		       note);
	snm_cmd_warn_oversubscribed(c, n_sel);
	snm_blas_set_threads(c->threads);
	title = strdup(path);
	k = snm_console_new(title ? basename(title) : path, n_sel, c->jobs, isatty(STDERR_FILENO),
	                    c->log_every);
	free(title);
	if (k == NULL) {
		snm_pipeline_free(p);
		free(mask);
		fprintf(stderr, "snm: out of memory\n");
		return 1;
	}
	snm_cmd_tell_console(k, c, p);
	snm_cmd_catch_signals();
	status = n_sel == 0 ? 0 : c->jobs <= 1 ? run_share(c, p, 0, 1, k) : run_workers(c, p, k);
	snm_console_close(k);
	snm_console_free(k);
	if (status <= 1) {
		if (n_sel > 0)
			snm_cmd_print_table(c, p);
		printf("%d runs selected, %s\n", n_sel, status ? "some failed" : "all finished");
	}
	snm_pipeline_free(p);
	free(mask);
	return status;
}
