/* Exec, Kill, Pids, CloseIO and ResizePty. */
#define _GNU_SOURCE
#include "shim/task.h"

#include "agent/client.h"
#include "base/err.h"
#include "proto/agent.pb-c.h"
#include "shim/events.h"
#include "shim/shim.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALL_TIMEOUT_MS 60000
#define EXEC_SPEC_MAX (1u << 20)

TASK_HANDLER(task_exec)
{
	struct shim *s = ctx;
	const Sbx__Shim__V1__ExecProcessRequest *in = (const void *)req;
	if (task_check_id("exec id", in->exec_id, err) < 0)
		return -err->code;
	if (!in->spec || !in->spec->value.len || in->spec->value.len > EXEC_SPEC_MAX)
		return sbx_failx(err, EINVAL, "exec %s: no process spec (or over 1 MiB)",
				 in->exec_id);
	struct shim_process *p = calloc(1, sizeof(*p));
	if (!p ||
	    !(p->spec_json = strndup((const char *)in->spec->value.data, in->spec->value.len))) {
		free(p);
		return sbx_fail(err, ENOMEM, "exec %s", in->exec_id);
	}
	snprintf(p->exec_id, sizeof(p->exec_id), "%s", in->exec_id);
	p->status = SHIM_CREATED;
	p->terminal = in->terminal;
	p->stdin_path = in->stdin && *in->stdin ? strdup(in->stdin) : NULL;
	p->stdout_path = in->stdout && *in->stdout ? strdup(in->stdout) : NULL;
	p->stderr_path = in->stderr && *in->stderr ? strdup(in->stderr) : NULL;
	if (shim_io_open(&p->io, in->stdin, in->stdout, in->stderr, in->terminal, err) < 0) {
		shim_process_free(p);
		free(p);
		return -err->code;
	}
	pthread_mutex_lock(&s->lock);
	struct shim_container *c = shim_find_container(s, in->id);
	int r = 0;
	if (!c)
		r = sbx_failx(err, ENOENT, "task %s not found", in->id);
	else if (c->pod_sandbox)
		r = sbx_failx(err, EOPNOTSUPP, "task %s is the pod sandbox: nothing runs in it",
			      in->id);
	else if (c->init.exited || c->init.status != SHIM_RUNNING)
		r = sbx_failx(err, EBUSY, "task %s is not running", in->id);
	else if (shim_find_process(s, in->id, in->exec_id))
		r = sbx_failx(err, EEXIST, "exec %s already exists in task %s", in->exec_id,
			      in->id);
	if (r < 0) {
		pthread_mutex_unlock(&s->lock);
		shim_process_free(p);
		free(p);
		return r;
	}
	p->c = c;
	p->next = c->execs;
	c->execs = p;
	Sbx__Shim__V1__TaskExecAdded ev = SBX__SHIM__V1__TASK_EXEC_ADDED__INIT;
	ev.container_id = c->id;
	ev.exec_id = p->exec_id;
	shim_events_publish(s->events, "/tasks/exec-added", "TaskExecAdded", &ev.base);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

TASK_HANDLER(task_kill)
{
	struct shim *s = ctx;
	const Sbx__Shim__V1__KillRequest *in = (const void *)req;
	if (in->signal == 0 || in->signal >= (uint32_t)_NSIG)
		return sbx_failx(err, EINVAL, "signal %u is not valid", in->signal);
	pthread_mutex_lock(&s->lock);
	struct shim_process *p = shim_find_process(s, in->id, in->exec_id);
	if (!p) {
		pthread_mutex_unlock(&s->lock);
		return sbx_failx(err, ENOENT, "process %s/%s not found", in->id, in->exec_id);
	}
	if (p->exited) { /* CRI repeats kills: an exited process is fine */
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	/* Nothing runs for the pod sandbox, and an exec that never started has no process:
	 * the signal ends them as it would have. */
	if (p->c->pod_sandbox || (p->exec_id[0] && p->status == SHIM_CREATED && !p->watching)) {
		if (in->signal != SIGCHLD && in->signal != SIGWINCH && in->signal != SIGURG &&
		    in->signal != SIGCONT)
			shim_process_exited_locked(s, p, 128 + in->signal);
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	pthread_mutex_unlock(&s->lock);
	return shim_signal(s, in->id, in->exec_id, in->signal, in->all, err);
}

TASK_HANDLER(task_pids)
{
	struct shim *s = ctx;
	const Sbx__Shim__V1__PidsRequest *in = (const void *)req;
	Sbx__Shim__V1__PidsResponse *out = (void *)resp;
	pthread_mutex_lock(&s->lock);
	struct shim_container *c = shim_find_container(s, in->id);
	bool sandbox = c && c->pod_sandbox;
	pthread_mutex_unlock(&s->lock);
	if (!c)
		return sbx_failx(err, ENOENT, "task %s not found", in->id);
	if (sandbox)
		return 0;
	struct ttrpc_client *cl;
	if (shim_agent(s, &cl, err) < 0)
		return -err->code;
	Sbx__Agent__V1__ContainerRequest cr = SBX__AGENT__V1__CONTAINER_REQUEST__INIT;
	cr.container_id = in->id;
	ProtobufCMessage *r = NULL;
	if (agent_call(cl, "ListProcesses", &cr.base, &sbx__agent__v1__process_list__descriptor, &r,
		       CALL_TIMEOUT_MS, err) < 0)
		return -err->code;
	Sbx__Agent__V1__ProcessList *list = (void *)r;
	out->processes = ttrpc_call_alloc(call, (list->n_pids + 1) * sizeof(*out->processes));
	for (size_t i = 0; out->processes && i < list->n_pids; i++) {
		Sbx__Shim__V1__ProcessInfo *pi = ttrpc_call_alloc(call, sizeof(*pi));
		if (!pi)
			break;
		sbx__shim__v1__process_info__init(pi);
		pi->pid = list->pids[i];
		out->processes[out->n_processes++] = pi;
	}
	protobuf_c_message_free_unpacked(r, NULL);
	return out->processes ? 0 : sbx_fail(err, ENOMEM, "pids");
}

TASK_HANDLER(task_close_io)
{
	struct shim *s = ctx;
	const Sbx__Shim__V1__CloseIORequest *in = (const void *)req;
	pthread_mutex_lock(&s->lock);
	struct shim_process *p = shim_find_process(s, in->id, in->exec_id);
	if (p && in->stdin)
		shim_io_close_stdin(&p->io);
	pthread_mutex_unlock(&s->lock);
	return p ? 0 : sbx_failx(err, ENOENT, "process %s/%s not found", in->id, in->exec_id);
}

TASK_HANDLER(task_resize_pty)
{
	struct shim *s = ctx;
	const Sbx__Shim__V1__ResizePtyRequest *in = (const void *)req;
	pthread_mutex_lock(&s->lock);
	struct shim_process *p = shim_find_process(s, in->id, in->exec_id);
	bool terminal = p && p->terminal && !p->exited;
	pthread_mutex_unlock(&s->lock);
	if (!p)
		return sbx_failx(err, ENOENT, "process %s/%s not found", in->id, in->exec_id);
	if (!terminal || in->width == 0 || in->height == 0 || in->width > 0xffff ||
	    in->height > 0xffff)
		return 0; /* ctr sends 0x0 before it knows the size */
	struct ttrpc_client *cl;
	if (shim_agent(s, &cl, err) < 0)
		return -err->code;
	Sbx__Agent__V1__ProcessRef ref = SBX__AGENT__V1__PROCESS_REF__INIT;
	ref.container_id = in->id;
	ref.exec_id = in->exec_id;
	Sbx__Agent__V1__ResizeTtyRequest rq = SBX__AGENT__V1__RESIZE_TTY_REQUEST__INIT;
	rq.process = &ref;
	rq.rows = in->height;
	rq.cols = in->width;
	int r = agent_call(cl, "ResizeTty", &rq.base, NULL, NULL, CALL_TIMEOUT_MS, err);
	return r == -ESRCH || r == -ENOENT ? 0 : r;
}
