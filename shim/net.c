/* Pod networking from CNI (see net.h). Everything done inside the pod's network namespace runs
 * on a short-lived thread that joins it alone: the shim's other threads stay in the host's. */
#define _GNU_SOURCE
#include "shim/net.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "base/log.h"
#include "net/netlink.h"
#include "net/tap.h"
#include "net/tc.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* One more than we take, so that "more than" can be told from "exactly". */
#define SCAN_IFACES 32
#define SCAN_ROUTES (SHIM_NET_MAX_ROUTES * 2)

int shim_net_netns_from_spec(const char *spec_json, char *ret, struct sbx_err *err)
{
	json_error_t je;
	json_t *root = json_loads(spec_json, 0, &je);
	if (!root)
		return sbx_failx(err, EINVAL, "config.json: %s", je.text);
	json_t *ns = json_object_get(json_object_get(root, "linux"), "namespaces");
	const char *found = NULL;
	int r = 0;
	size_t i;
	json_t *e;
	json_array_foreach(ns, i, e)
	{
		const char *type = json_string_value(json_object_get(e, "type"));
		json_t *path = json_object_get(e, "path");
		if (!type || strcmp(type, "network") != 0 || !path)
			continue;
		const char *p = json_string_value(path);
		if (!p) {
			r = sbx_failx(err, EINVAL,
				      "config.json: the network namespace's path is not "
				      "a string");
			goto out;
		}
		if (found) {
			r = sbx_failx(err, EINVAL, "config.json: more than one network namespace");
			goto out;
		}
		if (!*p)
			continue; /* "" as good as no path: a new namespace */
		if (p[0] != '/' || strlen(p) >= SHIM_NET_NETNS_MAX || strchr(p, ',')) {
			r = sbx_failx(err, EINVAL,
				      "config.json: network namespace '%.300s' is not an absolute "
				      "path under %d bytes without ','",
				      p, SHIM_NET_NETNS_MAX);
			goto out;
		}
		found = p;
	}
	snprintf(ret, SHIM_NET_NETNS_MAX, "%s", found ? found : "");
out:
	json_decref(root);
	return r;
}

static void format_mac(const uint8_t m[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void format_cidr(int family, const uint8_t *addr, unsigned prefix, char *buf)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	inet_ntop(family, addr, ip, sizeof(ip));
	snprintf(buf, SHIM_NET_CIDR_MAX, "%s/%u", ip, prefix);
}

/* Checks one configured interface and appends it to the plan. */
static int plan_iface(struct shim_net *n, const struct net_iface *it, struct sbx_err *err)
{
	static const uint8_t zero[6];
	char mac[18];

	if (n->n_ifaces == SHIM_NET_MAX_IFACES)
		return sbx_failx(err, E2BIG,
				 "network namespace '%s': interface '%s' is one more than the %d "
				 "the VM can mirror",
				 n->netns, it->name, SHIM_NET_MAX_IFACES);
	if (it->type != ARPHRD_ETHER)
		return sbx_failx(
		    err, EINVAL,
		    "network namespace '%s': interface '%s' is not Ethernet (link type "
		    "%u): the VM cannot mirror it",
		    n->netns, it->name, it->type);
	format_mac(it->mac, mac);
	if (!memcmp(it->mac, zero, 6) || (it->mac[0] & 1))
		return sbx_failx(
		    err, EINVAL,
		    "network namespace '%s': interface '%s' has no unicast MAC address "
		    "(%s): the VM cannot mirror it",
		    n->netns, it->name, mac);
	for (unsigned i = 0; i < n->n_ifaces; i++)
		if (!memcmp(n->ifaces[i].mac, it->mac, 6))
			return sbx_failx(
			    err, EINVAL,
			    "network namespace '%s': interfaces '%s' and '%s' share the "
			    "MAC %s: the guest tells its devices apart by MAC",
			    n->netns, n->ifaces[i].name, it->name, mac);
	struct shim_net_iface *f = &n->ifaces[n->n_ifaces];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", it->name);
	snprintf(f->tap, sizeof(f->tap), "tap%u_kl", n->n_ifaces);
	f->ifindex = it->ifindex;
	memcpy(f->mac, it->mac, 6);
	f->mtu = it->mtu;
	for (int a = 0; a < it->n_addrs && a < NET_MAX_ADDRS; a++)
		format_cidr(it->addrs[a].family, it->addrs[a].addr, it->addrs[a].prefix_len,
			    f->addrs[f->n_addrs++]);
	n->n_ifaces++;
	return 0;
}

static const struct shim_net_iface *iface_by_index(const struct shim_net *n, int ifindex)
{
	for (unsigned i = 0; i < n->n_ifaces; i++)
		if (n->ifaces[i].ifindex == ifindex)
			return &n->ifaces[i];
	return NULL;
}

/* fe80::/10: each interface's own, made by the guest's kernel. */
static bool ipv6_link_local(const struct net_route *rt)
{
	return rt->family == AF_INET6 && rt->dst_len >= 10 && rt->dst[0] == 0xfe &&
	       (rt->dst[1] & 0xc0) == 0x80;
}

static int plan_route(struct shim_net *n, const struct net_route *rt, struct sbx_err *err)
{
	const struct shim_net_iface *f = iface_by_index(n, rt->ifindex);
	if (!f || (rt->family != AF_INET && rt->family != AF_INET6) || ipv6_link_local(rt))
		return 0;
	if (n->n_routes == SHIM_NET_MAX_ROUTES)
		return sbx_failx(err, E2BIG,
				 "network namespace '%s': more than %d routes: the guest takes no "
				 "more",
				 n->netns, SHIM_NET_MAX_ROUTES);
	struct shim_net_route *r = &n->routes[n->n_routes++];
	memset(r, 0, sizeof(*r));
	if (rt->dst_len == 0)
		snprintf(r->dst, sizeof(r->dst), "%s", rt->family == AF_INET ? "default" : "::/0");
	else
		format_cidr(rt->family, rt->dst, rt->dst_len, r->dst);
	if (rt->has_gw)
		inet_ntop(rt->family, rt->gw, r->gw, sizeof(r->gw));
	_Static_assert(sizeof(r->dev) == sizeof(f->name), "a device name is an interface's");
	memcpy(r->dev, f->name, sizeof(r->dev));
	return 0;
}

int shim_net_plan(struct shim_net *n, const struct net_iface *ifs, int n_ifs,
		  const struct net_route *routes, int n_routes, struct sbx_err *err)
{
	n->n_ifaces = 0;
	n->n_routes = 0;
	for (int i = 0; i < n_ifs; i++)
		if (ifs[i].n_addrs > 0 && plan_iface(n, &ifs[i], err) < 0)
			return -err->code;
	/* the VMM would take over an interface that has a tap's name, and detach delete it */
	for (int i = 0; i < n_ifs; i++)
		for (unsigned j = 0; j < n->n_ifaces; j++)
			if (!strcmp(ifs[i].name, n->ifaces[j].tap))
				return sbx_failx(err, EEXIST,
						 "network namespace '%s' already has an interface "
						 "'%s', the name of the VM's tap",
						 n->netns, ifs[i].name);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n_routes; i++)
			if (routes[i].has_gw == pass && plan_route(n, &routes[i], err) < 0)
				return -err->code;
	return 0;
}

