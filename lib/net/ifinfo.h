/* What CNI configured in a network namespace: interfaces with MAC, MTU and addresses, and
 * routes. Read with RTM_GET* dumps in the calling thread's namespace. */
#pragma once

#include <stdint.h>

struct sbx_err;
struct nl;

#define NET_MAX_ADDRS 8

struct net_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t prefix_len;
};

struct net_iface {
	char name[16];
	int ifindex;
	unsigned short type; /* ARPHRD_*: only Ethernet can be mirrored onto a tap */
	uint8_t mac[6];
	unsigned mtu;
	unsigned flags; /* IFF_* */
	int n_addrs;
	struct net_addr addrs[NET_MAX_ADDRS];
};

struct net_route {
	int family;
	uint8_t dst[16];
	uint8_t dst_len; /* 0: default route */
	uint8_t gw[16];
	int has_gw;
	int ifindex;
};

/* Fills up to max entries; ret_n gets how many. Loopback is skipped. */
int net_list_ifaces(struct nl *nl, struct net_iface *out, int max, int *ret_n, struct sbx_err *err);
/* Main-table unicast routes, both families. */
int net_list_routes(struct nl *nl, struct net_route *out, int max, int *ret_n, struct sbx_err *err);
