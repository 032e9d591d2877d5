/* ConfigureNetwork's request checks (guest-agent/rpc/network.c): every malformed field is refused
 * with EINVAL and a message naming it, and a good request becomes the plan it says. Nothing here
 * touches a network device; tests/host/test_agent_network.sh applies plans. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "guest-agent/rpc/network.h"
#include "guest-agent/rpc/rpc.h"
#include "proto/agent.pb-c.h"
#include "tap.h"

struct req {
	Sbx__Agent__V1__ConfigureNetworkRequest r;
	Sbx__Agent__V1__InterfaceConfig ifs[NET_MAX_IFACES + 1], *ifp[NET_MAX_IFACES + 1];
	Sbx__Agent__V1__Route routes[NET_MAX_ROUTES + 1], *routep[NET_MAX_ROUTES + 1];
	char *addrs[NET_MAX_ADDRS + 1];
	char *dns[NET_MAX_DNS + 1];
};

/* A good request: eth0 with two addresses, a default and an on-link route, one server. */
static struct req *good(void)
{
	static struct req q;

	memset(&q, 0, sizeof(q));
	sbx__agent__v1__configure_network_request__init(&q.r);
	for (unsigned i = 0; i <= NET_MAX_IFACES; i++) {
		sbx__agent__v1__interface_config__init(&q.ifs[i]);
		q.ifp[i] = &q.ifs[i];
	}
	for (unsigned i = 0; i <= NET_MAX_ROUTES; i++) {
		sbx__agent__v1__route__init(&q.routes[i]);
		q.routep[i] = &q.routes[i];
	}
	q.r.interfaces = q.ifp;
	q.r.n_interfaces = 1;
	q.ifs[0].name = "eth0";
	q.ifs[0].mac = "52:54:00:AB:cd:01";
	q.ifs[0].mtu = 1500;
	q.ifs[0].addresses = q.addrs;
	q.ifs[0].n_addresses = 2;
	q.addrs[0] = "10.0.2.15/24";
	q.addrs[1] = "fd00::15/64";
	q.r.routes = q.routep;
	q.r.n_routes = 2;
	q.routes[0].gateway = "10.0.2.2";
	q.routes[1].destination = "192.168.0.0/16";
	q.routes[1].device = "eth0";
	q.r.dns = q.dns;
	q.r.n_dns = 1;
	q.dns[0] = "10.0.2.3";
	return &q;
}

static struct net_plan plan;

/* net_parse refuses q with EINVAL and a message containing text. */
#define REFUSED(q, text)                                                                           \
	do {                                                                                       \
		struct sbx_err err_ = {0};                                                         \
		ASSERT_EQ(net_parse(&(q)->r, &plan, &err_), -EINVAL);                              \
		if (!strstr(err_.msg, text))                                                       \
			tap_fail(__FILE__, __LINE__, "message '%s' lacks '%s'", err_.msg, text);   \
	} while (0)

TEST(good_request_becomes_its_plan)
{
	struct sbx_err err = {0};
	struct req *q = good();
	uint8_t mac[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0x01};

	q->routes[0].destination = "default";
	ASSERT_EQ(net_parse(&q->r, &plan, &err), 0);
	ASSERT_EQ(plan.n_ifaces, 1);
	ASSERT_STR_EQ(plan.ifaces[0].name, "eth0");
	ASSERT_EQ(memcmp(plan.ifaces[0].mac, mac, 6), 0);
	ASSERT_EQ(plan.ifaces[0].mtu, 1500);
	ASSERT_EQ(plan.ifaces[0].n_addrs, 2);
	ASSERT_EQ(plan.addrs[0].family, AF_INET);
	ASSERT_EQ(plan.addrs[0].prefix, 24);
	ASSERT_EQ(plan.addrs[0].bytes[3], 15);
	ASSERT_EQ(plan.addrs[1].family, AF_INET6);
	ASSERT_EQ(plan.addrs[1].prefix, 64);
	ASSERT_EQ(plan.n_routes, 2);
	ASSERT_EQ(plan.routes[0].dst.family, AF_INET);
	ASSERT_EQ(plan.routes[0].dst.prefix, 0);
	ASSERT_TRUE(plan.routes[0].has_gw);
	ASSERT_STR_EQ(plan.routes[0].dev, "");
	ASSERT_EQ(plan.routes[1].dst.prefix, 16);
	ASSERT_TRUE(!plan.routes[1].has_gw);
	ASSERT_STR_EQ(plan.routes[1].dev, "eth0");
	ASSERT_EQ(plan.n_dns, 1);
	ASSERT_STR_EQ(plan.dns[0], "10.0.2.3");
}

