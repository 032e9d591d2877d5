/* The pod's network from CNI (issue 7): the interfaces CNI configured in the pod's network
 * namespace are mirrored into the VM. Each gets a tap in that namespace (made by the VMM), tc
 * redirects both ways between it and the tap, and a guest device with its MAC, MTU, addresses
 * and routes (agent_configure_network). The namespace itself stays CNI's. */
#pragma once

#include "agent/client.h"
#include "net/ifinfo.h"

#include <stdbool.h>
#include <stdint.h>

struct sbx_err;
struct ttrpc_client;

#define SHIM_NET_MAX_IFACES 4  /* the VMM's --net limit */
#define SHIM_NET_MAX_ROUTES 64 /* the agent's ConfigureNetwork limit */
#define SHIM_NET_NETNS_MAX 256 /* the VMM's netns= buffer */
#define SHIM_NET_CIDR_MAX 52   /* INET6_ADDRSTRLEN + "/128" */

struct shim_net_iface {
	char name[16]; /* CNI's interface (e.g. eth0); the guest's device gets the same name */
	char tap[16];  /* tap<N>_kl, made by the VMM in the pod's namespace */
	int ifindex;   /* CNI's interface in the pod's namespace */
	uint8_t mac[6];
	unsigned mtu;
	unsigned n_addrs;
	char addrs[NET_MAX_ADDRS][SHIM_NET_CIDR_MAX];
};

struct shim_net_route {
	char dst[SHIM_NET_CIDR_MAX]; /* "default" for IPv4's, "::/0" for IPv6's */
	char gw[SHIM_NET_CIDR_MAX];  /* "" on-link */
	char dev[16];
};

struct shim_net {
	char netns[SHIM_NET_NETNS_MAX];
	unsigned n_ifaces;
	struct shim_net_iface ifaces[SHIM_NET_MAX_IFACES];
	unsigned n_routes;
	struct shim_net_route routes[SHIM_NET_MAX_ROUTES];
	/* what shim_net_vmm_args and shim_net_agent_config point into */
	char vmm_specs[SHIM_NET_MAX_IFACES][SHIM_NET_NETNS_MAX + 64];
	const char *vmm_args[2 * SHIM_NET_MAX_IFACES + 1];
	struct agent_net_iface agent_ifaces[SHIM_NET_MAX_IFACES];
	const char *agent_addrs[SHIM_NET_MAX_IFACES][NET_MAX_ADDRS];
	struct agent_net_route agent_routes[SHIM_NET_MAX_ROUTES];
};

/* The pod's network namespace from config.json: the path of linux.namespaces' "network" entry
 * into ret (size SHIM_NET_NETNS_MAX). "" when there is none, or it has no path (a new namespace:
 * `ctr run`) - no pod network then. A path that is not absolute, too long or has a ',' (the
 * VMM's --net separator) is -EINVAL naming it. */
int shim_net_netns_from_spec(const char *spec_json, char *ret, struct sbx_err *err);

/* Turns what the namespace holds into n's interfaces and routes. Interfaces without an address
 * (down tunnels such as sit0, which every namespace may have) are left out; each other one must
 * be Ethernet with its own unicast MAC, at most SHIM_NET_MAX_IFACES of them, and no interface
 * may already have a tap's name; otherwise -EINVAL/-E2BIG/-EEXIST naming the interface. Routes
 * of mirrored interfaces are kept, on-link ones first (a gateway must be reachable before a
 * route through it is added); IPv6 link-local ones are the guest kernel's own. */
int shim_net_plan(struct shim_net *n, const struct net_iface *ifs, int n_ifs,
		  const struct net_route *routes, int n_routes, struct sbx_err *err);

/* The VMM's flags: "--net", "tap=tapN_kl,netns=PATH,mac=MAC" per interface, NULL-terminated. */
const char *const *shim_net_vmm_args(struct shim_net *n);

/* The same interfaces (by MAC, under CNI's names), addresses and routes for the agent; no DNS:
 * the containers get the resolv.conf CRI made through their mounts. Points into n. */
void shim_net_agent_config(struct shim_net *n, struct agent_net_config *ret);

/* config.json's namespace read and planned (in a thread inside it): *ret is NULL without a
 * pod network. A namespace that does not exist is -ENOENT naming its path. */
int shim_net_open(const char *spec_json, struct shim_net **ret, struct sbx_err *err);

/* Once the VMM made the taps: each brought up with CNI's MTU, the redirects added, the guest
 * configured. On failure, shim_net_detach undoes what was done. */
int shim_net_attach(struct shim_net *n, struct ttrpc_client *cl, struct sbx_err *err);

/* Removes the redirects and any tap still there (the VMM's vanish with it). Logs what it cannot
 * undo; a namespace already gone is nothing to undo. NULL is fine. */
void shim_net_detach(struct shim_net *n);

void shim_net_free(struct shim_net *n);
