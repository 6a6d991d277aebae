/* cmd_args.h (the `snm` command, not libsnm): argument parsing its subcommands share. */
#ifndef SNM_CMD_ARGS_H
#define SNM_CMD_ARGS_H

/* A whole decimal number in [1, max] as the value of option opt: *out and 0, or one line on
 * stderr, "<prog>: <opt>: expected a whole number from 1 to <max>, got '<text>'", and -1
 * (trailing characters, overflow and an empty text are refused). */
int snm_cmd_count(const char *prog, const char *opt, const char *text, long max, int *out);

#endif
