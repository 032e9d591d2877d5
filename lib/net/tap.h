/* Tap devices for virtio-net: created in the calling thread's network namespace. */
#pragma once

#include <stdbool.h>

struct sbx_err;

/* Creates (or attaches to) tap `name` with IFF_VNET_HDR when vnet_hdr; returns the queue fd.
 * ret_ifindex gets its index. */
int tap_open(const char *name, bool vnet_hdr, int *ret_ifindex, struct sbx_err *err);

/* Brings an interface up and sets its MTU (0 keeps it). */
struct nl;
int link_set_up(struct nl *nl, int ifindex, unsigned mtu, struct sbx_err *err);
/* Deletes an interface by index; a missing one is not an error. */
int link_delete(struct nl *nl, int ifindex, struct sbx_err *err);
