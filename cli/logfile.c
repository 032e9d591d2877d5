/* container.log: framed records appended by the relays, read back by `sbx logs [-f]`. */
#define _GNU_SOURCE
#include "cli/logfile.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "base/io.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_RECORD (1u << 20)

int log_sink_open(struct log_sink *s, const char *path, struct sbx_err *err)
{
	s->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (s->fd < 0)
		return sbx_fail(err, errno, "open '%s'", path);
	pthread_mutex_init(&s->lock, NULL);
	return 0;
}

void log_sink_write(struct log_sink *s, int stream, const void *buf, size_t n)
{
	if (!s || s->fd < 0)
		return;
	unsigned char h[8] = {(unsigned char)stream,
			      0,
			      0,
			      0,
			      (unsigned char)(n >> 24),
			      (unsigned char)(n >> 16),
			      (unsigned char)(n >> 8),
			      (unsigned char)n};
	pthread_mutex_lock(&s->lock);
	/* a full disk loses log lines, never the container's output on the terminal */
	if (sbx_write_all(s->fd, h, sizeof(h)) == 0)
		sbx_write_all(s->fd, buf, n);
	pthread_mutex_unlock(&s->lock);
}

void log_sink_close(struct log_sink *s)
{
	if (s->fd >= 0) {
		close(s->fd);
		pthread_mutex_destroy(&s->lock);
	}
	s->fd = -1;
}

/* Writes every whole record from fd's current offset; a partial one at the end stays for the
 * next round (the offset is put back). */
static int drain(int fd, struct sbx_err *err)
{
	static char buf[MAX_RECORD];
	for (;;) {
		off_t at = lseek(fd, 0, SEEK_CUR);
		unsigned char h[8];
		ssize_t n = read(fd, h, sizeof(h));
		if (n < 0)
			return sbx_fail(err, errno, "read the log");
		if (n < (ssize_t)sizeof(h)) {
			lseek(fd, at, SEEK_SET);
			return 0;
		}
		uint32_t len =
		    (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
		if ((h[0] != 1 && h[0] != 2) || len > MAX_RECORD)
			return sbx_failx(err, EBADMSG, "the log is damaged at offset %lld",
					 (long long)at);
		ssize_t got = read(fd, buf, len);
		if (got < (ssize_t)len) {
			lseek(fd, at, SEEK_SET);
			return 0;
		}
		if (sbx_write_all(h[0], buf, len) < 0)
			return sbx_fail(err, errno, "write the log out");
	}
}

int log_dump(const char *path, bool follow, bool (*done)(void *), void *arg, struct sbx_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return sbx_fail(err, errno, "open '%s'", path);
	_cleanup_close_ int in = -1;
	if (follow) {
		/* watch the directory: the log may not exist yet, and the record's rename says
		 * the writer changed state */
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", path);
		in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (in < 0 || inotify_add_watch(in, dirname(dir),
						IN_MODIFY | IN_CREATE | IN_MOVED_TO |
						    IN_CLOSE_WRITE | IN_DELETE_SELF) < 0)
			return sbx_fail(err, errno, "watch '%s'", path);
	}
	for (;;) {
		if (fd < 0)
			fd = open(path, O_RDONLY | O_CLOEXEC);
		int r = fd >= 0 ? drain(fd, err) : 0;
		if (r < 0 || !follow)
			return r;
		/* done is checked before the last drain so nothing written before it is lost */
		if (done(arg)) {
			if (fd < 0)
				fd = open(path, O_RDONLY | O_CLOEXEC);
			return fd >= 0 ? drain(fd, err) : 0;
		}
		struct pollfd p = {.fd = in, .events = POLLIN};
		/* the timeout only covers a writer that dies without touching the directory */
		if (poll(&p, 1, 1000) > 0) {
			char ev[4096];
			while (read(in, ev, sizeof(ev)) > 0)
				;
		}
	}
}
