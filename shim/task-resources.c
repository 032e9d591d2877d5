/* Pause, Resume, Update, Stats and Checkpoint. */
#define _GNU_SOURCE
#include "shim/task.h"

#include "agent/client.h"
#include "base/err.h"
#include "proto/agent.pb-c.h"
#include "shim/events.h"
#include "shim/shim.h"

#include <jansson.h>
#include <string.h>

#define CALL_TIMEOUT_MS 60000
#define RESOURCES_MAX (1u << 20)
#define METRICS_V2_TYPE "io.containerd.cgroups.v2.Metrics"

/* The container of a task that runs in the guest; ENOENT, or 1 for the pod sandbox. */
static int guest_task(struct shim *s, const char *id, struct sbx_err *err)
{
	pthread_mutex_lock(&s->lock);
	struct shim_container *c = shim_find_container(s, id);
	int r = !c ? sbx_failx(err, ENOENT, "task %s not found", id) : c->pod_sandbox ? 1 : 0;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int pause_or_resume(struct shim *s, const char *id, bool pause, struct sbx_err *err)
{
	int r = guest_task(s, id, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&s->lock);
	struct shim_container *c = shim_find_container(s, id);
	bool ok = c && !c->init.exited && c->init.status == (pause ? SHIM_RUNNING : SHIM_PAUSED);
	pthread_mutex_unlock(&s->lock);
	if (!ok)
		return sbx_failx(err, EBUSY, "task %s is not %s", id, pause ? "running" : "paused");
	struct ttrpc_client *cl;
	if (r == 0) {
		if (shim_agent(s, &cl, err) < 0)
			return -err->code;
		Sbx__Agent__V1__ContainerRequest cr = SBX__AGENT__V1__CONTAINER_REQUEST__INIT;
		cr.container_id = (char *)id;
		if (agent_call(cl, pause ? "PauseContainer" : "ResumeContainer", &cr.base, NULL,
			       NULL, CALL_TIMEOUT_MS, err) < 0)
			return -err->code;
	}
	pthread_mutex_lock(&s->lock);
	c = shim_find_container(s, id);
	if (c && !c->init.exited)
		c->init.status = pause ? SHIM_PAUSED : SHIM_RUNNING;
	Sbx__Shim__V1__TaskPaused ev = SBX__SHIM__V1__TASK_PAUSED__INIT;
	ev.container_id = (char *)id;
	/* TaskPaused and TaskResumed have the same single field */
	shim_events_publish(s->events, pause ? "/tasks/paused" : "/tasks/resumed",
			    pause ? "TaskPaused" : "TaskResumed", &ev.base);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

TASK_HANDLER(task_pause)
{
	return pause_or_resume(ctx, ((const Sbx__Shim__V1__PauseRequest *)req)->id, true, err);
}

TASK_HANDLER(task_resume)
{
	return pause_or_resume(ctx, ((const Sbx__Shim__V1__ResumeRequest *)req)->id, false, err);
}

static int64_t get_i64(json_t *o, const char *key, int64_t unset)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : unset;
}

/* runtime-spec LinuxResources (JSON) -> the agent's LinuxResources. */
static int parse_resources(const Sbx__Shim__V1__Any *any, Sbx__Agent__V1__LinuxResources *out,
			   json_t **keep, struct sbx_err *err)
{
	if (!any || !any->value.len || any->value.len > RESOURCES_MAX)
		return sbx_failx(err, EINVAL, "update: no resources given");
	json_error_t je;
	json_t *root = json_loadb((const char *)any->value.data, any->value.len, 0, &je);
	if (!json_is_object(root)) {
		json_decref(root);
		return sbx_failx(err, EINVAL, "update: resources are not a JSON object: %s",
				 je.text);
	}
	json_t *mem = json_object_get(root, "memory");
	json_t *cpu = json_object_get(root, "cpu");
	out->memory_limit = get_i64(mem, "limit", 0);
	out->memory_reservation = get_i64(mem, "reservation", 0);
	out->memory_swap = get_i64(mem, "swap", 0);
	out->cpu_shares = (uint64_t)get_i64(cpu, "shares", 0);
	out->cpu_quota = get_i64(cpu, "quota", 0);
	out->cpu_period = (uint64_t)get_i64(cpu, "period", 0);
	out->cpuset_cpus = (char *)json_string_value(json_object_get(cpu, "cpus"));
	out->cpuset_mems = (char *)json_string_value(json_object_get(cpu, "mems"));
	if (!out->cpuset_cpus)
		out->cpuset_cpus = "";
	if (!out->cpuset_mems)
		out->cpuset_mems = "";
	out->pids_limit = get_i64(json_object_get(root, "pids"), "limit", 0);
	out->io_weight = (uint32_t)get_i64(json_object_get(root, "blockIO"), "weight", 0);
	*keep = root;
	return 0;
}

TASK_HANDLER(task_update)
{
	struct shim *s = ctx;
	const Sbx__Shim__V1__UpdateTaskRequest *in = (const void *)req;
	int r = guest_task(s, in->id, err);
	if (r != 0)
		return r < 0 ? r : 0; /* the pod sandbox has no cgroup of its own */
	Sbx__Agent__V1__LinuxResources res = SBX__AGENT__V1__LINUX_RESOURCES__INIT;
	json_t *keep = NULL;
	if (parse_resources(in->resources, &res, &keep, err) < 0)
		return -err->code;
	struct ttrpc_client *cl;
	Sbx__Agent__V1__UpdateContainerRequest u = SBX__AGENT__V1__UPDATE_CONTAINER_REQUEST__INIT;
	u.container_id = in->id;
	u.resources = &res;
	r = shim_agent(s, &cl, err);
	if (r == 0)
		r = agent_call(cl, "UpdateContainer", &u.base, NULL, NULL, CALL_TIMEOUT_MS, err);
	json_decref(keep);
	return r;
}

TASK_HANDLER(task_stats)
{
	struct shim *s = ctx;
	const Sbx__Shim__V1__StatsRequest *in = (const void *)req;
	Sbx__Shim__V1__StatsResponse *out = (void *)resp;
	int r = guest_task(s, in->id, err);
	if (r != 0)
		return r < 0
			   ? r
			   : sbx_failx(err, ENOENT, "task %s is the pod sandbox: no stats", in->id);
	struct ttrpc_client *cl;
	if (shim_agent(s, &cl, err) < 0)
		return -err->code;
	Sbx__Agent__V1__ContainerRequest cr = SBX__AGENT__V1__CONTAINER_REQUEST__INIT;
	cr.container_id = in->id;
	ProtobufCMessage *m = NULL;
	if (agent_call(cl, "StatsContainer", &cr.base, &sbx__agent__v1__container_stats__descriptor,
		       &m, CALL_TIMEOUT_MS, err) < 0)
		return -err->code;
	const Sbx__Agent__V1__ContainerStats *st = (const void *)m;
	Sbx__Shim__V1__CPUStat cpu = SBX__SHIM__V1__CPUSTAT__INIT;
	Sbx__Shim__V1__MemoryStat mem = SBX__SHIM__V1__MEMORY_STAT__INIT;
	Sbx__Shim__V1__PidsStat pids = SBX__SHIM__V1__PIDS_STAT__INIT;
	Sbx__Shim__V1__MetricsV2 metrics = SBX__SHIM__V1__METRICS_V2__INIT;
	cpu.usage_usec = st->cpu_usage_ns / 1000;
	cpu.user_usec = st->cpu_user_ns / 1000;
	cpu.system_usec = st->cpu_system_ns / 1000;
	mem.usage = st->memory_usage;
	mem.usage_limit = st->memory_limit;
	mem.anon = st->memory_usage > st->memory_cache ? st->memory_usage - st->memory_cache : 0;
	pids.current = st->pids_current;
	pids.limit = st->pids_limit;
	metrics.cpu = &cpu;
	metrics.memory = &mem;
	metrics.pids = &pids;
	protobuf_c_message_free_unpacked(m, NULL);
	size_t len = protobuf_c_message_get_packed_size(&metrics.base);
	Sbx__Shim__V1__Any *any = ttrpc_call_alloc(call, sizeof(*any));
	uint8_t *buf = ttrpc_call_alloc(call, len + 1);
	if (!any || !buf)
		return sbx_fail(err, ENOMEM, "stats");
	sbx__shim__v1__any__init(any);
	any->type_url = METRICS_V2_TYPE;
	any->value.data = buf;
	any->value.len = protobuf_c_message_pack(&metrics.base, buf);
	out->stats = any;
	return 0;
}

TASK_HANDLER(task_checkpoint)
{
	return sbx_failx(err, ENOSYS, "checkpoint is not supported by kata-lite");
}
