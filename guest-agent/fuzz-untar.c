/* Fuzz target: any bytes through the tar parser (headers, pax records, long names); entry data
 * is read and discarded, nothing touches the filesystem. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "base/err.h"
#include "guest-agent/untar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t *p;
	size_t left;
};

static ssize_t mem_read(void *opaque, void *buf, size_t n)
{
	struct mem *m = opaque;
	if (n > m->left)
		n = m->left;
	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (ssize_t)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct untar_entry e;
	struct mem m = {data, size};
	struct untar u = {.read = mem_read, .opaque = &m};
	struct sbx_err err = {0};
	char buf[4096];
	while (untar_next(&u, &e, &err) > 0)
		while (untar_read_data(&u, buf, sizeof(buf), &err) > 0)
			;
	return 0;
}
