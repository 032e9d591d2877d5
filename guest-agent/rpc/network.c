/* ConfigureNetwork: the host's interfaces (found by MAC), addresses, routes and DNS servers
 * applied to the guest with rtnetlink. The whole request is checked and parsed first, and every
 * MAC found, so a bad request or an unknown device changes nothing. */
#define _GNU_SOURCE
#include "guest-agent/rpc/network.h"
#include "guest-agent/netlink.h"
#include "guest-agent/rpc/rpc.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "proto/agent.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIELD_MAX 48 /* "interfaces[15].addresses[63]" and the like */

static const char *str_of(const char *s)
{
	return s ? s : "";
}

/* What the kernel's dev_valid_name() takes. */
static int check_ifname(const char *field, const char *s, struct sbx_err *err)
{
	size_t n = strlen(s);

	if (n == 0)
		return sbx_failx(err, EINVAL, "%s is empty", field);
	if (n >= GNL_NAME_MAX)
		return sbx_failx(err, EINVAL, "%s '%.32s' is longer than %d bytes", field, s,
				 GNL_NAME_MAX - 1);
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return sbx_failx(err, EINVAL, "%s '%s' is not an interface name", field, s);
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] <= ' ' || s[i] == 0x7f)
			return sbx_failx(err, EINVAL,
					 "%s '%s' has a character an interface name cannot have",
					 field, s);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_mac(const char *field, const char *s, uint8_t mac[6], struct sbx_err *err)
{
	static const uint8_t zero[6];

	if (strlen(s) != 17)
		goto bad;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			goto bad;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if ((mac[0] & 1) || !memcmp(mac, zero, 6))
		return sbx_failx(err, EINVAL, "%s '%s' is not a unicast MAC address", field, s);
	return 0;
bad:
	return sbx_failx(err, EINVAL, "%s '%.40s' is not a MAC address (xx:xx:xx:xx:xx:xx)", field,
			 s);
}

/* inet_pton of either family, the prefix set to the address's full length. */
static bool pton(const char *s, struct gnl_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->bytes) == 1) {
		a->family = AF_INET;
		a->prefix = 32;
		return true;
	}
	if (inet_pton(AF_INET6, s, a->bytes) == 1) {
		a->family = AF_INET6;
		a->prefix = 128;
		return true;
	}
	return false;
}

/* An address alone. */
static int parse_ip(const char *field, const char *s, struct gnl_addr *a, struct sbx_err *err)
{
	if (!pton(s, a))
		return sbx_failx(err, EINVAL, "%s '%.64s' is not an IPv4 or IPv6 address", field,
				 s);
	return 0;
}

