/* The host side of the Agent API (proto/agent.proto): a ttrpc client over the sandbox's vsock
 * port 1024, used by sbx and the shim. */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

struct sandbox;
struct sbx_err;
struct ttrpc_client;

#define AGENT_SERVICE "sbx.agent.v1.Agent"

/* Connects to the agent of a started sandbox (its READY already seen). */
int agent_client_connect(struct sandbox *sb, struct ttrpc_client **ret, struct sbx_err *err);

/* Calls Agent/method; see ttrpc_client_call. resp_desc NULL means the method answers Empty, and
 * ret_resp NULL that the caller does not want the answer (it is freed here). After
 * DestroySandbox answers, free the client: the agent powers the VM off as soon as the host has
 * closed its connection (else after 1 s). */
int agent_call(struct ttrpc_client *c, const char *method, const ProtobufCMessage *req,
	       const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **ret_resp,
	       int timeout_ms, struct sbx_err *err);

/* Opens the stream kind (STREAM_HELLO__KIND: stdin, stdout, stderr, rootfs) of a container's
 * process (exec_id NULL or "": its init) on port 1025. Returns the connected fd. */
int agent_stream_open(struct sandbox *sb, const char *container_id, const char *exec_id, int kind,
		      struct sbx_err *err);

/* Copies host_path into the guest's shared directory (SBX_GUEST_SHARED_DIR in
 * lib/base/guest-shared.h) at guest_rel with CopyFile: a regular file in SBX_COPY_MAX_DATA
 * chunks, or a directory tree with its files, directories and symlinks, each with its mode, uid
 * and gid. host_path itself is followed if it is a symlink (as a bind mount's source is);
 * symlinks inside a tree are copied as symlinks. Sockets, FIFOs and devices inside a tree are
 * skipped; host_path being one is -EOPNOTSUPP. Stops at the first failure, whose message names
 * the entry. */
int agent_copy_path(struct ttrpc_client *cl, const char *host_path, const char *guest_rel,
		    struct sbx_err *err);

/* --rootfs-transfer stream: the tar at tar_path goes down container_id's ROOTFS stream on a
 * thread of its own while the caller's CreateContainer waits for it in the guest. finish joins
 * it and returns the send's result (err filled on failure). */
struct agent_rootfs_sender;
int agent_rootfs_send_start(struct sandbox *sb, const char *container_id, const char *tar_path,
			    struct agent_rootfs_sender **ret, struct sbx_err *err);
int agent_rootfs_send_finish(struct agent_rootfs_sender *s, struct sbx_err *err);

/* One guest interface for agent_configure_network. */
struct agent_net_iface {
	const char *name;             /* the name to give it in the guest, e.g. "eth0" */
	uint8_t mac[6];               /* selects the guest device (the VMM's virtio-net MAC) */
	uint32_t mtu;                 /* 0: leave it */
	const char *const *addresses; /* CIDR, v4 or v6, none NULL: "10.0.2.15/24", "fd00::15/64" */
	size_t n_addresses;
};

/* A route; NULL and "" are the same. */
struct agent_net_route {
	const char *destination; /* CIDR; NULL, "" or "default": the default route */
	const char *gateway;     /* NULL: on-link (then device is needed) */
	const char *device;      /* a guest name after renaming; NULL: found from the gateway */
};

struct agent_net_config {
	const struct agent_net_iface *ifaces;
	size_t n_ifaces;
	const struct agent_net_route *routes;
	size_t n_routes;
	/* IPv4/IPv6 server addresses (none NULL) for the guest's /etc/resolv.conf; with none
	 * the file is left alone */
	const char *const *dns;
	size_t n_dns;
};

/* ConfigureNetwork: each interface is found by MAC, renamed, given its MTU and addresses and
 * brought up, lo is brought up, the routes are added and the dns servers written. The agent
 * checks everything first (InvalidArgument naming the field, e.g. "interfaces[0].mac ...") and
 * finds every MAC before changing anything (an unknown one is -ENOENT naming it). Repeating a
 * call is fine: addresses and routes already there count as added. */
int agent_configure_network(struct ttrpc_client *cl, const struct agent_net_config *cfg,
			    struct sbx_err *err);
