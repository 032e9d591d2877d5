/* rtnetlink for the agent, without libmnl (Debian ships no static libmnl and the agent is
 * static): one NETLINK_ROUTE socket, requests built in a fixed buffer, acks read back with the
 * kernel's extended-ack text, and the few link, address and route operations ConfigureNetwork
 * needs. Every function returns 0 or -errno; the kernel's own words go to nl->ext_msg. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct sbx_err;

#define GNL_NAME_MAX 16 /* IFNAMSIZ, with the NUL */

struct gnl {
	int fd;
	uint32_t seq;
	uint8_t *rbuf;     /* GNL_RBUF_SIZE bytes for answers */
	char ext_msg[160]; /* the last error's extended-ack message, "" if the kernel gave none */
};

/* An address or prefix: family AF_INET (4 bytes used) or AF_INET6 (16). */
struct gnl_addr {
	uint8_t family;
	uint8_t prefix;
	uint8_t bytes[16];
};

/* A link as a dump shows it. */
struct gnl_link {
	int index;
	char name[GNL_NAME_MAX];
	uint8_t mac[6];
	bool has_mac; /* an Ethernet-sized IFLA_ADDRESS */
};

/* Opens a NETLINK_ROUTE socket in the calling thread's network namespace. */
int gnl_open(struct gnl *nl, struct sbx_err *err);
/* Closes and frees; fine after a failed gnl_open or a gnl_close. */
void gnl_close(struct gnl *nl);

/* Calls cb for every link until it returns non-zero (which is returned) or the dump ends. */
int gnl_links(struct gnl *nl, int (*cb)(const struct gnl_link *l, void *data), void *data);

/* IFF_UP on or off. */
int gnl_link_set_up(struct gnl *nl, int index, bool up);
int gnl_link_rename(struct gnl *nl, int index, const char *name);
int gnl_link_set_mtu(struct gnl *nl, int index, uint32_t mtu);
/* Adds a in its prefix to the link; one already there is -EEXIST. */
int gnl_addr_add(struct gnl *nl, int index, const struct gnl_addr *a);
/* Adds a route to dst (prefix 0: the default route) in the main table, via gw if gw is not
 * NULL, out of link index if index > 0 (no gateway: on-link, scope link). -EEXIST if one with
 * the same destination is there. */
int gnl_route_add(struct gnl *nl, const struct gnl_addr *dst, const struct gnl_addr *gw, int index);
