/* Container calls: CreateContainer, StartContainer, RemoveContainer, Pause/Resume, Update,
 * Stats, ListProcesses. */
#define _GNU_SOURCE
#include "guest-agent/agent.h"
#include "guest-agent/container/cgroup.h"
#include "guest-agent/container/container.h"
#include "guest-agent/passwd.h"
#include "guest-agent/rpc/rpc.h"

#include "base/cleanup.h"
#include "base/clock.h"
#include "base/err.h"
#include "oci/spec.h"
#include "proto/agent.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define REMOVE_TIMEOUT_NS (10ull * 1000000000ull)
#define FREEZE_TIMEOUT_MS 10000

static void container_free(struct agent_container *c)
{
	while (c->procs) {
		struct agent_proc *p = c->procs;
		c->procs = p->next;
		agent_proc_free(p);
	}
	if (c->cgroup_dir) {
		struct sbx_err err = {0};
		if (cg_remove(c->cgroup_dir, &err) < 0)
			dprintf(2, "sbx-agent: %s\n", err.msg);
	}
	agent_rootfs_teardown(&c->rootfs);
	ct_free(c->ct);
	oci_spec_free(c->spec);
	free(c->cgroup_dir);
	free(c);
}

static void unlink_container(struct agent *a, struct agent_container *c)
{
	for (struct agent_container **pp = &a->list; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

/* Adds a placeholder for id so a second Create of the same id fails at once. */
static int reserve(struct agent *a, const char *id, struct agent_container **ret,
		   struct sbx_err *err)
{
	struct agent_container *c = calloc(1, sizeof(*c));
	if (!c)
		return sbx_fail(err, ENOMEM, "container");
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->refs = 2; /* the list's and the creator's */
	c->creating = true;
	int r = 0;
	pthread_mutex_lock(&a->lock);
	unsigned n = 0;
	for (struct agent_container *o = a->list; o && r == 0; o = o->next, n++)
		if (!strcmp(o->id, id))
			r = sbx_failx(err, EEXIST, "container '%s' already exists", id);
	if (r == 0 && n >= AGENT_MAX_CONTAINERS)
		r = sbx_failx(err, ENOSPC, "at most %d containers per sandbox",
			      AGENT_MAX_CONTAINERS);
	if (r == 0) {
		c->next = a->list;
		a->list = c;
	}
	pthread_mutex_unlock(&a->lock);
	if (r < 0)
		free(c);
	*ret = r < 0 ? NULL : c;
	return r;
}

static int build(struct agent *a, struct agent_container *c,
		 const Sbx__Agent__V1__CreateContainerRequest *in, pid_t *ret_pid,
		 struct sbx_err *err)
{
	const Sbx__Agent__V1__RootfsSource *src = in->rootfs;
	if (!in->oci_spec.len)
		return sbx_failx(err, EINVAL, "oci_spec is empty");
	if (!src || src->source_case == SBX__AGENT__V1__ROOTFS_SOURCE__SOURCE__NOT_SET)
		return sbx_failx(err, EINVAL, "rootfs: no source given (block or stream)");
	if (oci_spec_parse((const char *)in->oci_spec.data, in->oci_spec.len, &c->spec, err) < 0)
		return -err->code;
	if (!c->spec->has_process)
		return sbx_failx(err, EINVAL, "spec: no process");
	if (src->source_case == SBX__AGENT__V1__ROOTFS_SOURCE__SOURCE_BLOCK) {
		const Sbx__Agent__V1__BlockRootfs *b = src->block;
		if (agent_rootfs_block(&c->rootfs, c->id, b->serial, b->fstype, b->upper_serial,
				       err) < 0)
			return -err->code;
	} else if (agent_rootfs_stream(a, &c->rootfs, c->id, src->stream->size_limit_mib, err) <
		   0) {
		return -err->code;
	}
	/* -u NAME[:GROUP]: the names are the image's, and only the guest has its files */
	if (passwd_resolve_spec(c->spec, c->rootfs.root, err) < 0)
		return -err->code;
	if (mkdir(AGENT_CGROUP_PARENT, 0755) < 0 && errno != EEXIST)
		return sbx_fail(err, errno, "mkdir %s", AGENT_CGROUP_PARENT);
	if (cg_create(AGENT_CGROUP_PARENT, c->id, &c->spec->res, &c->cgroup_dir, err) < 0)
		return -err->code;
	struct agent_proc *p = agent_proc_new("");
	if (!p)
		return sbx_fail(err, ENOMEM, "container");
	struct ct_stdio io = {.terminal = c->spec->process.terminal};
	int r = agent_proc_open_stdio(p, io.terminal, in->stdin, io.fds, err);
	if (r == 0)
		r = ct_create(c->spec, c->rootfs.root, c->cgroup_dir, &io, &c->ct, err);
	for (int i = 0; i < 3; i++)
		if (io.fds[i] >= 0)
			close(io.fds[i]);
	if (r < 0) {
		agent_proc_free(p);
		return r;
	}
	pthread_mutex_lock(&a->lock);
	agent_proc_add(c, p);
	agent_proc_started(a, p, c->ct->pid);
	pthread_mutex_unlock(&a->lock);
	*ret_pid = c->ct->pid;
	return 0;
}

AGENT_HANDLER(agent_h_create_container)
{
	(void)call;
	struct agent *a = ctx;
	const Sbx__Agent__V1__CreateContainerRequest *in = (const void *)req;
	Sbx__Agent__V1__ProcessStarted *out = (void *)resp;
	struct agent_container *c = NULL;
	if (agent_check_id("container id", in->container_id, false, err) < 0 ||
	    reserve(a, in->container_id, &c, err) < 0)
		return -err->code;
	pid_t pid = 0;
	int r = build(a, c, in, &pid, err);
	pthread_mutex_lock(&a->lock);
	c->creating = false;
	c->refs--;
	if (r < 0) {
		unlink_container(a, c);
		if (c->ct)
			kill(c->ct->pid, SIGKILL);
	} else {
		a->containers++;
	}
	pthread_mutex_unlock(&a->lock);
	if (r < 0) {
		container_free(c);
		return r;
	}
	out->pid = (uint32_t)pid;
	return 0;
}

AGENT_HANDLER(agent_h_start_container)
{
	(void)call, (void)resp;
	struct agent *a = ctx;
	const Sbx__Agent__V1__ContainerRequest *in = (const void *)req;
	struct agent_container *c = NULL;
	if (agent_container_get(a, in->container_id, &c, err) < 0)
		return -err->code;
	pthread_mutex_lock(&a->lock);
	bool already = c->started;
	c->started = true;
	pthread_mutex_unlock(&a->lock);
	int r = already ? sbx_failx(err, EALREADY, "container '%s' was already started", c->id)
			: ct_start(c->ct, err);
	agent_container_put(a, c);
	return r;
}

/* Waits, lock held, until cond holds or the deadline passes. */
static bool wait_until(struct agent *a, bool (*cond)(struct agent_container *),
		       struct agent_container *c, uint64_t deadline_ns)
{
	while (!cond(c))
		if (!agent_wait_changed(a, deadline_ns))
			return false;
	return true;
}

static bool all_exited(struct agent_container *c)
{
	for (struct agent_proc *p = c->procs; p; p = p->next)
		if (!p->exited)
			return false;
	return true;
}

static bool only_our_reference(struct agent_container *c)
{
	return c->refs <= 2;
}

AGENT_HANDLER(agent_h_remove_container)
{
	(void)call, (void)resp;
	struct agent *a = ctx;
	const Sbx__Agent__V1__ContainerRequest *in = (const void *)req;
	struct agent_container *c = NULL;
	if (agent_container_get(a, in->container_id, &c, err) < 0)
		return -err->code;
	pthread_mutex_lock(&a->lock);
	c->removing = true;
	pthread_mutex_unlock(&a->lock);
	/* every process of the container, execs included, is in its cgroup */
	if (cg_kill_all(c->cgroup_dir, err) < 0)
		dprintf(2, "sbx-agent: %s\n", err->msg);
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + REMOVE_TIMEOUT_NS;
	pthread_mutex_lock(&a->lock);
	bool gone = wait_until(a, all_exited, c, deadline);
	for (struct agent_proc *p = c->procs; p; p = p->next)
		agent_streams_shutdown(p);
	bool idle = gone && wait_until(a, only_our_reference, c, deadline);
	if (idle) {
		unlink_container(a, c);
		a->containers--;
	} else {
		c->removing = false;
		c->refs--;
	}
	pthread_mutex_unlock(&a->lock);
	if (!idle)
		return sbx_failx(err, ETIMEDOUT, "container '%s': %s after %llu s", c->id,
				 gone ? "calls still use it" : "processes still run",
				 REMOVE_TIMEOUT_NS / 1000000000ull);
	container_free(c);
	return 0;
}

/* cgroup.freeze is asynchronous: the state is reached when cgroup.events says so. */
static int set_frozen(const char *dir, bool frozen, struct sbx_err *err)
{
	if (cg_freeze(dir, frozen, err) < 0)
		return -err->code;
	char path[512], buf[512];
	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sbx_fail(err, errno, "open %s", path);
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + FREEZE_TIMEOUT_MS * 1000000ull;
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			return sbx_fail(err, errno, "read %s", path);
		buf[n] = '\0';
		if (strstr(buf, frozen ? "frozen 1" : "frozen 0"))
			return 0;
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		if (now >= deadline)
			return sbx_failx(err, ETIMEDOUT, "the cgroup did not %s within %d ms",
					 frozen ? "freeze" : "thaw", FREEZE_TIMEOUT_MS);
		/* kernfs wakes pollers of cgroup.events on every change */
		struct pollfd pfd = {.fd = fd, .events = POLLPRI};
		poll(&pfd, 1, (int)((deadline - now) / 1000000ull) + 1);
	}
}

static int pause_resume(struct agent *a, const ProtobufCMessage *req, bool frozen,
			struct sbx_err *err)
{
	const Sbx__Agent__V1__ContainerRequest *in = (const void *)req;
	struct agent_container *c = NULL;
	if (agent_container_get(a, in->container_id, &c, err) < 0)
		return -err->code;
	int r = set_frozen(c->cgroup_dir, frozen, err);
	agent_container_put(a, c);
	return r;
}

AGENT_HANDLER(agent_h_pause_container)
{
	(void)call, (void)resp;
	return pause_resume(ctx, req, true, err);
}

AGENT_HANDLER(agent_h_resume_container)
{
	(void)call, (void)resp;
	return pause_resume(ctx, req, false, err);
}

static bool cpuset_ok(const char *s)
{
	if (strlen(s) > 256)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || *s == ',' || *s == '-'))
			return false;
	return true;
}