TEST(ipv6_default_route_and_empty_request)
{
	struct sbx_err err = {0};
	struct req *q = good();

	q->routes[0].destination = "";
	q->routes[0].gateway = "fd00::1";
	ASSERT_EQ(net_parse(&q->r, &plan, &err), 0);
	ASSERT_EQ(plan.routes[0].dst.family, AF_INET6);
	ASSERT_EQ(plan.routes[0].dst.prefix, 0);
	/* dns written back canonically: nothing of the request's spelling reaches the file */
	q->dns[0] = "2001:DB8:0:0::1";
	ASSERT_EQ(net_parse(&q->r, &plan, &err), 0);
	ASSERT_STR_EQ(plan.dns[0], "2001:db8::1");
	q->r.n_interfaces = q->r.n_routes = q->r.n_dns = 0;
	ASSERT_EQ(net_parse(&q->r, &plan, &err), 0);
}

TEST(interface_fields_refused_by_name)
{
	struct req *q = good();
	char long_name[] = "abcdefghijklmnop"; /* 16 bytes */

	q->ifs[0].name = "";
	REFUSED(q, "interfaces[0].name is empty");
	q->ifs[0].name = long_name;
	REFUSED(q, "interfaces[0].name 'abcdefghijklmnop' is longer than 15 bytes");
	long_name[15] = '\0';
	q->ifs[0].name = long_name;
	q->ifs[0].mac = "zz";
	REFUSED(q, "interfaces[0].mac 'zz' is not a MAC address");
	q->ifs[0].name = "a/b";
	REFUSED(q, "interfaces[0].name 'a/b' has a character");
	q->ifs[0].name = "eth 0";
	REFUSED(q, "interfaces[0].name 'eth 0' has a character");
	q->ifs[0].name = "eth0:1";
	REFUSED(q, "interfaces[0].name 'eth0:1' has a character");
	q->ifs[0].name = "..";
	REFUSED(q, "interfaces[0].name '..' is not an interface name");
	q->ifs[0].name = "eth0";
	q->ifs[0].mac = "52:54:00:ab:cd";
	REFUSED(q, "interfaces[0].mac '52:54:00:ab:cd' is not a MAC address");
	q->ifs[0].mac = "52-54-00-ab-cd-01";
	REFUSED(q, "interfaces[0].mac '52-54-00-ab-cd-01' is not a MAC address");
	q->ifs[0].mac = "52:54:00:ab:cd:0g";
	REFUSED(q, "is not a MAC address");
	q->ifs[0].mac = "01:00:5e:00:00:01";
	REFUSED(q, "interfaces[0].mac '01:00:5e:00:00:01' is not a unicast MAC address");
	q->ifs[0].mac = "00:00:00:00:00:00";
	REFUSED(q, "is not a unicast MAC address");
	q->ifs[0].mac = "52:54:00:ab:cd:01";
	q->ifs[0].mtu = 67;
	REFUSED(q, "interfaces[0].mtu 67 is not 0 or 68 to 65535");
	q->ifs[0].mtu = 65536;
	REFUSED(q, "interfaces[0].mtu 65536");
	q->ifs[0].mtu = 0;
	q->ifs[0].addresses = NULL;
	q->ifs[0].n_addresses = 0;
	q->r.n_interfaces = 2;
	q->ifs[1].name = "eth0";
	q->ifs[1].mac = "52:54:00:ab:cd:02";
	REFUSED(q, "interfaces[1].name 'eth0' is also interfaces[0]'s");
	q->ifs[1].name = "eth1";
	q->ifs[1].mac = "52:54:00:AB:CD:01";
	REFUSED(q, "interfaces[1].mac '52:54:00:AB:CD:01' is also interfaces[0]'s");
	q->r.interfaces[1] = NULL;
	REFUSED(q, "interfaces[1] is missing");
}

