/* A 16550-compatible UART at 0x3f8 (COM1, IRQ 4): the guest console. Output goes to an fd;
 * input bytes are queued by serial_input() and raise the receive interrupt. */
#pragma once

#include <pthread.h>
#include <stdint.h>

struct vm;

#define SERIAL_BASE 0x3f8
#define SERIAL_IRQ 4
#define SERIAL_FIFO 64

struct serial {
	struct vm *vm;
	int out_fd; /* -1 discards */
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	uint8_t rx[SERIAL_FIFO];
	unsigned rx_head, rx_count;
	int thre_pending; /* transmit-empty interrupt not yet acknowledged */
	uint64_t tx_bytes;
	/* called (from a vCPU thread) when the guest has emptied the receive FIFO */
	void (*rx_drained)(void *opaque);
	void *rx_opaque;
};

int serial_init(struct serial *s, struct vm *vm, int out_fd);
/* Queues input for the guest; returns how many bytes fit in the FIFO. */
size_t serial_input(struct serial *s, const uint8_t *buf, size_t len);
/* Free bytes in the receive FIFO. */
size_t serial_rx_space(struct serial *s);
