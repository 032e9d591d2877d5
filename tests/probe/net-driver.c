/* Test-only: ConfigureNetwork's parse and apply steps (guest-agent/rpc/network.c) run directly,
 * in whatever network namespace this process is in, with the request given as arguments:
 *   net-driver [-R RESOLV_PATH] [-i MAC,NAME,MTU[,CIDR...]]... [-r DST,GW,DEV]... [-d DNS]...
 * Empty fields stay empty ("-r ,10.0.0.1,"). Prints "error ERRNO: MESSAGE" and exits 1 on
 * failure. Used by tests/host/test_agent_network.sh. */
#define _GNU_SOURCE
#include "guest-agent/rpc/network.h"

#include "base/err.h"
#include "proto/agent.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ITEMS 128

static Sbx__Agent__V1__InterfaceConfig ifs[MAX_ITEMS];
static Sbx__Agent__V1__InterfaceConfig *ifp[MAX_ITEMS];
static char *addrs[MAX_ITEMS][MAX_ITEMS];
static Sbx__Agent__V1__Route routes[MAX_ITEMS];
static Sbx__Agent__V1__Route *routep[MAX_ITEMS];
static char *dns[MAX_ITEMS];

static char *next_field(char **s)
{
	char *f = strsep(s, ",");
	return f ? f : "";
}

static void usage(void)
{
	fprintf(stderr, "usage: net-driver [-R PATH] [-i MAC,NAME,MTU[,CIDR...]]... "
			"[-r DST,GW,DEV]... [-d DNS]...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	Sbx__Agent__V1__ConfigureNetworkRequest req =
	    SBX__AGENT__V1__CONFIGURE_NETWORK_REQUEST__INIT;
	const char *resolv = NET_RESOLV_CONF;
	struct sbx_err err = {0};
	struct net_plan *plan;
	int opt;

	req.interfaces = ifp;
	req.routes = routep;
	req.dns = dns;
	while ((opt = getopt(argc, argv, "R:i:r:d:")) != -1) {
		char *s = optarg;

		switch (opt) {
		case 'R':
			resolv = optarg;
			break;
		case 'i': {
			Sbx__Agent__V1__InterfaceConfig *c = &ifs[req.n_interfaces];

			if (req.n_interfaces >= MAX_ITEMS)
				usage();
			sbx__agent__v1__interface_config__init(c);
			c->mac = next_field(&s);
			c->name = next_field(&s);
			c->mtu = (uint32_t)strtoul(next_field(&s), NULL, 10);
			c->addresses = addrs[req.n_interfaces];
			while (s && c->n_addresses < MAX_ITEMS)
				c->addresses[c->n_addresses++] = next_field(&s);
			ifp[req.n_interfaces++] = c;
			break;
		}
		case 'r': {
			Sbx__Agent__V1__Route *r = &routes[req.n_routes];

			if (req.n_routes >= MAX_ITEMS)
				usage();
			sbx__agent__v1__route__init(r);
			r->destination = next_field(&s);
			r->gateway = next_field(&s);
			r->device = next_field(&s);
			routep[req.n_routes++] = r;
			break;
		}
		case 'd':
			if (req.n_dns >= MAX_ITEMS)
				usage();
			dns[req.n_dns++] = optarg;
			break;
		default:
			usage();
		}
	}
	plan = calloc(1, sizeof(*plan));
	if (!plan || net_parse(&req, plan, &err) < 0 || net_apply(plan, resolv, &err) < 0) {
		printf("error %d: %s\n", plan ? err.code : ENOMEM, err.msg);
		free(plan);
		return 1;
	}
	free(plan);
	return 0;
}
