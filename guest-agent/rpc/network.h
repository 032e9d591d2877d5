/* ConfigureNetwork's work apart from its handler, so tests can run it directly: the request
 * checked and parsed into a plan, and the plan applied to the calling thread's network
 * namespace (a private one in tests/host/test_agent_network.sh). */
#pragma once

#include "guest-agent/netlink.h"
#include "proto/agent.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

struct sbx_err;

#define NET_MAX_IFACES 16
#define NET_MAX_ADDRS 64 /* over all interfaces */
#define NET_MAX_ROUTES 64
#define NET_MAX_DNS 8
#define NET_MIN_MTU 68 /* IPv4's minimum (RFC 791); the driver may refuse more */
#define NET_MAX_MTU 65535
#define NET_RESOLV_CONF "/etc/resolv.conf"

struct net_iface {
	char name[GNL_NAME_MAX];
	uint8_t mac[6];
	uint32_t mtu;                 /* 0: leave it */
	unsigned first_addr, n_addrs; /* in net_plan.addrs */
};

struct net_route {
	struct gnl_addr dst; /* prefix 0: the default route */
	struct gnl_addr gw;
	bool has_gw;
	char dev[GNL_NAME_MAX]; /* "" when the kernel finds it from the gateway */
};

/* A request as checked values: the apply step reads nothing from the request again. */
struct net_plan {
	struct net_iface ifaces[NET_MAX_IFACES];
	unsigned n_ifaces;
	struct gnl_addr addrs[NET_MAX_ADDRS];
	unsigned n_addrs;
	struct net_route routes[NET_MAX_ROUTES];
	unsigned n_routes;
	char dns[NET_MAX_DNS][46]; /* INET6_ADDRSTRLEN, as the request wrote it */
	unsigned n_dns;
};

/* Checks every field of in and fills plan: interface names (1..15 bytes, what the kernel takes:
 * no '/', ':', whitespace, "." or ".."), MACs (xx:xx:xx:xx:xx:xx, unicast, no two alike), MTUs
 * (0 or NET_MIN_MTU..NET_MAX_MTU), addresses (CIDR with a prefix in range), route destinations
 * (CIDR without host bits, "" or "default"), gateways (an address of the destination's family),
 * devices, dns servers (IPv4 or IPv6 addresses), and the counts. EINVAL with a message naming
 * the field, e.g. "interfaces[1].mac 'zz' is not a MAC address". */
int net_parse(const Sbx__Agent__V1__ConfigureNetworkRequest *in, struct net_plan *plan,
	      struct sbx_err *err);

/* Applies plan: every interface's MAC is found first (an unknown one is ENOENT naming it, with
 * nothing changed yet), then each is renamed (brought down first if so), given its MTU and
 * addresses and brought up; lo is brought up; the routes are added; and if plan has dns servers,
 * resolv_path is replaced with their nameserver lines. Addresses and routes already there count
 * as added, so the same plan may be applied again. A kernel error names the operation and the
 * interface. */
int net_apply(const struct net_plan *plan, const char *resolv_path, struct sbx_err *err);
