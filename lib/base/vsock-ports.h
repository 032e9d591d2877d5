/* The vsock ports host and guest agree on. The host reaches guest ports through the VMM's
 * unix socket (`CONNECT <port>`); a guest connection to host port P arrives on `<uds>_<P>`. */
#pragma once

#define SBX_VSOCK_GUEST_CID 3
#define SBX_PORT_AGENT_RPC 1024   /* guest: ttrpc agent API */
#define SBX_PORT_AGENT_STDIO 1025 /* guest: one connection per process stream */
#define SBX_PORT_READY 1026       /* host: the agent connects here and writes "READY <version>\n" */
