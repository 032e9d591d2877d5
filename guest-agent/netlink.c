/* rtnetlink (rtnetlink(7), netlink(7)) spoken directly: the agent is static and has no libmnl.
 * Requests are small and fixed in shape, so each is built in one buffer on the stack. */
#define _GNU_SOURCE
#include "guest-agent/netlink.h"

#include "base/err.h"

#include <assert.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Dump parts come in skbs of up to about a page times a few; 32 KiB never truncates one. */
#define GNL_RBUF_SIZE 32768

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

struct req {
	union {
		struct nlmsghdr nh;
		uint8_t b[512]; /* a header, a family header and a few attributes of <= 16 bytes */
	} u;
};

int gnl_open(struct gnl *nl, struct sbx_err *err)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0)
		return sbx_fail(err, errno, "open a netlink socket");
	/* the kernel's reason in words ("Invalid prefix for given prefix length"), and acks
	 * without a copy of our request */
	(void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		gnl_close(nl);
		return sbx_fail(err, e, "bind a netlink socket");
	}
	nl->rbuf = malloc(GNL_RBUF_SIZE);
	if (!nl->rbuf) {
		gnl_close(nl);
		return sbx_fail(err, ENOMEM, "netlink buffer");
	}
	return 0;
}

void gnl_close(struct gnl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	free(nl->rbuf);
	nl->fd = -1;
	nl->rbuf = NULL;
}

static void *req_start(struct req *r, uint16_t type, uint16_t flags, size_t hdr_len)
{
	memset(r, 0, sizeof(*r));
	r->u.nh.nlmsg_len = NLMSG_LENGTH(hdr_len);
	r->u.nh.nlmsg_type = type;
	r->u.nh.nlmsg_flags = NLM_F_REQUEST | flags;
	return NLMSG_DATA(&r->u.nh);
}

static void put(struct req *r, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(r->u.nh.nlmsg_len);
	struct rtattr *rta = (struct rtattr *)(r->u.b + off);

	/* our own requests only: a few fixed attributes, never sized by input */
	assert(off + RTA_SPACE(len) <= sizeof(r->u.b));
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->u.nh.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
}

static void put_u32(struct req *r, uint16_t type, uint32_t v)
{
	put(r, type, &v, sizeof(v));
}

