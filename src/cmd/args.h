/* args.h (the `snm` command): what its subcommands share in reading their arguments. */
#ifndef SNM_CMD_ARGS_H
#define SNM_CMD_ARGS_H

/* A whole decimal number in [1, max] as the value of option opt: *out and 0, or one line on
 * stderr, "<prog>: <opt>: expected a whole number from 1 to <max>, got '<text>'", and -1
 * (trailing characters, overflow and an empty text are refused). */
int snm_cmd_count(const char *prog, const char *opt, const char *text, long max, int *out);

/* The same for a whole number in [min, max]: "expected a whole number from <min> to <max>". */
int snm_cmd_whole(const char *prog, const char *opt, const char *text, long min, long max, int *out);

/* The command line argv[0..argc-1] as one string a POSIX shell reads back into the same words:
 * a word of letters, digits and _ . / : = , + @ % - as it is, any other in single quotes; the
 * program as the user called it (libtool's wrapper runs the build tree's snm as ".libs/snm" or
 * ".libs/lt-snm": that is dropped).  A new string (free()), or NULL when out of memory. */
char *snm_cmd_command_line(int argc, char *const argv[]);

/* 1 when key is a run key that names a file inside a results directory: components of letters,
 * digits, '.', '_' and '-', none of them "." or "..", no leading or trailing '/'. */
int snm_cmd_safe_key(const char *key);

#endif
