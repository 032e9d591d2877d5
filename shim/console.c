/* The guest console in the shim's log. The guest controls every byte, so lines are cut at
 * CONSOLE_LINE_MAX, control bytes are dropped by the logger and the rate is bounded: a kernel
 * boot (a few hundred lines) passes whole, a flood costs one line per CONSOLE_INTERVAL_MS. */
#define _GNU_SOURCE
#include "shim/console.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define CONSOLE_LINE_MAX 512
#define CONSOLE_BURST 2000
#define CONSOLE_INTERVAL_MS 5 /* 200 lines a second after the burst */

struct shim_console {
	int fd;  /* the console file, read sequentially */
	int ino; /* inotify IN_MODIFY on it */
	size_t used;
	char line[CONSOLE_LINE_MAX];
	struct log_ratelimit rl;
};

int shim_console_open(const char *path, struct shim_console **ret, struct sbx_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sbx_fail(err, errno, "open the guest console '%s'", path);
	_cleanup_close_ int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ino < 0)
		return sbx_fail(err, errno, "inotify");
	if (inotify_add_watch(ino, path, IN_MODIFY) < 0)
		return sbx_fail(err, errno, "watch the guest console '%s'", path);
	struct shim_console *c = calloc(1, sizeof(*c));
	if (!c)
		return sbx_fail(err, ENOMEM, "guest console");
	c->fd = TAKE_FD(fd);
	c->ino = TAKE_FD(ino);
	*ret = c;
	return 0;
}

int shim_console_fd(const struct shim_console *c)
{
	return c ? c->ino : -1;
}

static void emit(struct shim_console *c)
{
	while (c->used > 0 && c->line[c->used - 1] == '\r')
		c->used--;
	c->line[c->used] = '\0';
	if (log_ratelimit_ok(&c->rl, CONSOLE_BURST, CONSOLE_INTERVAL_MS))
		log_info("guest console: %s", c->line);
	c->used = 0;
}

void shim_console_drain(struct shim_console *c, bool at_end)
{
	if (!c)
		return;
	char buf[4096];
	/* the events only say "more": empty the queue, then read to the end of the file */
	while (read(c->ino, buf, sizeof(buf)) > 0)
		;
	ssize_t n;
	while ((n = read(c->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				emit(c);
				continue;
			}
			c->line[c->used++] = buf[i];
			if (c->used == sizeof(c->line) - 1)
				emit(c);
		}
	}
	if (at_end && c->used > 0)
		emit(c);
}

void shim_console_free(struct shim_console *c)
{
	if (!c)
		return;
	close(c->fd);
	close(c->ino);
	free(c);
}
