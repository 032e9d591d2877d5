/* Tar parsing (POSIX.1-2001 ustar + pax extended headers + GNU 'L'/'K' long names) and
 * extraction confined to a root directory with openat2(RESOLVE_IN_ROOT). */
#define _GNU_SOURCE
#include "guest-agent/untar.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "base/io.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define BLOCK 512

static int read_exact(struct untar *u, void *buf, size_t n, struct sbx_err *err)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = u->read(u->opaque, (char *)buf + got, n - got);
		if (r < 0)
			return sbx_fail(err, (int)-r, "tar: read");
		if (r == 0)
			return sbx_failx(err, EPROTO, "tar: the stream ended inside an entry");
		got += (size_t)r;
	}
	return 0;
}

static int skip(struct untar *u, uint64_t n, struct sbx_err *err)
{
	char buf[4096];
	while (n > 0) {
		size_t k = n < sizeof(buf) ? (size_t)n : sizeof(buf);
		if (read_exact(u, buf, k, err) < 0)
			return -err->code;
		n -= k;
	}
	return 0;
}

/* A numeric field: octal (NUL/space terminated) or GNU base-256 (high bit set). */
static int number(const unsigned char *f, size_t len, uint64_t *ret)
{
	uint64_t v = 0;
	if (f[0] & 0x80) {
		if (f[0] != 0x80)
			return -1; /* negative or too large */
		for (size_t i = 1; i < len; i++) {
			if (v >> 56)
				return -1;
			v = v << 8 | f[i];
		}
		*ret = v;
		return 0;
	}
	size_t i = 0;
	while (i < len && f[i] == ' ')
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	if (i < len && f[i] != '\0' && f[i] != ' ')
		return -1;
	*ret = v;
	return 0;
}

