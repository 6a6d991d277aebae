/* cmd_fs.c: filesystem helpers of the `snm` command (cmd_fs.h). */
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cmd_fs.h"

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void snm_cmd_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int snm_cmd_safe_key(const char *key)
{
	size_t n = strlen(key), start = 0;
	if (n == 0 || key[0] == '/' || key[n - 1] == '/')
		return 0;
	for (size_t i = 0; i <= n; ++i) {
		char ch = key[i];
		if (ch == '/' || ch == '\0') {
			size_t len = i - start;
			if (len == 0 || (len == 1 && key[start] == '.')
			    || (len == 2 && key[start] == '.' && key[start + 1] == '.'))
				return 0;
			start = i + 1;
		} else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
		             || ch == '.' || ch == '_' || ch == '-')) {
			return 0;
		}
	}
	return 1;
}
