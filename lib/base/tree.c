/* Directory trees: removal depth first with nftw (no symlink is followed). */
#define _GNU_SOURCE
#include "base/tree.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

int sbx_remove_tree(const char *path)
{
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 || errno == ENOENT)
		return 0;
	return errno ? -errno : -EIO;
}
