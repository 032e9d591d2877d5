/* /dev/net/tun plus RTM_NEWLINK/RTM_DELLINK for state changes. */
#include "net/tap.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "net/netlink.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int tap_open(const char *name, bool vnet_hdr, int *ret_ifindex, struct sbx_err *err)
{
	if (strlen(name) >= IFNAMSIZ)
		return sbx_failx(err, EINVAL, "tap name '%s' longer than %d", name, IFNAMSIZ - 1);
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return sbx_fail(err, errno, "open /dev/net/tun");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return sbx_fail(err, errno, "create tap '%s'", name);
	if (vnet_hdr) {
		int hdr = 12; /* struct virtio_net_hdr_v1: what a modern virtio-net guest uses */
		if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
			return sbx_fail(err, errno, "set vnet header size on '%s'", name);
	}
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFINDEX, &ifr) < 0)
		return sbx_fail(err, errno, "index of tap '%s'", name);
	*ret_ifindex = ifr.ifr_ifindex;
	return TAKE_FD(fd);
}

int link_set_up(struct nl *nl, int ifindex, unsigned mtu, struct sbx_err *err)
{
	char buf[NL_BUF_SIZE];
	struct nlmsghdr *nlh = nl_request(nl, buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	int r = nl_talk(nl, nlh);
	return r < 0 ? sbx_fail(err, -r, "bring up ifindex %d", ifindex) : 0;
}

int link_delete(struct nl *nl, int ifindex, struct sbx_err *err)
{
	char buf[NL_BUF_SIZE];
	struct nlmsghdr *nlh = nl_request(nl, buf, RTM_DELLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	int r = nl_talk(nl, nlh);
	if (r < 0 && r != -ENODEV)
		return sbx_fail(err, -r, "delete ifindex %d", ifindex);
	return 0;
}
