/* CopyFile: the host's bind-mount sources (/etc/hosts, resolv.conf, kubelet volumes) copied into
 * SBX_GUEST_SHARED_DIR, one directory, symlink or chunk of a regular file per call, for
 * containers to bind-mount. Names are resolved one at a time below that directory and never
 * through a symlink, so neither one sent earlier nor one a container planted in a volume it has
 * writable can carry a later write outside it. */
#define _GNU_SOURCE
#include "guest-agent/rpc/files.h"
#include "guest-agent/agent.h"
#include "guest-agent/rpc/rpc.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "base/guest-shared.h"
#include "proto/agent.pb-c.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RESOLVE_FLAGS (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV)
/* The guest tmpfs: room for page rounding of small files beyond the data cap, and an inode cap
 * (the data cap alone would let a million empty files through). */
#define SHARED_TMPFS_SLACK_MIB 16
#define SHARED_MAX_ENTRIES 16384u

static const char *path_of(const Sbx__Agent__V1__CopyFileRequest *in)
{
	return in->path ? in->path : "";
}

static const char *target_of(const Sbx__Agent__V1__CopyFileRequest *in)
{
	return in->link_target ? in->link_target : "";
}

static int check_path(const char *p, struct sbx_err *err)
{
	size_t n = strlen(p);

	if (n == 0)
		return sbx_failx(err, EINVAL, "path is empty");
	if (n > SBX_COPY_MAX_PATH)
		return sbx_failx(err, EINVAL, "path of %zu bytes is longer than %u", n,
				 SBX_COPY_MAX_PATH);
	if (p[0] == '/')
		return sbx_failx(err, EINVAL, "path '%.200s' is absolute", p);
	for (const char *s = p;;) {
		const char *e = strchrnul(s, '/');
		size_t len = (size_t)(e - s);

		if (len == 0)
			return sbx_failx(err, EINVAL, "path '%.200s' has an empty name", p);
		if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
			return sbx_failx(err, EINVAL, "path '%.200s' has a '%.*s' name", p,
					 (int)len, s);
		if (len > NAME_MAX)
			return sbx_failx(err, EINVAL,
					 "path '%.200s' has a name longer than %d bytes", p,
					 NAME_MAX);
		if (!*e)
			return 0;
		s = e + 1;
	}
}

int files_check(const Sbx__Agent__V1__CopyFileRequest *in, uint64_t max_total, struct sbx_err *err)
{
	uint32_t type = in->mode & S_IFMT;
	size_t tlen = strlen(target_of(in));

	if (check_path(path_of(in), err) < 0)
		return -err->code;
	if (in->mode & ~(uint32_t)(S_IFMT | 07777))
		return sbx_failx(err, EINVAL, "mode %#o has bits beyond the file type and 07777",
				 in->mode);
	if (type != S_IFDIR && type != S_IFREG && type != S_IFLNK)
		return sbx_failx(err, EINVAL,
				 "mode %#o: file type %#o is not a directory, regular file or "
				 "symlink",
				 in->mode, type);
	/* (uid_t)-1 is chown's "leave it alone", not an owner */
	if (in->uid == UINT32_MAX || in->gid == UINT32_MAX)
		return sbx_failx(err, EINVAL, "%s %u is not a valid id",
				 in->uid == UINT32_MAX ? "uid" : "gid", UINT32_MAX);
	if (in->data.len > SBX_COPY_MAX_DATA)
		return sbx_failx(err, EINVAL, "data of %zu bytes is more than %u per call",
				 in->data.len, SBX_COPY_MAX_DATA);
	if (type != S_IFREG && (in->data.len || in->offset))
		return sbx_failx(err, EINVAL, "only a regular file carries data or an offset");
	if (type == S_IFLNK && tlen == 0)
		return sbx_failx(err, EINVAL, "symlink '%.200s' has no link_target", path_of(in));
	if (type != S_IFLNK && tlen)
		return sbx_failx(err, EINVAL, "only a symlink has a link_target");
	if (tlen > SBX_COPY_MAX_PATH)
		return sbx_failx(err, EINVAL, "link_target of %zu bytes is longer than %u", tlen,
				 SBX_COPY_MAX_PATH);
	if (in->offset > UINT64_MAX - in->data.len)
		return sbx_failx(err, EINVAL, "offset %llu + %zu bytes of data overflows",
				 (unsigned long long)in->offset, in->data.len);
	if (in->offset + in->data.len > max_total)
		return sbx_failx(err, ENOSPC,
				 "'%.200s' would end at byte %llu, past the shared directory's cap "
				 "of %llu bytes",
				 path_of(in), (unsigned long long)(in->offset + in->data.len),
				 (unsigned long long)max_total);
	return 0;
}

