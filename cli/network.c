#define _GNU_SOURCE
#include "cli/network.h"

#include "agent/client.h"
#include "base/err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What libslirp's built-in network gives the guest (vmm/netdev/slirp.h). */
#define USER_GUEST_CIDR "10.0.2.15/24"
#define USER_GATEWAY "10.0.2.2"
#define USER_DNS "10.0.2.3"

static bool is_ipv4(const char *s)
{
	struct in_addr a;
	return inet_pton(AF_INET, s, &a) == 1;
}

static bool is_ip(const char *s)
{
	struct in6_addr a;
	return is_ipv4(s) || inet_pton(AF_INET6, s, &a) == 1;
}

static bool is_port(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	return *s >= '0' && *s <= '9' && !*end && !errno && v >= 1 && v <= 65535;
}

int run_net_set_mode(struct run_net *n, const char *arg, struct sbx_err *err)
{
	if (!strcmp(arg, "user") || !strcmp(arg, "none")) {
		n->mode = arg[0] == 'u' ? RUN_NET_USER : RUN_NET_NONE;
		n->tap = NULL;
		return 0;
	}
	if (!strncmp(arg, "tap:", 4)) {
		const char *name = arg + 4;
		if (!*name || strlen(name) > 15 || strpbrk(name, "/ ,=:"))
			return sbx_failx(err, EINVAL,
					 "--network '%s': a tap name is 1 to 15 bytes without "
					 "'/', ' ', ',', '=' or ':'",
					 arg);
		n->mode = RUN_NET_TAP;
		n->tap = name;
		return 0;
	}
	return sbx_failx(err, EINVAL, "--network '%s' is not user, none or tap:NAME", arg);
}

/* [ADDR:]HOSTPORT:CONTAINERPORT[/tcp|/udp] */
int run_net_add_publish(struct run_net *n, const char *arg, struct sbx_err *err)
{
	if (n->n_publish == RUN_NET_MAX_PUBLISH)
		return sbx_failx(err, E2BIG, "at most %d -p flags", RUN_NET_MAX_PUBLISH);
	char buf[128], *parts[3];
	if (strlen(arg) >= sizeof(buf))
		return sbx_failx(err, EINVAL, "-p '%.32s...' is too long", arg);
	snprintf(buf, sizeof(buf), "%s", arg);
	char *proto = strchr(buf, '/');
	if (proto) {
		*proto++ = '\0';
		if (strcmp(proto, "tcp") && strcmp(proto, "udp"))
			return sbx_failx(err, EINVAL, "-p '%s': the protocol is tcp or udp", arg);
	}
	unsigned np = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ":", &save); tok;
	     tok = strtok_r(NULL, ":", &save)) {
		if (np == 3)
			return sbx_failx(err, EINVAL,
					 "-p '%s' is not [ADDR:]HOSTPORT:CONTAINERPORT[/udp]", arg);
		parts[np++] = tok;
	}
	if (np < 2)
		return sbx_failx(err, EINVAL, "-p '%s' is not [ADDR:]HOSTPORT:CONTAINERPORT[/udp]",
				 arg);
	if (np == 3 && !is_ipv4(parts[0]))
		return sbx_failx(err, EINVAL, "-p '%s': '%s' is not an IPv4 address", arg,
				 parts[0]);
	if (!is_port(parts[np - 2]) || !is_port(parts[np - 1]))
		return sbx_failx(err, EINVAL, "-p '%s': ports are 1 to 65535", arg);
	n->publish[n->n_publish++] = arg;
	return 0;
}

int run_net_add_dns(struct run_net *n, const char *arg, struct sbx_err *err)
{
	if (n->n_dns == RUN_NET_MAX_DNS)
		return sbx_failx(err, E2BIG, "at most %d --dns flags", RUN_NET_MAX_DNS);
	if (!is_ip(arg))
		return sbx_failx(err, EINVAL, "--dns '%s' is not an IP address", arg);
	n->dns[n->n_dns++] = arg;
	return 0;
}

int run_net_set_ip(struct run_net *n, const char *arg, struct sbx_err *err)
{
	char buf[64];
	const char *slash = strchr(arg, '/');
	char *end;
	if (!slash || (size_t)(slash - arg) >= sizeof(buf))
		return sbx_failx(err, EINVAL, "--ip '%s' is not ADDRESS/PREFIX", arg);
	snprintf(buf, sizeof(buf), "%.*s", (int)(slash - arg), arg);
	errno = 0;
	long prefix = strtol(slash + 1, &end, 10);
	int max = is_ipv4(buf) ? 32 : 128;
	if (!is_ip(buf) || !slash[1] || *end || errno || prefix < 0 || prefix > max)
		return sbx_failx(err, EINVAL, "--ip '%s' is not ADDRESS/PREFIX", arg);
	n->ip = arg;
	return 0;
}