static bool checksum_ok(const unsigned char *h)
{
	uint64_t want;
	if (number(h + 148, 8, &want) < 0)
		return false;
	unsigned sum = 0;
	for (int i = 0; i < BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum == want;
}

/* "./a//b/" -> "a/b"; fails on "..", and on names that clean to nothing but "." (the root). */
static int clean_name(const char *in, char *out, size_t size, struct sbx_err *err)
{
	size_t n = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return sbx_failx(err, EPERM, "tar: entry '%.200s' has a '..' component",
					 in);
		if (len && !(len == 1 && p[0] == '.')) {
			if (n + len + 2 > size)
				return sbx_failx(err, ENAMETOOLONG, "tar: entry name too long");
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p = end;
	}
	out[n] = '\0';
	return 0;
}

/* Applies one pax record set (e.g. "30 path=a/very/long/name\n") to e. */
static int apply_pax(const char *buf, size_t len, struct untar_entry *e, bool *has_name,
		     bool *has_link, struct sbx_err *err)
{
	size_t off = 0;
	while (off < len) {
		char *end;
		unsigned long rl = strtoul(buf + off, &end, 10);
		if (end == buf + off || *end != ' ' || rl == 0 || rl > len - off)
			return sbx_failx(err, EPROTO, "tar: malformed pax record");
		const char *kv = end + 1, *rec_end = buf + off + rl - 1;
		/* the length counts its own digits: a record too short for "k=v" is malformed */
		if (kv >= rec_end || *rec_end != '\n')
			return sbx_failx(err, EPROTO, "tar: malformed pax record");
		const char *eq = memchr(kv, '=', (size_t)(rec_end - kv));
		if (!eq)
			return sbx_failx(err, EPROTO, "tar: malformed pax record");
		size_t klen = (size_t)(eq - kv), vlen = (size_t)(rec_end - eq - 1);
		const char *v = eq + 1;
		char num[32];
		snprintf(num, sizeof(num), "%.*s", (int)(vlen < 31 ? vlen : 31), v);
		if (klen == 4 && !memcmp(kv, "path", 4)) {
			if (vlen >= UNTAR_MAX_NAME)
				return sbx_failx(err, ENAMETOOLONG, "tar: pax path too long");
			memcpy(e->name, v, vlen);
			e->name[vlen] = '\0';
			*has_name = true;
		} else if (klen == 8 && !memcmp(kv, "linkpath", 8)) {
			if (vlen >= UNTAR_MAX_NAME)
				return sbx_failx(err, ENAMETOOLONG, "tar: pax linkpath too long");
			memcpy(e->linkname, v, vlen);
			e->linkname[vlen] = '\0';
			*has_link = true;
		} else if (klen == 4 && !memcmp(kv, "size", 4)) {
			e->size = strtoull(num, NULL, 10);
		} else if (klen == 3 && !memcmp(kv, "uid", 3)) {
			e->uid = (uint32_t)strtoul(num, NULL, 10);
		} else if (klen == 3 && !memcmp(kv, "gid", 3)) {
			e->gid = (uint32_t)strtoul(num, NULL, 10);
		} else if (klen == 5 && !memcmp(kv, "mtime", 5)) {
			e->mtime = strtoll(num, NULL, 10);
		}
		off += rl;
	}
	return 0;
}

/* Reads a pax or GNU long-name payload of size bytes (plus padding). */
static int read_meta(struct untar *u, uint64_t size, char **ret, struct sbx_err *err)
{
	if (size > UNTAR_MAX_PAX)
		return sbx_failx(err, E2BIG, "tar: extended header of %llu bytes",
				 (unsigned long long)size);
	char *buf = malloc(size + 1);
	if (!buf)
		return sbx_fail(err, ENOMEM, "tar");
	if (read_exact(u, buf, size, err) < 0 || skip(u, (BLOCK - size % BLOCK) % BLOCK, err) < 0) {
		free(buf);
		return -err->code;
	}
	buf[size] = '\0';
	*ret = buf;
	return 0;
}

int untar_next(struct untar *u, struct untar_entry *e, struct sbx_err *err)
{
	/* the rest of the previous entry */
	if (skip(u, u->data_left + u->pad, err) < 0)
		return -err->code;
	u->data_left = u->pad = 0;
	bool pax_name = false, pax_link = false, pax_size = false;
	struct untar_entry pax = {0};
	for (;;) {
		unsigned char h[BLOCK];
		ssize_t r = u->read(u->opaque, h, 1);
		if (r == 0)
			return 0; /* EOF without the zero blocks: accepted, like GNU tar */
		if (r < 0)
			return sbx_fail(err, (int)-r, "tar: read");
		if (read_exact(u, h + 1, BLOCK - 1, err) < 0)
			return -err->code;
		static const unsigned char zero[BLOCK];
		if (!memcmp(h, zero, BLOCK))
			return 0;
		if (!checksum_ok(h))
			return sbx_failx(err, EPROTO, "tar: header checksum mismatch (entry %llu)",
					 (unsigned long long)u->entries + 1);
		uint64_t size, mode, uid, gid, mtime, maj, min;
		if (number(h + 124, 12, &size) < 0 || number(h + 100, 8, &mode) < 0 ||
		    number(h + 108, 8, &uid) < 0 || number(h + 116, 8, &gid) < 0 ||
		    number(h + 136, 12, &mtime) < 0 || number(h + 329, 8, &maj) < 0 ||
		    number(h + 337, 8, &min) < 0)
			return sbx_failx(err, EPROTO, "tar: bad numeric field in a header");
		char type = (char)h[156];
		if (type == 'x' || type == 'L' || type == 'K' || type == 'g') {
			char *meta = NULL;
			if (read_meta(u, size, &meta, err) < 0)
				return -err->code;
			int rc = 0;
			if (type == 'x') {
				uint64_t before = pax.size;
				pax.size = UINT64_MAX;
				rc = apply_pax(meta, size, &pax, &pax_name, &pax_link, err);
				pax_size = pax.size != UINT64_MAX;
				if (!pax_size)
					pax.size = before;
			} else if (type != 'g') {
				char *dst = type == 'L' ? pax.name : pax.linkname;
				snprintf(dst, UNTAR_MAX_NAME, "%s", meta);
				*(type == 'L' ? &pax_name : &pax_link) = true;
			}
			free(meta);
			if (rc < 0)
				return rc;
			continue;
		}
		u->entries++;
		memset(e, 0, sizeof(*e));
		/* '\0' (old tar) and '7' (contiguous) are regular files; NUL never reaches strchr
		 */
		e->type = type == '\0' || type == '7' ? '0' : type;
		e->mode = (uint32_t)(mode & 07777);
		e->uid = (uint32_t)uid;
		e->gid = (uint32_t)gid;
		e->mtime = (int64_t)mtime;
		e->devmajor = (uint32_t)maj;
		e->devminor = (uint32_t)min;
		e->size = pax_size ? pax.size : size;
		if (pax.uid)
			e->uid = pax.uid;
		if (pax.gid)
			e->gid = pax.gid;
		if (pax.mtime)
			e->mtime = pax.mtime;
		char raw[UNTAR_MAX_NAME];
		if (pax_name) {
			snprintf(raw, sizeof(raw), "%s", pax.name);
		} else if (!memcmp(h + 257, "ustar", 5) && h[345]) {
			snprintf(raw, sizeof(raw), "%.155s/%.100s", (const char *)h + 345,
				 (const char *)h);
		} else {
			snprintf(raw, sizeof(raw), "%.100s", (const char *)h);
		}
		if (clean_name(raw, e->name, sizeof(e->name), err) < 0)
			return -err->code;
		if (pax_link)
			snprintf(e->linkname, sizeof(e->linkname), "%s", pax.linkname);
		else
			snprintf(e->linkname, sizeof(e->linkname), "%.100s", (const char *)h + 157);
		if (e->type == '1') {
			snprintf(raw, sizeof(raw), "%s", e->linkname);
			if (clean_name(raw, e->linkname, sizeof(e->linkname), err) < 0)
				return -err->code;
		}
		/* only regular files (and kinds we skip) carry data after the header */
		uint64_t stored = strchr("123456", e->type) ? 0 : e->size;
		u->data_left = stored;
		u->pad = (unsigned)((BLOCK - stored % BLOCK) % BLOCK);
		if (!strchr("0123456", e->type))
			continue; /* sockets, GNU sparse and other kinds: skipped */
		return 1;
	}
}

ssize_t untar_read_data(struct untar *u, void *buf, size_t n, struct sbx_err *err)
{
	if (u->data_left == 0)
		return 0;
	if (n > u->data_left)
		n = (size_t)u->data_left;
	ssize_t r = u->read(u->opaque, buf, n);
	if (r < 0)
		return sbx_fail(err, (int)-r, "tar: read");
	if (r == 0)
		return sbx_failx(err, EPROTO, "tar: the stream ended inside an entry");
	u->data_left -= (uint64_t)r;
	u->bytes += (uint64_t)r;
	return r;
}

/* ---- extraction ------------------------------------------------------------------------- */

static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, rootfd, path[0] ? path : ".", &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

/* The directory that holds name (inside root), and name's last component. */
static int open_parent(int rootfd, const char *name, const char **base, struct sbx_err *err)
{
	char dir[UNTAR_MAX_NAME];
	const char *slash = strrchr(name, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - name) : 0, name);
	*base = slash ? slash + 1 : name;
	int fd = open_in_root(rootfd, dir, O_PATH | O_DIRECTORY);
	if (fd < 0)
		return sbx_fail(err, -fd, "tar: parent of '%.200s'", name);
	return fd;
}

