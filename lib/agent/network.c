/* ConfigureNetwork's request built from plain C structs, for `sbx run --network` and the shim.
 * The agent checks every field; this side only lays them out and formats the MACs. */
#define _GNU_SOURCE
#include "agent/client.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "proto/agent.pb-c.h"

#include <stdio.h>
#include <stdlib.h>

/* netlink calls in the guest: quick, but the emulated KVM host is 10-50x slower */
#define NETWORK_TIMEOUT_MS 30000

static char *str(const char *s)
{
	return (char *)(s ? s : "");
}

int agent_configure_network(struct ttrpc_client *cl, const struct agent_net_config *cfg,
			    struct sbx_err *err)
{
	Sbx__Agent__V1__ConfigureNetworkRequest req =
	    SBX__AGENT__V1__CONFIGURE_NETWORK_REQUEST__INIT;
	size_t ni = cfg->n_ifaces, nr = cfg->n_routes;
	/* calloc(0) may be NULL: one spare element keeps NULL meaning out of memory */
	_cleanup_free_ Sbx__Agent__V1__InterfaceConfig *ifs = calloc(ni + 1, sizeof(*ifs));
	_cleanup_free_ Sbx__Agent__V1__InterfaceConfig **ifp = calloc(ni + 1, sizeof(*ifp));
	_cleanup_free_ Sbx__Agent__V1__Route *routes = calloc(nr + 1, sizeof(*routes));
	_cleanup_free_ Sbx__Agent__V1__Route **routep = calloc(nr + 1, sizeof(*routep));
	_cleanup_free_ char(*macs)[18] = calloc(ni + 1, sizeof(*macs));
	int r;

	if (!ifs || !ifp || !routes || !routep || !macs)
		return sbx_fail(err, ENOMEM, "ConfigureNetwork");
	for (size_t i = 0; i < ni; i++) {
		const struct agent_net_iface *c = &cfg->ifaces[i];
		const uint8_t *m = c->mac;

		sbx__agent__v1__interface_config__init(&ifs[i]);
		snprintf(macs[i], sizeof(macs[i]), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
			 m[2], m[3], m[4], m[5]);
		ifs[i].name = str(c->name);
		ifs[i].mac = macs[i];
		ifs[i].mtu = c->mtu;
		ifs[i].addresses = (char **)c->addresses;
		ifs[i].n_addresses = c->n_addresses;
		ifp[i] = &ifs[i];
	}
	for (size_t i = 0; i < nr; i++) {
		sbx__agent__v1__route__init(&routes[i]);
		routes[i].destination = str(cfg->routes[i].destination);
		routes[i].gateway = str(cfg->routes[i].gateway);
		routes[i].device = str(cfg->routes[i].device);
		routep[i] = &routes[i];
	}
	req.n_interfaces = ni;
	req.interfaces = ifp;
	req.n_routes = nr;
	req.routes = routep;
	req.n_dns = cfg->n_dns;
	req.dns = (char **)cfg->dns;
	r = agent_call(cl, "ConfigureNetwork", &req.base, NULL, NULL, NETWORK_TIMEOUT_MS, err);
	if (r < 0)
		return sbx_wrap(err, "configure the guest's network");
	return 0;
}
