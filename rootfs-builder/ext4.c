/* ext4 image building by running mke2fs -d; nothing half-written is left behind on failure. */
#define _GNU_SOURCE
#include "rootfs-builder/ext4.h"

#include "base/cleanup.h"
#include "base/err.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static __thread uint64_t tree_bytes;

static int add_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	/* One inode (256 bytes) per entry plus data rounded up to 4 KiB blocks. */
	tree_bytes += 256;
	if (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode) || S_ISDIR(st->st_mode))
		tree_bytes += ((uint64_t)st->st_size + 4095) & ~4095ull;
	return 0;
}

int rootfs_tree_size(const char *dir, uint64_t *ret, struct sbx_err *err)
{
	tree_bytes = 0;
	if (nftw(dir, add_entry, 64, FTW_PHYS) != 0)
		return sbx_fail(err, errno, "walk '%s'", dir);
	*ret = tree_bytes;
	return 0;
}

static int run_mke2fs(const char *dir, const char *img, uint64_t size_kib, struct sbx_err *err)
{
	char size_arg[32];
	snprintf(size_arg, sizeof(size_arg), "%lluk", (unsigned long long)size_kib);
	pid_t pid = fork();
	if (pid < 0)
		return sbx_fail(err, errno, "fork mke2fs");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		execlp("mke2fs", "mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-O",
		       "^has_journal,^resize_inode", "-E", "root_owner=0:0", "-L", "sbx-rootfs",
		       "-m", "0", "-d", dir, img, size_arg, (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return sbx_fail(err, errno, "wait for mke2fs");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return sbx_failx(err, ENOENT, "mke2fs not found (install e2fsprogs)");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return sbx_failx(err, EIO, "mke2fs -d '%s' failed (status %d)", dir, status);
	return 0;
}

int ext4_build_image(const char *dir, const char *out, struct sbx_err *err)
{
	uint64_t used;
	int r = rootfs_tree_size(dir, &used, err);
	if (r < 0)
		return r;
	/* Slack for the inode tables, bitmaps and directory blocks mke2fs adds. */
	uint64_t size = used + used / 4 + (16ull << 20);
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out, (int)getpid()) >= (int)sizeof(tmp))
		return sbx_failx(err, ENAMETOOLONG, "image path '%s' too long", out);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return sbx_fail(err, errno, "create '%s'", tmp);
	r = run_mke2fs(dir, tmp, size / 1024, err);
	if (r == 0 && fsync(fd) < 0)
		r = sbx_fail(err, errno, "fsync '%s'", tmp);
	if (r == 0 && rename(tmp, out) < 0)
		r = sbx_fail(err, errno, "rename to '%s'", out);
	if (r < 0)
		unlink(tmp);
	return r;
}
