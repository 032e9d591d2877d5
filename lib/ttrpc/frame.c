/* Frame I/O shared by the ttrpc client and server. */
#include "ttrpc/frame.h"

#include "base/io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

void ttrpc_header_encode(const struct ttrpc_header *h, uint8_t out[TTRPC_HEADER_SIZE])
{
	out[0] = (uint8_t)(h->length >> 24);
	out[1] = (uint8_t)(h->length >> 16);
	out[2] = (uint8_t)(h->length >> 8);
	out[3] = (uint8_t)h->length;
	out[4] = (uint8_t)(h->stream_id >> 24);
	out[5] = (uint8_t)(h->stream_id >> 16);
	out[6] = (uint8_t)(h->stream_id >> 8);
	out[7] = (uint8_t)h->stream_id;
	out[8] = h->type;
	out[9] = h->flags;
}

void ttrpc_header_decode(const uint8_t in[TTRPC_HEADER_SIZE], struct ttrpc_header *h)
{
	h->length = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
	h->stream_id = (uint32_t)in[4] << 24 | (uint32_t)in[5] << 16 | (uint32_t)in[6] << 8 | in[7];
	h->type = in[8];
	h->flags = in[9];
}

static int discard(int fd, size_t len)
{
	uint8_t sink[4096];
	while (len > 0) {
		size_t chunk = len < sizeof(sink) ? len : sizeof(sink);
		int r = sbx_read_full(fd, sink, chunk);
		if (r < 0)
			return r;
		len -= chunk;
	}
	return 0;
}

int ttrpc_read_frame(int fd, struct ttrpc_header *h, uint8_t **body)
{
	uint8_t hdr[TTRPC_HEADER_SIZE];
	*body = NULL;
	int r = sbx_read_full(fd, hdr, sizeof(hdr));
	if (r < 0)
		return r;
	ttrpc_header_decode(hdr, h);
	if (h->length > TTRPC_MAX_BODY) {
		r = discard(fd, h->length);
		return r < 0 ? r : -EMSGSIZE;
	}
	if (h->length == 0)
		return 0;
	uint8_t *b = malloc(h->length);
	if (!b)
		return -ENOMEM;
	r = sbx_read_full(fd, b, h->length);
	if (r < 0) {
		free(b);
		return r;
	}
	*body = b;
	return 0;
}

int ttrpc_write_frame(int fd, uint32_t stream_id, uint8_t type, const uint8_t *body, size_t len)
{
	if (len > TTRPC_MAX_BODY)
		return -EMSGSIZE;
	uint8_t hdr[TTRPC_HEADER_SIZE];
	struct ttrpc_header h = {
	    .length = (uint32_t)len, .stream_id = stream_id, .type = type, .flags = 0};
	ttrpc_header_encode(&h, hdr);
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)body, len}};
	int n_iov = len ? 2 : 1;
	size_t total = sizeof(hdr) + len, done = 0;
	while (done < total) {
		/* MSG_NOSIGNAL: a peer that went away must not kill us with SIGPIPE. */
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n_iov};
		ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (w < 0 && errno == ENOTSOCK)
			w = writev(fd, iov, n_iov);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		done += (size_t)w;
		/* Advance the iovecs past what was written. */
		size_t adv = (size_t)w;
		for (int i = 0; i < n_iov && adv; i++) {
			size_t take = adv < iov[i].iov_len ? adv : iov[i].iov_len;
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + take;
			iov[i].iov_len -= take;
			adv -= take;
		}
	}
	return 0;
}

enum ttrpc_code ttrpc_code_from_errno(int neg_errno)
{
	switch (-neg_errno) {
	case 0:
		return TTRPC_OK;
	case ENOENT:
	case ESRCH:
		return TTRPC_NOT_FOUND;
	case EEXIST:
		return TTRPC_ALREADY_EXISTS;
	case EINVAL:
	case ENAMETOOLONG:
	case ERANGE:
		return TTRPC_INVALID_ARGUMENT;
	case ENOSYS:
	case EOPNOTSUPP:
		return TTRPC_UNIMPLEMENTED;
	case ETIMEDOUT:
		return TTRPC_DEADLINE_EXCEEDED;
	case EBUSY:
	case EPERM:
		return TTRPC_FAILED_PRECONDITION;
	case ECANCELED:
		return TTRPC_CANCELED;
	case ENOSPC:
	case EMSGSIZE:
		return TTRPC_RESOURCE_EXHAUSTED;
	case ECONNREFUSED:
	case ECONNRESET:
	case ENOTCONN:
		return TTRPC_UNAVAILABLE;
	default:
		return TTRPC_UNKNOWN;
	}
}

int ttrpc_errno_from_code(int code)
{
	switch (code) {
	case TTRPC_OK:
		return 0;
	case TTRPC_CANCELED:
		return -ECANCELED;
	case TTRPC_INVALID_ARGUMENT:
		return -EINVAL;
	case TTRPC_DEADLINE_EXCEEDED:
		return -ETIMEDOUT;
	case TTRPC_NOT_FOUND:
		return -ENOENT;
	case TTRPC_ALREADY_EXISTS:
		return -EEXIST;
	case TTRPC_RESOURCE_EXHAUSTED:
		return -ENOSPC;
	case TTRPC_FAILED_PRECONDITION:
		return -EBUSY;
	case TTRPC_UNIMPLEMENTED:
		return -ENOSYS;
	case TTRPC_UNAVAILABLE:
		return -ECONNREFUSED;
	default:
		return -EIO;
	}
}
