/* The pod network (shim/net.c): the network namespace found in config.json, what CNI configured
 * turned into a plan (which interfaces, which routes in which order, and every interface the VM
 * cannot mirror refused by name), the VMM's --net flags and the agent's ConfigureNetwork config
 * built from the plan; then, as root in a private network namespace with a CNI-like veth, the
 * scan, the redirects to a tap and their removal, against a stand-in agent. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/err.h"
#include "net/tap.h"
#include "proto/agent.pb-c.h"
#include "shim/net.h"
#include "tap.h"
#include "ttrpc/client.h"
#include "ttrpc/server.h"

#define NETNS "/var/run/netns/cni-2f6c"

static int netns_of(const char *namespaces, char *out, struct sbx_err *err)
{
	char spec[1024];
	snprintf(spec, sizeof(spec), "{\"ociVersion\":\"1.0.2\",\"linux\":{\"namespaces\":%s}}",
		 namespaces);
	memset(err, 0, sizeof(*err));
	snprintf(out, SHIM_NET_NETNS_MAX, "unchanged");
	return shim_net_netns_from_spec(spec, out, err);
}

TEST(netns_path_of_a_cri_pod_sandbox)
{
	char ns[SHIM_NET_NETNS_MAX];
	struct sbx_err err;
	ASSERT_EQ(netns_of("[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
			   "{\"type\":\"mount\"},{\"type\":\"network\",\"path\":\"" NETNS "\"}]",
			   ns, &err),
		  0);
	ASSERT_STR_EQ(ns, NETNS);
}

TEST(no_netns_path_means_no_pod_network)
{
	char ns[SHIM_NET_NETNS_MAX];
	struct sbx_err err;
	/* ctr run: a new namespace; hostNetwork pods: none at all */
	ASSERT_EQ(netns_of("[{\"type\":\"pid\"},{\"type\":\"network\"}]", ns, &err), 0);
	ASSERT_STR_EQ(ns, "");
	ASSERT_EQ(netns_of("[{\"type\":\"pid\"},{\"type\":\"mount\"}]", ns, &err), 0);
	ASSERT_STR_EQ(ns, "");
	ASSERT_EQ(netns_of("[{\"type\":\"network\",\"path\":\"\"}]", ns, &err), 0);
	ASSERT_STR_EQ(ns, "");
	ASSERT_EQ(shim_net_netns_from_spec("{\"process\":{}}", ns, &err), 0);
	ASSERT_STR_EQ(ns, "");
	/* another namespace's path is not ours to read */
	ASSERT_EQ(netns_of("[{\"type\":\"pid\",\"path\":\"/proc/1/ns/pid\"}]", ns, &err), 0);
	ASSERT_STR_EQ(ns, "");
}

TEST(bad_netns_paths_are_named)
{
	char ns[SHIM_NET_NETNS_MAX], many[400], json[600];
	struct sbx_err err;
	ASSERT_EQ(netns_of("[{\"type\":\"network\",\"path\":\"netns/x\"}]", ns, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "network namespace 'netns/x' is not an absolute path") != NULL);
	ASSERT_STR_EQ(ns, "unchanged");
	/* a ',' would end the VMM's --net option and start another */
	ASSERT_EQ(netns_of("[{\"type\":\"network\",\"path\":\"/run/x,mac=02:00:00:00:00:01\"}]", ns,
			   &err),
		  -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "'/run/x,mac=02:00:00:00:00:01'") != NULL);
	memset(many, 'a', sizeof(many) - 1);
	many[0] = '/';
	many[sizeof(many) - 1] = '\0';
	snprintf(json, sizeof(json), "[{\"type\":\"network\",\"path\":\"%s\"}]", many);
	ASSERT_EQ(netns_of(json, ns, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "under 256 bytes") != NULL);
	ASSERT_EQ(netns_of("[{\"type\":\"network\",\"path\":7}]", ns, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "path is not a string") != NULL);
	ASSERT_EQ(netns_of("[{\"type\":\"network\",\"path\":\"/a\"},"
			   "{\"type\":\"network\",\"path\":\"/b\"}]",
			   ns, &err),
		  -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "more than one network namespace") != NULL);
	ASSERT_EQ(shim_net_netns_from_spec("{", ns, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "config.json") != NULL);
}

/* ---- plans --------------------------------------------------------------------------------- */

