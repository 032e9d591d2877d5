/* Sandbox-wide calls: Version, Health, CreateSandbox, DestroySandbox. */
#define _GNU_SOURCE
#include "guest-agent/agent.h"
#include "guest-agent/rpc/rpc.h"

#include "base/clock.h"
#include "base/err.h"
#include "proto/agent.pb-c.h"
#include "ttrpc/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

AGENT_HANDLER(agent_h_version)
{
	(void)ctx, (void)req;
	Sbx__Agent__V1__VersionResponse *out = (void *)resp;
	struct utsname u;
	if (uname(&u) < 0)
		return sbx_fail(err, errno, "uname");
	out->agent_version = AGENT_VERSION;
	out->kernel_release = ttrpc_call_strdup(call, u.release);
	return out->kernel_release ? 0 : sbx_fail(err, ENOMEM, "version");
}

static uint64_t mem_available_kib(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	unsigned long long kib = 0;
	char line[128];
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

AGENT_HANDLER(agent_h_health)
{
	(void)call, (void)req, (void)err;
	struct agent *a = ctx;
	Sbx__Agent__V1__HealthResponse *out = (void *)resp;
	out->uptime_ms = (clock_ns(CLOCK_BOOTTIME) - a->boot_ns) / 1000000;
	pthread_mutex_lock(&a->lock);
	out->containers = a->containers;
	pthread_mutex_unlock(&a->lock);
	out->mem_available_kib = mem_available_kib();
	return 0;
}

/* RFC 1123 labels joined by dots, at most 64 bytes: what sethostname and containers accept. */
static bool hostname_ok(const char *h)
{
	size_t n = strlen(h);
	if (n == 0 || n > 64 || h[0] == '-' || h[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
		      (h[i] >= '0' && h[i] <= '9') || h[i] == '-' || h[i] == '.'))
			return false;
	return true;
}

AGENT_HANDLER(agent_h_create_sandbox)
{
	(void)ctx, (void)call, (void)resp;
	const Sbx__Agent__V1__CreateSandboxRequest *in = (const void *)req;
	if (in->hostname[0]) {
		if (!hostname_ok(in->hostname))
			return sbx_failx(err, EINVAL, "hostname '%.64s' is not a valid host name",
					 in->hostname);
		if (sethostname(in->hostname, strlen(in->hostname)) < 0)
			return sbx_fail(err, errno, "sethostname");
	}
	for (size_t i = 0; i < in->n_dns; i++) {
		unsigned char addr[16];
		if (inet_pton(AF_INET, in->dns[i], addr) != 1 &&
		    inet_pton(AF_INET6, in->dns[i], addr) != 1)
			return sbx_failx(err, EINVAL, "dns server '%.64s' is not an IP address",
					 in->dns[i]);
	}
	if (in->n_dns) {
		FILE *f = fopen("/etc/resolv.conf", "we");
		if (!f)
			return sbx_fail(err, errno, "write /etc/resolv.conf");
		for (size_t i = 0; i < in->n_dns; i++)
			fprintf(f, "nameserver %s\n", in->dns[i]);
		if (fclose(f) != 0)
			return sbx_fail(err, errno, "write /etc/resolv.conf");
	}
	return 0;
}

AGENT_HANDLER(agent_h_destroy_sandbox)
{
	(void)call, (void)req, (void)resp, (void)err;
	agent_request_power_off(ctx);
	return 0;
}
