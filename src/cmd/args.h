/* args.h (the `snm` command): what its subcommands share in reading their arguments. */
#ifndef SNM_CMD_ARGS_H
#define SNM_CMD_ARGS_H

/* A whole decimal number in [1, max] as the value of option opt: *out and 0, or one line on
 * stderr, "<prog>: <opt>: expected a whole number from 1 to <max>, got '<text>'", and -1
 * (trailing characters, overflow and an empty text are refused). */
int snm_cmd_count(const char *prog, const char *opt, const char *text, long max, int *out);

/* 1 when key is a run key that names a file inside a results directory: components of letters,
 * digits, '.', '_' and '-', none of them "." or "..", no leading or trailing '/'. */
int snm_cmd_safe_key(const char *key);

#endif