const char *const *shim_net_vmm_args(struct shim_net *n)
{
	unsigned a = 0;
	for (unsigned i = 0; i < n->n_ifaces; i++) {
		char mac[18], spec[sizeof(n->vmm_specs[i])];
		format_mac(n->ifaces[i].mac, mac);
		/* fits: the netns path is under SHIM_NET_NETNS_MAX, the rest under 64 bytes */
		snprintf(spec, sizeof(spec), "tap=%s,netns=%s,mac=%s", n->ifaces[i].tap, n->netns,
			 mac);
		memcpy(n->vmm_specs[i], spec, sizeof(spec));
		n->vmm_args[a++] = "--net";
		n->vmm_args[a++] = n->vmm_specs[i];
	}
	n->vmm_args[a] = NULL;
	return n->vmm_args;
}

void shim_net_agent_config(struct shim_net *n, struct agent_net_config *ret)
{
	for (unsigned i = 0; i < n->n_ifaces; i++) {
		const struct shim_net_iface *f = &n->ifaces[i];
		for (unsigned a = 0; a < f->n_addrs; a++)
			n->agent_addrs[i][a] = f->addrs[a];
		n->agent_ifaces[i] = (struct agent_net_iface){.name = f->name,
							      .mtu = f->mtu,
							      .addresses = n->agent_addrs[i],
							      .n_addresses = f->n_addrs};
		memcpy(n->agent_ifaces[i].mac, f->mac, 6);
	}
	for (unsigned i = 0; i < n->n_routes; i++) {
		const struct shim_net_route *r = &n->routes[i];
		n->agent_routes[i] = (struct agent_net_route){
		    .destination = r->dst, .gateway = r->gw[0] ? r->gw : NULL, .device = r->dev};
	}
	*ret = (struct agent_net_config){.ifaces = n->agent_ifaces,
					 .n_ifaces = n->n_ifaces,
					 .routes = n->agent_routes,
					 .n_routes = n->n_routes};
}

/* ---- inside the pod's network namespace ---------------------------------------------------- */

/* One job for the thread: fn runs in the namespace with a netlink socket opened there. */
struct netns_job {
	struct shim_net *n;
	int (*fn)(struct shim_net *n, struct nl *nl, struct sbx_err *err);
	int r;
	struct sbx_err err;
};

static void *netns_thread(void *arg)
{
	struct netns_job *j = arg;
	const char *path = j->n->netns;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		j->r =
		    errno == ENOENT
			? sbx_failx(&j->err, ENOENT, "network namespace '%s' does not exist", path)
			: sbx_fail(&j->err, errno, "open network namespace '%s'", path);
		return NULL;
	}
	/* this thread alone joins it, and ends right after */
	if (setns(fd, CLONE_NEWNET) < 0) {
		j->r = errno == EINVAL
			   ? sbx_failx(&j->err, EINVAL, "'%s' is not a network namespace", path)
			   : sbx_fail(&j->err, errno, "join network namespace '%s'", path);
		return NULL;
	}
	struct nl nl;
	j->r = nl_open(&nl, &j->err);
	if (j->r < 0)
		return NULL;
	j->r = j->fn(j->n, &nl, &j->err);
	nl_close(&nl);
	return NULL;
}

