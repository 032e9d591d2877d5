/* Fuzz target: one image layer applied to a scratch rootfs. Besides crashes, it checks the one
 * property that matters: nothing is ever written outside the rootfs. */
#define _GNU_SOURCE
#include "rootfs-builder/layers.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char outer[] = "/tmp/sbx-fuzz-layer-XXXXXX";
	if (!mkdtemp(outer))
		return 0;
	char root[64];
	snprintf(root, sizeof(root), "%s/root", outer);
	mkdir(root, 0755);
	int rootfd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (rootfd >= 0 && fd >= 0 && write(fd, data, size) == (ssize_t)size) {
		lseek(fd, 0, SEEK_SET);
		layer_apply(rootfd, fd, NULL, NULL);
	}
	if (fd >= 0)
		close(fd);
	if (rootfd >= 0)
		close(rootfd);
	/* The only entry beside the rootfs is the rootfs itself. */
	char probe[96];
	snprintf(probe, sizeof(probe), "%s/escaped", outer);
	if (access(probe, F_OK) == 0)
		abort();
	nftw(outer, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
