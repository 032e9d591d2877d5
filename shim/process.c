/* Processes: lookups, the exit of a process (event first, then Waits woken, as containerd
 * expects), and the thread per process that learns its exit from the agent. */
#define _GNU_SOURCE
#include "shim/shim.h"

#include "agent/client.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "proto/agent.pb-c.h"
#include "proto/shim.pb-c.h"
#include "shim/events.h"

#include <stdlib.h>
#include <string.h>

/* Output written just before an exit must reach the FIFO before Wait returns; a daemon that
 * keeps the stream open must not hold the exit forever. */
#define OUTPUT_DRAIN_MS 5000
#define EXIT_AGENT_LOST 255
#define SIGNAL_TIMEOUT_MS 60000

struct shim_container *shim_find_container(struct shim *s, const char *id)
{
	for (struct shim_container *c = s->containers; c; c = c->next)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

struct shim_process *shim_find_process(struct shim *s, const char *id, const char *exec_id)
{
	struct shim_container *c = shim_find_container(s, id);
	if (!c)
		return NULL;
	if (!exec_id || !*exec_id)
		return &c->init;
	for (struct shim_process *p = c->execs; p; p = p->next)
		if (!strcmp(p->exec_id, exec_id))
			return p;
	return NULL;
}

void shim_process_exited_locked(struct shim *s, struct shim_process *p, uint32_t status)
{
	if (p->exited)
		return;
	p->exited = true;
	p->exit_status = status;
	p->exited_at_ns = clock_ns(CLOCK_REALTIME);
	Sbx__Shim__V1__Timestamp ts = SBX__SHIM__V1__TIMESTAMP__INIT;
	ts.seconds = (int64_t)(p->exited_at_ns / 1000000000u);
	ts.nanos = (int32_t)(p->exited_at_ns % 1000000000u);
	Sbx__Shim__V1__TaskExit ev = SBX__SHIM__V1__TASK_EXIT__INIT;
	ev.container_id = p->c->id;
	ev.id = p->exec_id[0] ? p->exec_id : p->c->id;
	ev.pid = shim_task_pid(s);
	ev.exit_status = status;
	ev.exited_at = &ts;
	shim_events_publish(s->events, "/tasks/exit", "TaskExit", &ev.base);
	p->status = SHIM_STOPPED;
	pthread_cond_broadcast(&s->cond);
}

struct watch {
	struct shim *s;
	struct shim_process *p;
	struct ttrpc_client *cl;
};

static void *watch_thread(void *arg)
{
	struct watch w = *(struct watch *)arg;
	free(arg);
	struct shim_process *p = w.p;
	log_set_thread("wait");
	Sbx__Agent__V1__ProcessRef ref = SBX__AGENT__V1__PROCESS_REF__INIT;
	ref.container_id = p->c->id;
	ref.exec_id = p->exec_id;
	ProtobufCMessage *resp = NULL;
	struct sbx_err err = {0};
	uint32_t status = EXIT_AGENT_LOST;
	if (agent_call(w.cl, "WaitProcess", &ref.base,
		       &sbx__agent__v1__wait_process_response__descriptor, &resp, 0, &err) == 0) {
		status = (uint32_t)((Sbx__Agent__V1__WaitProcessResponse *)resp)->exit_status;
		protobuf_c_message_free_unpacked(resp, NULL);
		shim_io_wait_output(&p->io, OUTPUT_DRAIN_MS);
	} else {
		log_warn("wait for %s/%s: %s", p->c->id, p->exec_id, err.msg);
	}
	pthread_mutex_lock(&w.s->lock);
	while (p->starting) /* its start event goes out before its exit event */
		pthread_cond_wait(&w.s->cond, &w.s->lock);
	shim_process_exited_locked(w.s, p, status);
	p->watching = false;
	pthread_cond_broadcast(&w.s->cond);
	pthread_mutex_unlock(&w.s->lock);
	return NULL;
}

int shim_watch_process(struct shim *s, struct shim_process *p, struct sbx_err *err)
{
	struct watch *w = malloc(sizeof(*w));
	if (!w)
		return sbx_fail(err, ENOMEM, "watch thread");
	*w = (struct watch){.s = s, .p = p};
	if (shim_agent(s, &w->cl, err) < 0) {
		free(w);
		return -err->code;
	}
	pthread_mutex_lock(&s->lock);
	p->watching = true;
	pthread_mutex_unlock(&s->lock);
	pthread_t t;
	int e = pthread_create(&t, NULL, watch_thread, w);
	if (e) {
		free(w);
		pthread_mutex_lock(&s->lock);
		p->watching = false;
		pthread_mutex_unlock(&s->lock);
		return sbx_fail(err, e, "watch thread");
	}
	pthread_detach(t);
	return 0;
}

int shim_signal(struct shim *s, const char *id, const char *exec_id, uint32_t sig, bool all,
		struct sbx_err *err)
{
	struct ttrpc_client *cl;
	if (shim_agent(s, &cl, err) < 0)
		return -err->code;
	Sbx__Agent__V1__ProcessRef ref = SBX__AGENT__V1__PROCESS_REF__INIT;
	ref.container_id = (char *)id;
	ref.exec_id = (char *)(exec_id ? exec_id : "");
	Sbx__Agent__V1__SignalProcessRequest req = SBX__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;
	req.process = &ref;
	req.signal = sig;
	req.all = all;
	int r = agent_call(cl, "SignalProcess", &req.base, NULL, NULL, SIGNAL_TIMEOUT_MS, err);
	return r == -ESRCH || r == -ENOENT ? 0 : r; /* exited meanwhile: its exit is on its way */
}

void shim_process_free(struct shim_process *p)
{
	shim_io_free(&p->io);
	free(p->stdin_path);
	free(p->stdout_path);
	free(p->stderr_path);
	free(p->spec_json);
	p->stdin_path = p->stdout_path = p->stderr_path = p->spec_json = NULL;
}
