/* The control API (proto/vmm.proto) on a ttrpc unix socket: Ping, Pause, Resume, Shutdown,
 * InsertDisk, Stats, BootTimes. Handlers check every field before acting. */
#pragma once

#include <stdint.h>

struct boot_timer;
struct sbx_err;
struct vm;
struct virtio_blk;
struct virtio_mmio;

#define CTL_MAX_DISKS 16

struct vmm_ctl {
	struct vm *vm;
	struct virtio_blk *disks[CTL_MAX_DISKS];
	unsigned n_disks;
	struct virtio_mmio *devices[32];
	unsigned n_devices;
	uint64_t start_ns;             /* process start, CLOCK_MONOTONIC */
	struct boot_timer *boot_timer; /* NULL without --boot-timer */
	int listen_fd;
	char path[108];
};

/* Listens on path and serves on a background thread. */
int vmm_ctl_start(struct vmm_ctl *c, const char *path, struct sbx_err *err);
/* Stops accepting and removes the socket. */
void vmm_ctl_stop(struct vmm_ctl *c);
