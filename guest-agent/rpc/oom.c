/* GetOOMEvent: blocks until some container's memory.events oom_kill count grows, and names it.
 * The kernel signals changes of memory.events through inotify (IN_MODIFY), so the wait costs
 * nothing; it is re-armed every second to watch containers created meanwhile. */
#define _GNU_SOURCE
#include "guest-agent/agent.h"
#include "guest-agent/container/cgroup.h"
#include "guest-agent/rpc/rpc.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "proto/agent.pb-c.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

/* With the lock held: the first container whose oom_kill count grew, its new count noted. */
static struct agent_container *grown(struct agent *a, int inotify_fd)
{
	for (struct agent_container *c = a->list; c; c = c->next) {
		if (c->creating || c->removing || !c->cgroup_dir)
			continue;
		uint64_t kills = cg_oom_kills(c->cgroup_dir);
		if (kills > c->oom_kills_seen) {
			c->oom_kills_seen = kills;
			return c;
		}
		char path[512];
		snprintf(path, sizeof(path), "%s/memory.events", c->cgroup_dir);
		inotify_add_watch(inotify_fd, path, IN_MODIFY);
	}
	return NULL;
}

AGENT_HANDLER(agent_h_get_oom_event)
{
	(void)req;
	struct agent *a = ctx;
	Sbx__Agent__V1__OOMEvent *out = (void *)resp;
	_cleanup_close_ int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (ifd < 0)
		return sbx_fail(err, errno, "inotify");
	for (;;) {
		pthread_mutex_lock(&a->lock);
		struct agent_container *c = grown(a, ifd);
		if (c)
			out->container_id = ttrpc_call_strdup(call, c->id);
		pthread_mutex_unlock(&a->lock);
		if (c)
			return out->container_id ? 0 : sbx_fail(err, ENOMEM, "oom event");
		struct pollfd p = {.fd = ifd, .events = POLLIN};
		if (poll(&p, 1, 1000) > 0) {
			char buf[4096];
			while (read(ifd, buf, sizeof(buf)) > 0)
				;
		}
	}
}
