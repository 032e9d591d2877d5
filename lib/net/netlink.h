/* rtnetlink over libmnl: one request, one ack (or a dump with a callback). Used by the tap, tc
 * and interface-inspection code; nothing here shells out to ip or tc. */
#pragma once

#include <libmnl/libmnl.h>
#include <stdint.h>

struct sbx_err;

/* libmnl's MNL_SOCKET_BUFFER_SIZE depends on the page size at run time; a constant avoids VLAs. */
#define NL_BUF_SIZE 8192

struct nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
};

/* Opens a NETLINK_ROUTE socket in the calling thread's network namespace. */
int nl_open(struct nl *nl, struct sbx_err *err);
void nl_close(struct nl *nl);

/* Starts a request in buf (NL_BUF_SIZE bytes) with NLM_F_REQUEST|NLM_F_ACK|flags. */
struct nlmsghdr *nl_request(struct nl *nl, void *buf, uint16_t type, uint16_t flags);
/* Sends and waits for the ack; -errno from the kernel's answer. */
int nl_talk(struct nl *nl, struct nlmsghdr *nlh);
/* Sends a dump request and calls cb for each message. */
int nl_dump(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);
