/* Process calls: ExecProcess, SignalProcess, WaitProcess, CloseStdin, ResizeTty. A process is
 * named by its container id and exec id ("" is the container's init). */
#define _GNU_SOURCE
#include "guest-agent/agent.h"
#include "guest-agent/container/cgroup.h"
#include "guest-agent/container/container.h"
#include "guest-agent/rpc/rpc.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "oci/spec.h"
#include "proto/agent.pb-c.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Looks up the process named by ref under a container reference; the lock is held on success
 * (release with done()). */
static int lookup(struct agent *a, const Sbx__Agent__V1__ProcessRef *ref,
		  struct agent_container **ret_c, struct agent_proc **ret_p, struct sbx_err *err)
{
	if (!ref)
		return sbx_failx(err, EINVAL, "process: missing");
	if (agent_check_id("exec id", ref->exec_id, true, err) < 0 ||
	    agent_container_get(a, ref->container_id, ret_c, err) < 0)
		return -err->code;
	pthread_mutex_lock(&a->lock);
	*ret_p = agent_proc_find(*ret_c, ref->exec_id);
	if (*ret_p && (*ret_p)->pid > 0)
		return 0;
	pthread_mutex_unlock(&a->lock);
	agent_container_put(a, *ret_c);
	return sbx_failx(err, ENOENT, "no process '%s' in container '%s'", ref->exec_id,
			 ref->container_id);
}

static void done(struct agent *a, struct agent_container *c)
{
	pthread_mutex_unlock(&a->lock);
	agent_container_put(a, c);
}

static int exec_in(struct agent *a, struct agent_container *c, struct agent_proc *p,
		   const Sbx__Agent__V1__ExecProcessRequest *in, pid_t *ret_pid,
		   struct sbx_err *err)
{
	if (oci_process_parse((const char *)in->oci_process.data, in->oci_process.len,
			      &p->exec_spec, err) < 0)
		return -err->code;
	pthread_mutex_lock(&a->lock);
	struct agent_proc *init = c->procs;
	bool running = c->started && init && init->pid > 0 && !init->exited;
	pthread_mutex_unlock(&a->lock);
	if (!running)
		return sbx_failx(err, ESRCH, "container '%s' is not running", c->id);
	struct ct_stdio io = {.terminal = p->exec_spec->process.terminal};
	int r = agent_proc_open_stdio(p, io.terminal, in->stdin, io.fds, err);
	if (r == 0)
		r = ct_exec(c->ct, c->spec, &p->exec_spec->process, c->cgroup_dir, &io, ret_pid,
			    err);
	for (int i = 0; i < 3; i++)
		if (io.fds[i] >= 0)
			close(io.fds[i]);
	return r;
}

AGENT_HANDLER(agent_h_exec_process)
{
	(void)call;
	struct agent *a = ctx;
	const Sbx__Agent__V1__ExecProcessRequest *in = (const void *)req;
	Sbx__Agent__V1__ProcessStarted *out = (void *)resp;
	struct agent_container *c = NULL;
	if (agent_check_id("exec id", in->exec_id, false, err) < 0)
		return -err->code;
	if (!in->oci_process.len)
		return sbx_failx(err, EINVAL, "oci_process is empty");
	if (agent_container_get(a, in->container_id, &c, err) < 0)
		return -err->code;
	struct agent_proc *p = agent_proc_new(in->exec_id);
	int r = p ? 0 : sbx_fail(err, ENOMEM, "exec");
	/* linked with pid 0 at once, so a second exec of the same id fails */
	pthread_mutex_lock(&a->lock);
	if (r == 0 && agent_proc_find(c, in->exec_id))
		r = sbx_failx(err, EEXIST, "exec '%s' already exists in '%s'", in->exec_id, c->id);
	if (r == 0)
		agent_proc_add(c, p);
	pthread_mutex_unlock(&a->lock);
	if (r < 0) {
		if (p)
			agent_proc_free(p);
		agent_container_put(a, c);
		return r;
	}
	pid_t pid = 0;
	r = exec_in(a, c, p, in, &pid, err);
	pthread_mutex_lock(&a->lock);
	if (r == 0) {
		agent_proc_started(a, p, pid);
	} else {
		for (struct agent_proc **pp = &c->procs; *pp; pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				break;
			}
	}
	pthread_mutex_unlock(&a->lock);
	if (r < 0)
		agent_proc_free(p);
	agent_container_put(a, c);
	out->pid = (uint32_t)pid;
	return r;
}