static struct net_iface iface(const char *name, int ifindex, uint8_t last_mac_byte, unsigned mtu)
{
	struct net_iface it = {.ifindex = ifindex, .type = ARPHRD_ETHER, .mtu = mtu};
	snprintf(it.name, sizeof(it.name), "%s", name);
	memcpy(it.mac, "\x0a\x58\x0a\x58\x00", 5);
	it.mac[5] = last_mac_byte;
	return it;
}

static void add_addr(struct net_iface *it, const char *ip, uint8_t prefix)
{
	struct net_addr *a = &it->addrs[it->n_addrs++];
	a->family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	a->prefix_len = prefix;
	inet_pton(a->family, ip, a->addr);
}

static struct net_route route(const char *dst, uint8_t dst_len, const char *gw, int ifindex)
{
	struct net_route r = {.dst_len = dst_len, .ifindex = ifindex};
	r.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	inet_pton(r.family, dst, r.dst);
	if (gw) {
		inet_pton(r.family, gw, r.gw);
		r.has_gw = 1;
	}
	return r;
}

static struct shim_net net;

static int plan(const struct net_iface *ifs, int n_ifs, const struct net_route *routes,
		int n_routes, struct sbx_err *err)
{
	memset(&net, 0, sizeof(net));
	memset(err, 0, sizeof(*err));
	snprintf(net.netns, sizeof(net.netns), NETNS);
	return shim_net_plan(&net, ifs, n_ifs, routes, n_routes, err);
}

/* What the bridge plugin leaves: eth0 with one address, the subnet and the default route. The
 * kernel's dump lists the default route first; sit0, without an address, is no CNI interface. */
TEST(bridge_plugin_netns_plans_eth0_and_its_routes)
{
	struct net_iface ifs[2] = {iface("sit0", 2, 0, 1480), iface("eth0", 3, 0x07, 1400)};
	ifs[0].type = ARPHRD_SIT;
	memset(ifs[0].mac, 0, 6);
	add_addr(&ifs[1], "10.88.7.5", 24);
	add_addr(&ifs[1], "fd00:88::5", 64);
	struct net_route routes[] = {
	    route("0.0.0.0", 0, "10.88.7.1", 3),
	    route("10.88.7.0", 24, NULL, 3),
	    route("fe80::", 64, NULL, 3),
	    route("fd00:88::", 64, NULL, 3),
	    route("::", 0, "fd00:88::1", 3),
	    route("192.0.2.0", 24, NULL, 2), /* through an interface we do not mirror */
	};
	struct sbx_err err;
	ASSERT_EQ(plan(ifs, 2, routes, 6, &err), 0);
	ASSERT_EQ(net.n_ifaces, 1);
	ASSERT_STR_EQ(net.ifaces[0].name, "eth0");
	ASSERT_STR_EQ(net.ifaces[0].tap, "tap0_kl");
	ASSERT_EQ(net.ifaces[0].ifindex, 3);
	ASSERT_EQ(net.ifaces[0].mtu, 1400);
	ASSERT_EQ(memcmp(net.ifaces[0].mac, "\x0a\x58\x0a\x58\x00\x07", 6), 0);
	ASSERT_EQ(net.ifaces[0].n_addrs, 2);
	ASSERT_STR_EQ(net.ifaces[0].addrs[0], "10.88.7.5/24");
	ASSERT_STR_EQ(net.ifaces[0].addrs[1], "fd00:88::5/64");
	/* on-link first, so that each gateway is reachable when its route goes in */
	ASSERT_EQ(net.n_routes, 4);
	ASSERT_STR_EQ(net.routes[0].dst, "10.88.7.0/24");
	ASSERT_STR_EQ(net.routes[0].gw, "");
	ASSERT_STR_EQ(net.routes[1].dst, "fd00:88::/64");
	ASSERT_STR_EQ(net.routes[2].dst, "default");
	ASSERT_STR_EQ(net.routes[2].gw, "10.88.7.1");
	ASSERT_STR_EQ(net.routes[2].dev, "eth0");
	ASSERT_STR_EQ(net.routes[3].dst, "::/0");
	ASSERT_STR_EQ(net.routes[3].gw, "fd00:88::1");
}

