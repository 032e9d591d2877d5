/* sbx-vmm: boots one Linux guest in a KVM microVM. All input is validated and the guest image
 * prepared before /dev/kvm is opened; any failure is one line on stderr and exit code 2. */
#define _GNU_SOURCE
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/parse.h"
#include "vmm/boot/boot.h"
#include "vmm/dev/boot-timer.h"
#include "vmm/dev/legacy.h"
#include "vmm/ctl.h"
#include "vmm/dev/serial.h"
#include "vmm/event.h"
#include "vmm/netdev/netdev.h"
#include "vmm/seccomp.h"
#include "vmm/virtio/devices.h"
#include "vmm/virtio/mmio.h"
#include "vmm/vm.h"
#include "vmm/x86/kvm-probe.h"

#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <time.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Exit codes, documented in --help. */
enum {
	EXIT_GUEST_OFF = 0,
	EXIT_VMM_ERROR = 1,
	EXIT_BAD_INPUT = 2,
	EXIT_GUEST_PANIC = 3,
	EXIT_TRIPLE_FAULT = 4,
	EXIT_STOPPED = 5,
};

#define BASE_CMDLINE "console=ttyS0 reboot=k,cold,panic_warm panic=-1"

#define MAX_DISKS 8
#define MAX_NETS 4
/* Slot n interrupts on IRQ 5+n and the in-kernel IOAPIC has 24 pins: at most 19 devices. */
#define MAX_DEVICES 19

struct disk_opt {
	char path[4096];
	bool read_only;
	char serial[21];
};

struct vmm_opts {
	struct disk_opt disks[MAX_DISKS];
	unsigned n_disks;
	uint32_t spare_disks;
	struct netdev_opt nets[MAX_NETS];
	unsigned n_nets;
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *console;
	const char *kvm;
	const char *api;
	const char *vsock_uds;
	uint64_t vsock_cid;
	uint32_t cpus;
	uint32_t mem_mib;
	bool boot_timer;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: sbx-vmm --kernel PATH [options]\n"
	    "  --kernel PATH          ELF vmlinux (PVH) or bzImage\n"
	    "  --initrd PATH          initial ramdisk\n"
	    "  --cmdline STR          appended to \"" BASE_CMDLINE "\"\n"
	    "  --cpus N               vCPUs, 1-32 (default 1)\n"
	    "  --mem MIB              guest memory in MiB (default 128)\n"
	    "  --console stdout|file:PATH|none   guest serial console (default stdout)\n"
	    "  --disk PATH[,ro][,serial=ID]      virtio-blk disk (repeatable, up to 8)\n"
	    "  --spare-disks N        empty virtio-blk slots for media inserted later\n"
	    "  --net user[,mac=MAC][,fwd=[ADDR:]HOSTPORT:GUESTPORT[/udp]]...\n"
	    "                         virtio-net over user-mode NAT (libslirp): the guest is\n"
	    "                         10.0.2.15/24, gateway and host 10.0.2.2, DNS 10.0.2.3;\n"
	    "                         fwd= publishes a host port (ADDR default 127.0.0.1)\n"
	    "  --net tap=NAME[,mac=MAC][,netns=PATH]\n"
	    "                         virtio-net over tap NAME (created if missing, and then\n"
	    "                         gone at exit), opened in the network namespace at PATH;\n"
	    "                         checksum and TSO offloads reach the tap\n"
	    "  --net none             no network device; --net repeats (up to 4: eth0, eth1...)\n"
	    "                         MAC defaults to a random locally administered 02:...\n"
	    "  --vsock-cid CID        virtio-vsock with this guest CID (3 and up)\n"
	    "  --vsock-uds PATH       host side of vsock: \"CONNECT <port>\\n\" on PATH, guest\n"
	    "                         connections to host port P reach PATH_P\n"
	    "  --api PATH             control API (ttrpc, proto/vmm.proto) on a unix socket\n"
	    "  --kvm PATH             KVM device (default /dev/kvm)\n"
	    "  --boot-timer           report guest milestones written to the boot-timer\n"
	    "                         register (sbx.boot_timer= on the guest command line)\n"
	    "  --no-seccomp           do not confine the VMM's threads (debugging only)\n"
	    "environment: SBX_GUEST_CMDLINE_EXTRA is appended to every guest's command line\n"
	    "             (tests/vmhost/run sets it on emulated KVM hosts)\n"
	    "exit status: 0 guest powered off or rebooted, 1 VMM or KVM error, 2 bad input,\n"
	    "             3 guest kernel panic, 4 guest triple fault, 5 stopped by a signal\n");
}

