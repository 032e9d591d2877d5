/* Dump parsing: every attribute length is checked by libmnl's validators before use. */
#include "net/ifinfo.h"

#include "base/err.h"
#include "net/netlink.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct collect {
	void *out;
	int max, n;
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct collect *c = data;
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	if (ifi->ifi_flags & IFF_LOOPBACK || c->n >= c->max)
		return MNL_CB_OK;
	struct net_iface *it = (struct net_iface *)c->out + c->n;
	memset(it, 0, sizeof(*it));
	it->ifindex = ifi->ifi_index;
	it->type = ifi->ifi_type;
	it->flags = ifi->ifi_flags;
	struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*ifi))
	{
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
				snprintf(it->name, sizeof(it->name), "%s", mnl_attr_get_str(a));
			break;
		case IFLA_MTU:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
				it->mtu = mnl_attr_get_u32(a);
			break;
		case IFLA_ADDRESS:
			if (mnl_attr_get_payload_len(a) == 6)
				memcpy(it->mac, mnl_attr_get_payload(a), 6);
			break;
		default:
			break;
		}
	}
	c->n++;
	return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct collect *c = data;
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct net_iface *ifs = c->out;
	struct net_iface *it = NULL;
	for (int i = 0; i < c->n; i++)
		if (ifs[i].ifindex == (int)ifa->ifa_index)
			it = &ifs[i];
	if (!it || it->n_addrs >= NET_MAX_ADDRS || ifa->ifa_scope == RT_SCOPE_LINK)
		return MNL_CB_OK;
	size_t alen = ifa->ifa_family == AF_INET ? 4 : 16;
	struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*ifa))
	{
		if (mnl_attr_get_type(a) != IFA_ADDRESS || mnl_attr_get_payload_len(a) != alen)
			continue;
		struct net_addr *ad = &it->addrs[it->n_addrs++];
		memset(ad, 0, sizeof(*ad));
		ad->family = ifa->ifa_family;
		ad->prefix_len = ifa->ifa_prefixlen;
		memcpy(ad->addr, mnl_attr_get_payload(a), alen);
		break;
	}
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct collect *c = data;
	struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST || c->n >= c->max)
		return MNL_CB_OK;
	struct net_route *rt = (struct net_route *)c->out + c->n;
	memset(rt, 0, sizeof(*rt));
	rt->family = rtm->rtm_family;
	rt->dst_len = rtm->rtm_dst_len;
	size_t alen = rtm->rtm_family == AF_INET ? 4 : 16;
	struct nlattr *a;
	mnl_attr_for_each(a, nlh, sizeof(*rtm))
	{
		switch (mnl_attr_get_type(a)) {
		case RTA_DST:
			if (mnl_attr_get_payload_len(a) == alen)
				memcpy(rt->dst, mnl_attr_get_payload(a), alen);
			break;
		case RTA_GATEWAY:
			if (mnl_attr_get_payload_len(a) == alen) {
				memcpy(rt->gw, mnl_attr_get_payload(a), alen);
				rt->has_gw = 1;
			}
			break;
		case RTA_OIF:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
				rt->ifindex = (int)mnl_attr_get_u32(a);
			break;
		default:
			break;
		}
	}
	c->n++;
	return MNL_CB_OK;
}

int net_list_ifaces(struct nl *nl, struct net_iface *out, int max, int *ret_n, struct sbx_err *err)
{
	char buf[NL_BUF_SIZE];
	struct collect c = {.out = out, .max = max};
	struct nlmsghdr *nlh = nl_request(nl, buf, RTM_GETLINK, 0);
	struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	int r = nl_dump(nl, nlh, link_cb, &c);
	if (r < 0)
		return sbx_fail(err, -r, "list interfaces");
	nlh = nl_request(nl, buf, RTM_GETADDR, 0);
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = AF_UNSPEC;
	r = nl_dump(nl, nlh, addr_cb, &c);
	if (r < 0)
		return sbx_fail(err, -r, "list addresses");
	*ret_n = c.n;
	return 0;
}

int net_list_routes(struct nl *nl, struct net_route *out, int max, int *ret_n, struct sbx_err *err)
{
	char buf[NL_BUF_SIZE];
	struct collect c = {.out = out, .max = max};
	struct nlmsghdr *nlh = nl_request(nl, buf, RTM_GETROUTE, 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_UNSPEC;
	int r = nl_dump(nl, nlh, route_cb, &c);
	if (r < 0)
		return sbx_fail(err, -r, "list routes");
	*ret_n = c.n;
	return 0;
}
