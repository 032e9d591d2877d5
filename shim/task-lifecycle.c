/* Create, Start, Delete, State, Wait, Connect and Shutdown. */
#define _GNU_SOURCE
#include "shim/task.h"

#include "agent/client.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "proto/agent.pb-c.h"
#include "shim/bootstrap.h"
#include "shim/events.h"
#include "shim/rootfs.h"
#include "shim/shim.h"
#include "shim/spec.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CALL_TIMEOUT_MS 60000
#define KILL_WAIT_S 30
#define VM_MEM_OVERHEAD_MIB 128 /* guest kernel and agent, above the containers' limits */
#define EXIT_START_FAILED 255

int task_check_id(const char *what, const char *id, struct sbx_err *err)
{
	size_t n = id ? strlen(id) : 0;
	bool ok = n > 0 && n <= SHIM_ID_MAX;
	bool prev_sep = true;
	for (size_t i = 0; ok && i < n; i++) {
		char ch = id[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9');
		bool sep = ch == '.' || ch == '_' || ch == '-';
		ok = alnum || (sep && !prev_sep);
		prev_sep = sep;
	}
	if (!ok || prev_sep)
		return sbx_failx(err, EINVAL, "%s '%.80s' is not a valid identifier", what,
				 id ? id : "");
	return 0;
}

Sbx__Shim__V1__Timestamp *task_timestamp(struct ttrpc_call *call, uint64_t ns)
{
	Sbx__Shim__V1__Timestamp *ts = ttrpc_call_alloc(call, sizeof(*ts));
	if (!ts)
		return NULL;
	sbx__shim__v1__timestamp__init(ts);
	ts->seconds = (int64_t)(ns / 1000000000u);
	ts->nanos = (int32_t)(ns % 1000000000u);
	return ts;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

static void container_free(struct shim_container *c)
{
	for (struct shim_process *p = c->execs, *next; p; p = next) {
		next = p->next;
		shim_process_free(p);
		free(p);
	}
	shim_process_free(&c->init);
	free(c->bundle);
	free(c);
}

static void unlink_container_locked(struct shim *s, struct shim_container *c)
{
	for (struct shim_container **pp = &s->containers; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

static void publish_create(struct shim *s, const Sbx__Shim__V1__CreateTaskRequest *in)
{
	Sbx__Shim__V1__TaskIO io = SBX__SHIM__V1__TASK_IO__INIT;
	io.stdin = in->stdin;
	io.stdout = in->stdout;
	io.stderr = in->stderr;
	io.terminal = in->terminal;
	Sbx__Shim__V1__TaskCreate ev = SBX__SHIM__V1__TASK_CREATE__INIT;
	ev.container_id = in->id;
	ev.bundle = in->bundle;
	ev.n_rootfs = in->n_rootfs;
	ev.rootfs = in->rootfs;
	ev.io = &io;
	ev.pid = shim_task_pid(s);
	shim_events_publish(s->events, "/tasks/create", "TaskCreate", &ev.base);
}

/* Config from the task's runtime options (ConfigPath), else the default file. */
static int load_config(struct shim *s, const Sbx__Shim__V1__Any *options, struct sbx_err *err)
{
	pthread_mutex_lock(&s->lock);
	bool loaded = s->cfg_loaded;
	pthread_mutex_unlock(&s->lock);
	if (loaded)
		return 0;
	const char *path = s->options_config[0] ? s->options_config : NULL;
	Sbx__Shim__V1__RuntimeOptions *o = NULL;
	if (options && options->type_url && strstr(options->type_url, "runtimeoptions.v1.Options"))
		o = sbx__shim__v1__runtime_options__unpack(NULL, options->value.len,
							   options->value.data);
	if (o && o->config_path && *o->config_path)
		path = o->config_path;
	struct shim_config cfg;
	int r = shim_config_load(path, &cfg, err);
	if (o)
		sbx__shim__v1__runtime_options__free_unpacked(o, NULL);
	if (r < 0)
		return r;
	pthread_mutex_lock(&s->lock);
	if (!s->cfg_loaded) {
		s->cfg = cfg;
		s->cfg_loaded = true;
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* Everything after the container is registered: VM, rootfs, agent, stdio. */
static int create_in_vm(struct shim *s, struct shim_container *c,
			const Sbx__Shim__V1__CreateTaskRequest *in, struct sbx_err *err)
{
	struct shim_spec spec;
	if (load_config(s, in->options, err) < 0 || shim_spec_load(in->bundle, &spec, err) < 0)
		return -err->code;
	c->pod_sandbox = spec.pod_sandbox;
	unsigned mem = s->cfg.memory_mib;
	unsigned want = (unsigned)(spec.memory_limit >> 20) + VM_MEM_OVERHEAD_MIB;
	if (spec.memory_limit && want > mem)
		mem = want;
	if (s->cfg.rootfs_stream)
		mem += 256; /* the rootfs lives in guest RAM */
	int r = shim_io_open(&c->init.io, in->stdin, in->stdout, in->stderr, in->terminal, err);
	if (r < 0 || (c->pod_sandbox && (r = shim_vm_network(s, spec.json, err)) < 0) ||
	    (r = shim_vm_ensure(s, mem, err)) < 0 || c->pod_sandbox)
		goto out;
	if (in->n_rootfs > 0) {
		if ((r = shim_rootfs_mount(in->bundle, in->rootfs, in->n_rootfs, err)) < 0)
			goto out;
		c->rootfs_mounted = true;
	}
	struct ttrpc_client *cl;
	if ((r = shim_agent(s, &cl, err)) < 0 || (r = shim_spec_prepare(&spec, cl, c->id, err)) < 0)
		goto out;
	r = shim_rootfs_create(s, c->id, in->rootfs, in->n_rootfs, spec.root_path, spec.json,
			       shim_io_has_stdin(&c->init.io), err);
	if (r < 0)
		goto out;
	c->in_guest = true;
	if ((r = shim_io_attach(&c->init.io, s->sb, c->id, "", err)) < 0 ||
	    (r = shim_watch_process(s, &c->init, err)) < 0)
		goto out;
out:
	shim_spec_free(&spec);
	return r;
}

/* Undoes a Create that failed half-way. */
static void remove_from_guest(struct shim *s, struct shim_container *c)
{
	struct ttrpc_client *cl;
	if (!c->in_guest || shim_agent(s, &cl, NULL) < 0)
		return;
	Sbx__Agent__V1__ContainerRequest req = SBX__AGENT__V1__CONTAINER_REQUEST__INIT;
	req.container_id = c->id;
	struct sbx_err err = {0};
	if (agent_call(cl, "RemoveContainer", &req.base, NULL, NULL, CALL_TIMEOUT_MS, &err) < 0)
		log_warn("remove %s from the VM: %s", c->id, err.msg);
	c->in_guest = false;
}

static void link_state_dir(struct shim *s, const char *bundle)
{
	char link[4200];
	snprintf(link, sizeof(link), "%s/" SHIM_STATE_LINK, bundle);
	unlink(link);
	if (symlink(s->state_dir, link) < 0)
		log_warn("link %s: %m", link);
}

TASK_HANDLER(task_create)
{
	struct shim *s = ctx;
	const Sbx__Shim__V1__CreateTaskRequest *in = (const void *)req;
	if (task_check_id("task id", in->id, err) < 0)
		return -err->code;
	if (!in->bundle || in->bundle[0] != '/')
		return sbx_failx(err, EINVAL, "bundle '%s' is not an absolute path",
				 in->bundle ? in->bundle : "");
	if (in->checkpoint && *in->checkpoint)
		return sbx_failx(err, ENOSYS, "restore from a checkpoint is not supported");
	struct shim_container *c = calloc(1, sizeof(*c));
	if (!c || !(c->bundle = strdup(in->bundle))) {
		free(c);
		return sbx_fail(err, ENOMEM, "create %s", in->id);
	}
	snprintf(c->id, sizeof(c->id), "%s", in->id);
	c->init.c = c;
	c->init.status = SHIM_CREATED;
	c->init.terminal = in->terminal;
	c->init.stdin_path = dup_or_null(in->stdin);
	c->init.stdout_path = dup_or_null(in->stdout);
	c->init.stderr_path = dup_or_null(in->stderr);
	c->init.starting = true; /* nothing may exit it before Create has answered */
	pthread_mutex_lock(&s->lock);
	if (shim_find_container(s, in->id)) {
		pthread_mutex_unlock(&s->lock);
		container_free(c);
		return sbx_failx(err, EEXIST, "task %s already exists", in->id);
	}
	c->next = s->containers;
	s->containers = c;
	pthread_mutex_unlock(&s->lock);

	link_state_dir(s, in->bundle);
	int r = create_in_vm(s, c, in, err);
	if (r < 0) {
		log_error("create %s: %s", in->id, err->msg);
		shim_vm_log_lost_call(s, "create", in->id, err);
		remove_from_guest(s, c);
		pthread_mutex_lock(&s->lock);
		c->init.starting = false;
		while (c->init.watching)
			pthread_cond_wait(&s->cond, &s->lock);
		unlink_container_locked(s, c);
		bool last = !s->containers;
		pthread_mutex_unlock(&s->lock);
		if (c->rootfs_mounted)
			shim_rootfs_unmount(c->bundle);
		container_free(c);
		if (last)
			shim_vm_stop(s);
		return r;
	}
	pthread_mutex_lock(&s->lock);
	c->init.starting = false;
	publish_create(s, in);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	((Sbx__Shim__V1__CreateTaskResponse *)resp)->pid = shim_task_pid(s);
	return 0;
}

static int start_in_guest(struct shim *s, struct shim_process *p, struct sbx_err *err)
{
	struct ttrpc_client *cl;
	if (p->c->pod_sandbox)
		return 0;
	if (shim_agent(s, &cl, err) < 0)
		return -err->code;
	if (!p->exec_id[0]) {
		Sbx__Agent__V1__ContainerRequest cr = SBX__AGENT__V1__CONTAINER_REQUEST__INIT;
		cr.container_id = p->c->id;
		return agent_call(cl, "StartContainer", &cr.base, NULL, NULL, CALL_TIMEOUT_MS, err);
	}
	Sbx__Agent__V1__ExecProcessRequest er = SBX__AGENT__V1__EXEC_PROCESS_REQUEST__INIT;
	er.container_id = p->c->id;
	er.exec_id = p->exec_id;
	er.oci_process.data = (uint8_t *)p->spec_json;
	er.oci_process.len = strlen(p->spec_json);
	er.stdin = shim_io_has_stdin(&p->io);
	if (agent_call(cl, "ExecProcess", &er.base, &sbx__agent__v1__process_started__descriptor,
		       NULL, CALL_TIMEOUT_MS, err) < 0)
		return -err->code;
	if (shim_io_attach(&p->io, s->sb, p->c->id, p->exec_id, err) < 0)
		return -err->code;
	return shim_watch_process(s, p, err);
}

TASK_HANDLER(task_start)
{
	struct shim *s = ctx;
	const Sbx__Shim__V1__StartRequest *in = (const void *)req;
	pthread_mutex_lock(&s->lock);
	struct shim_process *p = shim_find_process(s, in->id, in->exec_id);
	if (!p) {
		pthread_mutex_unlock(&s->lock);
		return sbx_failx(err, ENOENT, "process %s/%s not found", in->id, in->exec_id);
	}
	if (p->status != SHIM_CREATED || p->exited || p->starting) {
		pthread_mutex_unlock(&s->lock);
		return sbx_failx(err, EBUSY, "process %s/%s cannot start: it is %s", in->id,
				 in->exec_id, p->exited ? "stopped" : "not in the created state");
	}
	p->starting = true;
	pthread_mutex_unlock(&s->lock);

	int r = start_in_guest(s, p, err);
	if (r < 0)
		shim_vm_log_lost_call(s, "start", in->id, err);
	pthread_mutex_lock(&s->lock);
	if (r < 0) {
		p->starting = false;
		shim_process_exited_locked(s, p, EXIT_START_FAILED);
	} else {
		if (!p->exited)
			p->status = SHIM_RUNNING;
		if (p->exec_id[0]) {
			Sbx__Shim__V1__TaskExecStarted ev = SBX__SHIM__V1__TASK_EXEC_STARTED__INIT;
			ev.container_id = p->c->id;
			ev.exec_id = p->exec_id;
			ev.pid = shim_task_pid(s);
			shim_events_publish(s->events, "/tasks/exec-started", "TaskExecStarted",
					    &ev.base);
		} else {
			Sbx__Shim__V1__TaskStart ev = SBX__SHIM__V1__TASK_START__INIT;
			ev.container_id = p->c->id;
			ev.pid = shim_task_pid(s);
			shim_events_publish(s->events, "/tasks/start", "TaskStart", &ev.base);
		}
		p->starting = false;
	}
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		return r;
	((Sbx__Shim__V1__StartResponse *)resp)->pid = shim_task_pid(s);
	return 0;
}

/* Waits (lock held) until nothing but us uses p; false if that took longer than the deadline
 * (then p must be leaked, not freed). */
static bool wait_unused_locked(struct shim *s, struct shim_process *p, const struct timespec *dl)
{
	while (p->watching || p->refs > 0 || p->starting)
		if (pthread_cond_timedwait(&s->cond, &s->lock, dl) == ETIMEDOUT)
			return false;
	return true;
}

/* A created init that never started still has a process in the guest: kill it, wait. */
static void kill_created_locked(struct shim *s, struct shim_process *p)
{
	if (p->exited)
		return;
	if (p->c->pod_sandbox || !p->watching) {
		shim_process_exited_locked(s, p, 128 + SIGKILL);
		return;
	}
	pthread_mutex_unlock(&s->lock);
	shim_signal(s, p->c->id, "", SIGKILL, true, NULL);
	pthread_mutex_lock(&s->lock);
	struct timespec dl = clock_deadline(CLOCK_REALTIME, KILL_WAIT_S * 1000);
	while (!p->exited)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &dl) == ETIMEDOUT) {
			shim_process_exited_locked(s, p, 128 + SIGKILL);
			break;
		}
}

static void fill_delete(struct ttrpc_call *call, Sbx__Shim__V1__DeleteResponse *out,
			const struct shim_process *p, uint32_t pid)
{
	out->pid = pid;
	out->exit_status = p->exit_status;
	out->exited_at = task_timestamp(call, p->exited_at_ns);
}

static int delete_exec(struct shim *s, struct ttrpc_call *call, struct shim_process *p,
		       Sbx__Shim__V1__DeleteResponse *out, struct sbx_err *err)
{
	if (!p->exited && p->status != SHIM_CREATED) {
		pthread_mutex_unlock(&s->lock);
		return sbx_failx(err, EBUSY, "exec %s is still running", p->exec_id);
	}
	if (!p->exited)
		shim_process_exited_locked(s, p, 128 + SIGKILL);
	struct timespec dl = clock_deadline(CLOCK_REALTIME, KILL_WAIT_S * 1000);
	if (!wait_unused_locked(s, p, &dl)) {
		pthread_mutex_unlock(&s->lock);
		return sbx_failx(err, EBUSY, "exec %s is still in use", p->exec_id);
	}
	for (struct shim_process **pp = &p->c->execs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	fill_delete(call, out, p, shim_task_pid(s));
	pthread_mutex_unlock(&s->lock);
	shim_process_free(p);
	free(p);
	return 0;
}

TASK_HANDLER(task_delete)
{
	struct shim *s = ctx;
	const Sbx__Shim__V1__DeleteRequest *in = (const void *)req;
	Sbx__Shim__V1__DeleteResponse *out = (void *)resp;
	pthread_mutex_lock(&s->lock);
	struct shim_process *p = shim_find_process(s, in->id, in->exec_id);
	if (!p) {
		pthread_mutex_unlock(&s->lock);
		return sbx_failx(err, ENOENT, "process %s/%s not found", in->id, in->exec_id);
	}
	if (p->exec_id[0])
		return delete_exec(s, call, p, out, err);
	struct shim_container *c = p->c;
	if ((p->status == SHIM_RUNNING || p->status == SHIM_PAUSED) && !p->exited) {
		pthread_mutex_unlock(&s->lock);
		return sbx_failx(err, EBUSY, "task %s is still running", in->id);
	}
	if (p->starting) {
		pthread_mutex_unlock(&s->lock);
		return sbx_failx(err, EBUSY, "task %s is being created or started", in->id);
	}
	kill_created_locked(s, p);
	unlink_container_locked(s, c);
	bool last = !s->containers;
	fill_delete(call, out, p, shim_task_pid(s));
	pthread_mutex_unlock(&s->lock);

	/* The agent kills what is left (execs of a dead init), so every WaitProcess returns. */
	remove_from_guest(s, c);
	pthread_mutex_lock(&s->lock);
	struct timespec dl = clock_deadline(CLOCK_REALTIME, KILL_WAIT_S * 1000);
	bool unused = wait_unused_locked(s, p, &dl);
	for (struct shim_process *e = c->execs; e && unused; e = e->next) {
		if (!e->watching && !e->exited)
			shim_process_exited_locked(s, e, 128 + SIGKILL);
		unused = wait_unused_locked(s, e, &dl);
	}
	pthread_mutex_unlock(&s->lock);
	shim_io_free(&c->init.io);
	if (c->rootfs_mounted)
		shim_rootfs_unmount(c->bundle);
	Sbx__Shim__V1__TaskDelete ev = SBX__SHIM__V1__TASK_DELETE__INIT;
	ev.container_id = c->id;
	ev.pid = out->pid;
	ev.exit_status = out->exit_status;
	ev.exited_at = out->exited_at;
	ev.id = c->id;
	shim_events_publish(s->events, "/tasks/delete", "TaskDelete", &ev.base);
	if (unused)
		container_free(c);
	else
		log_error("%s: a process of the task never ended; its memory is kept", c->id);
	if (last)
		shim_vm_stop(s);
	return 0;
}

TASK_HANDLER(task_state)
{
	struct shim *s = ctx;
	const Sbx__Shim__V1__StateRequest *in = (const void *)req;
	Sbx__Shim__V1__StateResponse *out = (void *)resp;
	pthread_mutex_lock(&s->lock);
	struct shim_process *p = shim_find_process(s, in->id, in->exec_id);
	if (!p) {
		pthread_mutex_unlock(&s->lock);
		return sbx_failx(err, ENOENT, "process %s/%s not found", in->id, in->exec_id);
	}
	out->id = ttrpc_call_strdup(call, in->id);
	out->exec_id = ttrpc_call_strdup(call, p->exec_id);
	out->bundle = ttrpc_call_strdup(call, p->c->bundle);
	out->pid = shim_task_pid(s);
	out->status = (Sbx__Shim__V1__Status)(p->exited ? SHIM_STOPPED : p->status);
	out->stdin = ttrpc_call_strdup(call, p->stdin_path ? p->stdin_path : "");
	out->stdout = ttrpc_call_strdup(call, p->stdout_path ? p->stdout_path : "");
	out->stderr = ttrpc_call_strdup(call, p->stderr_path ? p->stderr_path : "");
	out->terminal = p->terminal;
	if (p->exited) {
		out->exit_status = p->exit_status;
		out->exited_at = task_timestamp(call, p->exited_at_ns);
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}

TASK_HANDLER(task_wait)
{
	struct shim *s = ctx;
	const Sbx__Shim__V1__WaitRequest *in = (const void *)req;
	Sbx__Shim__V1__WaitResponse *out = (void *)resp;
	pthread_mutex_lock(&s->lock);
	struct shim_process *p = shim_find_process(s, in->id, in->exec_id);
	if (!p) {
		pthread_mutex_unlock(&s->lock);
		return sbx_failx(err, ENOENT, "process %s/%s not found", in->id, in->exec_id);
	}
	p->refs++;
	while (!p->exited)
		pthread_cond_wait(&s->cond, &s->lock);
	out->exit_status = p->exit_status;
	out->exited_at = task_timestamp(call, p->exited_at_ns);
	p->refs--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

TASK_HANDLER(task_connect)
{
	struct shim *s = ctx;
	Sbx__Shim__V1__ConnectResponse *out = (void *)resp;
	out->shim_pid = (uint32_t)getpid();
	out->task_pid = shim_task_pid(s);
	out->version = SHIM_VERSION;
	return 0;
}

TASK_HANDLER(task_shutdown)
{
	struct shim *s = ctx;
	pthread_mutex_lock(&s->lock);
	if (!s->containers) {
		s->exiting = true;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	return 0;
}