TEST(up_to_four_interfaces_each_with_its_tap)
{
	struct net_iface ifs[4];
	struct net_route routes[4];
	char name[16];
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "net%d", i);
		ifs[i] = iface(name, 10 + i, (uint8_t)(0x10 + i), 1500);
		snprintf(name, sizeof(name), "10.%d.0.2", i);
		add_addr(&ifs[i], name, 16);
		snprintf(name, sizeof(name), "10.%d.0.0", i);
		routes[i] = route(name, 16, NULL, 10 + i);
	}
	struct sbx_err err;
	ASSERT_EQ(plan(ifs, 4, routes, 4, &err), 0);
	ASSERT_EQ(net.n_ifaces, 4);
	ASSERT_STR_EQ(net.ifaces[3].tap, "tap3_kl");
	ASSERT_STR_EQ(net.ifaces[3].name, "net3");
	ASSERT_STR_EQ(net.routes[2].dev, "net2");
	ASSERT_STR_EQ(net.routes[2].dst, "10.2.0.0/16");
}

TEST(interfaces_the_vm_cannot_mirror_are_named)
{
	struct net_iface ifs[5];
	char name[16];
	struct sbx_err err;
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "net%d", i);
		ifs[i] = iface(name, 10 + i, (uint8_t)(0x10 + i), 1500);
		add_addr(&ifs[i], "10.1.0.2", 24);
	}
	ASSERT_EQ(plan(ifs, 5, NULL, 0, &err), -E2BIG);
	ASSERT_TRUE(strstr(err.msg, "interface 'net4' is one more than the 4") != NULL);
	ASSERT_TRUE(strstr(err.msg, NETNS) != NULL);

	ifs[1].type = ARPHRD_NONE; /* a tun device: no link layer */
	ASSERT_EQ(plan(ifs, 2, NULL, 0, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "interface 'net1' is not Ethernet (link type 65534)") != NULL);

	ifs[1] = iface("net1", 11, 0, 1500);
	memset(ifs[1].mac, 0, 6);
	add_addr(&ifs[1], "10.1.0.3", 24);
	ASSERT_EQ(plan(ifs, 2, NULL, 0, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "interface 'net1' has no unicast MAC address "
				    "(00:00:00:00:00:00)") != NULL);
	ifs[1].mac[0] = 0x01;
	ASSERT_EQ(plan(ifs, 2, NULL, 0, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "'net1' has no unicast MAC") != NULL);

	memcpy(ifs[1].mac, ifs[0].mac, 6);
	ASSERT_EQ(plan(ifs, 2, NULL, 0, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "interfaces 'net0' and 'net1' share the MAC "
				    "0a:58:0a:58:00:10") != NULL);
}

TEST(a_tap_name_taken_in_the_netns_is_refused)
{
	struct net_iface ifs[2] = {iface("eth0", 3, 1, 1500), iface("tap0_kl", 4, 2, 1500)};
	add_addr(&ifs[0], "10.88.0.2", 24);
	struct sbx_err err;
	ASSERT_EQ(plan(ifs, 2, NULL, 0, &err), -EEXIST);
	ASSERT_TRUE(strstr(err.msg, "already has an interface 'tap0_kl'") != NULL);
	/* tap1_kl is no tap of a one-interface pod */
	snprintf(ifs[1].name, sizeof(ifs[1].name), "tap1_kl");
	ASSERT_EQ(plan(ifs, 2, NULL, 0, &err), 0);
}

TEST(more_routes_than_the_guest_takes_are_refused)
{
	struct net_iface eth0 = iface("eth0", 3, 1, 1500);
	add_addr(&eth0, "10.88.0.2", 16);
	static struct net_route routes[SHIM_NET_MAX_ROUTES + 1];
	char dst[32];
	for (int i = 0; i <= SHIM_NET_MAX_ROUTES; i++) {
		snprintf(dst, sizeof(dst), "10.%d.0.0", 100 + i);
		routes[i] = route(dst, 16, "10.88.0.1", 3);
	}
	struct sbx_err err;
	ASSERT_EQ(plan(&eth0, 1, routes, SHIM_NET_MAX_ROUTES, &err), 0);
	ASSERT_EQ(net.n_routes, SHIM_NET_MAX_ROUTES);
	ASSERT_EQ(plan(&eth0, 1, routes, SHIM_NET_MAX_ROUTES + 1, &err), -E2BIG);
	ASSERT_TRUE(strstr(err.msg, "more than 64 routes") != NULL);
}

/* ---- what the VMM and the agent get -------------------------------------------------------- */

