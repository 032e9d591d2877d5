/* i8042: a 0xFE command on port 0x64 pulses the CPU reset line. Linux writes its reboot mode to
 * guest physical 0x472 first (0x1234 = warm); the VMM passes reboot=k,cold,panic_warm so a panic
 * and a clean reset can be told apart. */
#include "vmm/dev/legacy.h"

#include "vmm/boot/layout.h"
#include "vmm/bus.h"
#include "vmm/vm.h"

#include <string.h>

#define I8042_DATA 0x60
#define I8042_CMD 0x64
#define I8042_CMD_RESET 0xfe
#define CMOS_PORT 0x70
#define POST_PORT 0x80

static void i8042_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct vm *vm = opaque;
	if (!is_write) {
		memset(data, 0, size); /* status: output empty, input empty */
		return;
	}
	if (off == I8042_CMD - I8042_DATA && data[0] == I8042_CMD_RESET) {
		uint16_t mode = 0;
		gm_read(&vm->mem, LAYOUT_REBOOT_FLAG, &mode, sizeof(mode));
		if (mode == 0x1234)
			vm_request_stop(vm, VM_STOP_PANIC, "the guest kernel panicked");
		else
			vm_request_stop(vm, VM_STOP_POWEROFF, "the guest reset the machine");
	}
}

static void ignore_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	if (!is_write)
		memset(data, 0, size);
}

int legacy_init(struct vm *vm)
{
	int r = bus_register(&vm->pio, I8042_DATA, 5, i8042_io, vm);
	if (r == 0)
		r = bus_register(&vm->pio, CMOS_PORT, 2, ignore_io, NULL);
	if (r == 0)
		r = bus_register(&vm->pio, POST_PORT, 1, ignore_io, NULL);
	return r;
}
