/* Fuzz target: a byte stream as a ttrpc peer would send it: frames, envelopes, statuses. */
#define _GNU_SOURCE
#include "proto/ttrpc.pb-c.h"
#include "ttrpc/frame.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	lseek(fd, 0, SEEK_SET);
	for (;;) {
		struct ttrpc_header h;
		uint8_t *body = NULL;
		int r = ttrpc_read_frame(fd, &h, &body);
		if (r == -EMSGSIZE)
			continue;
		if (r < 0)
			break;
		Sbx__Ttrpc__Request *req = sbx__ttrpc__request__unpack(NULL, h.length, body);
		if (req)
			sbx__ttrpc__request__free_unpacked(req, NULL);
		Sbx__Ttrpc__Response *resp = sbx__ttrpc__response__unpack(NULL, h.length, body);
		if (resp)
			sbx__ttrpc__response__free_unpacked(resp, NULL);
		free(body);
	}
	close(fd);
	return 0;
}