TEST(vmm_args_name_tap_netns_and_mac)
{
	struct net_iface ifs[2] = {iface("eth0", 3, 0x07, 1400), iface("net1", 4, 0xab, 9000)};
	add_addr(&ifs[0], "10.88.7.5", 24);
	add_addr(&ifs[1], "192.168.9.9", 24);
	struct sbx_err err;
	ASSERT_EQ(plan(ifs, 2, NULL, 0, &err), 0);
	const char *const *a = shim_net_vmm_args(&net);
	ASSERT_STR_EQ(a[0], "--net");
	ASSERT_STR_EQ(a[1], "tap=tap0_kl,netns=" NETNS ",mac=0a:58:0a:58:00:07");
	ASSERT_STR_EQ(a[2], "--net");
	ASSERT_STR_EQ(a[3], "tap=tap1_kl,netns=" NETNS ",mac=0a:58:0a:58:00:ab");
	ASSERT_NULL(a[4]);

	ASSERT_EQ(plan(ifs, 0, NULL, 0, &err), 0);
	ASSERT_NULL(shim_net_vmm_args(&net)[0]);
}

TEST(agent_config_mirrors_the_plan)
{
	struct net_iface eth0 = iface("eth0", 3, 0x07, 1400);
	add_addr(&eth0, "10.88.7.5", 24);
	add_addr(&eth0, "fd00:88::5", 64);
	struct net_route routes[] = {route("0.0.0.0", 0, "10.88.7.1", 3),
				     route("10.88.7.0", 24, NULL, 3)};
	struct sbx_err err;
	ASSERT_EQ(plan(&eth0, 1, routes, 2, &err), 0);
	struct agent_net_config cfg;
	shim_net_agent_config(&net, &cfg);
	ASSERT_EQ(cfg.n_ifaces, 1);
	ASSERT_STR_EQ(cfg.ifaces[0].name, "eth0");
	ASSERT_EQ(memcmp(cfg.ifaces[0].mac, "\x0a\x58\x0a\x58\x00\x07", 6), 0);
	ASSERT_EQ(cfg.ifaces[0].mtu, 1400);
	ASSERT_EQ(cfg.ifaces[0].n_addresses, 2);
	ASSERT_STR_EQ(cfg.ifaces[0].addresses[0], "10.88.7.5/24");
	ASSERT_STR_EQ(cfg.ifaces[0].addresses[1], "fd00:88::5/64");
	ASSERT_EQ(cfg.n_routes, 2);
	ASSERT_STR_EQ(cfg.routes[0].destination, "10.88.7.0/24");
	ASSERT_NULL(cfg.routes[0].gateway);
	ASSERT_STR_EQ(cfg.routes[0].device, "eth0");
	ASSERT_STR_EQ(cfg.routes[1].destination, "default");
	ASSERT_STR_EQ(cfg.routes[1].gateway, "10.88.7.1");
	ASSERT_STR_EQ(cfg.routes[1].device, "eth0");
	/* resolv.conf is CRI's, through the containers' mounts */
	ASSERT_EQ(cfg.n_dns, 0);
	ASSERT_NULL(cfg.dns);
}

TEST(a_missing_netns_is_named)
{
	struct shim_net *n = (void *)1;
	struct sbx_err err = {0};
	const char *spec = "{\"linux\":{\"namespaces\":[{\"type\":\"network\","
			   "\"path\":\"/nonexistent/netns/pod-1\"}]}}";
	ASSERT_EQ(shim_net_open(spec, &n, &err), -ENOENT);
	ASSERT_STR_EQ(err.msg, "network namespace '/nonexistent/netns/pod-1' does not exist");
	spec = "{\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"/dev/null\"}]}}";
	ASSERT_EQ(shim_net_open(spec, &n, &err), -EINVAL);
	ASSERT_STR_EQ(err.msg, "'/dev/null' is not a network namespace");
	ASSERT_EQ(shim_net_open("{\"linux\":{}}", &n, &err), 0);
	ASSERT_NULL(n);
}

/* ---- in a network namespace ---------------------------------------------------------------- */

