/* Exec into a running container: setns into init's namespaces (mount last, since it changes
 * how /proc paths resolve), join its cgroup, fork once more for the pid namespace, then the
 * same process setup as init and exec. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "guest-agent/container/cgroup.h"
#include "guest-agent/container/container.h"

static const struct {
	const char *name;
	int flag;
} exec_ns[] = {
    {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},       {"net", CLONE_NEWNET},
    {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP}, {"mnt", CLONE_NEWNS},
};

static int send_msg(int fd, char tag, const void *data, size_t len)
{
	char buf[1 + SBX_ERR_MAX];

	if (len > SBX_ERR_MAX)
		len = SBX_ERR_MAX;
	buf[0] = tag;
	memcpy(buf + 1, data, len);
	return send(fd, buf, 1 + len, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int enter(pid_t pid, const char *cgroup_dir, struct sbx_err *err)
{
	int fds[ARRAY_SIZE(exec_ns)];
	char path[64];
	int r = 0;

	/* open all first: after setns(mnt) /proc is the container's */
	for (size_t i = 0; i < ARRAY_SIZE(exec_ns); i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, exec_ns[i].name);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			r = sbx_fail(err, errno, "open '%s'", path);
	}
	if (r == 0 && cgroup_dir)
		r = cg_join(cgroup_dir, 0, err);
	for (size_t i = 0; i < ARRAY_SIZE(exec_ns); i++) {
		/* EINVAL: same namespace as ours (the container did not unshare it) is fine */
		if (r == 0 && setns(fds[i], exec_ns[i].flag) < 0)
			r = sbx_fail(err, errno, "setns %s", exec_ns[i].name);
		if (fds[i] >= 0)
			close(fds[i]);
	}
	return r;
}

int ct_exec(struct ct *c, const struct oci_spec *spec, const struct oci_process *p,
	    const char *cgroup_dir, const struct ct_stdio *io, pid_t *ret_pid, struct sbx_err *err)
{
	_cleanup_close_ int rd = -1, wr = -1;
	char msg[1 + SBX_ERR_MAX];
	int fds[2], st;
	pid_t pid, gc;
	ssize_t n;

	/* SEQPACKET: the intermediate's 'P'+pid and the new process's 'E'+message arrive whole,
	 * in either order; EOF (exec closed the CLOEXEC end) means success */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return sbx_fail(err, errno, "socketpair");
	rd = fds[0], wr = fds[1];
	pid = fork();
	if (pid < 0)
		return sbx_fail(err, errno, "fork");
	if (pid == 0) {
		struct sbx_err e = {0};

		int keep[] = {wr, io ? io->fds[0] : -1, io ? io->fds[1] : -1, io ? io->fds[2] : -1};

		ct_close_fds_except(keep, ARRAY_SIZE(keep));
		if (ct_deny_vsock(&e) < 0 || enter(c->pid, cgroup_dir, &e) < 0 ||
		    (gc = fork()) < 0) {
			if (!e.code)
				sbx_fail(&e, errno, "fork");
			send_msg(wr, 'E', e.msg, strlen(e.msg));
			_exit(126);
		}
		if (gc > 0) {
			if (send_msg(wr, 'P', &gc, sizeof(gc)) < 0)
				_exit(126);
			_exit(0);
		}
		if (chdir("/") < 0 || ct_apply_stdio(io, &e) < 0 || ct_setup_exec(p, &e) < 0 ||
		    (spec->seccomp && ct_apply_seccomp(spec->seccomp, &e) < 0)) {
			send_msg(wr, 'E', e.msg, strlen(e.msg));
			_exit(126);
		}
		close(wr); /* CLOEXEC anyway: EOF after "P" tells the caller exec happened */
		ct_execvpe(p->args[0], p->args, p->env ? p->env : (char *[]){NULL});
		_exit(127);
	}
	close(TAKE_FD(wr));
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	gc = 0;
	for (;;) {
		n = recv(rd, msg, sizeof(msg) - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && msg[0] == 'P' && n == 1 + (ssize_t)sizeof(pid_t)) {
			memcpy(&gc, msg + 1, sizeof(gc));
			continue;
		}
		if (n == 0 && gc > 0)
			break;
		msg[n > 0 ? n : 0] = '\0';
		if (gc > 0)
			kill(gc, SIGKILL);
		return sbx_failx(err, EIO, "exec: %s",
				 n > 1 && msg[0] == 'E' ? msg + 1 : "setup failed");
	}
	*ret_pid = gc;
	return 0;
}
