/* UART register model. Linux's 8250 driver writes through THR and waits for THRE interrupts, so
 * those must be raised as the real chip would: whenever THR is empty and IER asks for them. */
#include "vmm/dev/serial.h"

#include "vmm/bus.h"
#include "vmm/vm.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define UART_RX 0
#define UART_IER 1
#define UART_IIR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0
#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_LOOP 0x10
#define MSR_DEFAULT 0xb0 /* DCD, DSR, CTS */

static uint8_t iir(const struct serial *s)
{
	if ((s->ier & IER_RDI) && s->rx_count)
		return IIR_RDI | IIR_FIFO;
	if ((s->ier & IER_THRI) && s->thre_pending)
		return IIR_THRI | IIR_FIFO;
	return IIR_NO_INT | IIR_FIFO;
}

/* ISA interrupts are edge-triggered: pulse the line when an interrupt is pending. */
static void update_irq(struct serial *s)
{
	if (!(iir(s) & IIR_NO_INT)) {
		vm_irq_line(s->vm, SERIAL_IRQ, 1);
		vm_irq_line(s->vm, SERIAL_IRQ, 0);
	}
}

static void out_byte(struct serial *s, uint8_t c)
{
	s->tx_bytes++;
	if (s->out_fd < 0)
		return;
	for (;;) {
		ssize_t n = write(s->out_fd, &c, 1);
		if (n == 1 || (n < 0 && errno != EINTR))
			return;
	}
}

static void serial_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct serial *s = opaque;
	if (size != 1) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	pthread_mutex_lock(&s->lock);
	bool dlab = s->lcr & LCR_DLAB;
	if (is_write) {
		uint8_t v = data[0];
		switch (off) {
		case UART_RX:
			if (dlab) {
				s->dll = v;
			} else if (s->mcr & MCR_LOOP) {
				if (s->rx_count < SERIAL_FIFO)
					s->rx[(s->rx_head + s->rx_count++) % SERIAL_FIFO] = v;
			} else {
				out_byte(s, v);
			}
			if (!dlab)
				s->thre_pending = 1; /* the byte left at once: THR is empty again */
			break;
		case UART_IER:
			if (dlab) {
				s->dlm = v;
			} else {
				uint8_t was = s->ier;
				s->ier = v & 0x0f;
				if ((s->ier & IER_THRI) && !(was & IER_THRI))
					s->thre_pending = 1;
			}
			break;
		case UART_LCR:
			s->lcr = v;
			break;
		case UART_MCR:
			s->mcr = v;
			break;
		case UART_SCR:
			s->scr = v;
			break;
		default:
			break; /* FCR and read-only registers */
		}
	} else {
		uint8_t v = 0;
		bool drained = false;
		switch (off) {
		case UART_RX:
			if (dlab) {
				v = s->dll;
			} else if (s->rx_count) {
				v = s->rx[s->rx_head];
				s->rx_head = (s->rx_head + 1) % SERIAL_FIFO;
				s->rx_count--;
				drained = s->rx_count == 0;
			}
			break;
		case UART_IER:
			v = dlab ? s->dlm : s->ier;
			break;
		case UART_IIR:
			v = iir(s);
			if ((v & 0x0f) == IIR_THRI)
				s->thre_pending = 0; /* reading IIR acknowledges THRE */
			break;
		case UART_LCR:
			v = s->lcr;
			break;
		case UART_MCR:
			v = s->mcr;
			break;
		case UART_LSR:
			v = LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
			break;
		case UART_MSR:
			v = MSR_DEFAULT;
			break;
		case UART_SCR:
			v = s->scr;
			break;
		default:
			break;
		}
		data[0] = v;
		if (drained && s->rx_drained) {
			update_irq(s);
			pthread_mutex_unlock(&s->lock);
			s->rx_drained(s->rx_opaque);
			return;
		}
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

int serial_init(struct serial *s, struct vm *vm, int out_fd)
{
	memset(s, 0, sizeof(*s));
	s->vm = vm;
	s->out_fd = out_fd;
	pthread_mutex_init(&s->lock, NULL);
	return bus_register(&vm->pio, SERIAL_BASE, 8, serial_io, s);
}

size_t serial_input(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t i;
	pthread_mutex_lock(&s->lock);
	for (i = 0; i < len && s->rx_count < SERIAL_FIFO; i++)
		s->rx[(s->rx_head + s->rx_count++) % SERIAL_FIFO] = buf[i];
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return i;
}

size_t serial_rx_space(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = SERIAL_FIFO - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return n;
}
