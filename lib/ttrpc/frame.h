/* ttrpc framing: a 10-byte big-endian header (body length, stream id, type, flags) and a body of
 * at most 4 MiB. The caps are checked before any allocation. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define TTRPC_HEADER_SIZE 10
#define TTRPC_MAX_BODY (4u << 20)
#define TTRPC_TYPE_REQUEST 1
#define TTRPC_TYPE_RESPONSE 2

/* gRPC status codes, as containerd reads them. */
enum ttrpc_code {
	TTRPC_OK = 0,
	TTRPC_CANCELED = 1,
	TTRPC_UNKNOWN = 2,
	TTRPC_INVALID_ARGUMENT = 3,
	TTRPC_DEADLINE_EXCEEDED = 4,
	TTRPC_NOT_FOUND = 5,
	TTRPC_ALREADY_EXISTS = 6,
	TTRPC_RESOURCE_EXHAUSTED = 8,
	TTRPC_FAILED_PRECONDITION = 9,
	TTRPC_UNIMPLEMENTED = 12,
	TTRPC_INTERNAL = 13,
	TTRPC_UNAVAILABLE = 14,
};

struct ttrpc_header {
	uint32_t length;
	uint32_t stream_id;
	uint8_t type;
	uint8_t flags;
};

void ttrpc_header_encode(const struct ttrpc_header *h, uint8_t out[TTRPC_HEADER_SIZE]);
void ttrpc_header_decode(const uint8_t in[TTRPC_HEADER_SIZE], struct ttrpc_header *h);

/* Reads one frame. On success *body is malloc'd (NULL for an empty body). -EMSGSIZE when the body
 * exceeds the cap (the body is read and discarded so the stream stays in sync; h is filled),
 * -ECONNRESET on EOF, other -errno on I/O errors. */
int ttrpc_read_frame(int fd, struct ttrpc_header *h, uint8_t **body);

/* Writes header + body with one writev loop; the caller serializes writers. */
int ttrpc_write_frame(int fd, uint32_t stream_id, uint8_t type, const uint8_t *body, size_t len);

/* -errno <-> status code, the one mapping both ends use. */
enum ttrpc_code ttrpc_code_from_errno(int neg_errno);
int ttrpc_errno_from_code(int code);
