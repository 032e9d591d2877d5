/* Whole reads and writes on blocking fds, retrying EINTR. */
#include "base/io.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int sbx_read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ECONNRESET;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int sbx_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPIPE;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

#define COPY_BUF (64 * 1024)

int sbx_copy_until_eof(int from, int to)
{
	char *buf = malloc(COPY_BUF);
	if (!buf)
		return -ENOMEM;
	int ret = 0;
	for (;;) {
		ssize_t n = read(from, buf, COPY_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		ret = sbx_write_all(to, buf, (size_t)n);
		if (ret < 0)
			break;
	}
	free(buf);
	return ret;
}
