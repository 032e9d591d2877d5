/* sbx-rootfs: apply image layers to a directory and build read-only disk images.
 *   sbx-rootfs apply DIR LAYER...      apply layers (tar, tar.gz, tar.zst) in order onto DIR
 *   sbx-rootfs ext4 DIR IMAGE          build an ext4 image of DIR */
#include "rootfs-builder/ext4.h"
#include "rootfs-builder/layers.h"

#include "base/cleanup.h"
#include "base/err.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int usage(void)
{
	fprintf(stderr, "usage: sbx-rootfs apply DIR LAYER... | sbx-rootfs ext4 DIR IMAGE\n");
	return 2;
}

static int cmd_apply(int argc, char **argv, struct sbx_err *err)
{
	if (mkdir(argv[0], 0755) < 0 && errno != EEXIST)
		return sbx_fail(err, errno, "create '%s'", argv[0]);
	_cleanup_close_ int root = open(argv[0], O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (root < 0)
		return sbx_fail(err, errno, "open '%s'", argv[0]);
	for (int i = 1; i < argc; i++) {
		_cleanup_close_ int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return sbx_fail(err, errno, "open layer '%s'", argv[i]);
		struct layer_stats st;
		int r = layer_apply(root, fd, &st, err);
		if (r < 0)
			return sbx_wrap(err, "%s", argv[i]);
		printf("%s: %llu entries, %llu bytes, %llu whiteouts\n", argv[i],
		       (unsigned long long)st.entries, (unsigned long long)st.bytes,
		       (unsigned long long)st.whiteouts);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sbx_err err = {0};
	int r;
	if (argc >= 4 && strcmp(argv[1], "apply") == 0)
		r = cmd_apply(argc - 2, argv + 2, &err);
	else if (argc == 4 && strcmp(argv[1], "ext4") == 0)
		r = ext4_build_image(argv[2], argv[3], &err);
	else
		return usage();
	if (r < 0) {
		fprintf(stderr, "sbx-rootfs: %s\n", err.msg);
		return 1;
	}
	return 0;
}
