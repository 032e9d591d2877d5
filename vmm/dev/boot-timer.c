/* Writes come from vCPU threads and reads from the control thread; one mutex is enough because
 * the guest writes a handful of times per boot. */
#include "vmm/dev/boot-timer.h"

#include "base/clock.h"
#include "vmm/bus.h"
#include "vmm/vm.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void boot_timer_record(struct boot_timer *bt, uint8_t id, uint64_t now_ns)
{
	pthread_mutex_lock(&lock);
	bool fresh = bt->n_seen < BOOT_TIMER_MAX_MILESTONES;
	for (unsigned i = 0; fresh && i < bt->n_seen; i++)
		fresh = bt->seen[i].id != id;
	uint64_t since = now_ns > bt->start_ns ? now_ns - bt->start_ns : 0;
	if (fresh)
		bt->seen[bt->n_seen++] = (struct boot_milestone){.id = id, .ns_since_start = since};
	pthread_mutex_unlock(&lock);
	if (fresh && bt->log)
		fprintf(stderr, "sbx-vmm: boot-timer: milestone %u at %llu.%03llu ms\n", id,
			(unsigned long long)(since / 1000000),
			(unsigned long long)(since / 1000 % 1000));
}

unsigned boot_timer_snapshot(struct boot_timer *bt, struct boot_milestone *out, unsigned max)
{
	pthread_mutex_lock(&lock);
	unsigned n = bt->n_seen < max ? bt->n_seen : max;
	memcpy(out, bt->seen, n * sizeof(*out));
	pthread_mutex_unlock(&lock);
	return n;
}

static void boot_timer_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct boot_timer *bt = opaque;
	if (!is_write) {
		memset(data, 0, size);
		return;
	}
	/* only a write to the first byte is a milestone; wider writes use their low byte */
	if (off != 0)
		return;
	boot_timer_record(bt, data[0], clock_ns(CLOCK_MONOTONIC));
}

int boot_timer_init(struct boot_timer *bt, struct vm *vm, uint64_t start_ns)
{
	*bt = (struct boot_timer){.start_ns = start_ns, .log = true};
	return bus_register(&vm->mmio, BOOT_TIMER_ADDR, 0x1000, boot_timer_io, bt);
}
