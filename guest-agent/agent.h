/* The agent's state shared by PID 1's main loop and the RPC handlers. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct ttrpc_server;

#define AGENT_VERSION "0.1.0"

struct agent {
	pthread_mutex_t lock;
	struct ttrpc_server *rpc;
	int wake_fd;          /* eventfd: the main loop has something to do */
	bool destroy_pending; /* DestroySandbox answered: power off once the reply is out */
	uint64_t boot_ns;     /* CLOCK_BOOTTIME when the agent started */
	unsigned containers;
};

/* The method table of the Agent service (rpc/). */
const struct ttrpc_method *agent_methods(unsigned *n);

/* Asks the main loop to power off after the current replies are sent. */
void agent_request_power_off(struct agent *a);
