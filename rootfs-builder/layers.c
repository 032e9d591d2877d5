/* Layer application. Every path is resolved with openat2(RESOLVE_BENEATH) relative to the
 * rootfs fd, so a symlink planted by an earlier entry cannot redirect a write outside it. */
#define _GNU_SOURCE
#include "rootfs-builder/layers.h"

#include "base/cleanup.h"
#include "base/err.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define LAYER_PATH_MAX 4096
#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

/* Paths this layer created, so an opaque marker only hides what lower layers had. */
struct created_set {
	char **paths;
	size_t n, cap;
};

static void created_free(struct created_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->paths[i]);
	free(s->paths);
}

static int created_add(struct created_set *s, const char *path)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		char **p = realloc(s->paths, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->paths = p;
		s->cap = cap;
	}
	s->paths[s->n] = strdup(path);
	if (!s->paths[s->n])
		return -ENOMEM;
	s->n++;
	return 0;
}

static int created_has(const struct created_set *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->paths[i], path) == 0)
			return 1;
	return 0;
}

int layer_clean_path(const char *name, char *ret, size_t ret_size, struct sbx_err *err)
{
	if (name[0] == '/')
		return sbx_failx(err, EPERM, "layer entry '%s': absolute path", name);
	size_t out = 0;
	const char *p = name;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return sbx_failx(err, EPERM, "layer entry '%s': '..' escapes the rootfs",
					 name);
		if (len > 0 && !(len == 1 && p[0] == '.')) {
			if (out + len + 2 > ret_size)
				return sbx_failx(err, ENAMETOOLONG,
						 "layer entry '%.64s...': name too long", name);
			if (out)
				ret[out++] = '/';
			memcpy(ret + out, p, len);
			out += len;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	ret[out] = '\0';
	return 0;
}

static int open_beneath(int rootfd, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, rootfd, path[0] ? path : ".", &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* Opens (creating as needed, mode 0755) the directory `dir` beneath rootfd. */
static int open_parent(int rootfd, const char *dir, const char *entry, struct sbx_err *err)
{
	int fd = open_beneath(rootfd, dir, O_DIRECTORY | O_RDONLY);
	if (fd >= 0)
		return fd;
	if (fd == -EXDEV || fd == -ELOOP)
		return sbx_failx(err, EPERM,
				 "layer entry '%s': path escapes the rootfs through a symlink",
				 entry);
	if (fd != -ENOENT)
		return sbx_fail(err, -fd, "layer entry '%s': open parent", entry);
	/* Create missing components one at a time, each resolved beneath the root. */
	char partial[LAYER_PATH_MAX];
	size_t len = strlen(dir);
	for (size_t i = 0; i <= len; i++) {
		if (dir[i] != '/' && dir[i] != '\0')
			continue;
		memcpy(partial, dir, i);
		partial[i] = '\0';
		_cleanup_close_ int d = open_beneath(rootfd, partial, O_DIRECTORY | O_RDONLY);
		if (d >= 0)
			continue;
		if (d == -EXDEV || d == -ELOOP)
			return sbx_failx(
			    err, EPERM,
			    "layer entry '%s': path escapes the rootfs through a symlink", entry);
		const char *slash = strrchr(partial, '/');
		char up[LAYER_PATH_MAX];
		const char *base = partial;
		up[0] = '\0';
		if (slash) {
			memcpy(up, partial, (size_t)(slash - partial));
			up[slash - partial] = '\0';
			base = slash + 1;
		}
		_cleanup_close_ int upfd = open_beneath(rootfd, up, O_DIRECTORY | O_RDONLY);
		if (upfd < 0)
			return sbx_fail(err, -upfd, "layer entry '%s': open '%s'", entry, up);
		if (mkdirat(upfd, base, 0755) < 0 && errno != EEXIST)
			return sbx_fail(err, errno, "layer entry '%s': mkdir '%s'", entry, partial);
	}
	fd = open_beneath(rootfd, dir, O_DIRECTORY | O_RDONLY);
	if (fd < 0)
		return sbx_fail(err, -fd, "layer entry '%s': open parent", entry);
	return fd;
}

/* Calls fn(dirfd, name, data) for each entry of the directory `fd` refers to (fd is consumed);
 * stops at the first error. */
static int for_each_child(int fd, int (*fn)(int dirfd, const char *name, void *data), void *data)
{
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		int r = fn(dirfd(d), de->d_name, data);
		if (r < 0)
			return r;
	}
	return 0;
}

static int remove_tree_at(int parent, const char *name);

static int remove_child(int dirfd, const char *name, void *data)
{
	return remove_tree_at(dirfd, name);
}

/* Removes parent/name, recursively for directories; never follows symlinks. */
static int remove_tree_at(int parent, const char *name)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(parent, name, 0) < 0 ? -errno : 0;
	int fd = openat(parent, name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = for_each_child(fd, remove_child, NULL);
	if (r < 0)
		return r;
	return unlinkat(parent, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

static void split(const char *path, char *dir, const char **base)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		dir[0] = '\0';
		*base = path;
		return;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	*base = slash + 1;
}

struct opaque_ctx {
	const char *dir;
	const struct created_set *created;
};

/* Children this layer did not create came from lower layers: the opaque marker hides them. */
static int remove_if_lower(int dirfd, const char *name, void *data)
{
	const struct opaque_ctx *o = data;
	char child[LAYER_PATH_MAX];
	snprintf(child, sizeof(child), "%s%s%s", o->dir, o->dir[0] ? "/" : "", name);
	return created_has(o->created, child) ? 0 : remove_tree_at(dirfd, name);
}

static int apply_opaque(int parentfd, const char *dir, const struct created_set *created)
{
	int fd = dup(parentfd);
	if (fd < 0)
		return -errno;
	struct opaque_ctx o = {.dir = dir, .created = created};
	return for_each_child(fd, remove_if_lower, &o);
}

static int copy_data(struct archive *a, int fd, uint64_t *bytes)
{
	const void *buf;
	size_t size;
	int64_t offset;
	int r;
	while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
		const char *p = buf;
		/* Sparse entries come with offsets; pwrite keeps holes. */
		while (size > 0) {
			ssize_t w = pwrite(fd, p, size, offset);
			if (w < 0)
				return -errno;
			p += w;
			size -= (size_t)w;
			offset += w;
			*bytes += (uint64_t)w;
		}
	}
	return r == ARCHIVE_EOF ? 0 : -EIO;
}

/* Returns 0 or -errno. Ownership is best effort when not running as root. */
static int apply_metadata(int parentfd, const char *base, struct archive_entry *e, int is_link,
			  int fd)
{
	/* Ownership first: chown clears set-id bits that chmod then restores. */
	if (fchownat(parentfd, base, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
		     AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno != EPERM)
		return -errno;
	if (!is_link && fchmodat(parentfd, base, archive_entry_perm(e) & 07777, 0) < 0)
		return -errno;
	if (fd >= 0) {
		const char *name;
		const void *value;
		size_t size;
		archive_entry_xattr_reset(e);
		while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
			if (fsetxattr(fd, name, value, size, 0) < 0 && errno != ENOTSUP &&
			    errno != EPERM)
				return -errno;
	}
	struct timespec ts[2] = {
	    {.tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e)},
	    {.tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e)},
	};
	return utimensat(parentfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int create_entry(struct archive *a, struct archive_entry *e, int rootfd, int parentfd,
			const char *path, const char *base, uint64_t *bytes, struct sbx_err *err)
{
	mode_t type = archive_entry_filetype(e);
	const char *hardlink = archive_entry_hardlink(e);
	struct stat st;
	int exists = fstatat(parentfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;

	/* A directory over a directory keeps its contents; anything else replaces. */
	if (exists && !(type == AE_IFDIR && !hardlink && S_ISDIR(st.st_mode))) {
		int r = remove_tree_at(parentfd, base);
		if (r < 0)
			return sbx_fail(err, -r, "layer entry '%s': replace", path);
		exists = 0;
	}
	if (hardlink) {
		char target[LAYER_PATH_MAX], tdir[LAYER_PATH_MAX];
		const char *tbase;
		int r = layer_clean_path(hardlink, target, sizeof(target), err);
		if (r < 0)
			return r;
		split(target, tdir, &tbase);
		_cleanup_close_ int tfd = open_parent(rootfd, tdir, path, err);
		if (tfd < 0)
			return tfd;
		if (linkat(tfd, tbase, parentfd, base, 0) < 0)
			return sbx_fail(err, errno, "layer entry '%s': link to '%s'", path, target);
		return 0;
	}
	int fd = -1, r;
	switch (type) {
	case AE_IFREG: {
		fd = openat(parentfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd < 0)
			return sbx_fail(err, errno, "layer entry '%s': create", path);
		r = copy_data(a, fd, bytes);
		if (r < 0) {
			close(fd);
			return sbx_fail(err, -r, "layer entry '%s': write", path);
		}
		break;
	}
	case AE_IFDIR:
		if (!exists && mkdirat(parentfd, base, 0700) < 0)
			return sbx_fail(err, errno, "layer entry '%s': mkdir", path);
		fd = openat(parentfd, base, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		break;
	case AE_IFLNK:
		if (symlinkat(archive_entry_symlink(e), parentfd, base) < 0)
			return sbx_fail(err, errno, "layer entry '%s': symlink", path);
		r = apply_metadata(parentfd, base, e, 1, -1);
		return r < 0 ? sbx_fail(err, -r, "layer entry '%s': metadata", path) : 0;
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		if (mknodat(parentfd, base, type | (archive_entry_perm(e) & 07777),
			    makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e))) < 0)
			return sbx_fail(err, errno, "layer entry '%s': mknod", path);
		break;
	default:
		return 0; /* sockets and unknown types are not part of an image */
	}
	r = apply_metadata(parentfd, base, e, 0, fd);
	if (fd >= 0)
		close(fd);
	return r < 0 ? sbx_fail(err, -r, "layer entry '%s': metadata", path) : 0;
}

static int apply_entry(struct archive *a, struct archive_entry *e, int rootfd,
		       struct created_set *created, struct layer_stats *stats, struct sbx_err *err)
{
	char path[LAYER_PATH_MAX], dir[LAYER_PATH_MAX];
	const char *name = archive_entry_pathname(e);
	if (!name)
		return sbx_failx(err, EINVAL, "layer entry without a name");
	int r = layer_clean_path(name, path, sizeof(path), err);
	if (r < 0)
		return r;
	if (!path[0])
		return 0; /* the root itself */
	const char *base;
	split(path, dir, &base);
	_cleanup_close_ int parentfd = open_parent(rootfd, dir, name, err);
	if (parentfd < 0)
		return parentfd;

	if (strncmp(base, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0) {
		stats->whiteouts++;
		if (strcmp(base, WHITEOUT_OPAQUE) == 0)
			r = apply_opaque(parentfd, dir, created);
		else
			r = remove_tree_at(parentfd, base + strlen(WHITEOUT_PREFIX));
		return r < 0 ? sbx_fail(err, -r, "layer entry '%s': whiteout", name) : 0;
	}
	r = create_entry(a, e, rootfd, parentfd, path, base, &stats->bytes, err);
	if (r < 0)
		return r;
	stats->entries++;
	return created_add(created, path) < 0 ? sbx_fail(err, ENOMEM, "track '%s'", path) : 0;
}

struct archive *layer_tar_reader_new(void)
{
	struct archive *a = archive_read_new();
	if (!a)
		return NULL;
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_none(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	return a;
}

int layer_apply(int rootfd, int layer_fd, struct layer_stats *stats, struct sbx_err *err)
{
	struct layer_stats local = {0};
	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	struct archive *a = layer_tar_reader_new();
	if (!a)
		return sbx_fail(err, ENOMEM, "allocate archive reader");
	struct created_set created = {0};
	int r;
	if (archive_read_open_fd(a, layer_fd, 64 << 10) != ARCHIVE_OK) {
		r = sbx_failx(err, EINVAL, "layer is not a (compressed) tar: %s",
			      archive_error_string(a));
		goto free_archive;
	}
	for (;;) {
		struct archive_entry *e;
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF) {
			r = 0;
			break;
		}
		if (ar < ARCHIVE_WARN) {
			r = sbx_failx(err, EINVAL, "layer is corrupt: %s", archive_error_string(a));
			break;
		}
		r = apply_entry(a, e, rootfd, &created, stats, err);
		if (r < 0)
			break;
	}
free_archive:
	created_free(&created);
	archive_read_free(a);
	return r;
}
