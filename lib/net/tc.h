/* Kata's tcfilter model: everything arriving on one interface is redirected out of another, with
 * an ingress qdisc and a match-all u32 filter whose action is mirred egress redirect. Used both
 * ways between the CNI veth and the VM's tap. */
#pragma once

struct sbx_err;
struct nl;

/* Adds (idempotently) the ingress qdisc on from_ifindex and the redirect filter to to_ifindex. */
int tc_redirect(struct nl *nl, int from_ifindex, int to_ifindex, struct sbx_err *err);
/* Removes the ingress qdisc (and with it the filter); a missing qdisc is not an error. */
int tc_redirect_remove(struct nl *nl, int ifindex, struct sbx_err *err);
