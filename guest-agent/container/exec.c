/* Exec into a running container: setns into init's namespaces (mount last, since it changes
 * how /proc paths resolve), join its cgroup, fork once more for the pid namespace, then the
 * same process setup as init and exec. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "guest-agent/container/cgroup.h"
#include "guest-agent/container/container.h"

static const struct {
	const char *name;
	int flag;
} exec_ns[] = {
	{ "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },	  { "net", CLONE_NEWNET },
	{ "pid", CLONE_NEWPID }, { "cgroup", CLONE_NEWCGROUP }, { "mnt", CLONE_NEWNS },
};

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
	    const char *cgroup_dir, pid_t *ret_pid, struct sbx_err *err)
{
	_cleanup_close_ int rd = -1, wr = -1;
	char msg[SBX_ERR_MAX];
	int fds[2], st;
	pid_t pid, gc;
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return sbx_fail(err, errno, "pipe");
	rd = fds[0], wr = fds[1];
	pid = fork();
	if (pid < 0)
		return sbx_fail(err, errno, "fork");
	if (pid == 0) {
		struct sbx_err e = { 0 };

		close(rd);
		if (enter(c->pid, cgroup_dir, &e) < 0 || (gc = fork()) < 0) {
			if (!e.code)
				sbx_fail(&e, errno, "fork");
			if (write(wr, "E", 1) < 0 || write(wr, e.msg, strlen(e.msg)) < 0)
				_exit(126);
			_exit(126);
		}
		if (gc > 0) {
			if (write(wr, "P", 1) < 0 || write(wr, &gc, sizeof(gc)) < 0)
				_exit(126);
			_exit(0);
		}
		if (chdir("/") < 0 || ct_setup_exec(p, &e) < 0 ||
		    (spec->seccomp && ct_apply_seccomp(spec->seccomp, &e) < 0)) {
			if (write(wr, "E", 1) < 0 || write(wr, e.msg, strlen(e.msg)) < 0)
				_exit(126);
			_exit(126);
		}
		close(wr); /* CLOEXEC anyway: EOF after "P" tells the caller exec happened */
		execvpe(p->args[0], p->args, p->env ? p->env : (char *[]){ NULL });
		_exit(127);
	}
	close(TAKE_FD(wr));
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	n = read(rd, msg, 1 + sizeof(pid_t));
	if (n < 1 || msg[0] != 'P') {
		ssize_t m = n > 1 ? n - 1 : 0;

		memmove(msg, msg + 1, (size_t)m);
		n = read(rd, msg + m, sizeof(msg) - 1 - (size_t)m);
		msg[m + (n > 0 ? n : 0)] = '\0';
		return sbx_failx(err, EIO, "exec: %s", msg[0] ? msg : "setup failed");
	}
	memcpy(&gc, msg + 1, sizeof(gc));
	/* the grandchild writes "E..." on setup failure, EOF on exec */
	n = read(rd, msg, sizeof(msg) - 1);
	if (n > 0) {
		msg[n] = '\0';
		return sbx_failx(err, EIO, "exec: %s", msg + 1);
	}
	*ret_pid = gc;
	return 0;
}