TEST(addresses_refused_by_name)
{
	struct req *q = good();
	static const struct {
		const char *addr, *msg;
	} bad[] = {
	    {"10.0.2.15", "interfaces[0].addresses[1] '10.0.2.15' has no /prefix"},
	    {"10.0.2.15/33", "interfaces[0].addresses[1] '10.0.2.15/33': the prefix is not a "
			     "number from 0 to 32"},
	    {"fd00::1/129", "the prefix is not a number from 0 to 128"},
	    {"10.0.2.15/", "the prefix is not a number"},
	    {"10.0.2.15/+8", "the prefix is not a number"},
	    {"10.0.2.15/0x8", "the prefix is not a number"},
	    {"10.0.2.15/0008", "the prefix is not a number"},
	    {"10.0.2.256/24", "'10.0.2.256/24' is not an IPv4 or IPv6 address/prefix"},
	    {"/24", "'/24' is not an IPv4 or IPv6 address/prefix"},
	    {"eth0/24", "is not an IPv4 or IPv6 address/prefix"},
	    {"10.0.2.15 /24", "is not an IPv4 or IPv6 address/prefix"},
	    {"fd00::1::2/64", "is not an IPv4 or IPv6 address/prefix"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q->addrs[1] = (char *)bad[i].addr;
		REFUSED(q, bad[i].msg);
	}
}

TEST(routes_refused_by_name)
{
	struct req *q = good();

	q->routes[1].destination = "192.168.0.0/33";
	REFUSED(q, "routes[1].destination '192.168.0.0/33': the prefix");
	q->routes[1].destination = "192.168.0.1/16";
	REFUSED(q, "routes[1].destination '192.168.0.1/16' has bits set past its prefix");
	q->routes[1].destination = "fd00::1:0/112";
	q->routes[1].gateway = "";
	ASSERT_EQ(net_parse(&q->r, &plan, &(struct sbx_err){0}), 0);
	q->routes[1].destination = "fd00::1:0/96";
	REFUSED(q, "routes[1].destination 'fd00::1:0/96' has bits set past its prefix");
	q->routes[1].destination = "gateway";
	REFUSED(q, "routes[1].destination 'gateway' has no /prefix");
	q->routes[1].destination = "192.168.0.0/16";
	q->routes[1].gateway = "192.168.0.300";
	REFUSED(q, "routes[1].gateway '192.168.0.300' is not an IPv4 or IPv6 address");
	q->routes[1].gateway = "fd00::1";
	REFUSED(q, "routes[1].gateway 'fd00::1' is not of the destination's family");
	q->routes[1].gateway = "";
	q->routes[1].device = "";
	REFUSED(q, "routes[1] has neither a gateway nor a device");
	q->routes[1].device = "a/b";
	REFUSED(q, "routes[1].device 'a/b' has a character");
	q->routes[1].device = "abcdefghijklmnop";
	REFUSED(q, "routes[1].device 'abcdefghijklmnop' is longer than 15 bytes");
	q->routes[1].device = "eth0";
	q->r.routes[1] = NULL;
	REFUSED(q, "routes[1] is missing");
}

TEST(dns_refused_by_name)
{
	struct req *q = good();

	q->dns[0] = "dns.google";
	REFUSED(q, "dns[0] 'dns.google' is not an IPv4 or IPv6 address");
	q->dns[0] = "1.1.1.1\nsearch evil";
	REFUSED(q, "dns[0] '1.1.1.1\nsearch evil' is not an IPv4 or IPv6 address");
	q->dns[0] = "";
	REFUSED(q, "dns[0] '' is not");
}

TEST(counts_are_capped)
{
	struct req *q = good();
	static char macs[NET_MAX_IFACES][18], names[NET_MAX_IFACES][8];
	char *many[NET_MAX_ADDRS + 1];

	q->r.n_interfaces = NET_MAX_IFACES + 1;
	REFUSED(q, "interfaces: 17 is more than 16");
	q->r.n_interfaces = 1;
	q->r.n_routes = NET_MAX_ROUTES + 1;
	REFUSED(q, "routes: 65 is more than 64");
	q->r.n_routes = 0;
	q->r.n_dns = NET_MAX_DNS + 1;
	REFUSED(q, "dns: 9 servers is more than 8");
	q->r.n_dns = 0;
	/* the address cap is over all interfaces together */
	for (unsigned i = 0; i <= NET_MAX_ADDRS; i++)
		many[i] = "10.1.0.1/16";
	q->r.n_interfaces = NET_MAX_IFACES;
	for (unsigned i = 0; i < NET_MAX_IFACES; i++) {
		snprintf(macs[i], sizeof(macs[i]), "02:00:00:00:00:%02x", i + 1);
		snprintf(names[i], sizeof(names[i]), "n%u", i);
		q->ifs[i].mac = macs[i];
		q->ifs[i].name = names[i];
		q->ifs[i].addresses = many;
		q->ifs[i].n_addresses = NET_MAX_ADDRS / NET_MAX_IFACES;
	}
	ASSERT_EQ(net_parse(&q->r, &plan, &(struct sbx_err){0}), 0);
	ASSERT_EQ(plan.n_addrs, NET_MAX_ADDRS);
	q->ifs[NET_MAX_IFACES - 1].n_addresses++;
	REFUSED(q, "interfaces[15].addresses: more than 64 addresses in all");
}

TEST(handler_refuses_before_touching_anything)
{
	struct req *q = good();
	Sbx__Agent__V1__Empty out = SBX__AGENT__V1__EMPTY__INIT;
	struct sbx_err err = {0};

	/* a valid request would reconfigure this host's network: only malformed ones here */
	q->dns[0] = "nameserver";
	ASSERT_EQ(agent_h_configure_network(NULL, NULL, &q->r.base, &out.base, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "dns[0] 'nameserver'") != NULL);
}