static int signal_all(const char *cgroup_dir, int sig, struct sbx_err *err)
{
	if (sig == SIGKILL)
		return cg_kill_all(cgroup_dir, err);
	char path[512];
	snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup_dir);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return sbx_fail(err, errno, "open %s", path);
	long pid;
	while (fscanf(f, "%ld", &pid) == 1)
		if (pid > 1 && kill((pid_t)pid, sig) < 0 && errno != ESRCH)
			return sbx_fail(err, errno, "kill %ld", pid);
	return 0;
}

AGENT_HANDLER(agent_h_signal_process)
{
	(void)call, (void)resp;
	struct agent *a = ctx;
	const Sbx__Agent__V1__SignalProcessRequest *in = (const void *)req;
	if (in->signal < 1 || in->signal > 64)
		return sbx_failx(err, EINVAL, "signal %u is not 1..64", in->signal);
	struct agent_container *c = NULL;
	struct agent_proc *p;
	if (lookup(a, in->process, &c, &p, err) < 0)
		return -err->code;
	int r;
	if (in->all)
		r = signal_all(c->cgroup_dir, (int)in->signal, err);
	else if (p->exited)
		r = sbx_failx(err, ESRCH, "process '%s' in '%s' has exited", p->exec_id, c->id);
	else if (kill(p->pid, (int)in->signal) < 0)
		r = sbx_fail(err, errno, "kill %d", p->pid);
	else
		r = 0;
	done(a, c);
	return r;
}

AGENT_HANDLER(agent_h_wait_process)
{
	(void)call;
	struct agent *a = ctx;
	Sbx__Agent__V1__WaitProcessResponse *out = (void *)resp;
	struct agent_container *c = NULL;
	struct agent_proc *p;
	if (lookup(a, (const void *)req, &c, &p, err) < 0)
		return -err->code;
	while (!p->exited)
		pthread_cond_wait(&a->changed, &a->lock);
	out->exit_status = p->status;
	out->exited_at_unix_ns = p->exited_at_ns;
	done(a, c);
	return 0;
}

AGENT_HANDLER(agent_h_close_stdin)
{
	(void)call, (void)resp;
	struct agent *a = ctx;
	struct agent_container *c = NULL;
	struct agent_proc *p;
	if (lookup(a, (const void *)req, &c, &p, err) < 0)
		return -err->code;
	int sock = p->stream_sock[SBX__AGENT__V1__STREAM_HELLO__KIND__STDIN];
	if (sock >= 0) {
		/* the relay reads EOF, passes it on and ends */
		shutdown(sock, SHUT_RD);
	} else if (p->stdin_fd >= 0) {
		if (p->pty_master >= 0)
			(void)!write(p->stdin_fd, "\x04", 1);
		close(p->stdin_fd);
		p->stdin_fd = -1;
	}
	done(a, c);
	return 0;
}

AGENT_HANDLER(agent_h_resize_tty)
{
	(void)call, (void)resp;
	struct agent *a = ctx;
	const Sbx__Agent__V1__ResizeTtyRequest *in = (const void *)req;
	if (in->rows == 0 || in->cols == 0 || in->rows > 0xffff || in->cols > 0xffff)
		return sbx_failx(err, EINVAL, "tty size %ux%u is not 1..65535 each", in->cols,
				 in->rows);
	struct agent_container *c = NULL;
	struct agent_proc *p;
	if (lookup(a, in->process, &c, &p, err) < 0)
		return -err->code;
	struct winsize ws = {.ws_row = (unsigned short)in->rows,
			     .ws_col = (unsigned short)in->cols};
	int r = 0;
	if (p->pty_master < 0)
		r = sbx_failx(err, ENOTTY, "process '%s' in '%s' has no terminal", p->exec_id,
			      c->id);
	else if (ioctl(p->pty_master, TIOCSWINSZ, &ws) < 0)
		r = sbx_fail(err, errno, "resize the terminal");
	done(a, c);
	return r;
}
