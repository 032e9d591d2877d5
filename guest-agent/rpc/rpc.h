/* The Agent API handlers, one file per group: sandbox.c, container.c, process.c, oom.c,
 * files.c, network.c. The method table (methods.c) maps each ttrpc method to its handler. */
#pragma once

#include "ttrpc/server.h"

#define AGENT_HANDLER(name)                                                                        \
	int name(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,                  \
		 ProtobufCMessage *resp, struct sbx_err *err)

AGENT_HANDLER(agent_h_version);
AGENT_HANDLER(agent_h_health);
AGENT_HANDLER(agent_h_create_sandbox);
AGENT_HANDLER(agent_h_destroy_sandbox);
AGENT_HANDLER(agent_h_create_container);
AGENT_HANDLER(agent_h_start_container);
AGENT_HANDLER(agent_h_remove_container);
AGENT_HANDLER(agent_h_pause_container);
AGENT_HANDLER(agent_h_resume_container);
AGENT_HANDLER(agent_h_update_container);
AGENT_HANDLER(agent_h_stats_container);
AGENT_HANDLER(agent_h_list_processes);
AGENT_HANDLER(agent_h_exec_process);
AGENT_HANDLER(agent_h_signal_process);
AGENT_HANDLER(agent_h_wait_process);
AGENT_HANDLER(agent_h_close_stdin);
AGENT_HANDLER(agent_h_resize_tty);
AGENT_HANDLER(agent_h_get_oom_event);
AGENT_HANDLER(agent_h_copy_file);
AGENT_HANDLER(agent_h_configure_network);
