/* A host file or directory tree copied into the guest's shared directory with CopyFile: one call
 * per directory and symlink, one per SBX_COPY_MAX_DATA bytes of a regular file. The tree is
 * walked with *at() calls from directory fds and never through a symlink. */
#define _GNU_SOURCE
#include "agent/client.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "base/guest-shared.h"
#include "proto/agent.pb-c.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_TIMEOUT_MS 60000
#define COPY_MAX_DEPTH 128 /* each level holds a directory fd open */

struct copy {
	struct ttrpc_client *cl;
	uint8_t *buf;                       /* SBX_COPY_MAX_DATA bytes */
	char guest[SBX_COPY_MAX_PATH + 1];  /* the entry's path in the shared directory */
	char host[SBX_COPY_MAX_PATH + 1];   /* the entry's host path, for messages */
	char target[SBX_COPY_MAX_PATH + 1]; /* a symlink's target */
};

static int call(struct copy *c, uint32_t mode, const struct stat *st, const uint8_t *data,
		size_t len, uint64_t off, const char *target, struct sbx_err *err)
{
	Sbx__Agent__V1__CopyFileRequest req = SBX__AGENT__V1__COPY_FILE_REQUEST__INIT;

	req.path = c->guest;
	req.mode = mode;
	req.uid = st->st_uid;
	req.gid = st->st_gid;
	req.data.data = (uint8_t *)data;
	req.data.len = len;
	req.offset = off;
	if (target)
		req.link_target = (char *)target;
	return agent_call(c->cl, "CopyFile", &req.base, NULL, NULL, COPY_TIMEOUT_MS, err);
}

