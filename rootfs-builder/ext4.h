/* Read-only disk images of a rootfs directory: ext4 through `mke2fs -d` (e2fsprogs). */
#pragma once

#include <stdint.h>

struct sbx_err;

/* Bytes a directory tree uses (apparent sizes rounded to 4 KiB blocks, plus inodes). */
int rootfs_tree_size(const char *dir, uint64_t *ret, struct sbx_err *err);

/* Writes an ext4 image of `dir` to `out` atomically (temp file + rename). The image is sized
 * from the tree with room for metadata; no journal, since it is mounted read-only. */
int ext4_build_image(const char *dir, const char *out, struct sbx_err *err);
