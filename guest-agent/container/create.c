/* Container creation: clone into new namespaces, then report setup errors back through a sync
 * pipe as one line, and wait for start. Like runc create/start. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "guest-agent/container/cgroup.h"
#include "guest-agent/container/container.h"

static const int ns_flags[OCI_NS_COUNT] = {
    [OCI_NS_PID] = CLONE_NEWPID,   [OCI_NS_MOUNT] = CLONE_NEWNS,
    [OCI_NS_UTS] = CLONE_NEWUTS,   [OCI_NS_IPC] = CLONE_NEWIPC,
    [OCI_NS_NET] = CLONE_NEWNET,   [OCI_NS_CGROUP] = CLONE_NEWCGROUP,
    [OCI_NS_USER] = CLONE_NEWUSER, [OCI_NS_TIME] = 0,
};

/* Joins the namespaces given by path; returns the clone flags for the rest. */
static int join_namespaces(const struct oci_spec *spec, int *ret_flags, struct sbx_err *err)
{
	int flags = 0;

	for (size_t i = 0; i < spec->nns; i++) {
		const struct oci_namespace *n = &spec->ns[i];
		_cleanup_close_ int fd = -1;

		if (!n->path) {
			if (!ns_flags[n->type])
				return sbx_failx(err, EOPNOTSUPP, "namespace %s: not supported",
						 oci_ns_name(n->type));
			flags |= ns_flags[n->type];
			continue;
		}
		fd = open(n->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return sbx_fail(err, errno, "open namespace '%s'", n->path);
		if (setns(fd, ns_flags[n->type]) < 0)
			return sbx_fail(err, errno, "setns %s '%s'", oci_ns_name(n->type), n->path);
	}
	*ret_flags = flags;
	return 0;
}

/* Create's report channel is a SOCK_SEQPACKET pair shared by the intermediate process and
 * init, so messages arrive whole but in either order: each carries a tag. 'P' pid (from the
 * intermediate), 'O' setup done, 'E' one-line error. */
static int report(int fd, char tag, const void *data, size_t len)
{
	char buf[1 + SBX_ERR_MAX];

	if (len > SBX_ERR_MAX)
		len = SBX_ERR_MAX;
	buf[0] = tag;
	if (len)
		memcpy(buf + 1, data, len);
	return send(fd, buf, 1 + len, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Child side, after clone: setup, report, wait, exec. Never returns. */
static void __attribute__((noreturn)) child(const struct oci_spec *spec, const char *rootfs,
					    const struct ct_stdio *io, int report_fd, int start_fd)
{
	struct sbx_err err = {0};
	char b;
	int r;

	r = ct_setup_rootfs(spec, rootfs, &err);
	if (r >= 0)
		r = ct_setup_process(spec, &err);
	if (r < 0) {
		report(report_fd, 'E', err.msg, strlen(err.msg));
		_exit(126);
	}
	/* 'O' tells create to return now, while init blocks on the start pipe. report_fd stays
	 * open (close-on-exec): start learns of a successful exec from its EOF. */
	if (report(report_fd, 'O', NULL, 0) < 0)
		_exit(126);
	if (read(start_fd, &b, 1) != 1)
		_exit(126); /* deleted before start */
	close(start_fd);
	if (ct_apply_stdio(io, &err) < 0) {
		report(report_fd, 'E', err.msg, strlen(err.msg));
		_exit(126);
	}
	/* seccomp last so setup syscalls are not filtered; only execve follows */
	if (spec->seccomp && ct_apply_seccomp(spec->seccomp, &err) < 0) {
		report(report_fd, 'E', err.msg, strlen(err.msg));
		_exit(126);
	}
	ct_execvpe(spec->process.args[0], spec->process.args,
		   spec->process.env ? spec->process.env : (char *[]){NULL});
	sbx_fail(&err, errno, "exec %s", spec->process.args[0]);
	report(report_fd, 'E', err.msg, strlen(err.msg));
	_exit(127);
}

int ct_create(const struct oci_spec *spec, const char *rootfs, const char *cgroup_dir,
	      const struct ct_stdio *io, struct ct **ret, struct sbx_err *err)
{
	_cleanup_close_ int rep_r = -1, rep_w = -1, st_r = -1, st_w = -1;
	int p[2], flags = 0, r, status;
	bool ok = false;
	ssize_t n;
	pid_t pid;
	struct ct *c;

	if (!spec->has_process)
		return sbx_failx(err, EINVAL, "spec: no process");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0)
		return sbx_fail(err, errno, "socketpair");
	rep_r = p[0], rep_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return sbx_fail(err, errno, "pipe");
	st_r = p[0], st_w = p[1];
	/* setns to paths happens in an intermediate child so the agent stays where it is */
	pid = fork();
	if (pid < 0)
		return sbx_fail(err, errno, "fork");
	if (pid == 0) {
		struct sbx_err e = {0};
		pid_t gc;

		int keep[] = {rep_w, st_r, io ? io->fds[0] : -1, io ? io->fds[1] : -1,
			      io ? io->fds[2] : -1};

		/* other containers' pipes must not stay open in this one until its exec */
		ct_close_fds_except(keep, ARRAY_SIZE(keep));
		if (ct_deny_vsock(&e) < 0 || (cgroup_dir && cg_join(cgroup_dir, 0, &e) < 0) ||
		    join_namespaces(spec, &flags, &e) < 0 || unshare(flags) < 0) {
			if (!e.msg[0])
				sbx_fail(&e, errno, "unshare");
			report(rep_w, 'E', e.msg, strlen(e.msg));
			_exit(126);
		}
		/* CLONE_NEWPID applies to children: fork once more; init is the grandchild */
		gc = fork();
		if (gc < 0)
			_exit(126);
		if (gc == 0)
			child(spec, rootfs, io, rep_w, st_r);
		/* report the grandchild's pid (as seen from the agent's pid namespace) */
		if (report(rep_w, 'P', &gc, sizeof(gc)) < 0)
			_exit(126);
		_exit(0);
	}
	close(TAKE_FD(rep_w));
	close(TAKE_FD(st_r));
	/* ECHILD: a PID 1 reaping loop got there first; the report channel tells the outcome */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = 0;
	/* until 'O' and 'P' (either order), 'E', or EOF: every writer gone without success */
	while (!ok || pid <= 0) {
		char msg[1 + SBX_ERR_MAX];

		n = recv(rep_r, msg, sizeof(msg) - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && msg[0] == 'P' && n == 1 + (ssize_t)sizeof(pid_t)) {
			memcpy(&pid, msg + 1, sizeof(pid));
			continue;
		}
		if (n > 0 && msg[0] == 'O') {
			ok = true;
			continue;
		}
		if (n <= 0) {
			r = sbx_failx(err, EIO, "create: container init died");
		} else {
			msg[n] = '\0';
			r = sbx_failx(err, EIO, "create: %s",
				      msg[0] == 'E' ? msg + 1 : "bad report");
		}
		if (pid > 0)
			kill(pid, SIGKILL); /* reaped by the subreaper */
		return r;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return sbx_fail(err, ENOMEM, "create");
	c->pid = pid;
	c->start_fd = TAKE_FD(st_w);
	c->report_fd = TAKE_FD(rep_r);
	*ret = c;
	return 0;
}

int ct_start(struct ct *c, struct sbx_err *err)
{
	if (c->start_fd < 0)
		return sbx_failx(err, EALREADY, "container already started");
	if (write(c->start_fd, "s", 1) != 1)
		return sbx_fail(err, errno, "start");
	close(c->start_fd);
	c->start_fd = -1;
	/* returns once init has exec'd (EOF: the close-on-exec report socket went away) or
	 * failed to, so a started container really runs its process, as with runc */
	char msg[1 + SBX_ERR_MAX];
	ssize_t n;
	do
		n = recv(c->report_fd, msg, sizeof(msg) - 1, 0);
	while (n < 0 && errno == EINTR);
	close(c->report_fd);
	c->report_fd = -1;
	if (n <= 0)
		return 0;
	msg[n] = '\0';
	return sbx_failx(err, ENOEXEC, "start: %s", msg[0] == 'E' ? msg + 1 : "bad report");
}

int ct_wait(struct ct *c, int *ret_status, struct sbx_err *err)
{
	int st;

	/* init is the grandchild: the caller must be a child subreaper (the agent is PID 1) */
	while (waitpid(c->pid, &st, 0) < 0)
		if (errno != EINTR)
			return sbx_fail(err, errno, "wait %d", c->pid);
	*ret_status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	return 0;
}

int ct_kill(struct ct *c, int sig, struct sbx_err *err)
{
	if (kill(c->pid, sig) < 0)
		return sbx_fail(err, errno, "kill %d", c->pid);
	return 0;
}

void ct_free(struct ct *c)
{
	if (!c)
		return;
	if (c->start_fd >= 0)
		close(c->start_fd);
	if (c->report_fd >= 0)
		close(c->report_fd);
	free(c->rootfs);
	free(c);
}
