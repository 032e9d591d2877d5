/* rootfs-convert ext4|tar IMAGE: the cached rootfs of IMAGE in $SBX_ROOT's store, built on first
 * use, without booting anything; prints "PATH BUILT MS" (BUILT 1 when this call built it), for
 * tests/host/test_image_rootfs.sh and tests/bench/bench_image_convert.sh. */
#include "base/err.h"
#include "image/rootfs.h"
#include "image/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	const char *root = getenv("SBX_ROOT");
	if (argc != 3 || (strcmp(argv[1], "ext4") && strcmp(argv[1], "tar")) || !root) {
		fprintf(stderr, "usage: SBX_ROOT=DIR rootfs-convert ext4|tar IMAGE\n");
		return 2;
	}
	char store[4096], ref[512], digest[IMAGE_DIGEST_MAX], path[4096];
	snprintf(store, sizeof(store), "%s/images", root);
	struct image_store s;
	struct sbx_err err = {0};
	int built = 0;
	struct timespec t0, t1;
	if (image_store_open(&s, store, &err) < 0 ||
	    image_ref_normalize(argv[2], ref, sizeof(ref), &err) < 0 ||
	    image_ref_get(&s, ref, digest, &err) < 0) {
		fprintf(stderr, "rootfs-convert: %s\n", err.msg);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r = strcmp(argv[1], "tar")
		    ? image_rootfs_ext4(&s, digest, path, sizeof(path), &built, &err)
		    : image_rootfs_tar(&s, digest, path, sizeof(path), &built, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	image_store_close(&s);
	if (r < 0) {
		fprintf(stderr, "rootfs-convert: %s\n", err.msg);
		return 1;
	}
	printf("%s %d %.1f\n", path, built,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}
