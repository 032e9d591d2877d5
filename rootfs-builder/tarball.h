/* An uncompressed tar of a rootfs directory (pax, as libarchive's "restricted pax" writes it), in
 * the order the guest agent's reader needs: every directory before what it holds, every hard
 * link after the file it names. */
#pragma once

struct sbx_err;

/* Writes the tree under `dir` to `out` atomically (temp file beside it + rename): regular files,
 * directories, symlinks, hard links, device nodes and fifos with their modes, owners (numeric
 * only: the host's user names mean nothing in the image), mtimes and, on files and directories,
 * xattrs. Names are relative ("bin/sh") and sorted, so one tree always gives the same bytes.
 * Sockets are left out: tar cannot hold them. */
int tarball_build(const char *dir, const char *out, struct sbx_err *err);
