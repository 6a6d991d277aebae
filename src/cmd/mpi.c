/* mpi.c: `mpirun -n N snm run PIPELINE [--threads T]` (or srun), built where ./configure found MPI.
 *
 * Every rank loads the pipeline; rank 0 checks it (the others wait for its verdict), estimates
 * each selected run's cost (src/run/cost.h, calibrating what the cache lacks), orders the runs by
 * what is left of it, longest first (finished runs last: they cost nothing), and hands them out
 * one at a time as ranks ask.  Every rank, rank 0 too, trains what it is handed into the shared
 * results directory with the trainer's atomic writes and locks, waiting for a run's lock where
 * another process (another job, a second `snm run`) holds it; so a run is trained exactly once per
 * invocation and its bits are those of a serial run.  A job that dies (a node lost, the time
 * limit) is resumed by the same command: finished runs are skipped, unfinished ones resume from
 * their checkpoints.
 *
 * Rank 0 runs two threads: the main one trains; a dispatcher answers the ranks' requests and
 * shows their console messages (console.h's lines, sent as MPI messages instead of a pipe) on rank
 * 0's console, under a mutex shared with the main thread's own messages.  Only the dispatcher
 * calls MPI between MPI_Init_thread and the end (MPI_THREAD_SERIALIZED); it polls with
 * MPI_Iprobe and naps 5 ms between, so a waiting rank costs no processor, and ranks that are done
 * wait for the others in a non-blocking barrier, napping, before MPI_Finalize.
 *
 * Messages, all on MPI_COMM_WORLD: ASK (rank r -> 0: two ints, its failures so far and 1 when a
 * signal stopped it), RUN (0 -> r: the run's index, -1 for no more), LINE (r -> 0: one console
 * message), and at the start VERDICT (0 -> all, a broadcast: 0 to go on, else the exit status). */
#include "config.h"
#include <libgen.h>
#include <math.h>
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "core/blas.h"
#include "run/cost.h"
#include "run/store.h"
#include "cmd.h"

enum { TAG_ASK = 1, TAG_RUN, TAG_LINE };

static void nap(void)
{
	struct timespec ts = { 0, 5000000 };
	nanosleep(&ts, NULL);
}

