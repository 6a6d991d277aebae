/* help.h (the `snm` command): the help texts -- `snm help [COMMAND]`, `snm --help` and every
 * subcommand's --help print them (help.c), one text per subcommand: what it does, every option,
 * an example.  doc/snm.1 says the same at length; tests/test_help.sh holds the two together. */
#ifndef SNM_CMD_HELP_H
#define SNM_CMD_HELP_H

#include <stdio.h>

/* Writes the help of subcommand cmd ("run") to f, or with cmd NULL the overview: the usage of
 * every subcommand and where to read more.  Returns 0, or -1 (writing nothing) when there is no
 * such subcommand. */
int snm_cmd_help(const char *cmd, FILE *f);

#endif
