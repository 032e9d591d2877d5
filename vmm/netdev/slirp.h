/* The user-mode network backend: libslirp on its own thread. NAT for outbound TCP/UDP, DNS
 * forwarding, DHCP, and host-port forwards, with no root networking setup. Guest network
 * 10.0.2.0/24: the guest is 10.0.2.15, the host (gateway) 10.0.2.2, DNS 10.0.2.3. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct sbx_err;
struct slirp_backend;

#define SLIRP_MAX_FORWARDS 16

struct slirp_forward {
	int udp;
	uint32_t host_addr; /* network order; INADDR_LOOPBACK by default */
	uint16_t host_port;
	uint16_t guest_port;
};

/* Frames for the guest arrive here, on the slirp thread. */
typedef void (*slirp_rx_cb)(void *opaque, const uint8_t *frame, size_t len);

int slirp_backend_new(const struct slirp_forward *fwds, unsigned n_fwds, slirp_rx_cb rx,
		      void *opaque, struct slirp_backend **ret, struct sbx_err *err);
/* Queues one frame from the guest; safe from any thread. -ENOBUFS when the queue is full (the
 * frame is dropped, as a NIC would). */
int slirp_backend_send(struct slirp_backend *b, const uint8_t *frame, size_t len);
void slirp_backend_free(struct slirp_backend *b);

/* Parses "HOSTPORT:GUESTPORT[/udp]" or "ADDR:HOSTPORT:GUESTPORT[/udp]". */
int slirp_parse_forward(const char *spec, struct slirp_forward *ret, struct sbx_err *err);
