/* The shim's model of its pod: one VM, the containers containerd created in it, and each
 * container's processes (its init and its execs). One mutex guards all of it and is never held
 * across a call into the VM or a boot, so State answers within containerd's 2 s deadline while
 * Create boots. Processes move CREATED -> RUNNING (<-> PAUSED) -> STOPPED; Wait sleeps on the
 * condition variable until STOPPED. */
#pragma once

#include "shim/config.h"
#include "shim/io.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct sandbox;
struct shim_net;
struct ttrpc_client;
struct shim_events;
struct sbx_err;

/* containerd.v1.types.Status */
enum shim_status {
	SHIM_CREATED = 1,
	SHIM_RUNNING = 2,
	SHIM_STOPPED = 3,
	SHIM_PAUSED = 4,
};

/* Shim ids and namespaces follow containerd's identifier rule and stay within 76 bytes. */
#define SHIM_ID_MAX 76

struct shim_container;

struct shim_process {
	struct shim_container *c;
	char exec_id[SHIM_ID_MAX + 1]; /* "" for the container's init */
	enum shim_status status;
	bool terminal;
	char *stdin_path, *stdout_path, *stderr_path;
	char *spec_json; /* an exec's OCI process object */
	bool starting;   /* Start is between the agent call and its event: exits wait */
	bool exited;
	uint32_t exit_status;
	uint64_t exited_at_ns; /* CLOCK_REALTIME */
	bool watching;         /* a WaitProcess thread owns the exit */
	int refs;              /* Wait calls reading it: Delete frees it only at 0 */
	struct shim_io io;
	struct shim_process *next;
};

struct shim_container {
	char id[SHIM_ID_MAX + 1];
	char *bundle;
	bool pod_sandbox;    /* the CRI pause container: the VM itself, nothing runs for it */
	bool rootfs_mounted; /* <bundle>/rootfs is ours to unmount */
	bool in_guest;       /* the agent has it (RemoveContainer on delete) */
	struct shim_process init;
	struct shim_process *execs;
	struct shim_container *next;
};

enum shim_vm_state { VM_NONE, VM_BOOTING, VM_UP, VM_GONE };

struct shim {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* from the command line and the options `start` read */
	char group[SHIM_ID_MAX + 1]; /* pod id: the VM is named after it */
	char state_dir[256];         /* <state_root>/<hash>: vm/ and shim.pid */
	char options_config[4096];   /* ConfigPath from the options `start` read */
	struct shim_config cfg;
	bool cfg_loaded;
	/* the VM */
	enum shim_vm_state vm;
	char vm_error[512];
	struct sandbox *sb;
	struct ttrpc_client *agent;
	pid_t vmm_pid;
	struct shim_net *net;        /* the pod network the next boot mirrors; NULL: none */
	unsigned next_slot, n_slots; /* spare virtio-blk slots for container rootfs images */
	pthread_t vm_thread;
	bool vm_thread_started, vm_stop;
	/* containers, newest first */
	struct shim_container *containers;
	struct shim_events *events;
	bool exiting; /* Shutdown said so: main() leaves once the reply is out */
};

extern struct shim the_shim;

/* Lookups under the lock; NULL when unknown. exec_id NULL or "" means the init. */
struct shim_container *shim_find_container(struct shim *s, const char *id);
struct shim_process *shim_find_process(struct shim *s, const char *id, const char *exec_id);

/* The pod sandbox's config.json names the pod's network namespace: what CNI made in it is read
 * now (a namespace that is missing or holds what the VM cannot mirror fails here, naming it)
 * and mirrored into the VM the next shim_vm_ensure boots. No namespace path: no network. */
int shim_vm_network(struct shim *s, const char *spec_json, struct sbx_err *err);
/* Boots the pod's VM unless it runs already; waits for a boot another call started. */
int shim_vm_ensure(struct shim *s, unsigned mem_mib, struct sbx_err *err);
/* Stops the VM (DestroySandbox, VMM reaped, state removed). Safe to call more than once. */
void shim_vm_stop(struct shim *s);
/* The agent client of a running VM, or -ENOTCONN with a message. Not under the lock. */
int shim_agent(struct shim *s, struct ttrpc_client **ret, struct sbx_err *err);
/* After a call to the guest timed out (code ETIMEDOUT) or lost its connection (ECONNRESET):
 * logs what the VMM's threads are doing and the last lines of the VMM's log and the console,
 * so a hung guest can be told from a hung VMM, and a reset from the guest from one of ours.
 * Other codes are the guest's own answers and log nothing. */
void shim_vm_log_lost_call(struct shim *s, const char *verb, const char *id,
			   const struct sbx_err *err);
/* The pid containerd sees for every task: the VMM's (kata does the same), else the shim's. */
uint32_t shim_task_pid(struct shim *s);

/* Marks p exited with status (under the lock): queues its exit event, then wakes Waits. */
void shim_process_exited_locked(struct shim *s, struct shim_process *p, uint32_t status);
/* Starts the thread that waits for p's exit in the guest (WaitProcess). */
int shim_watch_process(struct shim *s, struct shim_process *p, struct sbx_err *err);
/* SignalProcess in the guest; a process that is already gone is not an error. */
int shim_signal(struct shim *s, const char *id, const char *exec_id, uint32_t sig, bool all,
		struct sbx_err *err);
/* Frees a process's strings and IO (it must be unlinked and stopped). */
void shim_process_free(struct shim_process *p);