static int sh(const char *cmd)
{
	pid_t p = fork();
	if (p == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* This binary's own network namespace, once, with what the bridge plugin would leave. */
static bool cni_netns(void)
{
	static int ready = -1;
	if (ready < 0)
		ready = unshare(CLONE_NEWNET) == 0 &&
			sh("ip link set lo up && ip link add eth0 type veth peer name host0 && "
			   "ip link set eth0 mtu 1400 address 0a:58:0a:58:00:07 up && "
			   "ip link set host0 up && ip addr add 10.88.7.5/24 dev eth0 && "
			   "ip route add default via 10.88.7.1") == 0 &&
			access("/dev/net/tun", F_OK) == 0;
	return ready;
}

static const char *const self_spec =
    "{\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"/proc/self/ns/net\"}]}}";

static unsigned configure_calls;
static char configured_mac[18];

static int h_configure(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,
		       ProtobufCMessage *resp, struct sbx_err *err)
{
	const Sbx__Agent__V1__ConfigureNetworkRequest *in = (const void *)req;
	configure_calls++;
	if (in->n_interfaces == 1)
		snprintf(configured_mac, sizeof(configured_mac), "%s", in->interfaces[0]->mac);
	return 0;
}

static struct ttrpc_client *stand_in_agent(void)
{
	static const struct ttrpc_method m[] = {
	    {AGENT_SERVICE, "ConfigureNetwork",
	     &sbx__agent__v1__configure_network_request__descriptor,
	     &sbx__agent__v1__empty__descriptor, h_configure},
	};
	static struct ttrpc_server *srv;
	struct ttrpc_client *cl = NULL;
	int sv[2];
	if ((!srv && ttrpc_server_new(m, 1, NULL, &srv, NULL) < 0) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    ttrpc_server_serve_fd(srv, sv[1], NULL) < 0 || ttrpc_client_new(sv[0], &cl, NULL) < 0)
		return NULL;
	return cl;
}

static bool has_ingress(const char *dev)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "tc qdisc show dev %s ingress | grep -q ingress", dev);
	return sh(cmd) == 0;
}

TEST(the_netns_is_scanned_redirected_and_restored)
{
	if (!cni_netns()) {
		tap_skip("needs root, a private network namespace and /dev/net/tun");
		return;
	}
	struct shim_net *n = NULL;
	struct sbx_err err = {0};
	ASSERT_EQ(shim_net_open(self_spec, &n, &err), 0);
	ASSERT_NOT_NULL(n);
	ASSERT_EQ(n->n_ifaces, 1); /* host0 has no address: not CNI's */
	ASSERT_STR_EQ(n->ifaces[0].name, "eth0");
	ASSERT_EQ(n->ifaces[0].mtu, 1400);
	ASSERT_EQ(n->ifaces[0].n_addrs, 1);
	ASSERT_STR_EQ(n->ifaces[0].addrs[0], "10.88.7.5/24");
	ASSERT_EQ(n->n_routes, 2);
	ASSERT_STR_EQ(n->routes[0].dst, "10.88.7.0/24");
	ASSERT_STR_EQ(n->routes[1].dst, "default");
	ASSERT_STR_EQ(n->routes[1].gw, "10.88.7.1");

	/* what the VMM does with --net tap=tap0_kl */
	int tap_ifindex;
	int tapfd = tap_open("tap0_kl", true, &tap_ifindex, &err);
	ASSERT_GE(tapfd, 0);
	struct ttrpc_client *cl = stand_in_agent();
	ASSERT_NOT_NULL(cl);
	configure_calls = 0;
	ASSERT_EQ(shim_net_attach(n, cl, &err), 0);
	ASSERT_EQ(configure_calls, 1);
	ASSERT_STR_EQ(configured_mac, "0a:58:0a:58:00:07");
	ASSERT_EQ(sh("ip -o link show tap0_kl | grep -q 'mtu 1400 .*state'"), 0);
	ASSERT_EQ(sh("ip -o link show tap0_kl | grep -q '<.*UP.*>'"), 0);
	ASSERT_TRUE(has_ingress("eth0"));
	ASSERT_TRUE(has_ingress("tap0_kl"));

	shim_net_detach(n);
	ASSERT_TRUE(!has_ingress("eth0"));
	ASSERT_EQ(if_nametoindex("tap0_kl"), 0);
	ASSERT_NE(if_nametoindex("eth0"), 0); /* CNI's own stays */
	close(tapfd);
	shim_net_detach(n); /* twice is fine */

	/* no tap (the VMM did not make it): named, and detach leaves nothing */
	ASSERT_EQ(shim_net_attach(n, cl, &err), -ENODEV);
	ASSERT_TRUE(strstr(err.msg, "the VM's tap 'tap0_kl'") != NULL);
	ASSERT_EQ(configure_calls, 1);
	shim_net_detach(n);
	ASSERT_TRUE(!has_ingress("eth0"));
	ttrpc_client_free(cl);
	shim_net_free(n);
}
