/* sbx-agent: PID 1 of the guest. Mounts the base filesystems, serves the Agent API on vsock
 * port 1024, tells the host it is ready by connecting to host port 1026 (no polling), reaps
 * orphans, and never exits: a fatal error is printed on the console and powers the VM off.
 *
 * sbx.ready_poweroff on the kernel command line prints the ready marker and powers off at
 * once: the boot benchmark's way to time kernel + agent start without a host peer. */
#define _GNU_SOURCE
#include "guest-agent/agent.h"
#include "guest-agent/init.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/vsock-ports.h"
#include "ttrpc/server.h"

#include <errno.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct agent the_agent = {
    .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER, .wake_fd = -1};

static _Noreturn void fatal(const struct sbx_err *err)
{
	agent_power_off(err->msg);
}

static bool cmdline_has(const char *word)
{
	char buf[4096] = "";
	FILE *f = fopen("/proc/cmdline", "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	size_t wl = strlen(word);
	for (char *p = buf; (p = strstr(p, word)); p += wl)
		if ((p == buf || p[-1] == ' ') && (p[wl] == ' ' || p[wl] == '\n' || !p[wl]))
			return true;
	return false;
}

static void *rpc_accept_thread(void *arg)
{
	int fd = (int)(intptr_t)arg;
	int r = ttrpc_server_accept_loop(the_agent.rpc, fd);
	struct sbx_err err = {0};
	sbx_fail(&err, -r, "the Agent API listener failed");
	fatal(&err);
}

static bool host_still_connected(void)
{
	return ttrpc_server_open_connections(the_agent.rpc) > 0;
}

/* After DestroySandbox: its reply must reach the host before the VM goes away, but a write to
 * a vsock socket only queues it for the guest kernel's sender, which a reset can overtake. So the
 * host acknowledges by closing its connection(s); a host that does not is given 1 s. */
static void power_off_after_replies(void)
{
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + 1000000000ull;
	while (host_still_connected() && clock_ns(CLOCK_MONOTONIC) < deadline) {
		struct timespec tick = {0, 1000000};
		nanosleep(&tick, NULL);
	}
	agent_power_off("DestroySandbox");
}

int main(void)
{
	struct sbx_err err = {0};
	the_agent.boot_ns = clock_ns(CLOCK_BOOTTIME);
	if (getpid() != 1) {
		fprintf(stderr, "sbx-agent: must run as the guest's PID 1\n");
		return 2;
	}
	if (agent_init_mounts("sbx", &err) < 0)
		fatal(&err);
	if (cmdline_has("sbx.ready_poweroff")) {
		printf("sbx-guest-ready\n");
		fflush(stdout);
		agent_power_off(NULL);
	}

	/* SIGCHLD through a signalfd: orphans are reaped by this loop, never by a handler. */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	the_agent.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sfd < 0 || the_agent.wake_fd < 0) {
		sbx_fail(&err, errno, "signalfd/eventfd");
		fatal(&err);
	}

	unsigned n_methods;
	const struct ttrpc_method *methods = agent_methods(&n_methods);
	int lfd = agent_listen_vsock(SBX_PORT_AGENT_RPC, &err);
	if (lfd < 0 || ttrpc_server_new(methods, n_methods, &the_agent, &the_agent.rpc, &err) < 0)
		fatal(&err);
	pthread_t t;
	if (pthread_create(&t, NULL, rpc_accept_thread, (void *)(intptr_t)lfd) != 0) {
		sbx_failx(&err, EAGAIN, "cannot start the Agent API thread");
		fatal(&err);
	}
	if (agent_streams_start(&the_agent, &err) < 0)
		fatal(&err);
	if (agent_notify_ready(AGENT_VERSION, &err) < 0)
		fatal(&err);
	fprintf(stderr, "sbx-agent: ready\n");

	for (;;) {
		struct pollfd p[2] = {{.fd = sfd, .events = POLLIN},
				      {.fd = the_agent.wake_fd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0 && errno != EINTR) {
			sbx_fail(&err, errno, "poll");
			fatal(&err);
		}
		if (p[0].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si))
				;
			agent_reap(agent_on_exit, &the_agent);
		}
		if (p[1].revents) {
			uint64_t v;
			if (read(the_agent.wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
				sbx_fail(&err, errno, "read wake-up");
				fatal(&err);
			}
			pthread_mutex_lock(&the_agent.lock);
			bool destroy = the_agent.destroy_pending;
			pthread_mutex_unlock(&the_agent.lock);
			if (destroy)
				power_off_after_replies();
		}
	}
}
