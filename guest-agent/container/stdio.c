/* What a container process inherits: exactly its three stdio fds (pipes, /dev/null, or a pty
 * slave that becomes its controlling terminal) and the setup channels, nothing else of the
 * agent's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "guest-agent/container/container.h"

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

void ct_close_fds_except(const int *keep, size_t n)
{
	int sorted[16];
	size_t m = 0;

	for (size_t i = 0; i < n && m < 16; i++)
		if (keep[i] >= 3)
			sorted[m++] = keep[i];
	qsort(sorted, m, sizeof(int), cmp_int);
	unsigned lo = 3;
	for (size_t i = 0; i < m; i++) {
		if ((unsigned)sorted[i] > lo)
			close_range(lo, (unsigned)sorted[i] - 1, 0);
		lo = (unsigned)sorted[i] + 1;
	}
	close_range(lo, ~0u, 0);
}

int ct_apply_stdio(const struct ct_stdio *io, struct sbx_err *err)
{
	if (!io)
		return 0;
	if (io->terminal) {
		if (setsid() < 0)
			return sbx_fail(err, errno, "setsid");
		if (ioctl(io->fds[0], TIOCSCTTY, 0) < 0)
			return sbx_fail(err, errno, "make the pty the controlling terminal");
	}
	/* dup3 without O_CLOEXEC leaves 0..2 open across exec; the sources are the agent's
	 * close-on-exec fds (all >= 3: the agent's own 0..2 are the console) */
	for (int i = 0; i < 3; i++)
		if (io->fds[i] != i && dup3(io->fds[i], i, 0) < 0)
			return sbx_fail(err, errno, "stdio fd %d", i);
	return 0;
}
