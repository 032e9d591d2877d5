/* `sbx run`'s network: --network user|none|tap:NAME, -p/--publish, --dns, --ip, --gateway.
 * user (the default): libslirp in the VMM, NAT out, published ports on the host, the guest at
 * 10.0.2.15/24 behind 10.0.2.2 with DNS at 10.0.2.3. tap:NAME: the VM on an existing or new tap
 * device the user wires up; --ip/--gateway address the guest. none: no device at all. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct sbx_err;
struct ttrpc_client;

#define RUN_NET_MAX_PUBLISH 16
#define RUN_NET_MAX_DNS 8

enum run_net_mode { RUN_NET_USER, RUN_NET_NONE, RUN_NET_TAP };

struct run_net {
	enum run_net_mode mode;
	const char *tap; /* tap:NAME */
	const char *publish[RUN_NET_MAX_PUBLISH];
	unsigned n_publish;
	const char *dns[RUN_NET_MAX_DNS];
	unsigned n_dns;
	const char *ip, *gateway; /* tap mode: CIDR, address */
};

/* Each takes one flag's argument; the message names what is wrong with it. */
int run_net_set_mode(struct run_net *n, const char *arg, struct sbx_err *err);
int run_net_add_publish(struct run_net *n, const char *arg, struct sbx_err *err);
int run_net_add_dns(struct run_net *n, const char *arg, struct sbx_err *err);
int run_net_set_ip(struct run_net *n, const char *arg, struct sbx_err *err);
int run_net_set_gateway(struct run_net *n, const char *arg, struct sbx_err *err);
/* The flags together: -p only with user, --ip/--gateway only with tap. */
int run_net_check(const struct run_net *n, struct sbx_err *err);

/* "user", "none" or "tap:NAME", for the record. */
const char *run_net_mode_name(const struct run_net *n, char *buf, size_t len);
/* Whether the guest gets a resolv.conf the container should see as its own. */
bool run_net_has_dns(const struct run_net *n);

/* The locally administered MAC of a sandbox, from its id (hex). */
void run_net_mac(const char *id, char *buf, size_t len);
/* The VMM's --net argument; false for --network none (no device). */
bool run_net_vmm_spec(const struct run_net *n, const char *mac, char *buf, size_t len);
/* Tells the agent how to set up eth0, the routes and resolv.conf. */
int run_net_configure(const struct run_net *n, const char *mac, struct ttrpc_client *cl,
		      struct sbx_err *err);
