/* sbx-vmm: boots one Linux guest in a KVM microVM. All input is validated and the guest image
 * prepared before /dev/kvm is opened; any failure is one line on stderr and exit code 2. */
#define _GNU_SOURCE
#include "base/err.h"
#include "base/log.h"
#include "base/parse.h"
#include "vmm/boot/boot.h"
#include "vmm/dev/legacy.h"
#include "vmm/dev/serial.h"
#include "vmm/vm.h"
#include "vmm/x86/kvm-probe.h"

#include <fcntl.h>
#include <getopt.h>
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

struct vmm_opts {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	const char *console;
	const char *kvm;
	uint32_t cpus;
	uint32_t mem_mib;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sbx-vmm --kernel PATH [options]\n"
		"  --kernel PATH          ELF vmlinux (PVH) or bzImage\n"
		"  --initrd PATH          initial ramdisk\n"
		"  --cmdline STR          appended to \"" BASE_CMDLINE "\"\n"
		"  --cpus N               vCPUs, 1-32 (default 1)\n"
		"  --mem MIB              guest memory in MiB (default 128)\n"
		"  --console stdout|file:PATH|none   guest serial console (default stdout)\n"
		"  --kvm PATH             KVM device (default /dev/kvm)\n"
		"exit status: 0 guest powered off or rebooted, 1 VMM or KVM error, 2 bad input,\n"
		"             3 guest kernel panic, 4 guest triple fault, 5 stopped by a signal\n");
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

/* SIGINT/SIGTERM are blocked in every thread and taken here with sigwait(), so stopping the VM
 * never runs inside a signal handler. */
static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig = 0;
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
	log_init("vmm", NULL, LOG_LEVEL_WARN, 2);
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
	if (snprintf(cmdline, sizeof(cmdline), "%s%s%s", BASE_CMDLINE, o.cmdline[0] ? " " : "",
		     o.cmdline) >= (int)sizeof(cmdline)) {
		fprintf(stderr, "sbx-vmm: --cmdline is too long\n");
		return EXIT_BAD_INPUT;
	}
	struct vm *vm = &the_vm;
	struct boot_image img;
	struct boot_config bc = {
	    .kernel_path = o.kernel, .initrd_path = o.initrd, .cmdline = cmdline};
	int code = EXIT_BAD_INPUT;
	if (vm_init_memory(vm, (uint64_t)o.mem_mib << 20, &err) < 0 ||
	    boot_prepare(&vm->mem, o.cpus, &bc, &img, &err) < 0)
		goto fail;

	int kind = kvm_probe(o.kvm, &err);
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
	struct serial serial;
	if (serial_init(&serial, vm, console) < 0 || legacy_init(vm) < 0) {
		sbx_failx(&err, EEXIST, "device registration failed");
		goto fail;
	}
	if (boot_set_registers(vm, &img, &err) < 0)
		goto fail;

	static sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	pthread_t sigt;
	if (pthread_create(&sigt, NULL, signal_thread, &stop_signals) != 0) {
		sbx_failx(&err, EAGAIN, "cannot start the signal thread");
		goto fail;
	}
	pthread_detach(sigt);

	enum vm_stop why = vm_run(vm);
	code = exit_code(why);
	if (why == VM_STOP_ERROR || why == VM_STOP_TRIPLE_FAULT)
		fprintf(stderr, "sbx-vmm: %s\n", vm->stop_detail);
	vm_destroy(vm);
	if (console >= 0)
		close(console);
	return code;
fail:
	fprintf(stderr, "sbx-vmm: %s\n", err.msg);
	vm_destroy(vm);
	if (console >= 0)
		close(console);
	return code;
}
