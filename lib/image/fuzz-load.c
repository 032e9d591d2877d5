/* Fuzz target: image archives (tar of blobs, index.json, manifest.json) into a scratch store. */
#define _GNU_SOURCE
#include "image/load.h"
#include "image/store.h"

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char root[] = "/tmp/sbx-fuzz-load-XXXXXX";
	if (!mkdtemp(root))
		return 0;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd >= 0 && write(fd, data, size) == (ssize_t)size) {
		lseek(fd, 0, SEEK_SET);
		struct image_store s;
		if (image_store_open(&s, root, NULL) == 0) {
			image_load_archive(&s, fd, NULL, NULL, NULL);
			image_store_close(&s);
		}
	}
	if (fd >= 0)
		close(fd);
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