/* openat2 below dirfd; -errno on failure. */
static int open_below(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .mode = (flags & O_CREAT) ? mode : 0,
			       .resolve = RESOLVE_FLAGS};
	int fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

static const char *kind(mode_t m)
{
	return S_ISDIR(m)   ? "a directory"
	       : S_ISREG(m) ? "a regular file"
	       : S_ISLNK(m) ? "a symlink"
			    : "a special file";
}

/* The entry name in dirfd (shown in messages as shown) is in the way of what a request wants. */
static int in_the_way(int dirfd, const char *name, const char *shown, const char *want,
		      struct sbx_err *err)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return sbx_fail(err, errno, "stat '%.200s'", shown);
	return sbx_failx(err, EEXIST, "'%.200s' exists and is %s, not %s", shown, kind(st.st_mode),
			 want);
}

/* Opens (creating it 0755 if missing) the directory of every name of rel but the last, which
 * *ret_name then points to; rel is cut at each '/' on the way. */
static int open_parent(int rootfd, char *rel, char **ret_name, struct sbx_err *err)
{
	_cleanup_close_ int dfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	char *name = rel;

	if (dfd < 0)
		return sbx_fail(err, errno, "dup the shared directory");
	for (char *slash; (slash = strchr(name, '/')); name = slash + 1) {
		bool made;
		int fd;

		*slash = '\0';
		made = mkdirat(dfd, name, 0755) == 0;
		if (!made && errno != EEXIST)
			return sbx_fail(err, errno, "mkdir '%.200s'", rel);
		fd = open_below(dfd, name, O_RDONLY | O_DIRECTORY | O_NOCTTY, 0);
		if (fd == -ELOOP || fd == -ENOTDIR)
			return in_the_way(dfd, name, rel, "a directory", err);
		if (fd < 0)
			return sbx_fail(err, -fd, "open '%.200s'", rel);
		close(dfd);
		dfd = fd;
		/* the mode without the umask; the owner is the agent's, root */
		if (made && fchmod(dfd, 0755) < 0)
			return sbx_fail(err, errno, "chmod '%.200s'", rel);
		*slash = '/';
	}
	*ret_name = name;
	return TAKE_FD(dfd);
}

static int set_owner_mode(int fd, const Sbx__Agent__V1__CopyFileRequest *in, struct sbx_err *err)
{
	/* chown first: it clears set-id bits that fchmod then puts back */
	if (fchown(fd, in->uid, in->gid) < 0)
		return sbx_fail(err, errno, "chown '%.200s'", path_of(in));
	if (fchmod(fd, in->mode & 07777) < 0)
		return sbx_fail(err, errno, "chmod '%.200s'", path_of(in));
	return 0;
}

static int copy_dir(int dfd, const char *name, const Sbx__Agent__V1__CopyFileRequest *in,
		    struct sbx_err *err)
{
	_cleanup_close_ int fd = -1;

	if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
		return sbx_fail(err, errno, "mkdir '%.200s'", path_of(in));
	fd = open_below(dfd, name, O_RDONLY | O_DIRECTORY | O_NOCTTY, 0);
	if (fd == -ELOOP || fd == -ENOTDIR)
		return in_the_way(dfd, name, path_of(in), "a directory", err);
	if (fd < 0)
		return sbx_fail(err, -fd, "open '%.200s'", path_of(in));
	return set_owner_mode(fd, in, err);
}

static int copy_link(int dfd, const char *name, const Sbx__Agent__V1__CopyFileRequest *in,
		     struct sbx_err *err)
{
	struct stat st;