/* PATH[,ro][,serial=ID] */
static int parse_disk(const char *spec, struct vmm_opts *o, struct sbx_err *err)
{
	if (o->n_disks == MAX_DISKS)
		return sbx_failx(err, E2BIG, "at most %d --disk options", MAX_DISKS);
	struct disk_opt *d = &o->disks[o->n_disks];
	char buf[4200];
	if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
		return sbx_failx(err, ENAMETOOLONG, "--disk '%.64s...' is too long", spec);
	char *save = NULL, *tok = strtok_r(buf, ",", &save);
	if (!tok || !*tok)
		return sbx_failx(err, EINVAL, "--disk needs a path");
	snprintf(d->path, sizeof(d->path), "%s", tok);
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (strcmp(tok, "ro") == 0)
			d->read_only = true;
		else if (strncmp(tok, "serial=", 7) == 0 && strlen(tok + 7) <= 20)
			snprintf(d->serial, sizeof(d->serial), "%s", tok + 7);
		else
			return sbx_failx(
			    err, EINVAL,
			    "--disk option '%s' (use ro or serial=ID, ID at most 20 bytes)", tok);
	}
	o->n_disks++;
	return 0;
}

static int parse_args(int argc, char **argv, struct vmm_opts *o, struct sbx_err *err)
{
	static const struct option opts[] = {{"kernel", required_argument, NULL, 'k'},
					     {"initrd", required_argument, NULL, 'i'},
					     {"cmdline", required_argument, NULL, 'c'},
					     {"cpus", required_argument, NULL, 'p'},
					     {"mem", required_argument, NULL, 'm'},
					     {"console", required_argument, NULL, 'o'},
					     {"kvm", required_argument, NULL, 'K'},
					     {"help", no_argument, NULL, 'h'},
					     {"disk", required_argument, NULL, 'd'},
					     {"spare-disks", required_argument, NULL, 's'},
					     {"api", required_argument, NULL, 'a'},
					     {"vsock-cid", required_argument, NULL, 'v'},
					     {"vsock-uds", required_argument, NULL, 'u'},
					     {"no-seccomp", no_argument, NULL, 'S'},
					     {"boot-timer", no_argument, NULL, 'T'},
					     {"net", required_argument, NULL, 'n'},
					     {NULL, 0, NULL, 0}};
	*o = (struct vmm_opts){
	    .cmdline = "", .console = "stdout", .kvm = "/dev/kvm", .cpus = 1, .mem_mib = 128};
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		int r = 0;
		switch (c) {
		case 'k':
			o->kernel = optarg;
			break;
		case 'i':
			o->initrd = optarg;
			break;
		case 'c':
			o->cmdline = optarg;
			break;
		case 'p':
			r = parse_u32(optarg, 1, VM_MAX_VCPUS, &o->cpus, err);
			if (r < 0)
				return sbx_wrap(err, "--cpus");
			break;
		case 'm':
			r = parse_u32(optarg, 16, 1u << 20, &o->mem_mib, err);
			if (r < 0)
				return sbx_wrap(err, "--mem");
			break;
		case 'o':
			o->console = optarg;
			break;
		case 'K':
			o->kvm = optarg;
			break;
		case 'a':
			o->api = optarg;
			break;
		case 'v':
			r = parse_u64(optarg, 3, 0xfffffffeull, &o->vsock_cid, err);
			if (r < 0)
				return sbx_wrap(err, "--vsock-cid");
			break;
		case 'u':
			o->vsock_uds = optarg;
			break;
		case 'd':
			r = parse_disk(optarg, o, err);
			if (r < 0)
				return r;
			break;
		case 'n':
			if (o->n_nets == MAX_NETS)
				return sbx_failx(err, E2BIG, "at most %d --net options", MAX_NETS);
			r = netdev_parse(optarg, &o->nets[o->n_nets], err);
			if (r < 0)
				return r;
			if (o->nets[o->n_nets].kind != NETDEV_NONE)
				o->n_nets++;
			break;
		case 's':
			r = parse_u32(optarg, 0, MAX_DISKS, &o->spare_disks, err);
			if (r < 0)
				return sbx_wrap(err, "--spare-disks");
			break;
		case 'S':
			vmm_seccomp_disable();
			break;
		case 'T':
			o->boot_timer = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return sbx_failx(err, EINVAL, "unknown or incomplete option '%s'",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return sbx_failx(err, EINVAL, "unexpected argument '%s'", argv[optind]);
	if (!o->kernel)
		return sbx_failx(err, EINVAL, "--kernel is required");
	if (o->vsock_uds && !o->vsock_cid)
		return sbx_failx(err, EINVAL, "--vsock-uds needs --vsock-cid");
	return 0;
}

static int open_console(const char *spec, struct sbx_err *err)
{
	if (strcmp(spec, "stdout") == 0)
		return dup(1);
	if (strcmp(spec, "none") == 0)
		return -1;
	if (strncmp(spec, "file:", 5) == 0) {
		int fd = open(spec + 5, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0)
			return sbx_fail(err, errno, "--console file '%s'", spec + 5);
		return fd;
	}
	return sbx_failx(err, EINVAL, "--console must be stdout, file:PATH or none, not '%s'",
			 spec);
}

static struct vm the_vm;

struct device {
	struct virtio_mmio t;
};

static struct device devices[MAX_DEVICES];
static unsigned n_devices;
static struct vmm_ctl ctl = {.listen_fd = -1};
static struct virtio_vsock *vsock;
static struct netdev *nets[MAX_NETS];
static unsigned n_nets;

static void free_nets(void)
{
	for (unsigned i = 0; i < n_nets; i++)
		netdev_free(nets[i]);
	n_nets = 0;
}

static void on_kick(void *opaque, uint32_t events)
{
	struct virtio_mmio *t = opaque;
	/* Each kick eventfd belongs to one queue; find which. */
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		uint64_t v;
		if (t->notify_fd[q] >= 0 && read(t->notify_fd[q], &v, sizeof(v)) == sizeof(v))
			virtio_mmio_kick(t, q);
	}
}

static int add_device(const struct vdev_ops *ops, void *dev, struct guest_mem *gm,
		      struct sbx_err *err)
{
	if (n_devices == MAX_DEVICES)
		return sbx_failx(err, E2BIG, "too many virtio devices (at most %d: IRQs 5-23)",
				 MAX_DEVICES);
	struct virtio_mmio *t = &devices[n_devices].t;
	int r = virtio_mmio_init(t, ops, dev, gm, n_devices);
	if (r < 0)
		return sbx_fail(err, -r, "virtio-%s", ops->name);
	n_devices++;
	return 0;
}

/* Creates every device model: disk files are opened here, before KVM. */
static int create_devices(struct vm *vm, const struct vmm_opts *o, struct event_loop *loop,
			  char *cmdline, size_t len, struct sbx_err *err)
{
	for (unsigned i = 0; i < o->n_disks + o->spare_disks; i++) {
		const struct disk_opt *d = i < o->n_disks ? &o->disks[i] : NULL;
		struct virtio_blk *b;
		int r = virtio_blk_new(d ? d->path : NULL, d && d->read_only,
				       d && d->serial[0] ? d->serial : NULL, &b, err);
		if (r < 0)
			return r;
		r = add_device(&virtio_blk_ops, b, &vm->mem, err);
		if (r < 0)
			return r;
		virtio_blk_set_transport(b, &devices[n_devices - 1].t);
		ctl.disks[ctl.n_disks++] = b;
	}
	int r = add_device(&virtio_rng_ops, virtio_rng_new(), &vm->mem, err);
	if (r < 0)
		return r;
	if (o->vsock_cid) {
		r = virtio_vsock_new(o->vsock_cid, o->vsock_uds, loop, &vsock, err);
		if (r == 0)
			r = add_device(&virtio_vsock_ops, vsock, &vm->mem, err);
		if (r < 0)
			return r;
		virtio_vsock_set_transport(vsock, &devices[n_devices - 1].t);
	}
	/* after the others, so adding a NIC moves no disk's slot; eth0 is the first --net */
	for (unsigned i = 0; i < o->n_nets; i++) {
		r = netdev_open(&o->nets[i], i, loop, &nets[n_nets], err);
		if (r < 0)
			return r;
		n_nets++;
		struct virtio_net *net = netdev_device(nets[n_nets - 1]);
		r = add_device(virtio_net_ops(net), net, &vm->mem, err);
		if (r == 0)
			r = netdev_start(nets[n_nets - 1], &devices[n_devices - 1].t, err);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < n_devices; i++) {
		size_t used = strlen(cmdline);
		char entry[64];
		virtio_mmio_cmdline(&devices[i].t, entry, sizeof(entry));
		if (snprintf(cmdline + used, len - used, " %s", entry) >= (int)(len - used))
			return sbx_failx(err, E2BIG, "kernel command line too long");
	}
	return 0;
}

/* MMIO window, irqfd and one ioeventfd per queue for each device. */
static int attach_devices(struct vm *vm, struct event_loop *loop, struct sbx_err *err)
{
	for (unsigned i = 0; i < n_devices; i++) {
		struct virtio_mmio *t = &devices[i].t;
		if (bus_register(&vm->mmio, t->base, VIRTIO_MMIO_SIZE, virtio_mmio_io, t) < 0)
			return sbx_failx(err, EEXIST, "MMIO window of virtio-%s", t->ops->name);
		int r = vm_irqfd(vm, t->irq_fd, t->irq, err);
		for (unsigned q = 0; r == 0 && q < t->ops->num_queues; q++) {
			r = vm_ioeventfd(vm, t->notify_fd[q], t->base + VIRTIO_MMIO_NOTIFY, q, err);
			if (r == 0 && event_add(loop, t->notify_fd[q], EPOLLIN, on_kick, t) < 0)
				r = sbx_failx(err, EIO, "watch virtio-%s queue %u", t->ops->name,
					      q);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* --console stdout: the VMM's stdin is the guest's console input. The UART holds 64 bytes, so
 * stdin is only read while the FIFO has room; the guest emptying it resumes reading. */
static struct serial serial;
static struct event_loop *stdin_loop;
static int stdin_paused;

static void on_stdin(void *opaque, uint32_t events)
{
	(void)opaque;
	(void)events;
	uint8_t buf[SERIAL_FIFO];
	size_t space = serial_rx_space(&serial);
	if (space == 0) {
		event_del(stdin_loop, 0);
		__atomic_store_n(&stdin_paused, 1, __ATOMIC_SEQ_CST);
		/* the guest may have drained the FIFO in between; then nobody else resumes */
		if (serial_rx_space(&serial) &&
		    __atomic_exchange_n(&stdin_paused, 0, __ATOMIC_SEQ_CST))
			event_add(stdin_loop, 0, EPOLLIN, on_stdin, NULL);
		return;
	}
	ssize_t n = read(0, buf, space);
	if (n > 0)
		serial_input(&serial, buf, (size_t)n);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		event_del(stdin_loop, 0); /* end of input */
}

static void on_console_drained(void *opaque)
{
	(void)opaque;
	if (__atomic_exchange_n(&stdin_paused, 0, __ATOMIC_SEQ_CST))
		event_add(stdin_loop, 0, EPOLLIN, on_stdin, NULL);
}

static void console_input_start(struct event_loop *loop)
{
	stdin_loop = loop;
	serial.rx_drained = on_console_drained;
	/* a regular file or /dev/null cannot be polled: then the guest simply gets no input */
	event_add(loop, 0, EPOLLIN, on_stdin, NULL);
}

static void *device_thread(void *arg)
{
	log_set_thread("devices");
	struct sbx_err err = {0};
	if (vmm_seccomp_apply(VMM_THREAD_DEVICES, &err) < 0) {
		vm_request_stop(&the_vm, VM_STOP_ERROR, err.msg);
		return NULL;
	}
	event_loop_run(arg);
	return NULL;
}

/* SIGINT/SIGTERM are blocked in every thread and taken here with sigwait(), so stopping the VM
 * never runs inside a signal handler. */
static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig = 0;
	struct sbx_err err = {0};
	if (vmm_seccomp_apply(VMM_THREAD_SIGNAL, &err) < 0) {
		vm_request_stop(&the_vm, VM_STOP_ERROR, err.msg);
		return NULL;
	}
	if (sigwait(set, &sig) == 0)
		vm_request_stop(&the_vm, VM_STOP_REQUESTED, sig == SIGINT ? "SIGINT" : "SIGTERM");
	return NULL;
}

static int exit_code(enum vm_stop why)
{
	switch (why) {
	case VM_STOP_POWEROFF:
		return EXIT_GUEST_OFF;
	case VM_STOP_PANIC:
		return EXIT_GUEST_PANIC;
	case VM_STOP_TRIPLE_FAULT:
		return EXIT_TRIPLE_FAULT;
	case VM_STOP_REQUESTED:
		return EXIT_STOPPED;
	default:
		return EXIT_VMM_ERROR;
	}
}

int main(int argc, char **argv)
{
	struct sbx_err err = {0};
	struct vmm_opts o;
	ctl.start_ns = clock_ns(CLOCK_MONOTONIC);
	log_init("vmm", NULL, LOG_LEVEL_WARN, 2);
	/* A bounded arena count: glibc otherwise counts CPUs by opening
	 * /sys/devices/system/cpu/online the first time a thread needs a new malloc arena, which
	 * the device and vCPU threads' seccomp filters refuse. It did not stop the openat seen on
	 * the devices thread mid-transfer (its source is unknown; seccomp.c answers it EACCES),
	 * and it keeps malloc's footprint small. */
	mallopt(M_ARENA_MAX, 4);
	/* 512 KiB stacks instead of glibc's 8 MiB: an 8 MiB stack is large enough for a
	 * transparent huge page on hosts with THP "always", which cost 2 MiB of RSS per thread
	 * (measured: VMM overhead 4.0 MiB, 2.0 MiB without). No thread here recurses or keeps
	 * more than a few KiB on its stack. */
	pthread_attr_t small_stacks;
	if (pthread_attr_init(&small_stacks) == 0) {
		pthread_attr_setstacksize(&small_stacks, 512 * 1024);
		pthread_setattr_default_np(&small_stacks);
		pthread_attr_destroy(&small_stacks);
	}
	/* Blocked before any thread exists, so every thread inherits it and only the signal
	 * thread ever takes SIGINT/SIGTERM; until it runs they stay pending. */
	static sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	/* libslirp writes to host sockets with plain send() and expects its host to ignore
	 * SIGPIPE, as QEMU does: a client that drops a published port's connection must cost
	 * one EPIPE, not the VM (seen: wrk against a fwd= port killed sbx-vmm). A console
	 * reader that went away likewise only loses the console output. */
	signal(SIGPIPE, SIG_IGN);
	if (parse_args(argc, argv, &o, &err) < 0) {
		fprintf(stderr, "sbx-vmm: %s\n", err.msg);
		return EXIT_BAD_INPUT;
	}
	if (strcmp(o.console, "stdout") && strcmp(o.console, "none") &&
	    strncmp(o.console, "file:", 5)) {
		fprintf(stderr, "sbx-vmm: --console must be stdout, file:PATH or none, not '%s'\n",
			o.console);
		return EXIT_BAD_INPUT;
	}
	int console = -1;
	char cmdline[8192];
	char timer_arg[48] = "";
	if (o.boot_timer)
		snprintf(timer_arg, sizeof(timer_arg), " sbx.boot_timer=0x%llx",
			 (unsigned long long)BOOT_TIMER_ADDR);
	/* A rig-wide guest setting (tests/vmhost/run: nohz=off) reaches guests that sbx or the
	 * shim start too, without a flag on every path that builds a command line. */
	const char *extra = getenv("SBX_GUEST_CMDLINE_EXTRA");
	extra = extra ? extra : "";
	if (snprintf(cmdline, sizeof(cmdline), "%s%s%s%s%s%s", BASE_CMDLINE, timer_arg,
		     extra[0] ? " " : "", extra, o.cmdline[0] ? " " : "",
		     o.cmdline) >= (int)sizeof(cmdline)) {
		fprintf(stderr, "sbx-vmm: --cmdline is too long\n");
		return EXIT_BAD_INPUT;
	}
	struct vm *vm = &the_vm;
	struct boot_image img;
	struct boot_config bc = {
	    .kernel_path = o.kernel, .initrd_path = o.initrd, .cmdline = cmdline};
	int code = EXIT_BAD_INPUT;
	struct event_loop *loop = NULL;
	if (event_loop_new(&loop, &err) < 0 ||
	    vm_init_memory(vm, (uint64_t)o.mem_mib << 20, &err) < 0 ||
	    create_devices(vm, &o, loop, cmdline, sizeof(cmdline), &err) < 0 ||
	    boot_prepare(&vm->mem, o.cpus, &bc, &img, &err) < 0)
		goto fail;

	int kind = kvm_probe_fast(o.kvm, &err);
	if (kind == KVM_PROBE_ABSENT) {
		sbx_failx(&err, ENODEV, "%s is missing or not usable (is KVM enabled?)", o.kvm);
		goto fail;
	}
	if (kind == KVM_PROBE_PVM_EMULATED) {
		sbx_failx(&err, ENOTSUP,
			  "this %s cannot run a stock guest (pvm-emulated); run on hardware KVM or "
			  "inside tests/vmhost/run",
			  o.kvm);
		goto fail;
	}
	/* Opened last among the inputs, so a failed start leaves no console file behind. */
	console = open_console(o.console, &err);
	if (console < 0 && err.code)
		goto fail;
	code = EXIT_VMM_ERROR;
	if (kind < 0 || vm_create_kvm(vm, o.kvm, o.cpus, &err) < 0)
		goto fail;
	static struct boot_timer boot_timer;
	if (serial_init(&serial, vm, console) < 0 || legacy_init(vm) < 0 ||
	    (o.boot_timer && boot_timer_init(&boot_timer, vm, ctl.start_ns) < 0)) {
		sbx_failx(&err, EEXIST, "device registration failed");
		goto fail;
	}
	if (strcmp(o.console, "stdout") == 0)
		console_input_start(loop);
	if (boot_set_registers(vm, &img, &err) < 0 || attach_devices(vm, loop, &err) < 0)
		goto fail;
	ctl.vm = vm;
	ctl.boot_timer = o.boot_timer ? &boot_timer : NULL;
	for (unsigned i = 0; i < n_devices; i++)
		ctl.devices[ctl.n_devices++] = &devices[i].t;
	if (o.api && vmm_ctl_start(&ctl, o.api, &err) < 0) {
		code = EXIT_BAD_INPUT;
		goto fail;
	}
	pthread_t devt;
	if (pthread_create(&devt, NULL, device_thread, loop) != 0) {
		sbx_failx(&err, EAGAIN, "cannot start the device thread");
		goto fail;
	}

	pthread_t sigt;
	if (pthread_create(&sigt, NULL, signal_thread, &stop_signals) != 0) {
		sbx_failx(&err, EAGAIN, "cannot start the signal thread");
		goto fail;
	}
	pthread_detach(sigt);
	if (vmm_seccomp_apply(VMM_THREAD_MAIN, &err) < 0)
		goto fail;

	enum vm_stop why = vm_run(vm);
	vmm_ctl_stop(&ctl);
	event_loop_stop(loop);
	pthread_join(devt, NULL);
	free_nets(); /* slirp's thread writes guest memory: stop it before RAM goes */
	code = exit_code(why);
	if (why == VM_STOP_ERROR || why == VM_STOP_TRIPLE_FAULT)
		fprintf(stderr, "sbx-vmm: %s\n", vm->stop_detail);
	vm_destroy(vm);
	virtio_vsock_free(vsock);
	event_loop_free(loop);
	if (console >= 0)
		close(console);
	return code;
fail:
	vmm_ctl_stop(&ctl);
	fprintf(stderr, "sbx-vmm: %s\n", err.msg);
	free_nets();
	vm_destroy(vm);
	virtio_vsock_free(vsock);
	event_loop_free(loop);
	if (console >= 0)
		close(console);
	return code;
}
