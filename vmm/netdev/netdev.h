/* One --net option: what the user asked for (parsed before anything is opened), and the
 * backend (a tap, possibly in another network namespace, or slirp) with its virtio-net model. */
#pragma once

#include "vmm/netdev/slirp.h"

#include <stdbool.h>
#include <stdint.h>

struct event_loop;
struct sbx_err;
struct virtio_mmio;
struct virtio_net;

enum netdev_kind { NETDEV_NONE, NETDEV_USER, NETDEV_TAP };

struct netdev_opt {
	enum netdev_kind kind;
	bool has_mac;
	uint8_t mac[6];
	char tap[16];    /* IFNAMSIZ */
	char netns[256]; /* empty: the VMM's own network namespace */
	struct slirp_forward fwds[SLIRP_MAX_FORWARDS];
	unsigned n_fwds;
};

/* "none", "user[,mac=M][,fwd=[ADDR:]HOSTPORT:GUESTPORT[/udp]]..." or
 * "tap=NAME[,mac=M][,netns=PATH]". */
int netdev_parse(const char *spec, struct netdev_opt *ret, struct sbx_err *err);

struct netdev;
/* Opens the tap (creating it if missing; one the VMM created disappears with its fd) or
 * prepares slirp, and the device model. `index` goes into the default MAC (02:xx:xx:xx:xx:idx,
 * random otherwise). */
int netdev_open(const struct netdev_opt *o, unsigned index, struct event_loop *loop,
		struct netdev **ret, struct sbx_err *err);
struct virtio_net *netdev_device(struct netdev *d);
/* Binds the transport and starts the backend: slirp's thread and its published ports (a port in
 * use fails here, naming it). */
int netdev_start(struct netdev *d, struct virtio_mmio *t, struct sbx_err *err);
/* Stops the backend first, so nothing reaches guest memory after. NULL is fine. */
void netdev_free(struct netdev *d);