/* Fills buf from fd until it is full or the file ends; the byte count or -errno. */
static ssize_t read_chunk(int fd, uint8_t *buf, size_t size)
{
	size_t n = 0;

	while (n < size) {
		ssize_t r = read(fd, buf + n, size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

static int copy_file(struct copy *c, int fd, const struct stat *st, struct sbx_err *err)
{
	uint32_t mode = S_IFREG | (st->st_mode & 07777);
	uint64_t off = 0;

	/* at least one call, so an empty file is created too; then until the file ends (it
	 * may have grown or shrunk since the stat) */
	for (;;) {
		ssize_t n = read_chunk(fd, c->buf, SBX_COPY_MAX_DATA);

		if (n < 0)
			return sbx_fail(err, (int)-n, "read '%s'", c->host);
		if ((n > 0 || off == 0) && call(c, mode, st, c->buf, (size_t)n, off, NULL, err) < 0)
			return -err->code;
		off += (uint64_t)n;
		if ((size_t)n < SBX_COPY_MAX_DATA)
			return 0;
	}
}

/* Appends "/name" to both paths, or fails naming the one that gets too long. */
static int push(struct copy *c, const char *name, struct sbx_err *err)
{
	size_t gl = strlen(c->guest), hl = strlen(c->host), n = strlen(name);

	if (gl + 1 + n > SBX_COPY_MAX_PATH)
		return sbx_failx(err, ENAMETOOLONG, "'%s/%s': the guest path is longer than %u",
				 c->host, name, SBX_COPY_MAX_PATH);
	snprintf(c->guest + gl, sizeof(c->guest) - gl, "/%s", name);
	/* the host path only names things in messages: cut it rather than fail */
	snprintf(c->host + hl, sizeof(c->host) - hl, "/%s", name);
	return 0;
}

static int copy_entry(struct copy *c, int at, const char *name, bool top, unsigned depth,
		      struct sbx_err *err);

static int copy_dir(struct copy *c, int fd, const struct stat *st, unsigned depth,
		    struct sbx_err *err)
{
	size_t gl = strlen(c->guest), hl = strlen(c->host);
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;

	if (depth >= COPY_MAX_DEPTH)
		return sbx_failx(err, ELOOP, "'%s' is more than %d directories deep", c->host,
				 COPY_MAX_DEPTH);
	if (call(c, S_IFDIR | (st->st_mode & 07777), st, NULL, 0, 0, NULL, err) < 0)
		return -err->code;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return sbx_fail(err, errno, "open directory '%s'", c->host);
	}
	while ((errno = 0, e = readdir(d))) {
		int r;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (push(c, e->d_name, err) < 0)
			return -err->code;
		r = copy_entry(c, dirfd(d), e->d_name, false, depth + 1, err);
		c->guest[gl] = '\0';
		c->host[hl] = '\0';
		if (r < 0)
			return r;
	}
	if (errno)
		return sbx_fail(err, errno, "read directory '%s'", c->host);
	return 0;
}

/* Copies name in at to c->guest. The top entry is followed if it is a symlink, as mount(2)
 * follows a bind mount's source; entries inside a tree never are. */
static int copy_entry(struct copy *c, int at, const char *name, bool top, unsigned depth,
		      struct sbx_err *err)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (top ? 0 : O_NOFOLLOW);
	_cleanup_close_ int fd = -1;
	struct stat st;
	ssize_t n;

	if (fstatat(at, name, &st, top ? 0 : AT_SYMLINK_NOFOLLOW) < 0)
		return sbx_fail(err, errno, "stat '%s'", c->host);
	if (S_ISLNK(st.st_mode)) {
		n = readlinkat(at, name, c->target, sizeof(c->target));
		if (n < 0)
			return sbx_fail(err, errno, "readlink '%s'", c->host);
		if ((size_t)n >= sizeof(c->target))
			return sbx_failx(err, ENAMETOOLONG, "symlink '%s': target longer than %u",
					 c->host, SBX_COPY_MAX_PATH);
		c->target[n] = '\0';
		return call(c, S_IFLNK | 0777, &st, NULL, 0, 0, c->target, err);
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		/* sockets, FIFOs and devices mean nothing in another kernel: a tree goes without
		 * them; asked for by name, one is an error the caller can report */
		if (!top)
			return 0;
		return sbx_failx(err, EOPNOTSUPP,
				 "'%s' is not a regular file, directory or symlink", c->host);
	}
	/* O_NONBLOCK: what was a file at the stat may be a FIFO now; the fstat below tells */
	fd = openat(at, name, flags | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
	if (fd < 0)
		return sbx_fail(err, errno, "open '%s'", c->host);
	if (fstat(fd, &st) < 0)
		return sbx_fail(err, errno, "stat '%s'", c->host);
	if (S_ISDIR(st.st_mode))
		return copy_dir(c, TAKE_FD(fd), &st, depth, err);
	if (!S_ISREG(st.st_mode))
		return top ? sbx_failx(err, EOPNOTSUPP, "'%s' is not a regular file", c->host) : 0;
	if (fcntl(fd, F_SETFL, O_RDONLY) < 0)
		return sbx_fail(err, errno, "open '%s'", c->host);
	return copy_file(c, fd, &st, err);
}

int agent_copy_path(struct ttrpc_client *cl, const char *host_path, const char *guest_rel,
		    struct sbx_err *err)
{
	struct copy *c;
	int r;

	if (strlen(guest_rel) > SBX_COPY_MAX_PATH)
		return sbx_failx(err, ENAMETOOLONG, "guest path '%.64s...' is longer than %u",
				 guest_rel, SBX_COPY_MAX_PATH);
	c = calloc(1, sizeof(*c));
	if (c)
		c->buf = malloc(SBX_COPY_MAX_DATA);
	if (!c || !c->buf) {
		free(c);
		return sbx_fail(err, ENOMEM, "copy '%s'", host_path);
	}
	c->cl = cl;
	snprintf(c->guest, sizeof(c->guest), "%s", guest_rel);
	snprintf(c->host, sizeof(c->host), "%s", host_path);
	r = copy_entry(c, AT_FDCWD, host_path, true, 0, err);
	free(c->buf);
	free(c);
	return r;
}
