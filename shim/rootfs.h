/* A container's root as containerd hands it over (mounts of snapshot directories), made into
 * what the agent takes: a read-only ext4 image in one of the VM's spare disk slots (built once
 * and kept beside containerd's snapshot while it lives), or a tar stream. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "proto/shim.pb-c.h"

struct sbx_err;
struct shim;

/* Mounts containerd's rootfs mounts, in order, on <bundle>/rootfs. */
int shim_rootfs_mount(const char *bundle, Sbx__Shim__V1__Mount **mounts, size_t n,
		      struct sbx_err *err);
void shim_rootfs_unmount(const char *bundle);

/* Gives the agent the tree at dir (mounted from mounts) for container id: fills serial
 * (block) or sends a tar (stream, when configured or when the disk slots are used up) while
 * CreateContainer runs. The caller's CreateContainer request is sent by shim_rootfs_create. */
int shim_rootfs_create(struct shim *s, const char *id, Sbx__Shim__V1__Mount **mounts,
		       size_t n_mounts, const char *dir, const char *spec_json, bool stdin,
		       struct sbx_err *err);
