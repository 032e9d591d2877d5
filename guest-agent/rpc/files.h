/* CopyFile's work apart from its handler, so unit tests can run it against a temporary directory:
 * the field checks, and the file operations below a root directory. */
#pragma once

#include "proto/agent.pb-c.h"

#include <stdint.h>

struct sbx_err;

/* Where CopyFile writes. The guest's is SBX_GUEST_SHARED_DIR (lib/base/guest-shared.h). */
struct files_root {
	int fd;             /* the directory (O_PATH); nothing is ever created outside it */
	uint64_t used;      /* bytes of file data written below it, by size */
	uint64_t max_total; /* the cap on used */
};

/* Checks every field of in before anything is touched: the path (relative, no empty, '.' or '..'
 * names, at most SBX_COPY_MAX_PATH bytes), the file type and permission bits, ids, the data's
 * size and the offset. One-line errors naming the problem: EINVAL, or ENOSPC for a file that
 * would end past max_total. */
int files_check(const Sbx__Agent__V1__CopyFileRequest *in, uint64_t max_total, struct sbx_err *err);

/* Checks in, then creates or updates its entry below root: missing parent directories (0755),
 * the directory, symlink or regular file (data written at offset, offset 0 truncating), its
 * owner and mode. Names are resolved one at a time with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV): an existing symlink, file or special file where a
 * directory is needed, or of another type than in's, is EEXIST. Exceeding root->max_total is
 * ENOSPC. Callers serialise the calls on one root. */
int files_copy(struct files_root *root, const Sbx__Agent__V1__CopyFileRequest *in,
	       struct sbx_err *err);
