/* Taps, tc redirects and interface inspection in a private network namespace, checked with
 * real frames: into the veth -> out of the tap, and into the tap -> out of the veth. */
#define _GNU_SOURCE
#include "tap.h"
#include "base/err.h"
#include "net/ifinfo.h"
#include "net/netlink.h"
#include "net/tap.h"
#include "net/tc.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int nt_ready = -1;

static int nt_sh(const char *cmd)
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

/* Once per binary: a fresh netns with v0 (CNI-like: address, MTU, default route) <-> v1. */
static int nt_setup(void)
{
	if (nt_ready >= 0)
		return nt_ready;
	nt_ready = 0;
	if (unshare(CLONE_NEWNET) < 0)
		return 0;
	nt_ready =
	    nt_sh("ip link set lo up && ip link add v0 type veth peer name v1 && "
		  "ip link set v0 mtu 1400 && ip link set v0 address 02:00:00:00:00:aa && "
		  "ip link set v0 up && ip link set v1 up && ip addr add 10.9.0.2/24 dev v0 && "
		  "ip route add default via 10.9.0.1") == 0;
	return nt_ready;
}

static int nt_packet_socket(const char *ifname)
{
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)if_nametoindex(ifname)};
	if (s >= 0 && bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* A broadcast frame with an unusual ethertype and a marker payload. */
static size_t nt_frame(uint8_t *f, const char *marker)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\xbb", 6);
	f[12] = 0x88;
	f[13] = 0xb5; /* local experimental ethertype */
	size_t n = strlen(marker);
	memcpy(f + 14, marker, n);
	return 14 + n < 60 ? 60 : 14 + n;
}

/* Reads until a frame containing marker arrives or timeout_ms passes. */
static int nt_wait_marker(int fd, const char *marker, int timeout_ms)
{
	uint8_t buf[2048];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (poll(&p, 1, timeout_ms) > 0) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0 && memmem(buf, (size_t)n, marker, strlen(marker)))
			return 1;
	}
	return 0;
}

TEST(tap_tc_redirect_both_ways)
{
	if (!nt_setup()) {
		tap_skip("needs root and a private network namespace");
		return;
	}
	struct sbx_err err = {0};
	struct nl nl;
	ASSERT_EQ(nl_open(&nl, &err), 0);
	int tap_ifindex = 0;
	int tapfd = tap_open("tap0", true, &tap_ifindex, &err);
	ASSERT_GE(tapfd, 0);
	ASSERT_EQ(link_set_up(&nl, tap_ifindex, 1400, &err), 0);
	int v0 = (int)if_nametoindex("v0");
	ASSERT_EQ(tc_redirect(&nl, v0, tap_ifindex, &err), 0);
	ASSERT_EQ(tc_redirect(&nl, tap_ifindex, v0, &err), 0);

	int v1 = nt_packet_socket("v1");
	ASSERT_GE(v1, 0);
	uint8_t f[128];
	size_t n = nt_frame(f, "to-the-vm");
	ASSERT_EQ(write(v1, f, n), (ssize_t)n);
	ASSERT_TRUE(nt_wait_marker(tapfd, "to-the-vm", 2000));

	/* From the VM: a 12-byte virtio-net header, then the frame. */
	uint8_t out[160] = {0};
	size_t m = nt_frame(out + 12, "from-the-vm");
	ASSERT_EQ(write(tapfd, out, 12 + m), (ssize_t)(12 + m));
	ASSERT_TRUE(nt_wait_marker(v1, "from-the-vm", 2000));

	/* Removing the redirect stops the traffic. */
	ASSERT_EQ(tc_redirect_remove(&nl, v0, &err), 0);
	ASSERT_EQ(tc_redirect_remove(&nl, v0, &err), 0);
	n = nt_frame(f, "after-removal");
	ASSERT_EQ(write(v1, f, n), (ssize_t)n);
	ASSERT_TRUE(!nt_wait_marker(tapfd, "after-removal", 300));

	ASSERT_EQ(link_delete(&nl, tap_ifindex, &err), 0);
	close(tapfd);
	ASSERT_EQ(if_nametoindex("tap0"), 0);
	close(v1);
	nl_close(&nl);
}

TEST(what_cni_configured_is_read_back)
{
	if (!nt_setup()) {
		tap_skip("needs root and a private network namespace");
		return;
	}
	struct sbx_err err = {0};
	struct nl nl;
	ASSERT_EQ(nl_open(&nl, &err), 0);
	struct net_iface ifs[8];
	int n = 0;
	ASSERT_EQ(net_list_ifaces(&nl, ifs, 8, &n, &err), 0);
	struct net_iface *v0 = NULL;
	for (int i = 0; i < n; i++)
		if (strcmp(ifs[i].name, "v0") == 0)
			v0 = &ifs[i];
	ASSERT_NOT_NULL(v0);
	ASSERT_EQ(v0->mtu, 1400);
	ASSERT_EQ(v0->mac[5], 0xaa);
	ASSERT_GE(v0->n_addrs, 1);
	char a[64];
	inet_ntop(AF_INET, v0->addrs[0].addr, a, sizeof(a));
	ASSERT_STR_EQ(a, "10.9.0.2");
	ASSERT_EQ(v0->addrs[0].prefix_len, 24);

	struct net_route rts[16];
	ASSERT_EQ(net_list_routes(&nl, rts, 16, &n, &err), 0);
	int found_default = 0;
	for (int i = 0; i < n; i++) {
		if (rts[i].family == AF_INET && rts[i].dst_len == 0 && rts[i].has_gw) {
			inet_ntop(AF_INET, rts[i].gw, a, sizeof(a));
			ASSERT_STR_EQ(a, "10.9.0.1");
			ASSERT_EQ(rts[i].ifindex, v0->ifindex);
			found_default = 1;
		}
	}
	ASSERT_TRUE(found_default);
	nl_close(&nl);
}

TEST(bad_names_and_indexes)
{
	struct sbx_err err = {0};
	int idx;
	ASSERT_EQ(tap_open("a-name-that-is-far-too-long", true, &idx, &err), -EINVAL);
	if (!nt_setup()) {
		tap_skip("needs root and a private network namespace");
		return;
	}
	struct nl nl;
	ASSERT_EQ(nl_open(&nl, &err), 0);
	ASSERT_LT(tc_redirect(&nl, 99999, 1, &err), 0);
	ASSERT_TRUE(strstr(err.msg, "ifindex 99999") != NULL);
	ASSERT_EQ(link_delete(&nl, 99999, &err), 0);
	nl_close(&nl);
}
