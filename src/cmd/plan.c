/* plan.c: the cost model (src/run/cost.h) on the command line -- `snm check --cost` (each run's
 * estimate, the pipeline's core-hours, --simulate's schedules), the estimates `mpirun ... snm run`
 * orders its runs by, and the shard plans of `snm run --shard K/N`. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/blas.h"
#include "run/cost.h"
#include "run/fs.h"
#include "run/lock.h"
#include "snm/rng.h"
#include "args.h"
#include "cmd.h"

int snm_cmd_estimates(const cli *c, const snm_pipeline *p, snm_data_cache *cache, double **seconds,
                      snm_error *e)
{
	unsigned char *sel = malloc((size_t)p->n_runs + 1);
	snm_cost_cache cc;
	int rc, measured = 0;
	*seconds = malloc(((size_t)p->n_runs + 1) * sizeof **seconds);
	if (sel == NULL || *seconds == NULL) {
		free(sel);
		free(*seconds);
		*seconds = NULL;
		return SNM_FAIL(e, SNM_ENOMEM, "out of memory");
	}
	for (int i = 0; i < p->n_runs; ++i)
		sel[i] = (unsigned char)snm_cmd_selected(c, &p->runs[i]);
	if ((rc = snm_cost_cache_open(&cc, e)) == SNM_OK) {
		snm_blas_set_threads(c->threads);
		rc = snm_cost_pipeline(p, sel, c->plugin_path, cache, c->threads, 1, &cc, *seconds, &measured, e);
		if (rc == SNM_OK && measured > 0)
			fprintf(stderr, "snm: calibrated the cost model: %d step and evaluation signature%s "
			        "measured at --threads %d on %s, cached in %s\n", measured, measured == 1 ? "" : "s",
			        c->threads, cc.machine_text, cc.path);
		snm_cost_cache_free(&cc);
	}
	free(sel);
	if (rc != SNM_OK) {
		free(*seconds);
		*seconds = NULL;
	}
	return rc;
}

/* ---- snm check --cost ------------------------------------------------------------------------- */

static const char *span(double s, char *buf, size_t size)
{
	if (s < 120)
		snprintf(buf, size, "%.1f s", s);
	else if (s < 7200)
		snprintf(buf, size, "%.1f min", s / 60);
	else
		snprintf(buf, size, "%.2f h", s / 3600);
	return buf;
}

