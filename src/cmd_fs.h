/* cmd_fs.h (the `snm` command, not libsnm): the filesystem helpers its subcommands share (making
 * directories is libsnm's: fs.h). */
#ifndef SNM_CMD_FS_H
#define SNM_CMD_FS_H

/* Removes the directory tree dir (files, links and directories, not following links), best
 * effort; for scratch directories this command made itself. */
void snm_cmd_rmtree(const char *dir);

/* 1 when key is a run key that names a file inside a results directory: components of letters,
 * digits, '.', '_' and '-', none of them "." or "..", no leading or trailing '/'. */
int snm_cmd_safe_key(const char *key);

#endif
