/* snm.c: the `snm` command -- its options and the dispatch to one file per subcommand:
 *
 *   snm check PIPELINE               validate everything and list the runs (check.c)
 *   snm run PIPELINE [options]       train every run (resuming, skipping finished ones), then
 *                                    print the results table (run.c)
 *   snm plugins                      list the plugins on the search path with their options
 *                                    (plugins.c)
 *   snm status PIPELINE              where every run stands, from the files alone (status.c)
 *   snm report PIPELINE              the results table and learning curves of any pipeline
 *                                    (report.c)
 *   snm compact, snm verify          compact run files, retrain and compare them (compact.c,
 *                                    verify.c); snm fetch, snm paper (fetch.c, paper.c)
 *   snm help [COMMAND]               the help texts, also snm --help and snm COMMAND --help
 *                                    (help.c)
 * The command is the only place that prints errors and chooses exit statuses. */
#include "config.h"
#include <getopt.h>
#include <signal.h>
#include <gsl/gsl_errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "snm/plugin.h"
#include "args.h"
#include "cmd.h"
#include "help.h"

#define MAX_THREADS 1024

/* `snm help [COMMAND]`: argv[0] is "help" (or anything), argv[1] the command if any. */
static int help(int argc, char **argv)
{
	if (argc > 2) {
		fprintf(stderr, "snm help: unexpected argument '%s' (snm help COMMAND)\n", argv[2]);
		return 2;
	}
	if (argc == 2 && strcmp(argv[1], "--help") != 0 && strcmp(argv[1], "-h") != 0) {
		if (snm_cmd_help(argv[1], stdout) != 0) {
			fprintf(stderr, "snm help: unknown command '%s' (snm help lists them)\n", argv[1]);
			return 2;
		}
		return 0;
	}
	snm_cmd_help(argc == 2 ? "help" : NULL, stdout);
	return 0;
}

/* --shard K/N: 1 <= K <= N <= 100000; one line on stderr and -1 otherwise. */
static int shard_arg(const char *text, int *k, int *n)
{
	char *slash = strchr(text, '/'), kt[32];
	if (slash == NULL || slash - text >= (long)sizeof kt || slash == text) {
		fprintf(stderr, "snm: --shard: expected K/N (share K of N, 1 <= K <= N), got '%s'\n", text);
		return -1;
	}
	snprintf(kt, sizeof kt, "%.*s", (int)(slash - text), text);
	if (snm_cmd_count("snm", "--shard N", slash + 1, 100000, n) || snm_cmd_count("snm", "--shard K", kt, 100000, k))
		return -1;
	if (*k > *n) {
		fprintf(stderr, "snm: --shard: share %d of %d does not exist (1 <= K <= N)\n", *k, *n);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "threads", required_argument, 0, 't' }, { "jobs", required_argument, 0, 'j' },
		{ "only", required_argument, 0, 'o' }, { "force", no_argument, 0, 'f' },
		{ "plugin-path", required_argument, 0, 'p' }, { "help", no_argument, 0, 'h' },
		{ "version", no_argument, 0, 'V' }, { "log-every", required_argument, 0, 'L' },
		{ "set", required_argument, 0, 's' }, { "cost", no_argument, 0, 'C' },
		{ "simulate", required_argument, 0, 'S' }, { "shard", required_argument, 0, 'K' },
		{ 0, 0, 0, 0 }
	};
	cli c = { .threads = 1, .jobs = 1, .log_every = 60 };
	const char *cmd, *pos, *sets[argc + 1], *only[argc + 1];
	char *given[argc + 1];       /* argv as given: getopt permutes it */
	int opt, rc, want_help = 0;
	memcpy(given, argv, (size_t)(argc + 1) * sizeof *given);
	c.sets = sets;
	c.only = only;
	gsl_set_error_handler_off();
	/* libhdf5 prints nothing of its own: the store reports its failures in one line each, and
	 * libhdf5's closing at exit, which dumps "infinite loop closing library" and a list of codes
	 * when anything is left open, is skipped (the exit frees what it would free) */
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	H5dont_atexit();
	/* past `ulimit -f`, write(2) fails with EFBIG, reported like any full disk, instead of the
	 * process dying silently of SIGXFSZ */
	signal(SIGXFSZ, SIG_IGN);
	/* subcommands with options of their own */
	if (argc > 1 && strcmp(argv[1], "fetch") == 0)
		return snm_cmd_fetch(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "paper") == 0)
		return snm_cmd_paper(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "compact") == 0)
		return snm_cmd_compact(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "verify") == 0)
		return snm_cmd_verify(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return snm_cmd_status(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "report") == 0)
		return snm_cmd_report(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "help") == 0)
		return help(argc - 1, argv + 1);
	/* GNU getopt permutes: options may come before or after the command and the pipeline */
	opterr = 0;                  /* one line of our own for a bad option, below */
	while ((opt = getopt_long(argc, argv, ":t:j:o:fp:hV", longs, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (snm_cmd_count("snm", "--threads", optarg, MAX_THREADS, &c.threads))
				return 2;
			break;
		case 'j':
			if (snm_cmd_count("snm", "-j", optarg, SNM_CMD_MAX_JOBS, &c.jobs))
				return 2;
			break;
		case 'L':
			if (snm_cmd_whole("snm", "--log-every", optarg, 0, 86400, &c.log_every))
				return 2;
			break;
		case 'C': c.cost = 1; break;
		case 'S': c.simulate = optarg; break;
		case 'K':
			if (shard_arg(optarg, &c.shard_k, &c.shard_n))
				return 2;
			break;
		case 'o': only[c.n_only++] = optarg; break;
		case 's': sets[c.n_sets++] = optarg; break;
		case 'f': c.force = 1; break;
		case 'p': c.plugin_path = optarg; break;
		case 'V': printf("snm %s (plugin ABI %u.%u)\n", PACKAGE_VERSION, SNM_PLUGIN_ABI_MAJOR,
		                 SNM_PLUGIN_ABI_MINOR); return 0;
		case 'h': want_help = 1; break;
		case ':':
			fprintf(stderr, "snm: %s needs a value (snm --help)\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "snm: unknown option '%s' (snm --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (want_help)               /* snm --help, snm run --help */
		return help(optind < argc ? 2 : 1, argv + optind - 1);
	if (optind >= argc) {        /* no command at all: the usage */
		snm_cmd_help(NULL, stderr);
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
		return snm_cmd_plugins(&c);
	}
	if (strcmp(cmd, "check") != 0 && strcmp(cmd, "run") != 0) {
		fprintf(stderr, "snm: unknown command '%s' (snm --help)\n", cmd);
		return 2;
	}
	if ((c.cost || c.simulate) && strcmp(cmd, "check") != 0) {
		fprintf(stderr, "snm: --cost and --simulate are options of snm check\n");
		return 2;
	}
	if (c.simulate && !c.cost) {
		fprintf(stderr, "snm: --simulate goes with --cost\n");
		return 2;
	}
	if (pos == NULL) {
		fprintf(stderr, "snm: '%s' needs a pipeline file (snm --help)\n", cmd);
		return 2;
	}
	/* the command line as given, for the line that says how to resume an interrupted run */
	if ((c.command = snm_cmd_command_line(argc, given)) == NULL) {
		fprintf(stderr, "snm: out of memory\n");
		return 1;
	}
	rc = strcmp(cmd, "check") == 0 ? snm_cmd_check(&c, pos) : snm_cmd_run(&c, pos);
	free((char *)c.command);
	return rc;
}
