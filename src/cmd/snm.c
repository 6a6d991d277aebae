/* snm.c: the `snm` command: check and run pipelines, list plugins.
 *
 *   snm check PIPELINE               validate everything and list the runs
 *   snm run PIPELINE [options]       train every run (resuming, skipping finished ones), then
 *                                    print the results table
 *   snm plugins                      list the plugins on the search path with their options
 *   snm compact, snm verify          compact run files, retrain and compare them (compact.c,
 *                                    verify.c); snm fetch, snm paper (fetch.c, paper.c)
 * This is the only place that prints errors and chooses exit statuses. */
#include "config.h"
#include <fnmatch.h>
#include <getopt.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <signal.h>
#include <sys/prctl.h>
#endif
#include <sys/wait.h>
#include <unistd.h>
#include "core/blas.h"
#include "run/pipeline.h"
#include "run/loader.h"
#include "snm/plugin.h"
#include "run/trainer.h"
#include "args.h"

int snm_cmd_fetch(int argc, char **argv);   /* fetch.c */
int snm_cmd_paper(int argc, char **argv);   /* paper.c */
int snm_cmd_compact(int argc, char **argv); /* compact.c */
int snm_cmd_verify(int argc, char **argv);  /* verify.c */

static const char usage[] =
	"usage: snm check PIPELINE [--plugin-path DIRS]\n"
	"       snm run PIPELINE [--threads T] [-j N] [--only PATTERN] [--force] [--plugin-path DIRS]\n"
	"       snm plugins [--plugin-path DIRS]\n"
	"       snm fetch mnist|fashion-mnist|cifar10 [--from URL|DIR] [--data DIR]\n"
	"       snm paper [--results DIR] [--out DIR] [options: snm paper --help]\n"
	"       snm compact [--out DIR] [--keep-best PATTERN]... RUNFILE...\n"
	"       snm verify [--threads T] [--keep DIR] [--plugin-path DIRS] RUNFILE...\n"
	"       snm --version\n";

#define ROW_MAX 512          /* a run key's room (pipeline.c) */
#define MAX_THREADS 1024
#define MAX_JOBS 256

typedef struct cli {
	const char *plugin_path, *only;
	int threads, jobs, force;
} cli;

static int fail(const snm_error *e)
{
	fprintf(stderr, "snm: %s\n", e->msg);
	return 1;
}

static int selected(const cli *c, const snm_run_spec *r)
{
	return c->only == NULL || fnmatch(c->only, r->key, 0) == 0;
}

/* An --only pattern that selects none of the pipeline's runs is an error (a typo would
 * otherwise look like a run with nothing left to do).  Says so on stderr; returns 1. */
static int no_match(const cli *c, const snm_pipeline *p, const char *path)
{
	if (c->only == NULL)
		return 0;
	for (int i = 0; i < p->n_runs; ++i)
		if (selected(c, &p->runs[i]))
			return 0;
	fprintf(stderr, "snm: --only '%s' matches none of the %d runs of %s (`snm check %s` lists "
	        "them)\n", c->only, p->n_runs, path, path);
	return 1;
}

/* ---- snm plugins --------------------------------------------------------------------------- */

static const char *type_name(int t)
{
	switch (t) {
	case SNM_OPT_INT: return "int";
	case SNM_OPT_DOUBLE: return "number";
	case SNM_OPT_BOOL: return "bool";
	case SNM_OPT_STRING: return "string";
	case SNM_OPT_CHOICE: return "choice";
	default: return "yaml";
	}
}

static void print_plugin(void *ctx, const snm_plugin_handle *h)
{
	const snm_plugin *p = h->p;
	(void)ctx;
	printf("%-6s %-12s %-8s %s\n", snm_kind_name((int)p->kind), p->name, p->version,
	       p->description ? p->description : "");
	printf("       from %s\n", h->path);
	for (const snm_option *o = p->options; o && o->name; ++o)
		printf("         %-16s %-7s default %-10s %s%s%s\n", o->name,
		       o->type == SNM_OPT_CHOICE ? o->choices : type_name(o->type),
		       o->def ? (o->def[0] ? o->def : "\"\"") : "(required)", o->help ? o->help : "",
		       o->range ? " " : "", o->range ? o->range : "");
}

static void print_bad(void *ctx, const char *path, const snm_error *e)
{
	(void)ctx; (void)path;
	fprintf(stderr, "snm: skipped %s\n", e->msg);
}

static int cmd_plugins(const cli *c)
{
	snm_plugin_each(c->plugin_path, print_plugin, print_bad, NULL);
	return 0;
}

/* ---- snm check ----------------------------------------------------------------------------- */

/* What a run's check depends on: its data section, per-class size, model, regularizer and train
 * section (not the set or the seed).  A new string, or NULL when out of memory. */