/* The schedules of the selected runs' estimates on each worker count of c->simulate. */
static int simulate(const cli *c, const double *cost, int n)
{
	const char *s = c->simulate;
	double total = 0, longest = 0;
	char a[32], b[32], d[32];
	for (int i = 0; i < n; ++i) {
		total += cost[i];
		longest = cost[i] > longest ? cost[i] : longest;
	}
	printf("\nschedule of %d runs (estimates: %s in all, the longest run %s), longest first (LPT, as "
	       "mpirun hands them out) against round robin (as -j deals them); efficiency = total / "
	       "(workers x makespan)\n", n, span(total, a, sizeof a), span(longest, b, sizeof b));
	printf("%8s %14s %10s %14s %10s %14s %s\n", "workers", "LPT makespan", "efficiency", "RR makespan",
	       "efficiency", "lower bound", "bound by");
	while (*s != '\0') {
		char *end;
		long w = strtol(s, &end, 10);
		double lpt, rr, bound;
		if (end == s || w < 1 || w > 1000000 || (*end != ',' && *end != '\0')) {
			fprintf(stderr, "snm: --simulate: expected worker counts like 8,32,128, got '%s'\n", c->simulate);
			return 2;
		}
		lpt = snm_cost_lpt(cost, n, (int)w, NULL);
		rr = snm_cost_round_robin(cost, n, (int)w, NULL);
		bound = fmax(longest, total / (double)w);
		printf("%8ld %14s %10.3f %14s %10.3f %14s %s\n", w, span(lpt, a, sizeof a),
		       total / ((double)w * lpt), span(rr, b, sizeof b), total / ((double)w * rr),
		       span(bound, d, sizeof d), longest >= total / (double)w ? "the longest run" : "total / workers");
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

int snm_cmd_cost(const cli *c, const snm_pipeline *p, snm_data_cache *cache)
{
	double *sec, total = 0, *cost;
	int n = 0, unknown = 0, width = 0, rc;
	snm_error e;
	char a[32];
	if (snm_cmd_estimates(c, p, cache, &sec, &e))
		return snm_cmd_fail(&e);
	if ((cost = malloc(((size_t)p->n_runs + 1) * sizeof *cost)) == NULL) {
		free(sec);
		fprintf(stderr, "snm: out of memory\n");
		return 1;
	}
	for (int i = 0; i < p->n_runs; ++i)
		if (snm_cmd_selected(c, &p->runs[i]) && (int)strlen(p->runs[i].key) > width)
			width = (int)strlen(p->runs[i].key);
	printf("\nthe cost model's estimates at --threads %d (wall seconds; README, Beyond one machine):\n",
	       c->threads);
	for (int i = 0; i < p->n_runs; ++i) {
		if (!snm_cmd_selected(c, &p->runs[i]))
			continue;
		if (isnan(sec[i])) {
			++unknown;
			printf("%-*s  unknown\n", width, p->runs[i].key);
			continue;
		}
		printf("%-*s  %10.*f s\n", width, p->runs[i].key, sec[i] < 10 ? 3 : 1, sec[i]);
		cost[n++] = sec[i];
		total += sec[i];
	}
	printf("%s: %d runs, about %.1f core-hours at --threads %d (%s per run on average)%s\n", p->path, n,
	       total * c->threads / 3600.0, c->threads, span(n ? total / n : 0, a, sizeof a),
	       unknown ? ", some runs unknown" : "");
	rc = c->simulate != NULL ? simulate(c, cost, n) : 0;
	free(cost);
	free(sec);
	return rc;
}

/* ---- shard plans ------------------------------------------------------------------------------ */

/* The plan's file: <results>/.snm-shards/<N>-<hash of N and the selected runs' keys and configs>,
 * results the directory of the first selected run's file. */
static int plan_path(const cli *c, const snm_pipeline *p, char *path, size_t size, snm_error *e)
{
	uint64_t h = snm_seed_derive((uint64_t)c->shard_n, "shard plan", "");
	const snm_run_spec *first = NULL;
	for (int i = 0; i < p->n_runs; ++i) {
		char hx[32];
		if (!snm_cmd_selected(c, &p->runs[i]))
			continue;
		if (first == NULL)
			first = &p->runs[i];
		snprintf(hx, sizeof hx, "%016" PRIx64, p->runs[i].config_hash);
		h = snm_seed_derive(h, p->runs[i].key, hx);
	}
	if (first == NULL)
		return SNM_FAIL(e, SNM_EINVAL, "--shard: no run selected");
	{
		size_t kl = strlen(first->key), pl = strlen(first->result_path);
		int dl = pl >= kl + 4 ? (int)(pl - kl - 4) : 0;    /* "<results>/<key>.h5" */
		if (dl > 0 && first->result_path[dl - 1] == '/')
			--dl;
		snprintf(path, size, "%.*s%s.snm-shards/%d-%016" PRIx64, dl, first->result_path, dl ? "/" : "",
		         c->shard_n, h);
	}
	return SNM_OK;
}

/* Reads a plan: one line per selected run, "<share> <run key>", after "snm-shards 1 <N>".  1 when
 * it was read and covers the selected runs, 0 when there is none, -1 when it is not a plan. */
static int read_plan(const cli *c, const snm_pipeline *p, const char *path, int *share)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int n, got = 0, want = 0;
	if (f == NULL)
		return 0;
	if (fgets(line, sizeof line, f) == NULL || sscanf(line, "snm-shards 1 %d", &n) != 1 || n != c->shard_n) {
		fclose(f);
		return -1;
	}
	for (int i = 0; i < p->n_runs; ++i)
		share[i] = -1;
	while (fgets(line, sizeof line, f) != NULL) {
		char key[1024];
		int k;
		if (sscanf(line, "%d %1023s", &k, key) != 2 || k < 1 || k > n)
			continue;
		for (int i = 0; i < p->n_runs; ++i)
			if (share[i] < 0 && strcmp(p->runs[i].key, key) == 0) {
				share[i] = k;
				++got;
				break;
			}
	}
	fclose(f);
	for (int i = 0; i < p->n_runs; ++i)
		want += snm_cmd_selected(c, &p->runs[i]) && share[i] > 0;
	for (int i = 0; i < p->n_runs; ++i)
		if (snm_cmd_selected(c, &p->runs[i]) && share[i] < 1)
			return -1;
	return got == want ? 1 : -1;
}

/* The shares from the estimates: snm_cost_lpt on N workers (a run the model cannot estimate counts
 * 0: it goes to the least loaded share). */
static int make_plan(const cli *c, const snm_pipeline *p, snm_data_cache *cache, int *share, snm_error *e)
{
	double *sec, *cost;
	int *idx, *w, n = 0, rc;
	if ((rc = snm_cmd_estimates(c, p, cache, &sec, e)))
		return rc;
	cost = malloc(((size_t)p->n_runs + 1) * sizeof *cost);
	idx = malloc(((size_t)p->n_runs + 1) * sizeof *idx);
	w = malloc(((size_t)p->n_runs + 1) * sizeof *w);
	if (cost == NULL || idx == NULL || w == NULL) {
		rc = SNM_FAIL(e, SNM_ENOMEM, "out of memory");
	} else {
		for (int i = 0; i < p->n_runs; ++i) {
			share[i] = -1;
			if (snm_cmd_selected(c, &p->runs[i])) {
				idx[n] = i;
				cost[n++] = sec[i];
			}
		}
		snm_cost_lpt(cost, n, c->shard_n, w);
		for (int k = 0; k < n; ++k)
			share[idx[k]] = w[k] + 1;
	}
	free(cost);
	free(idx);
	free(w);
	free(sec);
	return rc;
}

static int write_plan(const cli *c, const snm_pipeline *p, const char *path, const int *share, snm_error *e)
{
	char tmp[4400];
	FILE *f;
	int rc, ok;
	if ((rc = snm_mkparents(path, e)))
		return rc;
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	if ((f = fopen(tmp, "w")) == NULL)
		return SNM_FAIL(e, SNM_EIO, "%s: cannot write: %s", tmp, strerror(errno));
	fprintf(f, "snm-shards 1 %d\n", c->shard_n);
	for (int i = 0; i < p->n_runs; ++i)
		if (snm_cmd_selected(c, &p->runs[i]))
			fprintf(f, "%d %s\n", share[i], p->runs[i].key);
	ok = !ferror(f);
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		int er = errno;
		unlink(tmp);
		return SNM_FAIL(e, SNM_EIO, "%s: cannot write: %s", path, strerror(er));
	}
	return SNM_OK;
}