AGENT_HANDLER(agent_h_update_container)
{
	(void)call, (void)resp;
	struct agent *a = ctx;
	const Sbx__Agent__V1__UpdateContainerRequest *in = (const void *)req;
	const Sbx__Agent__V1__LinuxResources *lr = in->resources;
	if (!lr)
		return sbx_failx(err, EINVAL, "resources: missing");
	if (lr->memory_limit < -1 || lr->memory_reservation < -1 || lr->memory_swap < -1 ||
	    lr->cpu_quota < -1 || lr->pids_limit < -1)
		return sbx_failx(err, EINVAL, "resources: a limit below -1");
	if (lr->io_weight && (lr->io_weight < 10 || lr->io_weight > 1000))
		return sbx_failx(err, EINVAL, "resources: io_weight %u is not 10..1000",
				 lr->io_weight);
	if (lr->cpu_shares && (lr->cpu_shares < 2 || lr->cpu_shares > 262144))
		return sbx_failx(err, EINVAL, "resources: cpu_shares %llu is not 2..262144",
				 (unsigned long long)lr->cpu_shares);
	if (lr->cpu_period && (lr->cpu_period < 1000 || lr->cpu_period > 1000000))
		return sbx_failx(err, EINVAL, "resources: cpu_period %llu is not 1000..1000000",
				 (unsigned long long)lr->cpu_period);
	if (!cpuset_ok(lr->cpuset_cpus) || !cpuset_ok(lr->cpuset_mems))
		return sbx_failx(err, EINVAL, "resources: cpuset is not a list like 0-2,4");
	struct oci_resources r = {
	    .mem_limit = lr->memory_limit,
	    .has_mem_limit = lr->memory_limit != 0,
	    .mem_reservation = lr->memory_reservation,
	    .has_mem_reservation = lr->memory_reservation > 0,
	    .mem_swap = lr->memory_swap,
	    .has_mem_swap = lr->memory_swap != 0,
	    .cpu_shares = lr->cpu_shares,
	    .has_cpu_shares = lr->cpu_shares != 0,
	    .cpu_quota = lr->cpu_quota,
	    .has_cpu_quota = lr->cpu_quota != 0,
	    .cpu_period = lr->cpu_period,
	    .has_cpu_period = lr->cpu_period != 0,
	    .cpus = lr->cpuset_cpus[0] ? lr->cpuset_cpus : NULL,
	    .pids_limit = lr->pids_limit,
	    .has_pids_limit = lr->pids_limit != 0,
	    .blkio_weight = (uint16_t)lr->io_weight,
	};
	struct agent_container *c = NULL;
	if (agent_container_get(a, in->container_id, &c, err) < 0)
		return -err->code;
	int ret = cg_apply(c->cgroup_dir, &r, err);
	agent_container_put(a, c);
	return ret;
}

