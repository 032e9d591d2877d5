/* The container table: ids checked before use, references so a container is never freed under
 * a running call, and exit statuses recorded by the main loop's reaper. */
#define _GNU_SOURCE
#include "guest-agent/agent.h"
#include "guest-agent/init.h"

#include "base/clock.h"
#include "base/err.h"
#include "oci/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* an exit older than this cannot belong to a process being registered now */
#define UNCLAIMED_MAX_AGE_NS 10000000000ull

bool agent_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > AGENT_ID_MAX || id[0] == '.' || id[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

int agent_check_id(const char *what, const char *id, bool may_be_empty, struct sbx_err *err)
{
	if (may_be_empty && !id[0])
		return 0;
	if (!agent_id_ok(id))
		return sbx_failx(err, EINVAL,
				 "%s '%.64s' is not a valid id (1-%d of A-Z a-z 0-9 _ . -)", what,
				 id, AGENT_ID_MAX);
	return 0;
}

int agent_container_get(struct agent *a, const char *id, struct agent_container **ret,
			struct sbx_err *err)
{
	if (agent_check_id("container id", id, false, err) < 0)
		return -err->code;
	pthread_mutex_lock(&a->lock);
	struct agent_container *c = a->list;
	while (c && strcmp(c->id, id))
		c = c->next;
	int r = 0;
	if (!c)
		r = sbx_failx(err, ENOENT, "container '%s' does not exist", id);
	else if (c->creating)
		r = sbx_failx(err, EBUSY, "container '%s' is still being created", id);
	else if (c->removing)
		r = sbx_failx(err, EBUSY, "container '%s' is being removed", id);
	else
		c->refs++;
	pthread_mutex_unlock(&a->lock);
	*ret = r < 0 ? NULL : c;
	return r;
}

void agent_container_put(struct agent *a, struct agent_container *c)
{
	pthread_mutex_lock(&a->lock);
	c->refs--;
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->lock);
}

struct agent_proc *agent_proc_find(struct agent_container *c, const char *exec_id)
{
	for (struct agent_proc *p = c->procs; p; p = p->next)
		if (!strcmp(p->exec_id, exec_id))
			return p;
	return NULL;
}

struct agent_proc *agent_proc_new(const char *exec_id)
{
	struct agent_proc *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	snprintf(p->exec_id, sizeof(p->exec_id), "%s", exec_id);
	p->stdin_fd = p->stdout_fd = p->stderr_fd = p->pty_master = -1;
	for (int i = 0; i < 3; i++)
		p->stream_sock[i] = -1;
	return p;
}

void agent_proc_free(struct agent_proc *p)
{
	int fds[] = {p->stdin_fd, p->stdout_fd, p->stderr_fd, p->pty_master};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	oci_spec_free(p->exec_spec);
	free(p);
}

static void mark_exited(struct agent_proc *p, int status, uint64_t at_ns)
{
	p->exited = true;
	p->status = status;
	p->exited_at_ns = at_ns;
}

void agent_proc_add(struct agent_container *c, struct agent_proc *p)
{
	struct agent_proc **tail = &c->procs;
	while (*tail)
		tail = &(*tail)->next;
	*tail = p;
}

void agent_proc_started(struct agent *a, struct agent_proc *p, pid_t pid)
{
	p->pid = pid;
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < sizeof(a->unclaimed) / sizeof(a->unclaimed[0]); i++)
		if (a->unclaimed[i].pid == p->pid &&
		    now - a->unclaimed[i].mono_ns < UNCLAIMED_MAX_AGE_NS) {
			mark_exited(p, a->unclaimed[i].status, a->unclaimed[i].at_ns);
			a->unclaimed[i].pid = 0;
			pthread_cond_broadcast(&a->changed);
			break;
		}
}

void agent_on_exit(void *opaque, pid_t pid, int status)
{
	struct agent *a = opaque;
	uint64_t at = clock_ns(CLOCK_REALTIME);
	pthread_mutex_lock(&a->lock);
	for (struct agent_container *c = a->list; c; c = c->next)
		for (struct agent_proc *p = c->procs; p; p = p->next)
			if (p->pid == pid && !p->exited) {
				mark_exited(p, status, at);
				pthread_cond_broadcast(&a->changed);
				pthread_mutex_unlock(&a->lock);
				return;
			}
	unsigned n = sizeof(a->unclaimed) / sizeof(a->unclaimed[0]);
	unsigned i = a->unclaimed_next++ % n;
	a->unclaimed[i].pid = pid;
	a->unclaimed[i].status = status;
	a->unclaimed[i].at_ns = at;
	a->unclaimed[i].mono_ns = clock_ns(CLOCK_MONOTONIC);
	pthread_mutex_unlock(&a->lock);
}

int agent_proc_open_stdio(struct agent_proc *p, bool terminal, bool want_stdin, int child_fds[3],
			  struct sbx_err *err)
{
	child_fds[0] = child_fds[1] = child_fds[2] = -1;
	if (terminal) {
		char name[64];
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (m < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0) {
			int e = errno;
			if (m >= 0)
				close(m);
			return sbx_fail(err, e, "open a pty");
		}
		int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (s < 0) {
			close(m);
			return sbx_fail(err, errno, "open %s", name);
		}
		p->pty_master = m;
		p->stdout_fd = fcntl(m, F_DUPFD_CLOEXEC, 3);
		p->stdin_fd = want_stdin ? fcntl(m, F_DUPFD_CLOEXEC, 3) : -1;
		child_fds[0] = s;
		child_fds[1] = fcntl(s, F_DUPFD_CLOEXEC, 3);
		child_fds[2] = fcntl(s, F_DUPFD_CLOEXEC, 3);
		if (p->stdout_fd < 0 || (want_stdin && p->stdin_fd < 0) || child_fds[1] < 0 ||
		    child_fds[2] < 0)
			goto fail;
		return 0;
	}
	int fds[2];
	if (want_stdin) {
		if (pipe2(fds, O_CLOEXEC) < 0)
			goto fail;
		child_fds[0] = fds[0];
		p->stdin_fd = fds[1];
	} else if ((child_fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		goto fail;
	}
	for (int i = 1; i < 3; i++) {
		if (pipe2(fds, O_CLOEXEC) < 0)
			goto fail;
		child_fds[i] = fds[1];
		*(i == 1 ? &p->stdout_fd : &p->stderr_fd) = fds[0];
	}
	return 0;
fail:;
	int e = errno;
	for (int i = 0; i < 3; i++)
		if (child_fds[i] >= 0)
			close(child_fds[i]);
	return sbx_fail(err, e, "stdio for the process");
}

void agent_request_power_off(struct agent *a)
{
	pthread_mutex_lock(&a->lock);
	a->destroy_pending = true;
	pthread_mutex_unlock(&a->lock);
	uint64_t one = 1;
	if (write(a->wake_fd, &one, sizeof(one)) < 0)
		agent_power_off("DestroySandbox (wake-up failed)");
}

bool agent_wait_changed(struct agent *a, uint64_t deadline_ns)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	if (now >= deadline_ns)
		return false;
	/* the condition variable measures CLOCK_REALTIME: add what is left to its now */
	uint64_t until = clock_ns(CLOCK_REALTIME) + (deadline_ns - now);
	struct timespec ts = {.tv_sec = (time_t)(until / 1000000000ull),
			      .tv_nsec = (long)(until % 1000000000ull)};
	pthread_cond_timedwait(&a->changed, &a->lock, &ts);
	return true;
}
