/* Tree to tar through libarchive's writer. The walk is by path relative to the tree's fd, opened
 * with RESOLVE_NO_SYMLINKS, so it holds no fd per level (a deep tree cannot run out of fds) and
 * never descends through a symlink. */
#define _GNU_SOURCE
#include "rootfs-builder/tarball.h"

#include "base/cleanup.h"
#include "base/err.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#define TB_PATH_MAX 4096
#define TB_XATTR_MAX 65536 /* XATTR_LIST_MAX and XATTR_SIZE_MAX */
#define TB_COPY_BUF (1u << 20)

struct tb_ctx {
	int rootfd;
	struct archive *a;
	struct archive_entry_linkresolver *links;
	char path[TB_PATH_MAX]; /* of the entry being written, relative to rootfd; "" = the root */
	char *buf;              /* TB_COPY_BUF bytes: file data, then xattr names and values */
	struct sbx_err *err;
};

static int tb_open(struct tb_ctx *c, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
	int fd =
	    (int)syscall(SYS_openat2, c->rootfd, c->path[0] ? c->path : ".", &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

static int tb_archive_fail(struct tb_ctx *c, const char *what)
{
	int code = archive_errno(c->a) > 0 ? archive_errno(c->a) : EIO;
	return sbx_failx(c->err, code, "tar: %s '%s': %s", what, c->path,
			 archive_error_string(c->a) ? archive_error_string(c->a) : "failed");
}

static int add_xattrs(struct tb_ctx *c, int fd, struct archive_entry *e)
{
	char *names = c->buf, *value = c->buf + TB_XATTR_MAX;
	ssize_t len = flistxattr(fd, names, TB_XATTR_MAX);
	if (len < 0 && errno == ENOTSUP)
		return 0;
	if (len < 0)
		return sbx_fail(c->err, errno, "list xattrs of '%s'", c->path);
	for (char *n = names; n < names + len; n += strlen(n) + 1) {
		/* The build host's label, not the image's. */
		if (!strcmp(n, "security.selinux"))
			continue;
		ssize_t vlen = fgetxattr(fd, n, value, TB_XATTR_MAX);
		if (vlen < 0)
			return sbx_fail(c->err, errno, "xattr '%s' of '%s'", n, c->path);
		archive_entry_xattr_add_entry(e, n, value, (size_t)vlen);
	}
	return 0;
}

/* The entry's header (path, type, numeric owner, mode, mtime, symlink target, xattrs). */
static int fill_entry(struct tb_ctx *c, int fd, const struct stat *st, struct archive_entry *e)
{
	archive_entry_copy_stat(e, st);
	/* atime and ctime would only make the same tree give different bytes. */
	archive_entry_unset_atime(e);
	archive_entry_unset_ctime(e);
	archive_entry_unset_birthtime(e);
	archive_entry_copy_pathname(e, c->path[0] ? c->path : ".");
	if (S_ISLNK(st->st_mode)) {
		char target[TB_PATH_MAX];
		ssize_t n = readlinkat(c->rootfd, c->path, target, sizeof(target));
		if (n < 0)
			return sbx_fail(c->err, errno, "readlink '%s'", c->path);
		if ((size_t)n == sizeof(target))
			return sbx_failx(c->err, ENAMETOOLONG, "symlink '%s': target too long",
					 c->path);
		target[n] = '\0';
		archive_entry_copy_symlink(e, target);
	}
	return fd >= 0 ? add_xattrs(c, fd, e) : 0;
}

static int copy_data(struct tb_ctx *c, int fd, int64_t size)
{
	int64_t done = 0;
	while (done < size) {
		ssize_t n = read(fd, c->buf, TB_COPY_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sbx_fail(c->err, errno, "read '%s'", c->path);
		if (n == 0 || n > size - done)
			return sbx_failx(c->err, EIO, "'%s' changed size while being archived",
					 c->path);
		if (archive_write_data(c->a, c->buf, (size_t)n) != n)
			return tb_archive_fail(c, "write data of");
		done += n;
	}
	return 0;
}

/* Writes c->path: its header, then its data unless it is a later name of a hard link. */
static int write_entry(struct tb_ctx *c, const struct stat *st)
{
	_cleanup_close_ int fd = -1;
	/* Only files and directories are opened: for data and for xattrs (which an O_PATH fd to a
	 * symlink or device cannot read). */
	if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) {
		fd = tb_open(c, O_RDONLY | (S_ISDIR(st->st_mode) ? O_DIRECTORY : 0));
		if (fd < 0)
			return sbx_fail(c->err, -fd, "open '%s'", c->path);
	}
	struct archive_entry *e = archive_entry_new(), *spare = NULL;
	if (!e)
		return sbx_fail(c->err, ENOMEM, "tar entry");
	int r = fill_entry(c, fd, st, e);
	if (r < 0)
		goto free_entry;
	/* Like tar: the first name of a file carries the data, later ones link to it. */
	archive_entry_linkify(c->links, &e, &spare);
	bool is_link = archive_entry_hardlink(e) != NULL;
	if (is_link)
		archive_entry_set_size(e, 0);
	if (archive_write_header(c->a, e) < ARCHIVE_WARN) {
		r = tb_archive_fail(c, "write header of");
		goto free_entry;
	}
	if (S_ISREG(st->st_mode) && !is_link)
		r = copy_data(c, fd, st->st_size);
free_entry:
	archive_entry_free(e);
	archive_entry_free(spare); /* the tar strategy never returns one; freeing NULL is fine */
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The sorted names in directory c->path (sorted so one tree always gives the same archive). */
static int read_names(struct tb_ctx *c, char ***ret, size_t *ret_n)
{
	int fd = tb_open(c, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return sbx_fail(c->err, -fd, "open directory '%s'", c->path);
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return sbx_fail(c->err, errno, "open directory '%s'", c->path);
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **p = realloc(names, cap * sizeof(*p));
			if (!p)
				goto nomem;
			names = p;
		}
		if (!(names[n] = strdup(de->d_name)))
			goto nomem;
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_names);
	*ret = names;
	*ret_n = n;
	return 0;
nomem:
	free_names(names, n);
	return sbx_fail(c->err, ENOMEM, "list '%s'", c->path);
}

/* Writes the entries under directory c->path (of length len), each directory before its
 * contents. */
static int write_dir(struct tb_ctx *c, size_t len)
{
	char **names = NULL;
	size_t n = 0;
	int r = read_names(c, &names, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		size_t sub = len + (len ? 1 : 0) + strlen(names[i]);
		if (sub >= sizeof(c->path)) {
			r = sbx_failx(c->err, ENAMETOOLONG, "path under '%s' too long", c->path);
			break;
		}
		snprintf(c->path + len, sizeof(c->path) - len, "%s%s", len ? "/" : "", names[i]);
		struct stat st;
		if (fstatat(c->rootfd, c->path, &st, AT_SYMLINK_NOFOLLOW) < 0)
			r = sbx_fail(c->err, errno, "stat '%s'", c->path);
		else if (!S_ISSOCK(st.st_mode))
			r = write_entry(c, &st);
		if (r == 0 && S_ISDIR(st.st_mode))
			r = write_dir(c, sub);
		c->path[len] = '\0';
	}
	free_names(names, n);
	return r;
}

static int write_tree(struct tb_ctx *c, int fd)
{
	struct stat st;
	if (fstat(c->rootfd, &st) < 0)
		return sbx_fail(c->err, errno, "stat the tree");
	if (archive_write_set_format_pax_restricted(c->a) != ARCHIVE_OK)
		return tb_archive_fail(c, "open");
	/* xattrs once, as SCHILY.xattr.* (which GNU tar also reads), not twice. Best effort: an
	 * older libarchive without the option writes both. */
	archive_write_set_format_option(c->a, "pax", "xattrheader", "SCHILY");
	if (archive_write_set_bytes_per_block(c->a, 64 << 10) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(c->a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(c->a, fd) != ARCHIVE_OK)
		return tb_archive_fail(c, "open");
	c->path[0] = '\0';
	int r = write_entry(c, &st); /* "./": the root's own mode and owner */
	if (r == 0)
		r = write_dir(c, 0);
	if (r == 0 && archive_write_close(c->a) != ARCHIVE_OK)
		r = tb_archive_fail(c, "finish");
	return r;
}

int tarball_build(const char *dir, const char *out, struct sbx_err *err)
{
	char tmp[TB_PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", out, (int)getpid()) >= (int)sizeof(tmp))
		return sbx_failx(err, ENAMETOOLONG, "tar path '%s' too long", out);
	_cleanup_close_ int rootfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (rootfd < 0)
		return sbx_fail(err, errno, "open '%s'", dir);
	_cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return sbx_fail(err, errno, "create '%s'", tmp);
	struct tb_ctx c = {.rootfd = rootfd,
			   .a = archive_write_new(),
			   .links = archive_entry_linkresolver_new(),
			   .buf = malloc(TB_COPY_BUF),
			   .err = err};
	int r;
	if (!c.a || !c.links || !c.buf) {
		r = sbx_fail(err, ENOMEM, "tar writer");
	} else {
		archive_entry_linkresolver_set_strategy(c.links, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
		r = write_tree(&c, fd);
	}
	if (r == 0 && fsync(fd) < 0)
		r = sbx_fail(err, errno, "fsync '%s'", tmp);
	if (r == 0 && rename(tmp, out) < 0)
		r = sbx_fail(err, errno, "rename to '%s'", out);
	if (c.a)
		archive_write_free(c.a);
	if (c.links)
		archive_entry_linkresolver_free(c.links);
	free(c.buf);
	if (r < 0)
		unlink(tmp);
	return r;
}