AGENT_HANDLER(agent_h_stats_container)
{
	(void)call;
	struct agent *a = ctx;
	const Sbx__Agent__V1__ContainerRequest *in = (const void *)req;
	Sbx__Agent__V1__ContainerStats *out = (void *)resp;
	struct agent_container *c = NULL;
	if (agent_container_get(a, in->container_id, &c, err) < 0)
		return -err->code;
	struct cg_stats s;
	cg_stats(c->cgroup_dir, &s);
	agent_container_put(a, c);
	out->cpu_usage_ns = s.cpu_usec * 1000;
	out->cpu_user_ns = s.cpu_user_usec * 1000;
	out->cpu_system_ns = s.cpu_system_usec * 1000;
	out->memory_usage = s.mem_current;
	out->memory_limit = s.mem_max;
	out->memory_cache = s.mem_file;
	out->pids_current = s.pids_current;
	out->pids_limit = s.pids_max;
	out->io_read_bytes = s.io_rbytes;
	out->io_write_bytes = s.io_wbytes;
	out->oom_kills = s.oom_kills;
	return 0;
}

AGENT_HANDLER(agent_h_list_processes)
{
	struct agent *a = ctx;
	const Sbx__Agent__V1__ContainerRequest *in = (const void *)req;
	Sbx__Agent__V1__ProcessList *out = (void *)resp;
	struct agent_container *c = NULL;
	if (agent_container_get(a, in->container_id, &c, err) < 0)
		return -err->code;
	char path[512];
	snprintf(path, sizeof(path), "%s/cgroup.procs", c->cgroup_dir);
	agent_container_put(a, c);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return sbx_fail(err, errno, "open %s", path);
	size_t cap = 64;
	uint32_t *pids = ttrpc_call_alloc(call, cap * sizeof(*pids));
	unsigned long v;
	while (pids && fscanf(f, "%lu", &v) == 1) {
		if (out->n_pids == cap) {
			uint32_t *more = ttrpc_call_alloc(call, 2 * cap * sizeof(*pids));
			if (more)
				memcpy(more, pids, cap * sizeof(*pids));
			pids = more;
			cap *= 2;
			if (!pids)
				break;
		}
		pids[out->n_pids++] = (uint32_t)v;
	}
	if (!pids)
		return sbx_fail(err, ENOMEM, "process list");
	out->pids = pids;
	return 0;
}
