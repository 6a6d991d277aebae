/* paper.c (the subcommand): `snm paper`, the paper stage on the command line (the library part is
 * paper/paper.h).  Prints every file written and every note, one per line, and one line naming the
 * run files under --results that it did not use (a count and the first keys); the exit status is 0
 * when everything was written or skipped for a stated reason (missing runs, no gnuplot), 1 on an
 * error, 2 on a usage error. */
#include <getopt.h>
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/blas.h"
#include "paper/paper.h"
#include "args.h"
#include "help.h"

#define UNUSED_SHOWN 3        /* run keys named in the line of runs not used */

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

/* One line naming the run files under --results that no table or figure read (the paper's spec
 * knows its own pipelines only: `snm report` makes the table of any other), or nothing when all
 * were used.  Not with --only, which leaves most runs out on purpose. */
static void print_unused(const snm_paper_opts *o, const snm_paper_used *used)
{
	char **keys;
	int n;
	snm_error e;
	if (snm_paper_unused(o->results ? o->results : "results", used, &keys, &n, &e) != SNM_OK) {
		printf("note: cannot tell which runs were not used: %s\n", e.msg);
		return;
	}
	if (n > 0) {
		printf("not used: %d run file%s under %s that no table or figure of the spec reads: ", n,
		       n == 1 ? "" : "s", o->results ? o->results : "results");
		for (int i = 0; i < n && i < UNUSED_SHOWN; ++i)
			printf("%s%s", i ? ", " : "", keys[i]);
		printf("%s (snm report PIPELINE tabulates any pipeline)\n", n > UNUSED_SHOWN ? ", ..." : "");
	}
	snm_paper_keys_free(keys, n);
}

int snm_cmd_paper(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "results", required_argument, 0, 'r' }, { "out", required_argument, 0, 'o' },
		{ "spec", required_argument, 0, 's' }, { "only", required_argument, 0, 'O' },
		{ "no-figures", no_argument, 0, 'F' }, { "no-tables", no_argument, 0, 'T' },
		{ "gnuplot", required_argument, 0, 'g' }, { "plugin-path", required_argument, 0, 'p' },
		{ "threads", required_argument, 0, 't' }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
	};
	snm_paper_opts o;
	snm_paper_used used = { 0, 0, NULL, 0 };
	counts c = { 0, 0 };
	snm_error e;
	int opt, threads = 1, rc;
	memset(&o, 0, sizeof o);
	o.note = print_note;
	o.ctx = &c;
	gsl_set_error_handler_off();
#ifdef __GLIBC__
	optind = 0;               /* glibc: full re-initialisation (the caller may have used getopt) */
#else
	optind = 1;
#endif
	opterr = 0;                  /* one line of our own for a bad option, below */
	while ((opt = getopt_long(argc, argv, "+:r:o:s:O:FTg:p:t:h", longs, NULL)) != -1) {
		switch (opt) {
		case 'r': o.results = optarg; break;
		case 'o': o.out = optarg; break;
		case 's': o.spec = optarg; break;
		case 'O': o.only = optarg; break;
		case 'F': o.no_figures = 1; break;
		case 'T': o.no_tables = 1; break;
		case 'g': o.gnuplot = optarg; break;
		case 'p': o.plugin_path = optarg; break;
		case 't':
			if (snm_cmd_count("snm paper", "--threads", optarg, 1024, &threads))
				return 2;
			break;
		case 'h': snm_cmd_help("paper", stdout); return 0;
		case ':':
			fprintf(stderr, "snm paper: %s needs a value (snm paper --help)\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "snm paper: unknown option '%s' (snm paper --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "snm paper: unexpected argument '%s' (snm paper --help)\n", argv[optind]);
		return 2;
	}
	snm_blas_set_threads(threads);
	o.used = &used;
	rc = snm_paper_run(&o, &e);
	if (rc != SNM_OK)
		fprintf(stderr, "snm paper: %s\n", e.msg);
	else if (o.only == NULL)
		print_unused(&o, &used);
	snm_paper_used_free(&used);
	if (rc != SNM_OK)
		return 1;
	printf("snm paper: %d files written, %d notes\n", c.wrote, c.notes);
	return 0;
}
