/* cmd_fs.h (the `snm` command, not libsnm): the filesystem helpers its subcommands share. */
#ifndef SNM_CMD_FS_H
#define SNM_CMD_FS_H

#include "snm/error.h"

/* Creates the missing directories above the file `path` ("a/b/c.h5": a and a/b), mode 0777 less
 * the umask.  SNM_EIO naming the directory that cannot be made (a file in the way, permissions). */
int snm_cmd_mkparents(const char *path, snm_error *err);

/* Removes the directory tree dir (files, links and directories, not following links), best
 * effort; for scratch directories this command made itself. */
void snm_cmd_rmtree(const char *dir);

/* 1 when key is a run key that names a file inside a results directory: components of letters,
 * digits, '.', '_' and '-', none of them "." or "..", no leading or trailing '/'. */
int snm_cmd_safe_key(const char *key);

#endif
