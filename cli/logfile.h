/* container.log: what a container wrote, in docker's framing (8-byte header: stream 1 or 2,
 * three zero bytes, the payload length big-endian; then the payload), so `sbx logs` can give
 * stdout back to stdout and stderr to stderr in the order they came. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct sbx_err;

struct log_sink {
	int fd;
	pthread_mutex_t lock; /* stdout's and stderr's relays write records whole */
};

int log_sink_open(struct log_sink *s, const char *path, struct sbx_err *err);
void log_sink_write(struct log_sink *s, int stream, const void *buf, size_t n);
void log_sink_close(struct log_sink *s);

/* Writes the records of path to fds 1 and 2. With follow, waits for more until done()
 * says the writer is gone and everything it wrote is out. */
int log_dump(const char *path, bool follow, bool (*done)(void *), void *arg, struct sbx_err *err);
