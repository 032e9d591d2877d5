/* The Agent service's method table: which handler serves which ttrpc method. */
#include "guest-agent/agent.h"
#include "guest-agent/rpc/rpc.h"

#include "proto/agent.pb-c.h"

#define SERVICE "sbx.agent.v1.Agent"
#define M(name, req, resp, fn)                                                                     \
	{                                                                                          \
		SERVICE, name, &sbx__agent__v1__##req##__descriptor,                               \
		    &sbx__agent__v1__##resp##__descriptor, fn                                      \
	}

static const struct ttrpc_method methods[] = {
    M("Version", empty, version_response, agent_h_version),
    M("Health", empty, health_response, agent_h_health),
    M("CreateSandbox", create_sandbox_request, empty, agent_h_create_sandbox),
    M("DestroySandbox", destroy_sandbox_request, empty, agent_h_destroy_sandbox),
    M("CreateContainer", create_container_request, process_started, agent_h_create_container),
    M("StartContainer", container_request, empty, agent_h_start_container),
    M("RemoveContainer", container_request, empty, agent_h_remove_container),
    M("PauseContainer", container_request, empty, agent_h_pause_container),
    M("ResumeContainer", container_request, empty, agent_h_resume_container),
    M("UpdateContainer", update_container_request, empty, agent_h_update_container),
    M("StatsContainer", container_request, container_stats, agent_h_stats_container),
    M("ListProcesses", container_request, process_list, agent_h_list_processes),
    M("ExecProcess", exec_process_request, process_started, agent_h_exec_process),
    M("SignalProcess", signal_process_request, empty, agent_h_signal_process),
    M("WaitProcess", process_ref, wait_process_response, agent_h_wait_process),
    M("CloseStdin", process_ref, empty, agent_h_close_stdin),
    M("ResizeTty", resize_tty_request, empty, agent_h_resize_tty),
    M("GetOOMEvent", empty, oomevent, agent_h_get_oom_event),
    M("CopyFile", copy_file_request, empty, agent_h_copy_file),
    M("ConfigureNetwork", configure_network_request, empty, agent_h_configure_network),
};

const struct ttrpc_method *agent_methods(unsigned *n)
{
	*n = sizeof(methods) / sizeof(methods[0]);
	return methods;
}
