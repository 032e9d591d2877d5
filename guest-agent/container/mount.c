/* The container's filesystem view: rootfs bind, spec mounts resolved inside the root with
 * openat2(RESOLVE_IN_ROOT), default /dev nodes, pivot_root, masked and read-only paths. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "guest-agent/container/container.h"

/* Opens path inside root; a symlink or ".." can never lead outside it. */
static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

/* mkdir -p of dest inside root (dirs), or of its parent plus an empty file (files); returns an
 * O_PATH fd of dest. */
static int make_target(int rootfd, const char *dest, bool file, struct sbx_err *err)
{
	char buf[OCI_MAX_STR], *slash;
	int fd;

	snprintf(buf, sizeof(buf), "%s", dest);
	for (slash = strchr(buf + 1, '/');; slash = strchr(slash + 1, '/')) {
		_cleanup_close_ int pfd = -1;
		bool last = !slash;
		char *name;

		if (slash)
			*slash = '\0';
		name = strrchr(buf, '/');
		*name = '\0';
		pfd = open_in_root(rootfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY);
		*name = '/';
		if (pfd < 0)
			return sbx_fail(err, -pfd, "resolve '%s' in rootfs", buf);
		if (last && file) {
			fd = openat(pfd, name + 1, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
				    0644);
			if (fd < 0 && errno != EISDIR && errno != ELOOP)
				return sbx_fail(err, errno, "create '%s' in rootfs", dest);
			if (fd >= 0)
				close(fd);
		} else if (mkdirat(pfd, name + 1, 0755) < 0 && errno != EEXIST) {
			return sbx_fail(err, errno, "mkdir '%s' in rootfs", buf);
		}
		if (last)
			break;
		*slash = '/';
	}
	fd = open_in_root(rootfd, dest, O_PATH);
	if (fd < 0)
		return sbx_fail(err, -fd, "open '%s' in rootfs", dest);
	return fd;
}

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} mount_opts[] = {
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"bind", false, MS_BIND},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"private", false, 0},
    {"rprivate", false, 0},
    {"shared", false, 0},
    {"rshared", false, 0},
    {"slave", false, 0},
    {"rslave", false, 0},
};

static void parse_options(const struct oci_mount *m, unsigned long *flags, char *data, size_t dlen)
{
	size_t used = 0;

	*flags = 0;
	data[0] = '\0';
	for (size_t i = 0; i < m->noptions; i++) {
		size_t k;

		for (k = 0; k < ARRAY_SIZE(mount_opts); k++)
			if (!strcmp(m->options[i], mount_opts[k].name))
				break;
		if (k < ARRAY_SIZE(mount_opts)) {
			if (mount_opts[k].clear)
				*flags &= ~mount_opts[k].flag;
			else
				*flags |= mount_opts[k].flag;
			continue;
		}
		used += (size_t)snprintf(data + used, used < dlen ? dlen - used : 0, "%s%s",
					 used ? "," : "", m->options[i]);
	}
}

/* A bind mount made detached, given its flags (ro, nosuid, nodev, noexec), then attached at fd:
 * a remount through fd would reach the file underneath, not the new mount. */
static int bind_one(const struct oci_mount *m, unsigned long flags, int fd, struct sbx_err *err)
{
	bool rec = flags & MS_REC;
	_cleanup_close_ int tree = (int)open_tree(
	    AT_FDCWD, m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0));
	if (tree < 0)
		return sbx_fail(err, errno, "bind mount '%s'", m->destination);
	struct mount_attr attr = {0};
	if (flags & MS_RDONLY)
		attr.attr_set |= MOUNT_ATTR_RDONLY;
	if (flags & MS_NOSUID)
		attr.attr_set |= MOUNT_ATTR_NOSUID;
	if (flags & MS_NODEV)
		attr.attr_set |= MOUNT_ATTR_NODEV;
	if (flags & MS_NOEXEC)
		attr.attr_set |= MOUNT_ATTR_NOEXEC;
	if (attr.attr_set && mount_setattr(tree, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0),
					   &attr, sizeof(attr)) < 0)
		return sbx_fail(err, errno, "set the flags of bind mount '%s'", m->destination);
	if (move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return sbx_fail(err, errno, "attach bind mount '%s'", m->destination);
	return 0;
}

