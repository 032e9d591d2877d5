/* --net spec parsing: each backend with its options, and bad specs refused with a message that
 * names the problem. Nothing here opens a tap or starts slirp. */
#include "tap.h"
#include "base/err.h"
#include "vmm/netdev/netdev.h"

#include <arpa/inet.h>
#include <errno.h>

TEST(none_user_and_tap)
{
	struct netdev_opt o;
	struct sbx_err err = {0};
	ASSERT_EQ(netdev_parse("none", &o, &err), 0);
	ASSERT_EQ(o.kind, NETDEV_NONE);
	ASSERT_EQ(netdev_parse("user", &o, &err), 0);
	ASSERT_EQ(o.kind, NETDEV_USER);
	ASSERT_TRUE(!o.has_mac);
	ASSERT_EQ(
	    netdev_parse("user,mac=02:aB:00:00:00:09,fwd=8080:80,fwd=10.0.0.1:53:53/udp", &o, &err),
	    0);
	ASSERT_TRUE(o.has_mac);
	ASSERT_EQ(o.mac[1], 0xab);
	ASSERT_EQ(o.mac[5], 9);
	ASSERT_EQ(o.n_fwds, 2);
	ASSERT_EQ(o.fwds[0].host_port, 8080);
	ASSERT_EQ(o.fwds[0].guest_port, 80);
	ASSERT_EQ(o.fwds[0].host_addr, htonl(INADDR_LOOPBACK));
	ASSERT_EQ(o.fwds[1].udp, 1);
	ASSERT_EQ(netdev_parse("tap=tap0,netns=/var/run/netns/x,mac=02:00:00:00:00:01", &o, &err),
		  0);
	ASSERT_EQ(o.kind, NETDEV_TAP);
	ASSERT_STR_EQ(o.tap, "tap0");
	ASSERT_STR_EQ(o.netns, "/var/run/netns/x");
}

static void refused(const char *spec, const char *why)
{
	struct netdev_opt o;
	struct sbx_err err = {0};
	int r = netdev_parse(spec, &o, &err);
	if (r >= 0)
		tap_fail(__FILE__, __LINE__, "'%s' was accepted", spec);
	else if (!strstr(err.msg, why))
		tap_fail(__FILE__, __LINE__, "'%s': '%s' does not say '%s'", spec, err.msg, why);
}

TEST(bad_specs)
{
	refused("", "--net ''");
	refused("tap", "--net 'tap'");
	refused("users", "--net 'users'");
	refused("tap=", "tap name ''");
	refused("tap=0123456789abcdef", "tap name");
	refused("tap=a/b", "tap name 'a/b'");
	refused("tap=..", "tap name '..'");
	refused("user,mac=01:00:00:00:00:01", "multicast");
	refused("user,mac=00:00:00:00:00:00", "all zeros");
	refused("user,mac=02:00:00:00:00", "mac '02:00:00:00:00'");
	refused("user,mac=02:00:00:00:00:0g", "mac '02:00:00:00:00:0g'");
	refused("user,mac=02:00:00:00:00:+1", "mac '02:00:00:00:00:+1'");
	refused("user,mac=02-00-00-00-00-01", "mac");
	refused("user,fwd=80", "port mapping '80'");
	refused("user,fwd=0:80", "ports are 1-65535");
	refused("user,netns=/x", "option 'netns=/x'");
	refused("tap=t0,fwd=1:2", "option 'fwd=1:2'");
	refused("tap=t0,netns=", "netns=");
	refused("user,bogus", "option 'bogus'");
	char many[600] = "user";
	for (int i = 0; i < 17; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), ",fwd=%d:80", 1000 + i);
	refused(many, "at most 16 fwd=");
}
