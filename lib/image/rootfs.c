/* Layers applied in order into a scratch tree beside the cache, then written out as ext4 (mke2fs
 * -d) or as one tar; the scratch tree is removed whatever happens. */
#define _GNU_SOURCE
#include "image/rootfs.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "base/tree.h"
#include "image/config.h"
#include "image/store.h"
#include "rootfs-builder/ext4.h"
#include "rootfs-builder/layers.h"
#include "rootfs-builder/tarball.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes one cache format of a tree to path: ext4_build_image or tarball_build. */
typedef int (*rootfs_writer_fn)(const char *dir, const char *path, struct sbx_err *err);

/* The image's layers applied in order into a fresh scratch tree under cache, then written out. */
static int build_from_tree(struct image_store *s, const struct image_config *cfg, const char *cache,
			   const char *path, rootfs_writer_fn write_out, struct sbx_err *err)
{
	char tree[4300];
	snprintf(tree, sizeof(tree), "%s/tree.XXXXXX", cache);
	if (!mkdtemp(tree))
		return sbx_fail(err, errno, "create scratch tree in '%s'", cache);
	int r = 0;
	chmod(tree, 0755);
	_cleanup_close_ int rootfd = open(tree, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (rootfd < 0)
		r = sbx_fail(err, errno, "open '%s'", tree);
	for (char **l = cfg->layers; r == 0 && l && *l; l++) {
		int fd = image_blob_open(s, *l, err);
		if (fd < 0) {
			r = fd;
			break;
		}
		r = layer_apply(rootfd, fd, NULL, err);
		close(fd);
		if (r < 0)
			sbx_wrap(err, "layer %.19s", *l);
	}
	if (r == 0)
		r = write_out(tree, path, err);
	sbx_remove_tree(tree);
	return r;
}

/* <store>/rootfs/<config hex>.<ext>, built by write_out unless it is already there. */
static int rootfs_cached(struct image_store *s, const char *manifest_digest, const char *ext,
			 rootfs_writer_fn write_out, char *ret_path, size_t ret_size,
			 int *ret_built, struct sbx_err *err)
{
	struct image_config cfg;
	int r = image_config_load(s, manifest_digest, &cfg, err);
	if (r < 0)
		return r;
	if (ret_built)
		*ret_built = 0;
	char cache[4200], path[4300];
	snprintf(cache, sizeof(cache), "%s/rootfs", s->root);
	if (mkdir(cache, 0700) < 0 && errno != EEXIST) {
		r = sbx_fail(err, errno, "create '%s'", cache);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s.%s", cache, cfg.config_digest + 7, ext);
	if (snprintf(ret_path, ret_size, "%s", path) >= (int)ret_size) {
		r = sbx_failx(err, ENAMETOOLONG, "rootfs path too long");
		goto out;
	}
	if (access(path, F_OK) == 0)
		goto out; /* cached */

	r = build_from_tree(s, &cfg, cache, path, write_out, err);
	if (r == 0 && ret_built)
		*ret_built = 1;
out:
	image_config_free(&cfg);
	return r;
}

int image_rootfs_ext4(struct image_store *s, const char *manifest_digest, char *ret_path,
		      size_t ret_size, int *ret_built, struct sbx_err *err)
{
	return rootfs_cached(s, manifest_digest, "ext4", ext4_build_image, ret_path, ret_size,
			     ret_built, err);
}

int image_rootfs_tar(struct image_store *s, const char *manifest_digest, char *ret_path,
		     size_t ret_size, int *ret_built, struct sbx_err *err)
{
	return rootfs_cached(s, manifest_digest, "tar", tarball_build, ret_path, ret_size,
			     ret_built, err);
}