static int mount_one(int rootfd, const struct oci_mount *m, struct sbx_err *err)
{
	_cleanup_close_ int fd = -1;
	unsigned long flags;
	char data[1024], target[64];
	struct stat st;
	bool bind;

	parse_options(m, &flags, data, sizeof(data));
	bind = flags & MS_BIND;
	if (bind && (!m->source || stat(m->source, &st) < 0))
		return sbx_fail(err, errno ? errno : EINVAL, "mount %s: source", m->destination);
	fd = make_target(rootfd, m->destination, bind && !S_ISDIR(st.st_mode), err);
	if (fd < 0)
		return fd;
	snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
	if (bind)
		return bind_one(m, flags, fd, err);
	/* The guest has cgroup v2 only, so "cgroup" means the container's cgroup2 view, as runc
	 * makes it on a v2 host; a v1 mount inside a cgroup namespace (CRI's specs) is EPERM. */
	const char *type = m->type;
	if (type && !strcmp(type, "cgroup")) {
		type = "cgroup2";
		data[0] = '\0';
	}
	if (mount(m->source ? m->source : type, target, type, flags, data[0] ? data : NULL) < 0)
		return sbx_fail(err, errno, "mount %s on '%s'", m->type, m->destination);
	return 0;
}

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

/* OCI default devices, bind-mounted from the agent's /dev (works without CAP_MKNOD in any
 * user namespace), plus the standard symlinks. */
static int default_devices(int rootfd, struct sbx_err *err)
{
	static const char *const links[][2] = {
	    {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
	    {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
	    {"pts/ptmx", "ptmx"},
	};
	_cleanup_close_ int dev = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY);

	if (dev < 0)
		return sbx_fail(err, -dev, "open /dev in rootfs");
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
		struct oci_mount m = {.destination = NULL};
		char src[32], dst[32];
		char *opts[] = {"bind"};

		snprintf(src, sizeof(src), "/dev/%s", dev_nodes[i]);
		snprintf(dst, sizeof(dst), "/dev/%s", dev_nodes[i]);
		m.source = src;
		m.destination = dst;
		m.options = opts;
		m.noptions = 1;
		if (mount_one(rootfd, &m, err) < 0)
			return -err->code;
	}
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
			return sbx_fail(err, errno, "symlink /dev/%s", links[i][1]);
	return 0;
}

static int mask_paths(const struct oci_spec *spec, struct sbx_err *err)
{
	for (size_t i = 0; i < spec->nmasked; i++) {
		const char *p = spec->masked_paths[i];
		struct stat st;

		if (lstat(p, &st) < 0)
			continue; /* nothing to hide */
		if (S_ISDIR(st.st_mode)) {
			if (mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0") < 0)
				return sbx_fail(err, errno, "mask '%s'", p);
		} else if (mount("/dev/null", p, NULL, MS_BIND, NULL) < 0) {
			return sbx_fail(err, errno, "mask '%s'", p);
		}
	}
	for (size_t i = 0; i < spec->nreadonly; i++) {
		const char *p = spec->readonly_paths[i];

		if (access(p, F_OK) < 0)
			continue;
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, p, NULL,
			  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  NULL) < 0)
			return sbx_fail(err, errno, "read-only '%s'", p);
	}
	return 0;
}

int ct_setup_rootfs(const struct oci_spec *spec, const char *rootfs, struct sbx_err *err)
{
	_cleanup_close_ int rootfd = -1;
	bool has_dev = false;

	/* nothing we mount may propagate back to the agent's namespace */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return sbx_fail(err, errno, "make / private");
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return sbx_fail(err, errno, "bind rootfs '%s'", rootfs);
	rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return sbx_fail(err, errno, "open rootfs '%s'", rootfs);
	for (size_t i = 0; i < spec->nmounts; i++) {
		int r = mount_one(rootfd, &spec->mounts[i], err);

		if (r < 0)
			return sbx_wrap(err, "mounts[%zu]", i);
		has_dev |= !strcmp(spec->mounts[i].destination, "/dev");
	}
	if (has_dev && default_devices(rootfd, err) < 0)
		return -err->code;
	if (chdir(rootfs) < 0)
		return sbx_fail(err, errno, "chdir rootfs");
	/* pivot_root(".", "."): the old root ends up stacked on "/" and is detached at once */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return sbx_fail(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return sbx_fail(err, errno, "detach old root");
	if (chdir("/") < 0)
		return sbx_fail(err, errno, "chdir /");
	if (mask_paths(spec, err) < 0)
		return -err->code;
	if (spec->root_readonly &&
	    mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
		return sbx_fail(err, errno, "remount / read-only");
	return 0;
}
