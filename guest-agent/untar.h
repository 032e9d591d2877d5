/* The agent's tar reader for StreamRootfs: ustar with pax (path, linkpath, size, uid, gid,
 * mtime) and GNU long names, uncompressed (the host streams a merged tree, vsock is the only
 * hop). The parser (untar_next) is separate from extraction so it can be fuzzed alone. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sbx_err;

#define UNTAR_MAX_NAME 4096
#define UNTAR_MAX_PAX (1u << 20)

/* Reads up to n bytes into buf; returns the count, 0 at EOF, or -errno. */
typedef ssize_t (*untar_read_fn)(void *opaque, void *buf, size_t n);

struct untar {
	untar_read_fn read;
	void *opaque;
	uint64_t data_left; /* of the current entry, plus its padding in pad */
	unsigned pad;
	uint64_t entries, bytes;
};

struct untar_entry {
	char
	    type; /* '0' file, '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo */
	char name[UNTAR_MAX_NAME];     /* clean and relative: no leading '/', "./" or ".." */
	char linkname[UNTAR_MAX_NAME]; /* hard links: cleaned like name; symlinks: as stored */
	uint32_t mode, uid, gid, devmajor, devminor;
	uint64_t size;
	int64_t mtime;
};

/* Next entry (its data is then read with untar_read_data); 1 = an entry, 0 = end of archive.
 * Entries of other types (pax global headers, sockets) are skipped. */
int untar_next(struct untar *u, struct untar_entry *e, struct sbx_err *err);
/* Reads the current entry's data; returns the count, 0 when it is all read, or -errno. */
ssize_t untar_read_data(struct untar *u, void *buf, size_t n, struct sbx_err *err);

/* Extracts the archive read from fd under the directory rootfd. Every path is resolved with
 * openat2(RESOLVE_IN_ROOT), so no entry, symlink or hard link can reach outside the root. */
int untar_extract(int rootfd, int fd, struct untar *stats, struct sbx_err *err);
