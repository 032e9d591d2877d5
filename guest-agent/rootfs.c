/* A container's root: an image disk (named by its virtio-blk serial) mounted read-only under an
 * overlayfs whose writable layer is a tmpfs or a second disk, or a tar stream unpacked into a
 * tmpfs. Everything lives under AGENT_RUN_DIR/<id>, which containers never see. */
#define _GNU_SOURCE
#include "guest-agent/agent.h"

#include "base/cleanup.h"
#include "base/clock.h"
#include "base/err.h"
#include "guest-agent/untar.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STREAM_WAIT_NS (60ull * 1000000000ull)

#define DISK_WAIT_NS (10ull * 1000000000ull)

/* Whether /sys/block/<name> has media: a disk inserted into a spare slot a moment ago reads
 * as 0 sectors until the kernel has handled the config-change interrupt. */
static bool has_media(const char *name)
{
	char path[300], text[32] = "";
	snprintf(path, sizeof(path), "/sys/block/%s/size", name);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	return f && fgets(text, sizeof(text), f) && strtoull(text, NULL, 10) > 0;
}

/* /dev/vdX whose virtio-blk serial is serial, with media (0 when found). */
static int find_disk_once(const char *serial, char *dev, size_t dev_size, struct sbx_err *err)
{
	_cleanup_closedir_ DIR *d = opendir("/sys/block");
	if (!d)
		return sbx_fail(err, errno, "open /sys/block");
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "vd", 2))
			continue;
		char path[300], got[64] = "";
		snprintf(path, sizeof(path), "/sys/block/%s/serial", e->d_name);
		_cleanup_fclose_ FILE *f = fopen(path, "re");
		if (!f || !fgets(got, sizeof(got), f))
			continue;
		got[strcspn(got, "\n")] = '\0';
		if (!strcmp(got, serial) && has_media(e->d_name)) {
			snprintf(dev, dev_size, "/dev/%s", e->d_name);
			return 0;
		}
	}
	return sbx_failx(err, ENODEV, "no disk with serial '%s' in the guest", serial);
}

static int find_disk(const char *serial, char *dev, size_t dev_size, struct sbx_err *err)
{
	if (!serial[0] || strlen(serial) > 20 || strchr(serial, '/'))
		return sbx_failx(err, EINVAL, "disk serial '%.32s' is not valid (1-20 bytes)",
				 serial);
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + DISK_WAIT_NS;
	for (;;) {
		int r = find_disk_once(serial, dev, dev_size, err);
		if (r != -ENODEV || clock_ns(CLOCK_MONOTONIC) > deadline)
			return r;
		struct timespec ts = {0, 10000000}; /* polling the kernel's view, with a deadline */
		nanosleep(&ts, NULL);
	}
}

static int make_dir(const char *path, struct sbx_err *err)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return sbx_fail(err, errno, "mkdir %s", path);
	return 0;
}

/* overlayfs shows the upper dir's owner and mode as the container's "/": give it the image's, or
 * its 0700 shuts every non-root user out of the whole tree (containerd's overlay snapshotter
 * likewise gives its upper dir the parent's owner). */
static int copy_root_attrs(const char *lower, const char *upper, struct sbx_err *err)
{
	struct stat st;
	if (stat(lower, &st) < 0)
		return sbx_fail(err, errno, "stat %s", lower);
	if (chown(upper, st.st_uid, st.st_gid) < 0 || chmod(upper, st.st_mode & 07777) < 0)
		return sbx_fail(err, errno, "set the owner and mode of %s", upper);
	return 0;
}

static int prepare(struct agent_rootfs *r, const char *id, struct sbx_err *err)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "%s/%s", AGENT_RUN_DIR, id);
	snprintf(r->root, sizeof(r->root), "%s/rootfs", r->dir);
	if (make_dir(AGENT_RUN_DIR, err) < 0)
		return -err->code;
	if (mkdir(r->dir, 0700) < 0)
		return sbx_fail(err, errno, "mkdir %s", r->dir);
	return make_dir(r->root, err);
}

