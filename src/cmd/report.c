/* report.c (the subcommand): `snm report`, the results table and learning curves of any pipeline
 * (paper/report.h) from its run files: the table on stdout in Markdown, then every file written
 * and every note, one per line.  Exit status 0 when everything was written or skipped for a
 * stated reason (missing runs, no gnuplot), 1 when the pipeline cannot be loaded, --results names
 * no directory (a table of "missing" cells would replace a good one), or an output cannot be
 * written, 2 on a usage error. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "paper/report.h"
#include "run/fs.h"
#include "cmd.h"
#include "help.h"


typedef struct counts {
	int wrote, notes;
} counts;

static void print_note(void *ctx, int kind, const char *text)
{
	counts *c = ctx;
	if (kind == SNM_PAPER_WROTE) {
		printf("wrote %s\n", text);
		c->wrote++;
	} else {
		printf("note: %s\n", text);
		c->notes++;
	}
	fflush(stdout);
}

/* The pipeline's name (its `name`, else the file's name less its directory and ".yaml"). */
static void pipeline_name(const snm_pipeline *p, const char *path, char *buf, size_t size)
{
	const char *name = snm_cfg_text(snm_cfg_get(p->root, "name")), *base;
	size_t n;
	if (name != NULL && *name) {
		snprintf(buf, size, "%s", name);
		return;
	}
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".yaml") == 0)
		n -= 5;
	else if (n > 4 && strcmp(base + n - 4, ".yml") == 0)
		n -= 4;
	snprintf(buf, size, "%.*s", (int)n, base);
}

int snm_cmd_report(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "results", required_argument, 0, 'r' }, { "out", required_argument, 0, 'o' },
		{ "no-figures", no_argument, 0, 'F' }, { "gnuplot", required_argument, 0, 'g' },
		{ "plugin-path", required_argument, 0, 'p' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
	};
	const char *results = NULL, *plugin_path = NULL;
	char name[256], out[600], **paths = NULL;
	snm_paper_opts o;
	snm_pipeline *p = NULL;
	snm_report *R = NULL;
	counts c = { 0, 0 };
	snm_error e;
	int opt, rc = 1, runs, fin;
	memset(&o, 0, sizeof o);
	o.note = print_note;
	o.ctx = &c;
#ifdef __GLIBC__
	optind = 0;               /* glibc: full re-initialisation (the caller may have used getopt) */
#else
	optind = 1;
#endif
	opterr = 0;                  /* one line of our own for a bad option, below */
	while ((opt = getopt_long(argc, argv, ":r:o:Fg:p:h", longs, NULL)) != -1) {
		switch (opt) {
		case 'r': results = optarg; break;
		case 'o': o.out = optarg; break;
		case 'F': o.no_figures = 1; break;
		case 'g': o.gnuplot = optarg; break;
		case 'p': plugin_path = optarg; break;
		case 'h': snm_cmd_help("report", stdout); return 0;
		case ':':
			fprintf(stderr, "snm report: %s needs a value (snm report --help)\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "snm report: unknown option '%s' (snm report --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "snm report: needs a pipeline file (snm report --help)\n");
		return 2;
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "snm report: unexpected argument '%s' (snm report --help)\n", argv[optind + 1]);
		return 2;
	}
	if (o.out != NULL && *o.out == '\0') {
		fprintf(stderr, "snm report: --out: an empty directory name\n");
		return 2;
	}
	if (snm_pipeline_load(argv[optind], plugin_path, &p, &e))
		return snm_cmd_fail(&e);
	pipeline_name(p, argv[optind], name, sizeof name);
	if (o.out == NULL) {
		snprintf(out, sizeof out, "report/%s", name);
		o.out = out;
	}
	o.spec = argv[optind];
	o.plugin_path = plugin_path;      /* the code the runs' files are compared with */
	o.results = results;
	if (o.results == NULL)
		o.results = snm_cfg_text(snm_cfg_get(p->root, "results")) ? snm_cfg_text(snm_cfg_get(p->root, "results"))
		                                                          : "results";
	if (results != NULL && snm_results_dir_check(results, &e)) {   /* a mistyped --results */
		snm_cmd_fail(&e);
		goto done;
	}
	if ((paths = calloc((size_t)p->n_runs + 1, sizeof *paths)) == NULL)
		goto oom;
	for (int i = 0; i < p->n_runs; ++i) {
		const snm_run_spec *r = &p->runs[i];
		if (results == NULL)
			paths[i] = strdup(r->result_path);
		else if ((paths[i] = malloc(strlen(results) + strlen(r->key) + 8)) != NULL)
			sprintf(paths[i], "%s/%s.h5", results, r->key);
		if (paths[i] == NULL)
			goto oom;
	}
	if (snm_report_open(&o, p, paths, &R, &e)) {
		snm_cmd_fail(&e);
		goto done;
	}
	snm_report_print(R, stdout);
	printf("\n");
	fflush(stdout);
	rc = snm_report_write(R, &e) ? snm_cmd_fail(&e) : 0;
	snm_report_counts(R, &runs, &fin);
	printf("snm report: %d of %d runs finished; %d files written, %d notes\n", fin, runs, c.wrote,
	       c.notes);
	goto done;
oom:
	fprintf(stderr, "snm: out of memory\n");
done:
	snm_report_close(R);
	for (int i = 0; paths && i < p->n_runs; ++i)
		free(paths[i]);
	free(paths);
	snm_pipeline_free(p);
	return rc;
}