static ssize_t fd_read(void *opaque, void *buf, size_t n)
{
	ssize_t r;
	do
		r = read(*(int *)opaque, buf, n);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

static int write_file(struct untar *u, int pfd, const char *base, const struct untar_entry *e,
		      struct sbx_err *err)
{
	unlinkat(pfd, base, 0); /* replace a file or symlink; never write through a link */
	_cleanup_close_ int fd =
	    openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return sbx_fail(err, errno, "tar: create '%.200s'", e->name);
	char buf[65536];
	ssize_t n;
	while ((n = untar_read_data(u, buf, sizeof(buf), err)) > 0) {
		int w = sbx_write_all(fd, buf, (size_t)n);
		if (w < 0)
			return sbx_fail(err, -w, "tar: write '%.200s'", e->name);
	}
	if (n < 0)
		return (int)n;
	if (fchown(fd, e->uid, e->gid) < 0 || fchmod(fd, e->mode) < 0)
		return sbx_fail(err, errno, "tar: owner or mode of '%.200s'", e->name);
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = e->mtime}};
	futimens(fd, ts);
	return 0;
}

static int extract_one(struct untar *u, int rootfd, const struct untar_entry *e,
		       struct sbx_err *err)
{
	if (!e->name[0])
		return 0; /* "./": the root itself */
	const char *base;
	_cleanup_close_ int pfd = open_parent(rootfd, e->name, &base, err);
	if (pfd < 0)
		return pfd;
	int r = 0;
	switch (e->type) {
	case '0':
		return write_file(u, pfd, base, e, err);
	case '5':
		if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST)
			return sbx_fail(err, errno, "tar: mkdir '%.200s'", e->name);
		break;
	case '2':
		unlinkat(pfd, base, 0);
		r = symlinkat(e->linkname, pfd, base);
		break;
	case '1': {
		_cleanup_close_ int target = open_in_root(rootfd, e->linkname, O_PATH | O_NOFOLLOW);
		if (target < 0)
			return sbx_fail(err, -target, "tar: hard link target '%.200s'",
					e->linkname);
		unlinkat(pfd, base, 0);
		if (linkat(target, "", pfd, base, AT_EMPTY_PATH) < 0)
			return sbx_fail(err, errno, "tar: hard link '%.200s'", e->name);
		return 0;
	}
	case '3':
	case '4':
	case '6': {
		mode_t kind = e->type == '3' ? S_IFCHR : e->type == '4' ? S_IFBLK : S_IFIFO;
		unlinkat(pfd, base, 0);
		r = mknodat(pfd, base, kind | 0600, makedev(e->devmajor, e->devminor));
		break;
	}
	}
	if (r < 0)
		return sbx_fail(err, errno, "tar: create '%.200s'", e->name);
	if (fchownat(pfd, base, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return sbx_fail(err, errno, "tar: owner of '%.200s'", e->name);
	if (e->type != '2' && fchmodat(pfd, base, e->mode, 0) < 0)
		return sbx_fail(err, errno, "tar: mode of '%.200s'", e->name);
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = e->mtime}};
	utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

int untar_extract(int rootfd, int fd, struct untar *stats, struct sbx_err *err)
{
	struct untar u = {.read = fd_read, .opaque = &fd};
	struct untar_entry *e = malloc(sizeof(*e));
	if (!e)
		return sbx_fail(err, ENOMEM, "tar");
	int r;
	while ((r = untar_next(&u, e, err)) > 0)
		if ((r = extract_one(&u, rootfd, e, err)) < 0)
			break;
	free(e);
	if (stats)
		*stats = u;
	return r < 0 ? r : 0;
}