int run_net_set_gateway(struct run_net *n, const char *arg, struct sbx_err *err)
{
	if (!is_ip(arg))
		return sbx_failx(err, EINVAL, "--gateway '%s' is not an IP address", arg);
	n->gateway = arg;
	return 0;
}

int run_net_check(const struct run_net *n, struct sbx_err *err)
{
	if (n->n_publish && n->mode != RUN_NET_USER)
		return sbx_failx(err, EINVAL, "-p needs --network user");
	if ((n->ip || n->gateway) && n->mode != RUN_NET_TAP)
		return sbx_failx(err, EINVAL, "--ip and --gateway need --network tap:NAME");
	if (n->n_dns && n->mode == RUN_NET_NONE)
		return sbx_failx(err, EINVAL, "--dns needs a network (not --network none)");
	return 0;
}

const char *run_net_mode_name(const struct run_net *n, char *buf, size_t len)
{
	if (n->mode == RUN_NET_TAP)
		snprintf(buf, len, "tap:%s", n->tap);
	else
		snprintf(buf, len, "%s", n->mode == RUN_NET_USER ? "user" : "none");
	return buf;
}

bool run_net_has_dns(const struct run_net *n)
{
	return n->mode == RUN_NET_USER || (n->mode == RUN_NET_TAP && n->n_dns > 0);
}

void run_net_mac(const char *id, char *buf, size_t len)
{
	unsigned b[5] = {0};
	for (unsigned i = 0; i < 5 && id[2 * i] && id[2 * i + 1]; i++)
		sscanf(id + 2 * i, "%2x", &b[i]);
	snprintf(buf, len, "02:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4]);
}

bool run_net_vmm_spec(const struct run_net *n, const char *mac, char *buf, size_t len)
{
	if (n->mode == RUN_NET_NONE)
		return false;
	size_t used;
	if (n->mode == RUN_NET_TAP) {
		snprintf(buf, len, "tap=%s,mac=%s", n->tap, mac);
		return true;
	}
	used = (size_t)snprintf(buf, len, "user,mac=%s", mac);
	for (unsigned i = 0; i < n->n_publish && used < len; i++) {
		/* the VMM spells tcp by leaving it out */
		size_t plen = strcspn(n->publish[i], "/");
		bool udp = !strcmp(n->publish[i] + plen, "/udp");
		used += (size_t)snprintf(buf + used, len - used, ",fwd=%.*s%s", (int)plen,
					 n->publish[i], udp ? "/udp" : "");
	}
	return true;
}

int run_net_configure(const struct run_net *n, const char *mac, struct ttrpc_client *cl,
		      struct sbx_err *err)
{
	if (n->mode == RUN_NET_NONE)
		return 0;
	const char *cidr = n->mode == RUN_NET_USER ? USER_GUEST_CIDR : n->ip;
	const char *gateway = n->mode == RUN_NET_USER ? USER_GATEWAY : n->gateway;
	struct agent_net_iface eth0 = {.name = "eth0", .mtu = 1500};
	if (sscanf(mac, "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx", &eth0.mac[0], &eth0.mac[1],
		   &eth0.mac[2], &eth0.mac[3], &eth0.mac[4], &eth0.mac[5]) != 6)
		return sbx_failx(err, EINVAL, "bad MAC '%s'", mac);
	if (cidr) {
		eth0.addresses = &cidr;
		eth0.n_addresses = 1;
	}
	struct agent_net_route def = {.gateway = gateway, .device = "eth0"};
	static const char *const user_dns[] = {USER_DNS};
	struct agent_net_config cfg = {.ifaces = &eth0,
				       .n_ifaces = 1,
				       .routes = &def,
				       .n_routes = gateway ? 1 : 0,
				       .dns = n->n_dns ? n->dns : NULL,
				       .n_dns = n->n_dns};
	if (!n->n_dns && n->mode == RUN_NET_USER) {
		cfg.dns = user_dns;
		cfg.n_dns = 1;
	}
	return agent_configure_network(cl, &cfg, err);
}