/* ADDRESS/PREFIX, the prefix in decimal within the family's range. */
static int parse_cidr(const char *field, const char *s, struct gnl_addr *a, struct sbx_err *err)
{
	char ip[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : 0;
	unsigned prefix = 0;

	if (!slash)
		return sbx_failx(err, EINVAL, "%s '%.64s' has no /prefix", field, s);
	if (n < sizeof(ip)) {
		memcpy(ip, s, n);
		ip[n] = '\0';
	}
	if (n >= sizeof(ip) || !pton(ip, a))
		return sbx_failx(err, EINVAL, "%s '%.64s' is not an IPv4 or IPv6 address/prefix",
				 field, s);
	if (!slash[1] || strlen(slash + 1) > 3)
		goto bad_prefix;
	for (const char *p = slash + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad_prefix;
		prefix = prefix * 10 + (unsigned)(*p - '0');
	}
	if (prefix > a->prefix)
		goto bad_prefix;
	a->prefix = (uint8_t)prefix;
	return 0;
bad_prefix:
	return sbx_failx(err, EINVAL, "%s '%.64s': the prefix is not a number from 0 to %u", field,
			 s, a->prefix);
}

static bool host_bits_clear(const struct gnl_addr *a)
{
	unsigned len = a->family == AF_INET ? 4 : 16;

	for (unsigned bit = a->prefix; bit < len * 8; bit++)
		if (a->bytes[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

static int parse_iface(const Sbx__Agent__V1__InterfaceConfig *c, unsigned i, struct net_plan *plan,
		       struct sbx_err *err)
{
	struct net_iface *f = &plan->ifaces[i];
	char field[FIELD_MAX];

	if (!c)
		return sbx_failx(err, EINVAL, "interfaces[%u] is missing", i);
	snprintf(field, sizeof(field), "interfaces[%u].name", i);
	if (check_ifname(field, str_of(c->name), err) < 0)
		return -err->code;
	snprintf(f->name, sizeof(f->name), "%s", c->name);
	snprintf(field, sizeof(field), "interfaces[%u].mac", i);
	if (parse_mac(field, str_of(c->mac), f->mac, err) < 0)
		return -err->code;
	if (c->mtu && (c->mtu < NET_MIN_MTU || c->mtu > NET_MAX_MTU))
		return sbx_failx(err, EINVAL, "interfaces[%u].mtu %u is not 0 or %u to %u", i,
				 c->mtu, NET_MIN_MTU, NET_MAX_MTU);
	f->mtu = c->mtu;
	for (unsigned j = 0; j < i; j++) {
		if (!strcmp(plan->ifaces[j].name, f->name))
			return sbx_failx(err, EINVAL,
					 "interfaces[%u].name '%s' is also "
					 "interfaces[%u]'s",
					 i, f->name, j);
		if (!memcmp(plan->ifaces[j].mac, f->mac, 6))
			return sbx_failx(err, EINVAL,
					 "interfaces[%u].mac '%s' is also "
					 "interfaces[%u]'s",
					 i, c->mac, j);
	}
	if (c->n_addresses > NET_MAX_ADDRS - plan->n_addrs)
		return sbx_failx(err, EINVAL,
				 "interfaces[%u].addresses: more than %d addresses "
				 "in all",
				 i, NET_MAX_ADDRS);
	f->first_addr = plan->n_addrs;
	for (size_t j = 0; j < c->n_addresses; j++) {
		snprintf(field, sizeof(field), "interfaces[%u].addresses[%zu]", i, j);
		if (parse_cidr(field, str_of(c->addresses[j]), &plan->addrs[plan->n_addrs], err) <
		    0)
			return -err->code;
		plan->n_addrs++;
	}
	f->n_addrs = plan->n_addrs - f->first_addr;
	return 0;
}

static int parse_route(const Sbx__Agent__V1__Route *in, unsigned i, struct net_route *r,
		       struct sbx_err *err)
{
	const char *dst, *gw, *dev;
	char field[FIELD_MAX];

	if (!in)
		return sbx_failx(err, EINVAL, "routes[%u] is missing", i);
	dst = str_of(in->destination), gw = str_of(in->gateway), dev = str_of(in->device);
	memset(r, 0, sizeof(*r));
	if (*gw) {
		snprintf(field, sizeof(field), "routes[%u].gateway", i);
		if (parse_ip(field, gw, &r->gw, err) < 0)
			return -err->code;
		r->has_gw = true;
	}
	if (*dst && strcmp(dst, "default")) {
		snprintf(field, sizeof(field), "routes[%u].destination", i);
		if (parse_cidr(field, dst, &r->dst, err) < 0)
			return -err->code;
		if (!host_bits_clear(&r->dst))
			return sbx_failx(err, EINVAL,
					 "routes[%u].destination '%.64s' has bits set past its "
					 "prefix",
					 i, dst);
	} else {
		/* the default route of the gateway's family; IPv4 when on-link ("::/0" says
		 * IPv6) */
		r->dst.family = r->has_gw ? r->gw.family : AF_INET;
	}
	if (r->has_gw && r->gw.family != r->dst.family)
		return sbx_failx(err, EINVAL,
				 "routes[%u].gateway '%.64s' is not of the destination's family", i,
				 gw);
	if (*dev) {
		snprintf(field, sizeof(field), "routes[%u].device", i);
		if (check_ifname(field, dev, err) < 0)
			return -err->code;
		snprintf(r->dev, sizeof(r->dev), "%s", dev);
	} else if (!r->has_gw) {
		return sbx_failx(err, EINVAL, "routes[%u] has neither a gateway nor a device", i);
	}
	return 0;
}

int net_parse(const Sbx__Agent__V1__ConfigureNetworkRequest *in, struct net_plan *plan,
	      struct sbx_err *err)
{
	char field[FIELD_MAX];

	memset(plan, 0, sizeof(*plan));
	if (in->n_interfaces > NET_MAX_IFACES)
		return sbx_failx(err, EINVAL, "interfaces: %zu is more than %d", in->n_interfaces,
				 NET_MAX_IFACES);
	if (in->n_routes > NET_MAX_ROUTES)
		return sbx_failx(err, EINVAL, "routes: %zu is more than %d", in->n_routes,
				 NET_MAX_ROUTES);
	if (in->n_dns > NET_MAX_DNS)
		return sbx_failx(err, EINVAL, "dns: %zu servers is more than %d", in->n_dns,
				 NET_MAX_DNS);
	for (unsigned i = 0; i < in->n_interfaces; i++, plan->n_ifaces++)
		if (parse_iface(in->interfaces[i], i, plan, err) < 0)
			return -err->code;
	for (unsigned i = 0; i < in->n_routes; i++, plan->n_routes++)
		if (parse_route(in->routes[i], i, &plan->routes[i], err) < 0)
			return -err->code;
	for (unsigned i = 0; i < in->n_dns; i++, plan->n_dns++) {
		struct gnl_addr a;

		snprintf(field, sizeof(field), "dns[%u]", i);
		if (parse_ip(field, str_of(in->dns[i]), &a, err) < 0)
			return -err->code;
		/* written back in canonical form: nothing of the request reaches the file */
		inet_ntop(a.family, a.bytes, plan->dns[i], sizeof(plan->dns[i]));
	}
	return 0;
}

/* ---- apply ---------------------------------------------------------------------------- */

struct found {
	const struct net_plan *plan;
	int index[NET_MAX_IFACES];
	char cur[NET_MAX_IFACES][GNL_NAME_MAX]; /* the name each has now */
	int lo;
	int twice; /* an interface whose MAC two links have, or -1 */
	char other[GNL_NAME_MAX];
};

static int match_link(const struct gnl_link *l, void *data)
{
	struct found *f = data;

	if (!strcmp(l->name, "lo"))
		f->lo = l->index;
	if (!l->has_mac)
		return 0;
	for (unsigned i = 0; i < f->plan->n_ifaces; i++) {
		if (memcmp(l->mac, f->plan->ifaces[i].mac, 6))
			continue;
		if (f->index[i]) {
			f->twice = (int)i;
			snprintf(f->other, sizeof(f->other), "%s", l->name);
			return 1;
		}
		f->index[i] = l->index;
		snprintf(f->cur[i], sizeof(f->cur[i]), "%s", l->name);
	}
	return 0;
}

static void fmt_mac(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void fmt_addr(const struct gnl_addr *a, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(a->family, a->bytes, ip, sizeof(ip));
	snprintf(out, size, "%s/%u", ip, a->prefix);
}

/* A kernel error rc while doing what, with the kernel's own words when it gave some. */
static int kfail(const struct gnl *nl, int rc, const char *what, struct sbx_err *err)
{
	if (nl->ext_msg[0])
		return sbx_fail(err, -rc, "%s (%s)", what, nl->ext_msg);
	return sbx_fail(err, -rc, "%s", what);
}

/* Finds every interface's link, and checks each route's device will exist, before any change. */
static int find_links(struct gnl *nl, const struct net_plan *plan, struct found *f,
		      struct sbx_err *err)
{
	char mac[18];
	int rc;

	memset(f, 0, sizeof(*f));
	f->plan = plan;
	f->twice = -1;
	rc = gnl_links(nl, match_link, f);
	if (rc < 0)
		return kfail(nl, rc, "list network devices", err);
	if (f->twice >= 0) {
		fmt_mac(plan->ifaces[f->twice].mac, mac);
		return sbx_failx(err, EBUSY, "interfaces[%d].mac %s: both '%s' and '%s' have it",
				 f->twice, mac, f->cur[f->twice], f->other);
	}
	for (unsigned i = 0; i < plan->n_ifaces; i++)
		if (!f->index[i]) {
			fmt_mac(plan->ifaces[i].mac, mac);
			return sbx_failx(err, ENOENT,
					 "interfaces[%u].mac %s: no network device has this MAC", i,
					 mac);
		}
	if (!f->lo)
		return sbx_failx(err, ENOENT, "no loopback device 'lo'");
	for (unsigned i = 0; i < plan->n_routes; i++) {
		const char *dev = plan->routes[i].dev;
		bool named = false;

		for (unsigned j = 0; j < plan->n_ifaces && !named; j++)
			named = !strcmp(plan->ifaces[j].name, dev);
		if (dev[0] && !named && !if_nametoindex(dev))
			return sbx_failx(err, ENOENT,
					 "routes[%u].device '%s': no such interface, and none of "
					 "interfaces is named so",
					 i, dev);
	}
	return 0;
}

static int apply_iface(struct gnl *nl, const struct net_plan *plan, unsigned i,
		       const struct found *f, struct sbx_err *err)
{
	const struct net_iface *c = &plan->ifaces[i];
	int idx = f->index[i], rc;
	char what[160], mac[18], addr[INET6_ADDRSTRLEN + 4];

	fmt_mac(c->mac, mac);
	/* the kernel renames only a device that is down */
	if (strcmp(f->cur[i], c->name)) {
		rc = gnl_link_set_up(nl, idx, false);
		if (rc == 0)
			rc = gnl_link_rename(nl, idx, c->name);
		if (rc < 0) {
			snprintf(what, sizeof(what), "interface '%s' (%s): rename to '%s'",
				 f->cur[i], mac, c->name);
			return kfail(nl, rc, what, err);
		}
	}
	if (c->mtu && (rc = gnl_link_set_mtu(nl, idx, c->mtu)) < 0) {
		snprintf(what, sizeof(what), "interface '%s' (%s): set MTU %u", c->name, mac,
			 c->mtu);
		return kfail(nl, rc, what, err);
	}
	for (unsigned j = 0; j < c->n_addrs; j++) {
		const struct gnl_addr *a = &plan->addrs[c->first_addr + j];

		rc = gnl_addr_add(nl, idx, a);
		if (rc < 0 && rc != -EEXIST) {
			fmt_addr(a, addr, sizeof(addr));
			snprintf(what, sizeof(what), "interface '%s' (%s): add address %s", c->name,
				 mac, addr);
			return kfail(nl, rc, what, err);
		}
	}
	rc = gnl_link_set_up(nl, idx, true);
	if (rc < 0) {
		snprintf(what, sizeof(what), "interface '%s' (%s): bring up", c->name, mac);
		return kfail(nl, rc, what, err);
	}
	return 0;
}

static int apply_route(struct gnl *nl, const struct net_route *r, unsigned i, struct sbx_err *err)
{
	char what[200], dst[INET6_ADDRSTRLEN + 4] = "default", gw[INET6_ADDRSTRLEN] = "";
	int idx = 0, rc;

	if (r->dev[0] && !(idx = (int)if_nametoindex(r->dev)))
		return sbx_fail(err, errno, "routes[%u]: device '%s'", i, r->dev);
	rc = gnl_route_add(nl, &r->dst, r->has_gw ? &r->gw : NULL, idx);
	if (rc == 0 || rc == -EEXIST)
		return 0;
	if (r->dst.prefix)
		fmt_addr(&r->dst, dst, sizeof(dst));
	if (r->has_gw)
		inet_ntop(r->gw.family, r->gw.bytes, gw, sizeof(gw));
	snprintf(what, sizeof(what), "routes[%u]: add route to %s%s%s%s%s", i, dst,
		 r->has_gw ? " via " : "", gw, r->dev[0] ? " dev " : "", r->dev);
	return kfail(nl, rc, what, err);
}

/* Replaced whole with a rename, so a reader never sees half a file. */
static int write_resolv(const struct net_plan *plan, const char *path, struct sbx_err *err)
{
	char tmp[256], text[NET_MAX_DNS * 64];
	size_t n = 0;
	_cleanup_close_ int fd = -1;

	for (unsigned i = 0; i < plan->n_dns; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "nameserver %s\n", plan->dns[i]);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.sbx-new", path) >= sizeof(tmp))
		return sbx_failx(err, ENAMETOOLONG, "resolv.conf path '%.64s' is too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return sbx_fail(err, errno, "write %s", tmp);
	if (write(fd, text, n) != (ssize_t)n || fchmod(fd, 0644) < 0 || close(TAKE_FD(fd)) < 0) {
		int e = errno ? errno : EIO;
		unlink(tmp);
		return sbx_fail(err, e, "write %s", tmp);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return sbx_fail(err, e, "rename %s to %s", tmp, path);
	}
	return 0;
}

int net_apply(const struct net_plan *plan, const char *resolv_path, struct sbx_err *err)
{
	struct gnl nl;
	struct found f;
	int rc;

	if (gnl_open(&nl, err) < 0)
		return -err->code;
	rc = find_links(&nl, plan, &f, err);
	for (unsigned i = 0; rc == 0 && i < plan->n_ifaces; i++)
		rc = apply_iface(&nl, plan, i, &f, err);
	if (rc == 0 && (rc = gnl_link_set_up(&nl, f.lo, true)) < 0)
		rc = kfail(&nl, rc, "bring up 'lo'", err);
	for (unsigned i = 0; rc == 0 && i < plan->n_routes; i++)
		rc = apply_route(&nl, &plan->routes[i], i, err);
	gnl_close(&nl);
	if (rc == 0 && plan->n_dns)
		rc = write_resolv(plan, resolv_path, err);
	return rc;
}

/* Two calls at once would interleave their renames and routes. */
static pthread_mutex_t network_lock = PTHREAD_MUTEX_INITIALIZER;

AGENT_HANDLER(agent_h_configure_network)
{
	(void)ctx, (void)call, (void)resp;
	const Sbx__Agent__V1__ConfigureNetworkRequest *in = (const void *)req;
	_cleanup_free_ struct net_plan *plan = calloc(1, sizeof(*plan));
	int rc;

	if (!plan)
		return sbx_fail(err, ENOMEM, "ConfigureNetwork");
	if (net_parse(in, plan, err) < 0)
		return -err->code;
	pthread_mutex_lock(&network_lock);
	rc = net_apply(plan, NET_RESOLV_CONF, err);
	pthread_mutex_unlock(&network_lock);
	return rc;
}