/* Waits for a non-blocking operation, napping between tests. */
static void wait_for(MPI_Request *req)
{
	int done = 0;
	while (MPI_Test(req, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done)
		nap();
}

/* ---- rank 0 -------------------------------------------------------------------------------------- */

typedef struct master {
	pthread_mutex_t mu;          /* the console and the queue */
	snm_console *k;              /* the console shown */
	const int *order;            /* selected runs, longest first */
	int n, next;
	int ranks, failures;         /* the other ranks' failures, as they last said */
	int *failed_by;              /* per rank */
} master;

/* The next run to train, -1 when there is none or a signal came. */
static int take(master *M)
{
	int i = -1;
	pthread_mutex_lock(&M->mu);
	if (!snm_cmd_stop && M->next < M->n)
		i = M->order[M->next++];
	pthread_mutex_unlock(&M->mu);
	return i;
}

/* Rank 0's own console messages: shown as a rank's are. */
static void show_local(void *ctx, const char *msg)
{
	master *M = ctx;
	char line[4200];
	snprintf(line, sizeof line, "%s", msg);
	line[strcspn(line, "\n")] = '\0';
	pthread_mutex_lock(&M->mu);
	snm_console_show(M->k, line);
	pthread_mutex_unlock(&M->mu);
}

static void *dispatcher(void *arg)
{
	master *M = arg;
	int active = M->ranks - 1;
	while (active > 0) {
		MPI_Status st;
		int flag = 0, count = 0;
		if (MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st) != MPI_SUCCESS)
			break;
		if (!flag) {
			nap();
			continue;
		}
		if (st.MPI_TAG == TAG_LINE) {
			char line[4200];
			MPI_Get_count(&st, MPI_CHAR, &count);
			if (count < 0 || count >= (int)sizeof line)
				count = (int)sizeof line - 1;
			MPI_Recv(line, count, MPI_CHAR, st.MPI_SOURCE, TAG_LINE, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			line[count] = '\0';
			line[strcspn(line, "\n")] = '\0';
			pthread_mutex_lock(&M->mu);
			snm_console_show(M->k, line);
			pthread_mutex_unlock(&M->mu);
		} else if (st.MPI_TAG == TAG_ASK) {
			int msg[2], next;
			MPI_Recv(msg, 2, MPI_INT, st.MPI_SOURCE, TAG_ASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			M->failed_by[st.MPI_SOURCE] = msg[0];
			next = msg[1] ? -1 : take(M);
			MPI_Send(&next, 1, MPI_INT, st.MPI_SOURCE, TAG_RUN, MPI_COMM_WORLD);
			if (next < 0)
				--active;
		} else {
			int junk;
			MPI_Recv(&junk, 0, MPI_INT, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		}
	}
	return NULL;
}

/* The selected runs, longest first by what is left of them: the model's seconds times the share
 * of epochs not done (finished runs 0).  *order and *n. */
static int order_runs(const cli *c, const snm_pipeline *p, int **order, int *n, snm_error *e)
{
	snm_data_cache cache = { c->plugin_path, 0, 0, NULL };
	double *sec, *left;
	int *idx, rc, m = 0;
	if ((rc = snm_cmd_estimates(c, p, &cache, &sec, e))) {
		snm_data_cache_clear(&cache);
		return rc;
	}
	snm_data_cache_clear(&cache);
	left = malloc(((size_t)p->n_runs + 1) * sizeof *left);
	idx = malloc(((size_t)p->n_runs + 1) * sizeof *idx);
	*order = malloc(((size_t)p->n_runs + 1) * sizeof **order);
	if (left == NULL || idx == NULL || *order == NULL) {
		free(sec);
		free(left);
		free(idx);
		free(*order);
		return SNM_FAIL(e, SNM_ENOMEM, "out of memory");
	}
	for (int i = 0; i < p->n_runs; ++i) {
		const snm_run_spec *r = &p->runs[i];
		snm_run_result res;
		snm_error ignored;
		if (!snm_cmd_selected(c, r))
			continue;
		idx[m] = i;
		left[m] = isfinite(sec[i]) ? sec[i] : 0;
		if (access(r->result_path, F_OK) == 0 && snm_run_read_result(r, &res, &ignored) == SNM_OK)
			left[m] = 0;       /* finished (another configuration's file counts as left: the trainer refuses it) */
		++m;
	}
	snm_cost_order(left, m, *order);
	for (int k = 0; k < m; ++k)
		(*order)[k] = idx[(*order)[k]];
	*n = m;
	free(sec);
	free(left);
	free(idx);
	return SNM_OK;
}

static int rank0(const cli *c, const char *path, const snm_pipeline *p, int ranks)
{
	snm_data_cache cache = { c->plugin_path, 0, 0, NULL };
	master M;
	snm_console *local = NULL;
	snm_cmd_job J;
	snm_error e;
	pthread_t th;
	MPI_Request req;
	int verdict = 0, n_sel = 0, *order = NULL, failures = 0, stopped = 0, *jof;
	char *title;
	memset(&M, 0, sizeof M);
	if (snm_cmd_check_runs(c, p, &cache, &e) || order_runs(c, p, &order, &M.n, &e))
		verdict = snm_cmd_fail(&e);
	snm_data_cache_clear(&cache);
	MPI_Ibcast(&verdict, 1, MPI_INT, 0, MPI_COMM_WORLD, &req);
	wait_for(&req);
	if (verdict != 0) {
		free(order);
		return verdict;
	}
	for (int i = 0; i < p->n_runs; ++i)
		n_sel += snm_cmd_selected(c, &p->runs[i]);
	jof = malloc(((size_t)p->n_runs + 1) * sizeof *jof);
	M.failed_by = calloc((size_t)ranks, sizeof *M.failed_by);
	title = strdup(path);
	M.k = snm_console_new(title ? basename(title) : path, n_sel, ranks, isatty(STDERR_FILENO), c->log_every);
	local = snm_console_new("", n_sel, 1, 0, c->log_every);
	free(title);
	if (jof == NULL || M.failed_by == NULL || M.k == NULL || local == NULL) {
		fprintf(stderr, "snm: out of memory\n");
		MPI_Abort(MPI_COMM_WORLD, 1);
		return 1;
	}
	for (int i = 0, j = 0; i < p->n_runs; ++i)
		jof[i] = snm_cmd_selected(c, &p->runs[i]) ? j++ : -1;
	printf("snm: %d ranks, %d runs, handed out longest first by the cost model\n", ranks, n_sel);
	fflush(stdout);
	snm_cmd_tell_console(M.k, c, p);
	snm_console_sink(local, show_local, &M);
	M.order = order;
	M.ranks = ranks;
	pthread_mutex_init(&M.mu, NULL);
	if (pthread_create(&th, NULL, dispatcher, &M) != 0) {
		fprintf(stderr, "snm: cannot start the dispatcher thread\n");
		MPI_Abort(MPI_COMM_WORLD, 1);
		return 1;
	}
	snm_cmd_job_init(&J, c, local);
	for (int i; !stopped && (i = take(&M)) >= 0;) {
		int rc = snm_cmd_job_run(&J, &p->runs[i], jof[i], 1);
		if (rc == 2)
			stopped = 1;
		else
			failures += rc;
	}
	snm_cmd_job_end(&J);
	pthread_join(th, NULL);
	pthread_mutex_destroy(&M.mu);
	for (int r = 1; r < ranks; ++r)
		failures += M.failed_by[r];
	snm_console_close(M.k);
	snm_console_free(M.k);
	snm_console_free(local);
	free(jof);
	free(M.failed_by);
	free(order);
	if (stopped || snm_cmd_stop)
		return 128 + (snm_cmd_stop ? snm_cmd_stop : SIGINT);
	snm_cmd_print_table(c, p);
	printf("%d runs selected, %s\n", n_sel, failures ? "some failed" : "all finished");
	return failures ? 1 : 0;
}

/* ---- the other ranks ----------------------------------------------------------------------------- */

static void send_line(void *ctx, const char *msg)
{
	(void)ctx;
	MPI_Send(msg, (int)strlen(msg), MPI_CHAR, 0, TAG_LINE, MPI_COMM_WORLD);
}

static int worker(const cli *c, const snm_pipeline *p, int ranks)
{
	snm_console *k;
	snm_cmd_job J;
	MPI_Request req;
	int verdict = 0, n_sel = 0, failures = 0, stopped = 0, *jof;
	MPI_Ibcast(&verdict, 1, MPI_INT, 0, MPI_COMM_WORLD, &req);
	wait_for(&req);
	if (verdict != 0)
		return verdict;
	for (int i = 0; i < p->n_runs; ++i)
		n_sel += snm_cmd_selected(c, &p->runs[i]);
	jof = malloc(((size_t)p->n_runs + 1) * sizeof *jof);
	k = snm_console_new("", n_sel, ranks, 0, c->log_every);
	if (jof == NULL || k == NULL) {
		fprintf(stderr, "snm: out of memory\n");
		MPI_Abort(MPI_COMM_WORLD, 1);
		return 1;
	}
	for (int i = 0, j = 0; i < p->n_runs; ++i)
		jof[i] = snm_cmd_selected(c, &p->runs[i]) ? j++ : -1;
	snm_console_sink(k, send_line, NULL);
	snm_cmd_job_init(&J, c, k);
	for (;;) {
		int msg[2] = { failures, stopped || snm_cmd_stop != 0 }, i = -1, rc;
		MPI_Send(msg, 2, MPI_INT, 0, TAG_ASK, MPI_COMM_WORLD);
		MPI_Irecv(&i, 1, MPI_INT, 0, TAG_RUN, MPI_COMM_WORLD, &req);
		wait_for(&req);
		if (i < 0 || i >= p->n_runs)
			break;
		rc = snm_cmd_job_run(&J, &p->runs[i], jof[i], 1);
		if (rc == 2)
			stopped = 1;
		else
			failures += rc;
	}
	snm_cmd_job_end(&J);
	snm_console_free(k);
	free(jof);
	if (stopped || snm_cmd_stop)
		return 128 + (snm_cmd_stop ? snm_cmd_stop : SIGINT);
	return failures ? 1 : 0;
}

int snm_cmd_run_mpi(const cli *c, const char *path, snm_pipeline *p)
{
	MPI_Request req;
	int provided = 0, rank = 0, ranks = 1, status;
	if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
		fprintf(stderr, "snm: MPI_Init_thread failed\n");
		snm_pipeline_free(p);
		return 1;
	}
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &ranks);
	if (rank == 0 && provided < MPI_THREAD_SERIALIZED)
		fprintf(stderr, "snm: warning: this MPI serialises no threads (level %d); rank 0's dispatcher "
		        "thread is its only caller after the start\n", provided);
	snm_blas_set_threads(c->threads);
	if (rank == 0)
		snm_cmd_warn_oversubscribed(c, 1);
	snm_cmd_catch_signals();
	status = ranks < 2 && rank == 0 ? rank0(c, path, p, 1) : rank == 0 ? rank0(c, path, p, ranks)
	                                                              : worker(c, p, ranks);
	fflush(NULL);
	if (status < 128) {
		/* the ranks that are done wait for the others without spinning */
		MPI_Ibarrier(MPI_COMM_WORLD, &req);
		wait_for(&req);
		MPI_Finalize();
	}
	snm_pipeline_free(p);
	return status;
}