int snm_cmd_shard(cli *c, const snm_pipeline *p, snm_data_cache *cache, int write, unsigned char **mask,
                  char *note, size_t note_size, snm_error *e)
{
	char path[4200], lock[4300];
	int *share = malloc(((size_t)p->n_runs + 1) * sizeof *share), fd = -1, rc = SNM_OK, got;
	*mask = NULL;
	note[0] = '\0';
	if (share == NULL)
		return SNM_FAIL(e, SNM_ENOMEM, "out of memory");
	if ((rc = plan_path(c, p, path, sizeof path, e))) {
		free(share);
		return rc;
	}
	snprintf(lock, sizeof lock, "%s.lock", path);
	if (write && ((rc = snm_mkparents(lock, e)) || (rc = snm_lock_take(lock, 1, NULL, &fd, e)))) {
		free(share);
		return rc;
	}
	got = read_plan(c, p, path, share);
	if (got < 0) {
		rc = SNM_FAIL(e, SNM_EIO, "%s: not a shard plan of these runs (remove it to make it anew)", path);
	} else if (got == 1) {
		snprintf(note, note_size, "share %d of %d from the plan %s", c->shard_k, c->shard_n, path);
	} else if ((rc = make_plan(c, p, cache, share, e)) == SNM_OK) {
		if (write && (rc = write_plan(c, p, path, share, e)) == SNM_OK)
			snprintf(note, note_size, "share %d of %d: the plan made now, %s", c->shard_k, c->shard_n, path);
		else if (!write)
			snprintf(note, note_size, "share %d of %d: no plan yet (%s); the first snm run --shard "
			         "writes it", c->shard_k, c->shard_n, path);
	}
	if (fd >= 0)
		snm_lock_release(lock, fd);
	if (rc == SNM_OK && (*mask = malloc((size_t)p->n_runs + 1)) == NULL)
		rc = SNM_FAIL(e, SNM_ENOMEM, "out of memory");
	if (rc == SNM_OK) {
		for (int i = 0; i < p->n_runs; ++i)
			(*mask)[i] = (unsigned char)(snm_cmd_selected(c, &p->runs[i]) && share[i] == c->shard_k);
		c->mask = *mask;
		c->mask_base = p->runs;
	}
	free(share);
	return rc;
}
