/* PID 1 duties of sbx-agent: the guest's base mounts, hostname, orphan reaping, telling the host
 * it is ready, and powering the VM off. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

struct sbx_err;

/* Mounts /proc, /sys, /dev (devtmpfs), /dev/pts, /dev/shm, /sys/fs/cgroup (cgroup2, with every
 * available controller enabled for children), /run, /tmp; sets the hostname. */
int agent_init_mounts(const char *hostname, struct sbx_err *err);

/* A listening vsock socket on port for any CID (the RPC and stream ports). */
int agent_listen_vsock(uint32_t port, struct sbx_err *err);

/* Connects to the host's ready port over vsock and writes "READY <version>\n". */
int agent_notify_ready(const char *version, struct sbx_err *err);

/* Reaps every exited child without blocking; calls on_exit(pid, status) for each. status is the
 * exit code, or 128+signal. Returns how many were reaped. */
int agent_reap(void (*on_exit)(void *opaque, pid_t pid, int status), void *opaque);

/* Kills every process, syncs, unmounts what it can, and resets the VM (the VMM treats the reset
 * of a guest that did not panic as a clean power-off). Never returns. */
_Noreturn void agent_power_off(const char *reason);
