/* One sandbox = one sbx-vmm process and its state directory. Starts the VMM, waits for the
 * agent's ready connection (no polling of the guest), connects to guest vsock ports through the
 * VMM's unix socket, and cleans up sockets and files on every exit path, a killed VMM included. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct sbx_err;

struct sandbox_disk {
	const char *path;
	bool read_only;
	const char *serial;
};

struct sandbox_config {
	const char *vmm; /* sbx-vmm binary */
	const char *kernel;
	const char *initrd;
	const char *state_dir; /* created 0700; removed by sandbox_free unless keep_state */
	const char *cmdline;   /* appended to the VMM's own */
	unsigned cpus;
	unsigned mem_mib;
	const struct sandbox_disk *disks;
	unsigned n_disks;
	unsigned spare_disks;
	const char *const *extra_args; /* more VMM flags, NULL-terminated; may be NULL */
	int boot_timeout_ms;           /* 0: 60 s */
	bool keep_state;
};

struct sandbox {
	char dir[256];
	char vsock[300];   /* VMM's vsock unix socket */
	char api[300];     /* VMM's control socket */
	char console[300]; /* guest serial output */
	char vmm_log[300];
	pid_t vmm_pid;
	int pidfd;
	bool exited;
	int exit_status; /* the VMM's exit code, 128+signal if killed */
	bool keep_state;
	uint64_t spawn_ns, ready_ns; /* CLOCK_MONOTONIC */
	char agent_version[64];
};

/* The VMM is killed when the thread that called sandbox_start exits (PR_SET_PDEATHSIG). */
int sandbox_start(const struct sandbox_config *cfg, struct sandbox **ret, struct sbx_err *err);

/* A handle on a sandbox another process started and owns (sbx exec into a detached sandbox):
 * connect works; wait, kill and free neither touch the VMM nor remove the state directory. */
int sandbox_attach(const char *state_dir, struct sandbox **ret, struct sbx_err *err);

/* A byte stream to guest vsock `port` (CONNECT/OK handshake done). Returns the fd. */
int sandbox_connect(struct sandbox *sb, uint32_t port, int timeout_ms, struct sbx_err *err);

/* Waits up to timeout_ms (-1: forever) for the VMM to exit; 0 when it has, -ETIMEDOUT if not. */
int sandbox_wait(struct sandbox *sb, int timeout_ms);

/* SIGKILL to the VMM (no-op after exit). */
void sandbox_kill(struct sandbox *sb);

/* Kills the VMM if still running, reaps it, removes the state directory. NULL is fine. */
void sandbox_free(struct sandbox *sb);

/* The last `max` bytes of the guest console, NUL-terminated, for error messages. */
void sandbox_console_tail(const struct sandbox *sb, char *buf, size_t max);
/* The last line of the VMM's own log (its errors, a triple fault's registers). */
void sandbox_vmm_log_tail(const struct sandbox *sb, char *buf, size_t max);
/* After a call to the guest was lost: waits up to grace_ms for the VMM to exit, then says in
 * one line what became of the VM ("the VMM exited with status 4: <its last line>", or "the VMM
 * still runs: <threads>; vmm log: ...; console: ..."). */
void sandbox_describe_vm(struct sandbox *sb, int grace_ms, char *buf, size_t max);
/* threads.c: one line naming each VMM thread with its state and kernel wait channel
 * ("vcpu0:S/kvm_vcpu_block ..."); empty once the VMM has exited. */
void sandbox_vmm_threads(const struct sandbox *sb, char *buf, size_t max);
