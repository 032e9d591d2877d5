/* --boot-timer: one MMIO byte register the guest writes a milestone number to (the agent: 1 when
 * PID 1 starts, 2 when it has told the host it is ready). The VMM stamps each first write with
 * the time since its own start, prints it on stderr and serves it through BootTimes, so boot
 * time can be split into VMM setup, kernel boot and init without parsing the console. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* above the virtio-mmio slots, outside RAM and the e820 map */
#define BOOT_TIMER_ADDR 0xd1000000ull
#define BOOT_TIMER_MAX_MILESTONES 16

struct boot_milestone {
	uint8_t id;
	uint64_t ns_since_start;
};

struct boot_timer {
	uint64_t start_ns; /* CLOCK_MONOTONIC of the VMM's start */
	struct boot_milestone seen[BOOT_TIMER_MAX_MILESTONES];
	unsigned n_seen;
	bool log; /* print each milestone on stderr */
};

int boot_timer_init(struct boot_timer *bt, struct vm *vm, uint64_t start_ns);
/* The guest's write: records the first occurrence of each id while there is room. */
void boot_timer_record(struct boot_timer *bt, uint8_t id, uint64_t now_ns);
/* Copies up to max milestones in the order they happened; returns how many. */
unsigned boot_timer_snapshot(struct boot_timer *bt, struct boot_milestone *out, unsigned max);
