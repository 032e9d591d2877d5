/* Rootfs delivery for the shim: mount containerd's snapshot, build or reuse the ext4 image,
 * insert it into a spare virtio-blk slot (or stream a tar), then CreateContainer. */
#define _GNU_SOURCE
#include "shim/rootfs.h"

#include "agent/client.h"
#include "base/err.h"
#include "base/io.h"
#include "base/log.h"
#include "proto/agent.pb-c.h"
#include "proto/vmm.pb-c.h"
#include "rootfs-builder/ext4.h"
#include "rootfs-builder/tarball.h"
#include "sandbox/sandbox.h"
#include "shim/shim.h"
#include "ttrpc/client.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define CREATE_TIMEOUT_MS 120000
#define MOUNT_DATA_MAX 4096 /* mount(2) takes one page of options */

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} mount_flags[] = {
    {"ro", false, MS_RDONLY},        {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},      {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},    {"exec", true, MS_NOEXEC},
    {"bind", false, MS_BIND},        {"rbind", false, MS_BIND | MS_REC},
    {"noatime", false, MS_NOATIME},  {"relatime", false, MS_RELATIME},
    {"sync", false, MS_SYNCHRONOUS},
};

static int mount_one(const Sbx__Shim__V1__Mount *m, const char *target, struct sbx_err *err)
{
	unsigned long flags = 0;
	char data[MOUNT_DATA_MAX] = "";
	size_t used = 0;
	for (size_t i = 0; i < m->n_options; i++) {
		const char *o = m->options[i];
		bool known = false;
		for (size_t k = 0; k < sizeof(mount_flags) / sizeof(mount_flags[0]); k++)
			if (!strcmp(o, mount_flags[k].name)) {
				flags = mount_flags[k].clear ? flags & ~mount_flags[k].flag
							     : flags | mount_flags[k].flag;
				known = true;
			}
		if (known)
			continue;
		int n = snprintf(data + used, sizeof(data) - used, "%s%s", used ? "," : "", o);
		if (n < 0 || (size_t)n >= sizeof(data) - used)
			return sbx_failx(err, E2BIG,
					 "rootfs mount options exceed one page (%zu layers?)",
					 m->n_options);
		used += (size_t)n;
	}
	const char *type = m->type && *m->type ? m->type : NULL;
	if (type && !strcmp(type, "bind"))
		type = NULL;
	if (mount(m->source, target, type, flags & ~MS_RDONLY, used ? data : NULL) < 0)
		return sbx_fail(err, errno, "mount the rootfs (%s %s)", m->type, m->source);
	if ((flags & MS_BIND) && (flags & MS_RDONLY) &&
	    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		return sbx_fail(err, errno, "make the rootfs bind read-only");
	return 0;
}

int shim_rootfs_mount(const char *bundle, Sbx__Shim__V1__Mount **mounts, size_t n,
		      struct sbx_err *err)
{
	char target[4200];
	snprintf(target, sizeof(target), "%s/rootfs", bundle);
	mkdir(target, 0711);
	for (size_t i = 0; i < n; i++)
		if (mount_one(mounts[i], target, err) < 0) {
			shim_rootfs_unmount(bundle);
			return -err->code;
		}
	return 0;
}

void shim_rootfs_unmount(const char *bundle)
{
	char target[4200];
	snprintf(target, sizeof(target), "%s/rootfs", bundle);
	while (umount2(target, MNT_DETACH) == 0)
		;
}

/* Where the image is kept. containerd's overlayfs snapshotter keeps a snapshot in a directory
 * of its own (upperdir=<dir>/fs) and removes that whole directory with the snapshot, so an
 * image next to fs/ lives exactly as long as the snapshot: a task started again on the same
 * container reuses it, and nothing is left once the container is removed. The bundle's work
 * dir would not do: containerd deletes it with every task. Other mounts (a bind of a native
 * snapshot, several mounts) keep the image in the pod's state dir, gone with the shim. */
static void image_path(Sbx__Shim__V1__Mount **mounts, size_t n, const char *id, char *out,
		       size_t max)
{
	if (n == 1 && mounts[0]->type && !strcmp(mounts[0]->type, "overlay"))
		for (size_t i = 0; i < mounts[0]->n_options; i++) {
			const char *o = mounts[0]->options[i];
			if (strncmp(o, "upperdir=", 9) != 0 || o[9] != '/')
				continue;
			const char *slash = strrchr(o + 9, '/');
			int len = (int)(slash - (o + 9));
			if (len > 0 &&
			    snprintf(out, max, "%.*s/kata-lite-rootfs.ext4", len, o + 9) < (int)max)
				return;
		}
	snprintf(out, max, "%s/%s.rootfs.ext4", the_shim.state_dir, id);
}

static int insert_disk(struct shim *s, unsigned slot, const char *path, const char *serial,
		       struct sbx_err *err)
{
	Sbx__Vmm__V1__InsertDiskRequest req = SBX__VMM__V1__INSERT_DISK_REQUEST__INIT;
	req.slot = slot;
	req.path = (char *)path;
	req.read_only = true;
	req.serial = (char *)serial;
	ProtobufCMessage *resp = NULL;
	int r = ttrpc_call_unix(s->sb->api, "sbx.vmm.v1.Vmm", "InsertDisk", &req.base,
				&sbx__vmm__v1__empty__descriptor, &resp, 30000, err);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return r;
}

int shim_rootfs_create(struct shim *s, const char *id, Sbx__Shim__V1__Mount **mounts,
		       size_t n_mounts, const char *dir, const char *spec_json, bool stdin,
		       struct sbx_err *err)
{
	struct ttrpc_client *cl;
	if (shim_agent(s, &cl, err) < 0)
		return -err->code;
	pthread_mutex_lock(&s->lock);
	bool block = !s->cfg.rootfs_stream && s->next_slot < s->n_slots;
	unsigned slot = block ? s->next_slot++ : 0;
	struct sandbox *sb = s->sb;
	pthread_mutex_unlock(&s->lock);

	char image[4300], serial[21];
	Sbx__Agent__V1__CreateContainerRequest req = SBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	Sbx__Agent__V1__RootfsSource src = SBX__AGENT__V1__ROOTFS_SOURCE__INIT;
	Sbx__Agent__V1__BlockRootfs blk = SBX__AGENT__V1__BLOCK_ROOTFS__INIT;
	Sbx__Agent__V1__StreamRootfs str = SBX__AGENT__V1__STREAM_ROOTFS__INIT;
	req.container_id = (char *)id;
	req.oci_spec.data = (uint8_t *)spec_json;
	req.oci_spec.len = strlen(spec_json);
	req.rootfs = &src;
	req.stdin = stdin;
	struct agent_rootfs_sender *sender = NULL;
	if (block) {
		image_path(mounts, n_mounts, id, image, sizeof(image));
		if (access(image, R_OK) != 0 && ext4_build_image(dir, image, err) < 0)
			return sbx_wrap(err, "rootfs image of '%s'", id);
		snprintf(serial, sizeof(serial), "kl-rootfs-%u", slot);
		if (insert_disk(s, slot, image, serial, err) < 0)
			return sbx_wrap(err, "insert the rootfs image");
		src.source_case = SBX__AGENT__V1__ROOTFS_SOURCE__SOURCE_BLOCK;
		src.block = &blk;
		blk.serial = serial;
		blk.fstype = "ext4";
	} else {
		snprintf(image, sizeof(image), "%s/%s.rootfs.tar", s->state_dir, id);
		if (tarball_build(dir, image, err) < 0)
			return sbx_wrap(err, "rootfs tar of '%s'", id);
		src.source_case = SBX__AGENT__V1__ROOTFS_SOURCE__SOURCE_STREAM;
		src.stream = &str;
		if (agent_rootfs_send_start(sb, id, image, &sender, err) < 0) {
			unlink(image);
			return -err->code;
		}
	}
	int r =
	    agent_call(cl, "CreateContainer", &req.base,
		       &sbx__agent__v1__process_started__descriptor, NULL, CREATE_TIMEOUT_MS, err);
	if (sender) {
		struct sbx_err send_err = {0};
		int sent = agent_rootfs_send_finish(sender, &send_err);
		unlink(image); /* the guest holds the tree now */
		if (r == 0 && sent < 0) {
			*err = send_err;
			r = sent;
		}
	}
	return r;
}
