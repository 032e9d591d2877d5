/* Opening a port-1025 stream: connect through the VMM's vsock socket, then the 4-byte
 * big-endian length and the StreamHello that names the process and the stream. */
#include "agent/client.h"

#include "base/err.h"
#include "base/io.h"
#include "base/vsock-ports.h"
#include "proto/agent.pb-c.h"
#include "sandbox/sandbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int agent_stream_open(struct sandbox *sb, const char *container_id, const char *exec_id, int kind,
		      struct sbx_err *err)
{
	Sbx__Agent__V1__StreamHello h = SBX__AGENT__V1__STREAM_HELLO__INIT;
	h.container_id = (char *)container_id;
	h.exec_id = (char *)(exec_id ? exec_id : "");
	h.kind = (Sbx__Agent__V1__StreamHello__Kind)kind;
	size_t len = sbx__agent__v1__stream_hello__get_packed_size(&h);
	unsigned char *buf = malloc(4 + len);
	if (!buf)
		return sbx_fail(err, ENOMEM, "stream header");
	buf[0] = (unsigned char)(len >> 24), buf[1] = (unsigned char)(len >> 16);
	buf[2] = (unsigned char)(len >> 8), buf[3] = (unsigned char)len;
	sbx__agent__v1__stream_hello__pack(&h, buf + 4);
	int fd = sandbox_connect(sb, SBX_PORT_AGENT_STDIO, 10000, err);
	if (fd >= 0) {
		int r = sbx_write_all(fd, buf, 4 + len);
		if (r < 0) {
			close(fd);
			fd = sbx_fail(err, -r, "send the stream header");
		}
	}
	free(buf);
	return fd;
}
