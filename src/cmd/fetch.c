/* fetch.c: the `snm fetch` subcommand -- fetch a dataset into data/<name>/ (see fetcher.h
 * for the sources, the checks and the layout).
 *
 *   snm fetch mnist|fashion-mnist|cifar10 [--from URL|DIR] [--data DIR]
 *
 * Progress lines go to stdout, the one-line error to stderr.  Exit status: 0 fetched or already
 * present, 1 the fetch failed (nothing was left in DIR/<name>), 2 a usage error.  The options are
 * parsed here by hand (not getopt), so the command keeps no global parsing state between calls. */
#include <stdio.h>
#include <string.h>
#include "fetcher.h"
#include "help.h"

static void print_note(void *ctx, const char *line)
{
	printf("%s: %s\n", (const char *)ctx, line);
	fflush(stdout);
}

/* The value of option opt at argv[*i] ("--opt V" or "--opt=V"); NULL when argv[*i] is not it, or
 * with *missing set when the value is absent or empty. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt, int *missing)
{
	size_t len = strlen(opt);
	if (strncmp(argv[*i], opt, len) != 0)
		return NULL;
	if (argv[*i][len] == '=') {
		if (argv[*i][len + 1] == '\0') {      /* --from= : an empty value, not the default */
			*missing = 1;
			return NULL;
		}
		return argv[*i] + len + 1;
	}
	if (argv[*i][len] != '\0')
		return NULL;
	if (*i + 1 >= argc || argv[*i + 1][0] == '\0') {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

int snm_cmd_fetch(int argc, char **argv)
{
	snm_fetch_opts o = { NULL, NULL, print_note, NULL };
	snm_fetch_result res;
	snm_error e;
	const char *name = NULL;
	int known = 0;

	for (int i = 1; i < argc; ++i) {
		const char *v;
		int missing = 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			snm_cmd_help("fetch", stdout);
			return 0;
		}
		if ((v = opt_value(argc, argv, &i, "--from", &missing)) != NULL)
			o.from = v;
		else if ((v = opt_value(argc, argv, &i, "--data", &missing)) != NULL)
			o.data = v;
		else if (missing) {
			fprintf(stderr, "snm fetch: %s needs a value (snm fetch --help)\n", argv[i]);
			return 2;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			fprintf(stderr, "snm fetch: unknown option '%s' (snm fetch --help)\n", argv[i]);
			return 2;
		} else if (name != NULL) {
			fprintf(stderr, "snm fetch: unexpected argument '%s' (snm fetch --help)\n", argv[i]);
			return 2;
		} else
			name = argv[i];
	}
	if (name == NULL) {
		fprintf(stderr, "snm fetch: which dataset? mnist, fashion-mnist or cifar10 (snm fetch --help)\n");
		return 2;
	}
	for (const char *const *n = snm_fetch_names(); *n; ++n)
		known |= strcmp(*n, name) == 0;
	if (!known) {
		fprintf(stderr, "snm fetch: unknown dataset '%s' (mnist, fashion-mnist or cifar10)\n", name);
		return 2;
	}
	o.ctx = (void *)name;
	if (snm_fetch_dataset(name, &o, &res, &e) != SNM_OK) {
		fprintf(stderr, "snm: %s\n", e.msg);
		return 1;
	}
	if (res.present)
		printf("%s: %s is already there (checked: %ld training, %ld test examples; remove it to "
		       "fetch again)\n", name, res.dest, res.n_train, res.n_test);
	else
		printf("%s: %s ready (%d files: %ld training, %ld test examples)\n", name, res.dest, res.n_files,
		       res.n_train, res.n_test);
	printf("%s: use it as   data: {type: %s, dir: %s}\n", name, strcmp(name, "cifar10") == 0 ? "cifar10"
	       : "idx", res.dest);
	return 0;
}