static int in_netns(struct shim_net *n, int (*fn)(struct shim_net *, struct nl *, struct sbx_err *),
		    struct sbx_err *err)
{
	struct netns_job j = {.n = n, .fn = fn};
	pthread_t t;
	int e = pthread_create(&t, NULL, netns_thread, &j);
	if (e)
		return sbx_fail(err, e, "start a thread for network namespace '%s'", n->netns);
	pthread_join(t, NULL);
	if (j.r < 0 && err)
		*err = j.err;
	return j.r;
}

static int scan(struct shim_net *n, struct nl *nl, struct sbx_err *err)
{
	_cleanup_free_ struct net_iface *ifs = calloc(SCAN_IFACES, sizeof(*ifs));
	_cleanup_free_ struct net_route *routes = calloc(SCAN_ROUTES, sizeof(*routes));
	int n_ifs, n_routes;
	if (!ifs || !routes)
		return sbx_fail(err, ENOMEM, "network namespace '%s'", n->netns);
	if (net_list_ifaces(nl, ifs, SCAN_IFACES, &n_ifs, err) < 0 ||
	    net_list_routes(nl, routes, SCAN_ROUTES, &n_routes, err) < 0)
		return sbx_wrap(err, "network namespace '%s'", n->netns);
	if (n_ifs == SCAN_IFACES || n_routes == SCAN_ROUTES)
		return sbx_failx(err, E2BIG,
				 "network namespace '%s' has more than %d interfaces or %d routes",
				 n->netns, SCAN_IFACES - 1, SCAN_ROUTES - 1);
	return shim_net_plan(n, ifs, n_ifs, routes, n_routes, err);
}

int shim_net_open(const char *spec_json, struct shim_net **ret, struct sbx_err *err)
{
	char netns[SHIM_NET_NETNS_MAX];
	if (shim_net_netns_from_spec(spec_json, netns, err) < 0)
		return -err->code;
	if (!netns[0]) {
		*ret = NULL;
		return 0;
	}
	_cleanup_free_ struct shim_net *n = calloc(1, sizeof(*n));
	if (!n)
		return sbx_fail(err, ENOMEM, "pod network");
	snprintf(n->netns, sizeof(n->netns), "%s", netns);
	if (in_netns(n, scan, err) < 0)
		return -err->code;
	*ret = TAKE_PTR(n);
	return 0;
}

static int redirect(struct shim_net *n, struct nl *nl, struct sbx_err *err)
{
	for (unsigned i = 0; i < n->n_ifaces; i++) {
		const struct shim_net_iface *f = &n->ifaces[i];
		int tap = (int)if_nametoindex(f->tap);
		if (!tap)
			return sbx_fail(err, errno, "network namespace '%s': the VM's tap '%s'",
					n->netns, f->tap);
		if (link_set_up(nl, tap, f->mtu, err) < 0 ||
		    tc_redirect(nl, f->ifindex, tap, err) < 0 ||
		    tc_redirect(nl, tap, f->ifindex, err) < 0)
			return sbx_wrap(err, "network namespace '%s': connect '%s' and tap '%s'",
					n->netns, f->name, f->tap);
	}
	return 0;
}

int shim_net_attach(struct shim_net *n, struct ttrpc_client *cl, struct sbx_err *err)
{
	struct agent_net_config cfg;
	if (in_netns(n, redirect, err) < 0)
		return -err->code;
	shim_net_agent_config(n, &cfg);
	return agent_configure_network(cl, &cfg, err);
}

static int unredirect(struct shim_net *n, struct nl *nl, struct sbx_err *err)
{
	struct sbx_err e = {0};
	for (unsigned i = 0; i < n->n_ifaces; i++) {
		const struct shim_net_iface *f = &n->ifaces[i];
		if (tc_redirect_remove(nl, f->ifindex, &e) < 0)
			log_warn("network namespace '%s': %s ('%s')", n->netns, e.msg, f->name);
		int tap = (int)if_nametoindex(f->tap);
		if (tap && (tc_redirect_remove(nl, tap, &e) < 0 || link_delete(nl, tap, &e) < 0))
			log_warn("network namespace '%s': %s ('%s')", n->netns, e.msg, f->tap);
	}
	return 0;
}

void shim_net_detach(struct shim_net *n)
{
	struct sbx_err err = {0};
	if (!n)
		return;
	int r = in_netns(n, unredirect, &err);
	/* CNI may have removed the namespace first: whatever was in it went with it */
	if (r < 0 && r != -ENOENT)
		log_warn("undo the pod network: %s", err.msg);
}

void shim_net_free(struct shim_net *n)
{
	free(n);
}