static char *check_signature(const snm_run_spec *r)
{
	char *m = snm_cfg_dump_alloc(r->model, NULL), *n = snm_cfg_dump_alloc(r->noise, NULL);
	char *t = snm_cfg_dump_alloc(r->train, NULL), *sig = NULL;
	if (m && n && t) {
		size_t len = strlen(r->data_key) + strlen(r->model_type) + strlen(m) + strlen(r->noise_type)
		             + strlen(n) + strlen(t) + 32;
		if ((sig = malloc(len)) != NULL)
			snprintf(sig, len, "%s|%d|%s %s|%s %s|%s", r->data_key, r->per_class, r->model_type, m,
			         r->noise_type, n, t);
	}
	free(m);
	free(n);
	free(t);
	return sig;
}

/* Checks every selected run as far as it can be without training (snm_run_check: its dataset
 * opened, the class sizes, the model and regularizer created on the data's shape), once per
 * distinct configuration, before any run starts. */
static int check_runs(const cli *c, const snm_pipeline *p, snm_data_cache *cache, snm_error *e)
{
	char **seen = calloc((size_t)p->n_runs + 1, sizeof *seen);
	int n_seen = 0, rc = SNM_OK;
	if (seen == NULL)
		return SNM_FAIL(e, SNM_ENOMEM, "out of memory");
	for (int i = 0; i < p->n_runs && rc == SNM_OK; ++i) {
		char *sig;
		int dup = 0;
		if (!selected(c, &p->runs[i]))
			continue;
		if ((sig = check_signature(&p->runs[i])) == NULL) {
			rc = SNM_FAIL(e, SNM_ENOMEM, "out of memory");
			break;
		}
		for (int k = 0; k < n_seen && !dup; ++k)
			dup = strcmp(seen[k], sig) == 0;
		if (dup) {
			free(sig);
			continue;
		}
		seen[n_seen++] = sig;
		rc = snm_run_check(&p->runs[i], c->plugin_path, cache, e);
	}
	for (int k = 0; k < n_seen; ++k)
		free(seen[k]);
	free(seen);
	return rc;
}

static int cmd_check(const cli *c, const char *path)
{
	snm_pipeline *p;
	snm_data_cache cache = { c->plugin_path, 0, 0, NULL };
	snm_error e;
	int n = 0;
	if (snm_pipeline_load(path, c->plugin_path, &p, &e))
		return fail(&e);
	if (no_match(c, p, path)) {
		snm_pipeline_free(p);
		return 1;
	}
	if (check_runs(c, p, &cache, &e)) {
		snm_data_cache_clear(&cache);
		snm_pipeline_free(p);
		return fail(&e);
	}
	for (int i = 0; i < p->n_runs; ++i)
		if (selected(c, &p->runs[i])) {
			printf("%-48s %s\n", p->runs[i].key, p->runs[i].result_path);
			++n;
		}
	printf("%s: ok, %d runs\n", path, n);
	snm_data_cache_clear(&cache);
	snm_pipeline_free(p);
	return 0;
}

/* ---- snm run ------------------------------------------------------------------------------- */

