/* --net: parse the spec, open its backend and make the virtio-net model that uses it. A tap in
 * another network namespace is opened by a short-lived thread that joins the namespace, so the
 * VMM's own threads never leave theirs; the tap fd keeps working from any namespace. */
#define _GNU_SOURCE
#include "vmm/netdev/netdev.h"

#include "base/err.h"
#include "net/tap.h"
#include "vmm/virtio/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

struct netdev {
	struct virtio_net *net;
	struct slirp_backend *slirp;
	bool user;
	struct slirp_forward fwds[SLIRP_MAX_FORWARDS];
	unsigned n_fwds;
};

static int parse_mac(const char *s, uint8_t mac[6], struct sbx_err *err)
{
	unsigned v[6];
	int end = 0;
	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 ||
	    end != 17)
		return sbx_failx(err, EINVAL, "--net mac '%s' (use XX:XX:XX:XX:XX:XX)", s);
	for (int i = 0; i < 6; i++) {
		/* sscanf's %x admits a sign or a space; a MAC has two hex digits per byte */
		if (!strchr("0123456789abcdefABCDEF", s[3 * i]) || !s[3 * i] ||
		    !strchr("0123456789abcdefABCDEF", s[3 * i + 1]) || !s[3 * i + 1])
			return sbx_failx(err, EINVAL, "--net mac '%s' (use XX:XX:XX:XX:XX:XX)", s);
		mac[i] = (uint8_t)v[i];
	}
	if (mac[0] & 1)
		return sbx_failx(err, EINVAL, "--net mac '%s' is a multicast address", s);
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return sbx_failx(err, EINVAL, "--net mac '%s' is all zeros", s);
	return 0;
}

static int parse_option(char *tok, struct netdev_opt *o, struct sbx_err *err)
{
	if (strncmp(tok, "mac=", 4) == 0) {
		o->has_mac = true;
		return parse_mac(tok + 4, o->mac, err);
	}
	if (o->kind == NETDEV_USER && strncmp(tok, "fwd=", 4) == 0) {
		if (o->n_fwds == SLIRP_MAX_FORWARDS)
			return sbx_failx(err, E2BIG, "--net: at most %d fwd= per device",
					 SLIRP_MAX_FORWARDS);
		int r = slirp_parse_forward(tok + 4, &o->fwds[o->n_fwds], err);
		if (r < 0)
			return sbx_wrap(err, "--net fwd");
		o->n_fwds++;
		return 0;
	}
	if (o->kind == NETDEV_TAP && strncmp(tok, "netns=", 6) == 0) {
		const char *p = tok + 6;
		if (!*p || snprintf(o->netns, sizeof(o->netns), "%s", p) >= (int)sizeof(o->netns))
			return sbx_failx(err, EINVAL, "--net netns= needs a path under %zu bytes",
					 sizeof(o->netns));
		return 0;
	}
	return sbx_failx(err, EINVAL,
			 "--net option '%s' (user takes mac= and fwd=, tap=NAME mac= and netns=)",
			 tok);
}

int netdev_parse(const char *spec, struct netdev_opt *ret, struct sbx_err *err)
{
	struct netdev_opt o = {0};
	char buf[1024];
	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
		return sbx_failx(err, ENAMETOOLONG, "--net '%.64s...' is too long", spec);
	if (strcmp(buf, "none") == 0) {
		*ret = o;
		return 0;
	}
	char *save = NULL, *tok = strtok_r(buf, ",", &save);
	if (tok && strcmp(tok, "user") == 0) {
		o.kind = NETDEV_USER;
	} else if (tok && strncmp(tok, "tap=", 4) == 0) {
		const char *name = tok + 4;
		if (!*name || strlen(name) >= sizeof(o.tap) || strpbrk(name, "/ \t\n:") ||
		    !strcmp(name, ".") || !strcmp(name, ".."))
			return sbx_failx(err, EINVAL,
					 "--net tap name '%s' (1-15 bytes, no '/', ':' or spaces)",
					 name);
		o.kind = NETDEV_TAP;
		snprintf(o.tap, sizeof(o.tap), "%s", name);
	} else {
		return sbx_failx(err, EINVAL, "--net '%s' (use user[,...], tap=NAME[,...] or none)",
				 spec);
	}
	while ((tok = strtok_r(NULL, ",", &save))) {
		int r = parse_option(tok, &o, err);
		if (r < 0)
			return r;
	}
	*ret = o;
	return 0;
}

