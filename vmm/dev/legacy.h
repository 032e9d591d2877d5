/* The few PC ports a Linux guest touches besides the UART: the i8042 reset line (how the guest
 * stops the VM), CMOS, and POST/delay ports that must simply not fault. */
#pragma once

struct vm;

int legacy_init(struct vm *vm);
