/* agent_configure_network (lib/agent/network.c) against a real ttrpc server over a socketpair
 * whose ConfigureNetwork is the agent's own net_parse: the plan the agent would apply is the
 * config the caller gave, and the agent's refusal comes back naming the field. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/client.h"
#include "base/err.h"
#include "guest-agent/rpc/network.h"
#include "proto/agent.pb-c.h"
#include "tap.h"
#include "ttrpc/client.h"
#include "ttrpc/server.h"

static struct net_plan plan;
static unsigned calls;

static int h_configure(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,
		       ProtobufCMessage *resp, struct sbx_err *err)
{
	calls++;
	return net_parse((const void *)req, &plan, err);
}

static const struct ttrpc_method methods[] = {
    {AGENT_SERVICE, "ConfigureNetwork", &sbx__agent__v1__configure_network_request__descriptor,
     &sbx__agent__v1__empty__descriptor, h_configure},
};

static struct ttrpc_server *srv;

static struct ttrpc_client *connect_agent(void)
{
	struct ttrpc_client *cl = NULL;
	int sv[2];

	if (!srv && ttrpc_server_new(methods, 1, NULL, &srv, NULL) < 0)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return NULL;
	if (ttrpc_server_serve_fd(srv, sv[1], NULL) < 0 || ttrpc_client_new(sv[0], &cl, NULL) < 0)
		return NULL;
	return cl;
}

static const char *const eth0_addrs[] = {"10.0.2.15/24", "fd00::15/64"};
static const char *const dns[] = {"10.0.2.3", "fd00::3"};

TEST(config_reaches_the_agent_as_given)
{
	struct ttrpc_client *cl = connect_agent();
	struct agent_net_iface ifs[] = {
	    {.name = "eth0",
	     .mac = {0x52, 0x54, 0x00, 0x12, 0xab, 0x01},
	     .mtu = 1450,
	     .addresses = eth0_addrs,
	     .n_addresses = 2},
	    {.name = "eth1", .mac = {0x02, 0, 0, 0, 0, 0xfe}},
	};
	struct agent_net_route routes[] = {
	    {.gateway = "10.0.2.2"},
	    {.destination = "192.168.0.0/16", .device = "eth1"},
	};
	struct agent_net_config cfg = {ifs, 2, routes, 2, dns, 2};
	struct sbx_err err = {0};
	uint8_t want_mac[6] = {0x52, 0x54, 0x00, 0x12, 0xab, 0x01};
	char ip[INET6_ADDRSTRLEN];

	ASSERT_TRUE(cl != NULL);
	calls = 0;
	ASSERT_EQ(agent_configure_network(cl, &cfg, &err), 0);
	ASSERT_EQ(calls, 1);
	ASSERT_EQ(plan.n_ifaces, 2);
	ASSERT_STR_EQ(plan.ifaces[0].name, "eth0");
	ASSERT_EQ(memcmp(plan.ifaces[0].mac, want_mac, 6), 0);
	ASSERT_EQ(plan.ifaces[0].mtu, 1450);
	ASSERT_EQ(plan.ifaces[0].n_addrs, 2);
	ASSERT_EQ(plan.addrs[1].family, AF_INET6);
	ASSERT_EQ(plan.addrs[1].prefix, 64);
	ASSERT_STR_EQ(plan.ifaces[1].name, "eth1");
	ASSERT_EQ(plan.ifaces[1].mac[5], 0xfe);
	ASSERT_EQ(plan.ifaces[1].mtu, 0);
	ASSERT_EQ(plan.ifaces[1].n_addrs, 0);
	ASSERT_EQ(plan.n_routes, 2);
	ASSERT_EQ(plan.routes[0].dst.prefix, 0);
	ASSERT_TRUE(plan.routes[0].has_gw);
	inet_ntop(AF_INET, plan.routes[0].gw.bytes, ip, sizeof(ip));
	ASSERT_STR_EQ(ip, "10.0.2.2");
	ASSERT_STR_EQ(plan.routes[0].dev, "");
	ASSERT_EQ(plan.routes[1].dst.prefix, 16);
	ASSERT_TRUE(!plan.routes[1].has_gw);
	ASSERT_STR_EQ(plan.routes[1].dev, "eth1");
	ASSERT_EQ(plan.n_dns, 2);
	ASSERT_STR_EQ(plan.dns[1], "fd00::3");

	/* an empty config is a valid call too: lo up, nothing else */
	cfg = (struct agent_net_config){0};
	ASSERT_EQ(agent_configure_network(cl, &cfg, &err), 0);
	ASSERT_EQ(calls, 2);
	ASSERT_EQ(plan.n_ifaces + plan.n_routes + plan.n_dns, 0);
	ttrpc_client_free(cl);
}

TEST(agent_refusal_comes_back_named)
{
	struct ttrpc_client *cl = connect_agent();
	static const char *const bad[] = {"10.0.2.15/40"};
	struct agent_net_iface ifs[] = {
	    {.name = "eth0", .mac = {0x01, 0, 0, 0, 0, 1}, .addresses = bad, .n_addresses = 1}};
	struct agent_net_config cfg = {.ifaces = ifs, .n_ifaces = 1};
	struct sbx_err err = {0};

	ASSERT_TRUE(cl != NULL);
	ASSERT_EQ(agent_configure_network(cl, &cfg, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "configure the guest's network") != NULL);
	ASSERT_TRUE(strstr(err.msg, "interfaces[0].mac '01:00:00:00:00:01' is not a unicast") !=
		    NULL);
	ifs[0].mac[0] = 0x02;
	ASSERT_EQ(agent_configure_network(cl, &cfg, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "interfaces[0].addresses[0] '10.0.2.15/40'") != NULL);
	ttrpc_client_free(cl);
}