int agent_rootfs_block(struct agent_rootfs *r, const char *id, const char *serial,
		       const char *fstype, const char *upper_serial, struct sbx_err *err)
{
	char dev[300], upper_dev[300], lower[200], rw[200], upper[220], work[220];
	if (strcmp(fstype, "ext4") && strcmp(fstype, "erofs"))
		return sbx_failx(err, EINVAL, "rootfs fstype '%.16s' is not ext4 or erofs", fstype);
	if (find_disk(serial, dev, sizeof(dev), err) < 0 ||
	    (upper_serial[0] && find_disk(upper_serial, upper_dev, sizeof(upper_dev), err) < 0))
		return -err->code;
	if (prepare(r, id, err) < 0)
		return -err->code;
	snprintf(lower, sizeof(lower), "%s/lower", r->dir);
	snprintf(rw, sizeof(rw), "%s/rw", r->dir);
	snprintf(upper, sizeof(upper), "%s/upper", rw);
	snprintf(work, sizeof(work), "%s/work", rw);
	int ret = 0;
	if (make_dir(lower, err) < 0 || make_dir(rw, err) < 0)
		goto fail;
	if (mount(dev, lower, fstype, MS_RDONLY, NULL) < 0) {
		sbx_fail(err, errno, "mount %s disk '%s' (%s)", fstype, serial, dev);
		goto fail;
	}
	r->lower = true;
	/* the writable layer: a disk the host formatted as ext4, or guest memory */
	if (upper_serial[0] ? mount(upper_dev, rw, "ext4", MS_NODEV | MS_NOSUID, NULL)
			    : mount("tmpfs", rw, "tmpfs", 0, "mode=0700")) {
		sbx_fail(err, errno, "mount the writable layer");
		goto fail;
	}
	r->rw = true;
	if (make_dir(upper, err) < 0 || make_dir(work, err) < 0 ||
	    copy_root_attrs(lower, upper, err) < 0)
		goto fail;
	char opts[800];
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	if (mount("overlay", r->root, "overlay", 0, opts) < 0) {
		sbx_fail(err, errno, "mount overlayfs root");
		goto fail;
	}
	r->overlay = true;
	return 0;
fail:
	ret = -err->code;
	agent_rootfs_teardown(r);
	return ret;
}

/* Takes the ROOTFS stream parked for id, waiting for it to arrive. */
static int take_parked_stream(struct agent *a, const char *id, struct sbx_err *err)
{
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + STREAM_WAIT_NS;
	int fd = -1;
	pthread_mutex_lock(&a->lock);
	for (;;) {
		for (struct agent_parked_stream **pp = &a->parked; *pp; pp = &(*pp)->next)
			if (!strcmp((*pp)->container_id, id)) {
				struct agent_parked_stream *s = *pp;
				*pp = s->next;
				fd = s->fd;
				free(s);
				break;
			}
		if (fd >= 0 || !agent_wait_changed(a, deadline))
			break;
	}
	pthread_mutex_unlock(&a->lock);
	if (fd < 0)
		return sbx_failx(err, ETIMEDOUT, "no rootfs stream for '%s' arrived within %llu s",
				 id, STREAM_WAIT_NS / 1000000000ull);
	return fd;
}

int agent_rootfs_stream(struct agent *a, struct agent_rootfs *r, const char *id, uint32_t size_mib,
			struct sbx_err *err)
{
	if (size_mib > (1u << 20))
		return sbx_failx(err, EINVAL, "rootfs size limit %u MiB is too large", size_mib);
	if (prepare(r, id, err) < 0)
		return -err->code;
	_cleanup_close_ int fd = -1, rootfd = -1;
	int ret;
	char opts[64] = "mode=0755";
	if (size_mib)
		snprintf(opts, sizeof(opts), "mode=0755,size=%um", size_mib);
	if (mount("tmpfs", r->root, "tmpfs", 0, opts) < 0) {
		sbx_fail(err, errno, "mount tmpfs root");
		goto fail;
	}
	r->overlay = true;
	fd = take_parked_stream(a, id, err);
	if (fd < 0)
		goto fail;
	rootfd = open(r->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		sbx_fail(err, errno, "open %s", r->root);
		goto fail;
	}
	if (untar_extract(rootfd, fd, NULL, err) < 0) {
		sbx_wrap(err, "rootfs stream");
		goto fail;
	}
	return 0;
fail:
	ret = -err->code;
	agent_rootfs_teardown(r);
	return ret;
}

void agent_rootfs_teardown(struct agent_rootfs *r)
{
	char path[220];
	if (!r->dir[0])
		return;
	if (r->overlay && umount2(r->root, MNT_DETACH) < 0)
		dprintf(2, "sbx-agent: unmount %s: %m\n", r->root);
	rmdir(r->root);
	snprintf(path, sizeof(path), "%s/rw", r->dir);
	if (r->rw && umount2(path, MNT_DETACH) < 0)
		dprintf(2, "sbx-agent: unmount %s: %m\n", path);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/lower", r->dir);
	if (r->lower && umount2(path, MNT_DETACH) < 0)
		dprintf(2, "sbx-agent: unmount %s: %m\n", path);
	rmdir(path);
	rmdir(r->dir);
	memset(r, 0, sizeof(*r));
}

void agent_rootfs_unmount_all(void)
{
	char targets[256][200];
	int n = 0;
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mounts", "re");
	char line[1024];
	while (f && n < 256 && fgets(line, sizeof(line), f)) {
		char src[256], target[256];
		if (sscanf(line, "%255s %255s", src, target) == 2 &&
		    !strncmp(target, AGENT_RUN_DIR "/", strlen(AGENT_RUN_DIR) + 1) &&
		    strlen(target) < sizeof(targets[0]))
			snprintf(targets[n++], sizeof(targets[0]), "%s", target);
	}
	/* mounts are listed in the order they were made: undo them backwards */
	while (n-- > 0)
		if (umount2(targets[n], 0) < 0 && umount2(targets[n], MNT_DETACH) < 0)
			dprintf(2, "sbx-agent: unmount %s: %m\n", targets[n]);
}