static size_t addr_len(const struct gnl_addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

static int send_req(struct gnl *nl, struct req *r)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};

	r->u.nh.nlmsg_seq = ++nl->seq;
	nl->ext_msg[0] = '\0';
	if (sendto(nl->fd, r->u.b, r->u.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* One datagram into rbuf; its length or -errno. Only the kernel (port 0) is listened to: a
 * process sharing the guest's network namespace could otherwise forge an ack. */
static ssize_t recv_part(struct gnl *nl)
{
	for (;;) {
		struct sockaddr_nl sa;
		struct iovec iov = {nl->rbuf, GNL_RBUF_SIZE};
		struct msghdr m = {
		    .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = recvmsg(nl->fd, &m, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (m.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (m.msg_namelen == sizeof(sa) && sa.nl_pid == 0)
			return n;
	}
}

/* An NLMSG_ERROR: 0 for an ack, else the kernel's -errno, its ext-ack text kept. */
static int parse_error(struct gnl *nl, const struct nlmsghdr *nh)
{
	const struct nlmsgerr *e = NLMSG_DATA(nh);
	size_t off, len;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
		return -EBADMSG;
	if (e->error == 0)
		return 0;
	if (nh->nlmsg_flags & NLM_F_ACK_TLVS) {
		off = NLMSG_LENGTH(sizeof(*e));
		if (!(nh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - NLMSG_HDRLEN;
		len = nh->nlmsg_len > off ? nh->nlmsg_len - off : 0;
		for (const struct rtattr *a = (const void *)((const uint8_t *)nh + off);
		     RTA_OK(a, len); a = RTA_NEXT(a, len))
			if (a->rta_type == NLMSGERR_ATTR_MSG && RTA_PAYLOAD(a) > 0)
				snprintf(nl->ext_msg, sizeof(nl->ext_msg), "%.*s",
					 (int)strnlen(RTA_DATA(a), RTA_PAYLOAD(a)),
					 (const char *)RTA_DATA(a));
	}
	return e->error < 0 && e->error > -4096 ? e->error : -EIO;
}

/* Sends r with NLM_F_ACK and waits for its answer. */
static int talk(struct gnl *nl, struct req *r)
{
	int rc;

	r->u.nh.nlmsg_flags |= NLM_F_ACK;
	rc = send_req(nl, r);
	if (rc < 0)
		return rc;
	for (;;) {
		ssize_t n = recv_part(nl);

		if (n < 0)
			return (int)n;
		for (const struct nlmsghdr *nh = (const void *)nl->rbuf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			/* leftovers of a dump a caller stopped early carry an older seq */
			if (nh->nlmsg_seq != nl->seq)
				continue;
			if (nh->nlmsg_type == NLMSG_ERROR)
				return parse_error(nl, nh);
		}
	}
}

static int link_of(const struct nlmsghdr *nh, struct gnl_link *l)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	size_t len;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return -EBADMSG;
	memset(l, 0, sizeof(*l));
	l->index = ifi->ifi_index;
	len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi));
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_IFNAME)
			snprintf(l->name, sizeof(l->name), "%.*s",
				 (int)strnlen(RTA_DATA(a), RTA_PAYLOAD(a)),
				 (const char *)RTA_DATA(a));
		else if (a->rta_type == IFLA_ADDRESS && RTA_PAYLOAD(a) == sizeof(l->mac)) {
			memcpy(l->mac, RTA_DATA(a), sizeof(l->mac));
			l->has_mac = true;
		}
	}
	return 0;
}

int gnl_links(struct gnl *nl, int (*cb)(const struct gnl_link *l, void *data), void *data)
{
	struct req r;
	struct ifinfomsg *ifi = req_start(&r, RTM_GETLINK, NLM_F_DUMP, sizeof(*ifi));
	int rc;

	ifi->ifi_family = AF_UNSPEC;
	rc = send_req(nl, &r);
	if (rc < 0)
		return rc;
	for (;;) {
		ssize_t n = recv_part(nl);

		if (n < 0)
			return (int)n;
		for (const struct nlmsghdr *nh = (const void *)nl->rbuf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			struct gnl_link l;

			if (nh->nlmsg_seq != nl->seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR)
				return parse_error(nl, nh) ?: -EBADMSG;
			if (nh->nlmsg_type != RTM_NEWLINK)
				continue;
			rc = link_of(nh, &l);
			if (rc == 0)
				rc = cb(&l, data);
			if (rc != 0)
				return rc;
		}
	}
}

static struct ifinfomsg *setlink_start(struct req *r, int index)
{
	struct ifinfomsg *ifi = req_start(r, RTM_SETLINK, 0, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	return ifi;
}

int gnl_link_set_up(struct gnl *nl, int index, bool up)
{
	struct req r;
	struct ifinfomsg *ifi = setlink_start(&r, index);

	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	return talk(nl, &r);
}

int gnl_link_rename(struct gnl *nl, int index, const char *name)
{
	struct req r;

	setlink_start(&r, index);
	put(&r, IFLA_IFNAME, name, strnlen(name, GNL_NAME_MAX - 1) + 1);
	return talk(nl, &r);
}

int gnl_link_set_mtu(struct gnl *nl, int index, uint32_t mtu)
{
	struct req r;

	setlink_start(&r, index);
	put_u32(&r, IFLA_MTU, mtu);
	return talk(nl, &r);
}

/* What `ip addr add` picks when no scope is given: host for loopback addresses. */
static uint8_t addr_scope(const struct gnl_addr *a)
{
	static const uint8_t v6_loopback[16] = {[15] = 1};

	if (a->family == AF_INET && a->bytes[0] == 127)
		return RT_SCOPE_HOST;
	if (a->family == AF_INET6 && !memcmp(a->bytes, v6_loopback, 16))
		return RT_SCOPE_HOST;
	return RT_SCOPE_UNIVERSE;
}

int gnl_addr_add(struct gnl *nl, int index, const struct gnl_addr *a)
{
	struct req r;
	struct ifaddrmsg *ifa = req_start(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));

	ifa->ifa_family = a->family;
	ifa->ifa_prefixlen = a->prefix;
	ifa->ifa_scope = addr_scope(a);
	ifa->ifa_index = (uint32_t)index;
	/* the host handed this address out: duplicate detection would only leave it tentative
	 * (unusable as a source) for the first second or more after boot */
	if (a->family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	put(&r, IFA_LOCAL, a->bytes, addr_len(a));
	put(&r, IFA_ADDRESS, a->bytes, addr_len(a));
	return talk(nl, &r);
}

int gnl_route_add(struct gnl *nl, const struct gnl_addr *dst, const struct gnl_addr *gw, int index)
{
	struct req r;
	struct rtmsg *rt = req_start(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(*rt));

	rt->rtm_family = dst->family;
	rt->rtm_dst_len = dst->prefix;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_type = RTN_UNICAST;
	/* without a gateway the destination is reached directly on the link */
	rt->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	if (dst->prefix > 0)
		put(&r, RTA_DST, dst->bytes, addr_len(dst));
	if (gw)
		put(&r, RTA_GATEWAY, gw->bytes, addr_len(gw));
	if (index > 0)
		put_u32(&r, RTA_OIF, (uint32_t)index);
	return talk(nl, &r);
}
