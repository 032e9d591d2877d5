/* The init half of sbx-agent. Every step is checked; a failure here is fatal for the guest and is
 * reported on the console by the caller before agent_power_off(). */
#define _GNU_SOURCE
#include "guest-agent/init.h"
#include "guest-agent/agent.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "base/vsock-ports.h"

#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct base_mount {
	const char *source, *target, *type;
	unsigned long flags;
	const char *data;
};

static const struct base_mount base_mounts[] = {
    {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
    {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
    {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
    {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"},
    {"shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
    {"cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
    {"run", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"},
    {"tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
};

static int enable_controllers(struct sbx_err *err)
{
	char buf[256];
	_cleanup_close_ int fd = open("/sys/fs/cgroup/cgroup.controllers", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sbx_fail(err, errno, "open cgroup.controllers");
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return sbx_fail(err, errno, "read cgroup.controllers");
	buf[n] = '\0';
	_cleanup_close_ int sub =
	    open("/sys/fs/cgroup/cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
	if (sub < 0)
		return sbx_fail(err, errno, "open cgroup.subtree_control");
	for (char *save, *tok = strtok_r(buf, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save)) {
		char req[64];
		int len = snprintf(req, sizeof(req), "+%s", tok);
		if (write(sub, req, (size_t)len) < 0)
			return sbx_fail(err, errno, "enable cgroup controller %s", tok);
	}
	return 0;
}

/* The initramfs is the kernel's rootfs mount, which has no parent, and pivot_root refuses to
 * move such a root: containers could only chroot. Bind-mounting it onto itself and making that
 * the root (what switch_root does with a real root) gives every later root a parent. */
static int leave_rootfs_mount(struct sbx_err *err)
{
	if (mkdir("/.root", 0700) < 0 && errno != EEXIST)
		return sbx_fail(err, errno, "mkdir /.root");
	if (mount("/", "/.root", NULL, MS_BIND | MS_REC, NULL) < 0)
		return sbx_fail(err, errno, "bind the initramfs");
	if (chdir("/.root") < 0 || mount("/.root", "/", NULL, MS_MOVE, NULL) < 0 ||
	    chroot(".") < 0 || chdir("/") < 0)
		return sbx_fail(err, errno, "move the initramfs bind onto /");
	return 0;
}

int agent_init_mounts(const char *hostname, struct sbx_err *err)
{
	if (leave_rootfs_mount(err) < 0)
		return -err->code;
	for (size_t i = 0; i < ARRAY_SIZE(base_mounts); i++) {
		const struct base_mount *m = &base_mounts[i];
		if (mkdir(m->target, 0755) < 0 && errno != EEXIST)
			return sbx_fail(err, errno, "mkdir %s", m->target);
		if (mount(m->source, m->target, m->type, m->flags, m->data) < 0 && errno != EBUSY)
			return sbx_fail(err, errno, "mount %s on %s", m->type, m->target);
	}
	/* /dev/ptmx must point into our devpts instance. */
	unlink("/dev/ptmx");
	if (symlink("pts/ptmx", "/dev/ptmx") < 0)
		return sbx_fail(err, errno, "symlink /dev/ptmx");
	int r = enable_controllers(err);
	if (r < 0)
		return r;
	if (hostname && sethostname(hostname, strlen(hostname)) < 0)
		return sbx_fail(err, errno, "sethostname '%s'", hostname);
	return 0;
}

int agent_listen_vsock(uint32_t port, struct sbx_err *err)
{
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sbx_fail(err, errno, "vsock socket");
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		int e = errno;
		close(fd);
		return sbx_fail(err, e, "listen on vsock port %u", port);
	}
	return fd;
}

int agent_notify_ready(const char *version, struct sbx_err *err)
{
	_cleanup_close_ int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sbx_fail(err, errno, "vsock socket");
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = SBX_PORT_READY};
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return sbx_fail(err, errno, "connect to the host's ready port %u", SBX_PORT_READY);
	char line[96];
	int n = snprintf(line, sizeof(line), "READY %s\n", version);
	if (write(fd, line, (size_t)n) != n)
		return sbx_fail(err, errno, "send READY");
	return 0;
}

int agent_reap(void (*on_exit)(void *opaque, pid_t pid, int status), void *opaque)
{
	int n = 0;
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid <= 0)
			return n;
		n++;
		if (on_exit)
			on_exit(opaque, pid, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	}
}

_Noreturn void agent_power_off(const char *reason)
{
	if (reason)
		dprintf(2, "sbx-agent: powering off: %s\n", reason);
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
	agent_rootfs_unmount_all();
	sync();
	/* The VMM passes reboot=k: a reset is how a guest without ACPI stops the VM. */
	reboot(RB_AUTOBOOT);
	for (;;)
		pause();
}
