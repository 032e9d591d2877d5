/* Applies OCI image layers (tar, tar+gzip, tar+zstd) onto a rootfs directory: whiteouts and
 * opaque directories, ownership, modes, xattrs, device nodes, hard links and symlinks. Entries
 * that would land outside the rootfs (absolute names, "..", writing through a symlink that
 * leaves the root) are refused with an error naming the entry. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct sbx_err;

struct layer_stats {
	uint64_t entries;
	uint64_t bytes;
	uint64_t whiteouts;
};

/* A libarchive reader for (gzip- or zstd-compressed) tar, shared by everything that reads image
 * tarballs; NULL on allocation failure. */
struct archive *layer_tar_reader_new(void);

/* Reads one layer from layer_fd and applies it under the directory rootfd. */
int layer_apply(int rootfd, int layer_fd, struct layer_stats *stats, struct sbx_err *err);

/* Splits a tar entry name into a clean relative path ("a/b/c"), or fails on absolute names,
 * ".." components and over-long names. "./" and "" components are dropped; ret may be "". */
int layer_clean_path(const char *name, char *ret, size_t ret_size, struct sbx_err *err);