/* Trains the selected runs whose index is worker (mod jobs).  Returns the number of failures. */
static int run_share(const cli *c, const snm_pipeline *p, int worker, int jobs)
{
	snm_data_cache cache = { c->plugin_path, 0, 0, NULL };
	snm_trainer_opts o = { c->plugin_path, &cache, c->threads, c->force, 0, jobs == 1 && isatty(2), PACKAGE_VERSION };
	int failures = 0, k = 0;
	for (int i = 0; i < p->n_runs; ++i) {
		snm_run_result res;
		snm_error e;
		if (!selected(c, &p->runs[i]) || k++ % jobs != worker)
			continue;
		if (snm_train(&p->runs[i], &o, &res, &e)) {
			fail(&e);
			++failures;
			continue;
		}
		if (res.status == SNM_RUN_SKIPPED)
			printf("%-44s finished before: test error %.2f%%\n", p->runs[i].key, res.test_at_best);
		else
			printf("%-44s %s: test error %.2f%% at epoch %d (valid %.2f%%), %.1f s\n", p->runs[i].key,
			       res.status == SNM_RUN_RESUMED ? "resumed" : "trained", res.test_at_best,
			       res.best_epoch + 1, res.best_valid, res.seconds);
		fflush(stdout);
	}
	snm_data_cache_clear(&cache);
	return failures;
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
static void print_table(const cli *c, const snm_pipeline *p)
{
	int sizes[64], n_sizes = 0;
	static char seen_row[256][ROW_MAX];
	int n_rows = 0, any_missing = 0;
	for (int i = 0; i < p->n_runs; ++i) {
		int s = p->runs[i].per_class, have = 0;
		if (!selected(c, &p->runs[i]))
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
		if (!selected(c, r))
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
				if (!selected(c, q) || q->per_class != sizes[k])
					continue;
				row_of(q, qrow, sizeof qrow);
				if (strcmp(qrow, row) != 0)
					continue;
				if (snm_run_read_result(q->result_path, &res, &e) == SNM_OK && n < 64)
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
static void warn_oversubscribed(const cli *c, int n_sel)
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

static int cmd_run(const cli *c, const char *path)
{
	snm_pipeline *p;
	snm_data_cache cache = { c->plugin_path, 0, 0, NULL };
	snm_error e;
	int failures = 0, n_sel = 0;
	if (snm_pipeline_load(path, c->plugin_path, &p, &e))
		return fail(&e);
	if (no_match(c, p, path)) {
		snm_pipeline_free(p);
		return 1;
	}
	/* every run is checked (datasets opened, models created) before any training starts */
	if (check_runs(c, p, &cache, &e)) {
		snm_data_cache_clear(&cache);
		snm_pipeline_free(p);
		return fail(&e);
	}
	snm_data_cache_clear(&cache);
	for (int i = 0; i < p->n_runs; ++i)
		n_sel += selected(c, &p->runs[i]);
	warn_oversubscribed(c, n_sel);
	snm_blas_set_threads(c->threads);
	if (c->jobs <= 1) {
		failures = run_share(c, p, 0, 1);
	} else {
		pid_t parent = getpid();
		for (int w = 0; w < c->jobs; ++w) {
			pid_t pid = fork();
			if (pid == 0) {
#ifdef __linux__
				/* workers end with the process that started them (a kill -9 of it would
				 * otherwise leave them training); a checkpoint is never half written */
				if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
					_exit(1);
#endif
				_exit(run_share(c, p, w, c->jobs) ? 1 : 0);
			}
			if (pid < 0) {
				fprintf(stderr, "snm: cannot start worker %d\n", w);
				++failures;
			}
		}
		for (int w = 0; w < c->jobs; ++w) {
			int st;
			if (wait(&st) > 0 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
				++failures;
		}
	}
	print_table(c, p);
	printf("%d runs selected, %s\n", n_sel, failures ? "some failed" : "all finished");
	snm_pipeline_free(p);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "threads", required_argument, 0, 't' }, { "jobs", required_argument, 0, 'j' },
		{ "only", required_argument, 0, 'o' }, { "force", no_argument, 0, 'f' },
		{ "plugin-path", required_argument, 0, 'p' }, { "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' }, { 0, 0, 0, 0 }
	};
	cli c = { NULL, NULL, 1, 1, 0 };
	const char *cmd, *pos;
	int opt;
	gsl_set_error_handler_off();
	/* subcommands with options of their own */
	if (argc > 1 && strcmp(argv[1], "fetch") == 0)
		return snm_cmd_fetch(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "paper") == 0)
		return snm_cmd_paper(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "compact") == 0)
		return snm_cmd_compact(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "verify") == 0)
		return snm_cmd_verify(argc - 1, argv + 1);
	/* GNU getopt permutes: options may come before or after the command and the pipeline */
	opterr = 0;                  /* one line of our own for a bad option, below */
	while ((opt = getopt_long(argc, argv, ":t:j:o:fp:hV", longs, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (snm_cmd_count("snm", "--threads", optarg, MAX_THREADS, &c.threads))
				return 2;
			break;
		case 'j':
			if (snm_cmd_count("snm", "-j", optarg, MAX_JOBS, &c.jobs))
				return 2;
			break;
		case 'o': c.only = optarg; break;
		case 'f': c.force = 1; break;
		case 'p': c.plugin_path = optarg; break;
		case 'V': printf("snm %s (plugin ABI %u.%u)\n", PACKAGE_VERSION, SNM_PLUGIN_ABI_MAJOR,
		                 SNM_PLUGIN_ABI_MINOR); return 0;
		case 'h': fputs(usage, stdout); return 0;
		case ':':
			fprintf(stderr, "snm: %s needs a value (snm --help)\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "snm: unknown option '%s' (snm --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {        /* no command at all: the usage */
		fputs(usage, stderr);
		return 2;
	}
	cmd = argv[optind++];
	pos = optind < argc ? argv[optind++] : NULL;
	if (optind < argc) {
		fprintf(stderr, "snm: unexpected argument '%s' (snm --help)\n", argv[optind]);
		return 2;
	}
	if (strcmp(cmd, "plugins") == 0) {
		if (pos != NULL) {
			fprintf(stderr, "snm: unexpected argument '%s' ('plugins' takes none)\n", pos);
			return 2;
		}
		return cmd_plugins(&c);
	}
	if (strcmp(cmd, "check") != 0 && strcmp(cmd, "run") != 0) {
		fprintf(stderr, "snm: unknown command '%s' (snm --help)\n", cmd);
		return 2;
	}
	if (pos == NULL) {
		fprintf(stderr, "snm: '%s' needs a pipeline file (snm --help)\n", cmd);
		return 2;
	}
	return strcmp(cmd, "check") == 0 ? cmd_check(&c, pos) : cmd_run(&c, pos);
}
