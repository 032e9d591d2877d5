/* tc through rtnetlink: RTM_NEWQDISC "ingress" and RTM_NEWTFILTER "u32" with a mirred action. */
#include "net/tc.h"

#include "base/err.h"
#include "net/netlink.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <string.h>
#include <arpa/inet.h>

#define INGRESS_HANDLE TC_H_MAKE(TC_H_INGRESS, 0)

static struct tcmsg *tc_header(struct nlmsghdr *nlh, int ifindex, uint32_t parent, uint32_t handle)
{
	struct tcmsg *tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	tcm->tcm_handle = handle;
	return tcm;
}

static int add_ingress_qdisc(struct nl *nl, int ifindex)
{
	char buf[NL_BUF_SIZE];
	struct nlmsghdr *nlh = nl_request(nl, buf, RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL);
	tc_header(nlh, ifindex, TC_H_INGRESS, TC_H_MAKE(TC_H_INGRESS, 0));
	mnl_attr_put_strz(nlh, TCA_KIND, "ingress");
	int r = nl_talk(nl, nlh);
	return r == -EEXIST ? 0 : r;
}

static int add_redirect_filter(struct nl *nl, int from, int to)
{
	char buf[NL_BUF_SIZE];
	struct nlmsghdr *nlh = nl_request(nl, buf, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL);
	/* tcm_info = priority << 16 | protocol (ETH_P_ALL, network order). */
	struct tcmsg *tcm = tc_header(nlh, from, INGRESS_HANDLE, 0);
	tcm->tcm_info = TC_H_MAKE(1u << 16, htons(ETH_P_ALL));
	mnl_attr_put_strz(nlh, TCA_KIND, "u32");
	struct nlattr *opts = mnl_attr_nest_start(nlh, TCA_OPTIONS);

	/* One key with mask 0 matches every packet. */
	struct {
		struct tc_u32_sel sel;
		struct tc_u32_key key;
	} sel;
	memset(&sel, 0, sizeof(sel));
	sel.sel.flags = TC_U32_TERMINAL;
	sel.sel.nkeys = 1;
	mnl_attr_put(nlh, TCA_U32_SEL, sizeof(sel), &sel);

	struct nlattr *acts = mnl_attr_nest_start(nlh, TCA_U32_ACT);
	struct nlattr *act = mnl_attr_nest_start(nlh, 1);
	mnl_attr_put_strz(nlh, TCA_ACT_KIND, "mirred");
	struct nlattr *aopts = mnl_attr_nest_start(nlh, TCA_ACT_OPTIONS);
	struct tc_mirred parms;
	memset(&parms, 0, sizeof(parms));
	parms.action = TC_ACT_STOLEN;
	parms.eaction = TCA_EGRESS_REDIR;
	parms.ifindex = (uint32_t)to;
	mnl_attr_put(nlh, TCA_MIRRED_PARMS, sizeof(parms), &parms);
	mnl_attr_nest_end(nlh, aopts);
	mnl_attr_nest_end(nlh, act);
	mnl_attr_nest_end(nlh, acts);
	mnl_attr_nest_end(nlh, opts);
	return nl_talk(nl, nlh);
}

int tc_redirect(struct nl *nl, int from_ifindex, int to_ifindex, struct sbx_err *err)
{
	int r = add_ingress_qdisc(nl, from_ifindex);
	if (r < 0)
		return sbx_fail(err, -r, "add ingress qdisc on ifindex %d", from_ifindex);
	r = add_redirect_filter(nl, from_ifindex, to_ifindex);
	if (r < 0)
		return sbx_fail(err, -r, "redirect ifindex %d to %d", from_ifindex, to_ifindex);
	return 0;
}

int tc_redirect_remove(struct nl *nl, int ifindex, struct sbx_err *err)
{
	char buf[NL_BUF_SIZE];
	struct nlmsghdr *nlh = nl_request(nl, buf, RTM_DELQDISC, 0);
	tc_header(nlh, ifindex, TC_H_INGRESS, TC_H_MAKE(TC_H_INGRESS, 0));
	mnl_attr_put_strz(nlh, TCA_KIND, "ingress");
	int r = nl_talk(nl, nlh);
	if (r < 0 && r != -ENOENT && r != -EINVAL && r != -ENODEV)
		return sbx_fail(err, -r, "remove ingress qdisc on ifindex %d", ifindex);
	return 0;
}
