/* Whole reads and writes on blocking fds, and a copy until EOF: the loops every stream user
 * (ttrpc frames, the agent's relays, sbx run's stdio) would otherwise write again. */
#pragma once

#include <stddef.h>

/* Reads exactly n bytes; 0, -ECONNRESET at EOF before n, or -errno. */
int sbx_read_full(int fd, void *buf, size_t n);
/* Writes all n bytes; 0 or -errno (-EPIPE for a zero-length write). */
int sbx_write_all(int fd, const void *buf, size_t n);
/* Copies from `from` to `to` until from reads EOF (0) or fails (a pty master's EIO once its
 * slave is closed counts as the end); 0 then, or the write's -errno. Uses a heap buffer, so it
 * suits small thread stacks. */
int sbx_copy_until_eof(int from, int to);