	if (symlinkat(target_of(in), dfd, name) < 0) {
		if (errno != EEXIST)
			return sbx_fail(err, errno, "symlink '%.200s'", path_of(in));
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return sbx_fail(err, errno, "stat '%.200s'", path_of(in));
		if (!S_ISLNK(st.st_mode))
			return in_the_way(dfd, name, path_of(in), "a symlink", err);
		if (unlinkat(dfd, name, 0) < 0 || symlinkat(target_of(in), dfd, name) < 0)
			return sbx_fail(err, errno, "replace symlink '%.200s'", path_of(in));
	}
	if (fchownat(dfd, name, in->uid, in->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return sbx_fail(err, errno, "chown '%.200s'", path_of(in));
	return 0;
}

static int write_at(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w, n -= (size_t)w, off += (uint64_t)w;
	}
	return 0;
}

static int copy_reg(struct files_root *root, int dfd, const char *name,
		    const Sbx__Agent__V1__CopyFileRequest *in, struct sbx_err *err)
{
	const char *path = path_of(in);
	uint64_t end = in->offset + in->data.len, size, grow;
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	/* O_NONBLOCK: a FIFO in the way must not hang the call (it fails ENXIO or opens) */
	fd = open_below(dfd, name, O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY, 0600);
	if (fd == -ELOOP || fd == -EISDIR || fd == -ENXIO || fd == -ENOTDIR)
		return in_the_way(dfd, name, path, "a regular file", err);
	if (fd < 0)
		return sbx_fail(err, -fd, "open '%.200s'", path);
	if (fstat(fd, &st) < 0)
		return sbx_fail(err, errno, "stat '%.200s'", path);
	if (!S_ISREG(st.st_mode))
		return in_the_way(dfd, name, path, "a regular file", err);
	/* a hard link made by a container would let this write land in another copy */
	if (st.st_nlink > 1)
		return sbx_failx(err, EEXIST, "'%.200s' has %ju hard links", path,
				 (uintmax_t)st.st_nlink);
	size = (uint64_t)st.st_size;
	if (in->offset == 0) {
		if (ftruncate(fd, 0) < 0)
			return sbx_fail(err, errno, "truncate '%.200s'", path);
		root->used -= size < root->used ? size : root->used;
		size = 0;
	}
	grow = end > size ? end - size : 0;
	if (root->used > root->max_total || grow > root->max_total - root->used)
		return sbx_failx(err, ENOSPC,
				 "the shared directory is full: '%.200s' needs %llu more bytes, "
				 "%llu of %llu are used",
				 path, (unsigned long long)grow, (unsigned long long)root->used,
				 (unsigned long long)root->max_total);
	r = write_at(fd, in->data.data, in->data.len, in->offset);
	/* count what the file grew by, even when the write stopped half-way */
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > size)
		root->used += (uint64_t)st.st_size - size;
	if (r < 0)
		return sbx_fail(err, -r, "write '%.200s'", path);
	return set_owner_mode(fd, in, err);
}

int files_copy(struct files_root *root, const Sbx__Agent__V1__CopyFileRequest *in,
	       struct sbx_err *err)
{
	char rel[SBX_COPY_MAX_PATH + 1], *name = NULL;
	_cleanup_close_ int dfd = -1;

	if (files_check(in, root->max_total, err) < 0)
		return -err->code;
	snprintf(rel, sizeof(rel), "%s", path_of(in));
	dfd = open_parent(root->fd, rel, &name, err);
	if (dfd < 0)
		return dfd;
	switch (in->mode & S_IFMT) {
	case S_IFDIR:
		return copy_dir(dfd, name, in, err);
	case S_IFLNK:
		return copy_link(dfd, name, in, err);
	default:
		return copy_reg(root, dfd, name, in, err);
	}
}

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct files_root shared = {.fd = -1, .max_total = SBX_SHARED_MAX_TOTAL};

/* Mounts the shared directory's tmpfs on first use; with shared_lock held. */
static int shared_open(struct sbx_err *err)
{
	const char *dir = SBX_GUEST_SHARED_DIR;
	char opts[96];
	int e;

	if (shared.fd >= 0)
		return 0;
	if (mkdir(AGENT_RUN_DIR, 0700) < 0 && errno != EEXIST)
		return sbx_fail(err, errno, "mkdir %s", AGENT_RUN_DIR);
	/* AGENT_RUN_DIR/<id> is a container's: one named "shared" must not be mounted over */
	if (mkdir(dir, 0700) < 0)
		return errno == EEXIST ? sbx_failx(err, EBUSY,
						   "%s already exists (a container named "
						   "'shared'?)",
						   dir)
				       : sbx_fail(err, errno, "mkdir %s", dir);
	snprintf(opts, sizeof(opts), "mode=0700,size=%llum,nr_inodes=%u",
		 (SBX_SHARED_MAX_TOTAL >> 20) + SHARED_TMPFS_SLACK_MIB, SHARED_MAX_ENTRIES);
	if (mount("sbx-shared", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
		e = errno;
		rmdir(dir);
		return sbx_fail(err, e, "mount a tmpfs on %s", dir);
	}
	shared.fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (shared.fd < 0) {
		e = errno;
		umount2(dir, MNT_DETACH);
		rmdir(dir);
		return sbx_fail(err, e, "open %s", dir);
	}
	return 0;
}

AGENT_HANDLER(agent_h_copy_file)
{
	(void)ctx, (void)call, (void)resp;
	const Sbx__Agent__V1__CopyFileRequest *in = (const void *)req;
	int r;

	/* a malformed request changes nothing, not even the first mount */
	if (files_check(in, SBX_SHARED_MAX_TOTAL, err) < 0)
		return -err->code;
	pthread_mutex_lock(&shared_lock);
	r = shared_open(err);
	if (r == 0)
		r = files_copy(&shared, in, err);
	pthread_mutex_unlock(&shared_lock);
	return r;
}