struct tap_job {
	const char *name, *netns;
	int fd;
	struct sbx_err err;
};

static void *open_tap_in_netns(void *arg)
{
	struct tap_job *j = arg;
	int ns = open(j->netns, O_RDONLY | O_CLOEXEC);
	if (ns < 0) {
		j->fd = sbx_fail(&j->err, errno, "--net netns '%s'", j->netns);
		return NULL;
	}
	/* a thread may join another network namespace alone; this one ends right after */
	if (setns(ns, CLONE_NEWNET) < 0) {
		j->fd = sbx_fail(&j->err, errno, "--net netns '%s': join", j->netns);
		close(ns);
		return NULL;
	}
	close(ns);
	int ifindex;
	j->fd = tap_open(j->name, true, &ifindex, &j->err);
	return NULL;
}

static int open_tap(const struct netdev_opt *o, struct sbx_err *err)
{
	struct tap_job j = {.name = o->tap, .netns = o->netns, .fd = -EIO};
	if (!o->netns[0]) {
		int ifindex;
		j.fd = tap_open(o->tap, true, &ifindex, &j.err);
	} else {
		pthread_t th;
		if (pthread_create(&th, NULL, open_tap_in_netns, &j) != 0)
			return sbx_failx(err, EAGAIN, "--net: cannot start the netns thread");
		pthread_join(th, NULL);
	}
	if (j.fd < 0) {
		*err = j.err;
		return sbx_wrap(err, "--net tap=%s", o->tap);
	}
	return j.fd;
}

static int send_to_slirp(void *opaque, const uint8_t *frame, size_t len)
{
	struct netdev *d = opaque;
	return d->slirp ? slirp_backend_send(d->slirp, frame, len) : -ENOTCONN;
}

static void slirp_to_guest(void *opaque, const uint8_t *frame, size_t len)
{
	struct netdev *d = opaque;
	virtio_net_receive(d->net, frame, len);
}

int netdev_open(const struct netdev_opt *o, unsigned index, struct event_loop *loop,
		struct netdev **ret, struct sbx_err *err)
{
	struct netdev *d = calloc(1, sizeof(*d));
	if (!d)
		return sbx_fail(err, ENOMEM, "--net");
	uint8_t mac[6] = {0x02, 0, 0, 0, 0, (uint8_t)index}; /* locally administered, unicast */
	if (o->has_mac)
		memcpy(mac, o->mac, 6);
	else if (getrandom(mac + 1, 4, 0) != 4)
		mac[1] = (uint8_t)getpid(), mac[2] = (uint8_t)(getpid() >> 8);
	struct virtio_net_backend be = {.fd = -1, .loop = loop};
	if (o->kind == NETDEV_TAP) {
		int fd = open_tap(o, err);
		if (fd < 0) {
			free(d);
			return fd;
		}
		be.fd = fd;
		be.vnet_hdr = true;
	} else {
		d->user = true;
		be.send = send_to_slirp;
		be.opaque = d;
		memcpy(d->fwds, o->fwds, sizeof(d->fwds));
		d->n_fwds = o->n_fwds;
	}
	int r = virtio_net_new(mac, &be, &d->net, err);
	if (r < 0) {
		free(d);
		return r;
	}
	*ret = d;
	return 0;
}

struct virtio_net *netdev_device(struct netdev *d)
{
	return d->net;
}

int netdev_start(struct netdev *d, struct virtio_mmio *t, struct sbx_err *err)
{
	virtio_net_set_transport(d->net, t);
	if (!d->user || d->slirp)
		return 0;
	return slirp_backend_new(d->fwds, d->n_fwds, slirp_to_guest, d, &d->slirp, err);
}

void netdev_free(struct netdev *d)
{
	if (!d)
		return;
	slirp_backend_free(d->slirp);
	virtio_net_free(d->net);
	free(d);
}
