/* The per-thread-kind syscall allow-lists. Each list is what the code running on that thread
 * calls after setup, found by reading it and checked by the VM tests, which run every device
 * under these filters. */
#define _GNU_SOURCE
#include "vmm/seccomp.h"

#include "base/err.h"

#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define END -1

/* glibc, malloc, pthread internals, logging and eventfd/irqfd writes: every thread. */
static const int common[] = {SCMP_SYS(read),
			     SCMP_SYS(write),
			     SCMP_SYS(readv),
			     SCMP_SYS(writev),
			     SCMP_SYS(close),
			     SCMP_SYS(futex),
			     SCMP_SYS(brk),
			     SCMP_SYS(mmap),
			     SCMP_SYS(munmap),
			     SCMP_SYS(mprotect),
			     SCMP_SYS(madvise),
			     SCMP_SYS(mremap),
			     SCMP_SYS(exit),
			     SCMP_SYS(exit_group),
			     SCMP_SYS(rt_sigprocmask),
			     SCMP_SYS(rt_sigreturn),
			     SCMP_SYS(clock_gettime),
			     SCMP_SYS(clock_nanosleep),
			     SCMP_SYS(nanosleep),
			     SCMP_SYS(gettid),
			     SCMP_SYS(getpid),
			     SCMP_SYS(tgkill),
			     SCMP_SYS(sched_yield),
			     SCMP_SYS(restart_syscall),
			     SCMP_SYS(sigaltstack),
			     SCMP_SYS(getrandom),
			     SCMP_SYS(mincore),
			     SCMP_SYS(lseek),
			     SCMP_SYS(fstat),
			     SCMP_SYS(newfstatat),
			     SCMP_SYS(fcntl),
			     END};

/* Device emulation: the device thread, and vCPU threads for a QueueNotify without an
 * ioeventfd or console input resuming. */
static const int devices[] = {SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
			      SCMP_SYS(preadv),     SCMP_SYS(pwritev),     SCMP_SYS(pread64),
			      SCMP_SYS(pwrite64),   SCMP_SYS(fdatasync),   SCMP_SYS(fsync),
			      SCMP_SYS(fallocate),  SCMP_SYS(accept4),     SCMP_SYS(connect),
			      SCMP_SYS(shutdown),   SCMP_SYS(sendmsg),     SCMP_SYS(sendto),
			      SCMP_SYS(recvfrom),   SCMP_SYS(recvmsg),     END};

static const int control[] = {
    SCMP_SYS(accept4), SCMP_SYS(clone),    SCMP_SYS(clone3),    SCMP_SYS(set_robust_list),
    SCMP_SYS(rseq),    SCMP_SYS(openat),   SCMP_SYS(sendmsg),   SCMP_SYS(recvmsg),
    SCMP_SYS(sendto),  SCMP_SYS(recvfrom), SCMP_SYS(shutdown),  SCMP_SYS(poll),
    SCMP_SYS(ppoll),   SCMP_SYS(unlink),   SCMP_SYS(getrusage), END};

static const int signal_thread[] = {SCMP_SYS(rt_sigtimedwait), END};

/* main starts the vCPU threads and tears everything down at the end */
static const int main_thread[] = {
    SCMP_SYS(clone),  SCMP_SYS(clone3),   SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
    SCMP_SYS(unlink), SCMP_SYS(shutdown), SCMP_SYS(rt_sigaction),    END};

static int allow(scmp_filter_ctx ctx, const int *list)
{
	for (; *list != END; list++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, *list, 0) < 0)
			return -1;
	return 0;
}

/* ioctl only with the requests the thread makes: KVM_RUN on its vCPU (and KVM_GET_REGS to say
 * where a triple fault happened), KVM_IRQ_LINE for the UART's edge-triggered interrupt. */
static int allow_ioctls(scmp_filter_ctx ctx, bool run)
{
	if (run && (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, KVM_RUN)) < 0 ||
		    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_EQ, KVM_GET_REGS)) < 0))
		return -1;
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				SCMP_A1(SCMP_CMP_EQ, KVM_IRQ_LINE));
}

/* vsock connects to "<uds>_<port>": unix stream sockets, nothing else */
static int allow_unix_sockets(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
}

/* virtio-net sets the tap's offloads to what the driver accepted, on the vCPU thread that
 * writes DRIVER_OK (so the main thread's filter, which vCPU threads inherit, admits it too). */
static int allow_tap_offload(scmp_filter_ctx ctx)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				SCMP_A1(SCMP_CMP_EQ, TUNSETOFFLOAD));
}

static const char *const kind_names[] = {
    [VMM_THREAD_MAIN] = "main",       [VMM_THREAD_VCPU] = "vcpu",
    [VMM_THREAD_DEVICES] = "devices", [VMM_THREAD_CONTROL] = "control",
    [VMM_THREAD_SIGNAL] = "signal",
};
static __thread const char *thread_kind = "?";

static size_t append(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at < cap)
		buf[at++] = *s++;
	return at;
}

/* A filtered syscall traps here instead of killing silently, so the log names the thread and
 * the syscall number (`ausyscall N` names it) before the process dies with SIGSYS anyway. */
static void report_blocked_syscall(int sig, siginfo_t *si, void *ucontext)
{
	(void)sig, (void)ucontext;
	char num[16], msg[160];
	int n = si->si_syscall, len = 0;
	unsigned u = n < 0 ? 0u : (unsigned)n;
	do
		num[len++] = (char)('0' + u % 10);
	while ((u /= 10) && len < (int)sizeof(num));
	size_t at = append(msg, 0, sizeof(msg), "sbx-vmm: seccomp: the ");
	at = append(msg, at, sizeof(msg), thread_kind);
	at = append(msg, at, sizeof(msg), " thread made syscall ");
	while (len > 0 && at < sizeof(msg))
		msg[at++] = num[--len];
	at = append(msg, at, sizeof(msg), ", which its allow-list does not admit\n");
	if (write(STDERR_FILENO, msg, at) < 0) {
		/* nothing left to tell */
	}
	/* SIGSYS is blocked while this handler runs; the kernel answers a filtered syscall made
	 * with SIGSYS blocked by killing the whole process with it. getppid is on no list. */
	syscall(SYS_getppid);
	_exit(128 + SIGSYS);
}

static bool disabled;
void vmm_seccomp_disable(void)
{
	disabled = true;
}

static int trap_install_error;
static void install_trap_handler(void)
{
	struct sigaction sa = {.sa_sigaction = report_blocked_syscall, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	trap_install_error = sigaction(SIGSYS, &sa, NULL) < 0 ? errno : 0;
}

int vmm_seccomp_apply(enum vmm_thread_kind kind, struct sbx_err *err)
{
	/* the first filter loaded anywhere comes after this, because every thread passes here */
	static pthread_once_t trap_once = PTHREAD_ONCE_INIT;
	if (disabled)
		return 0;
	pthread_once(&trap_once, install_trap_handler);
	if (trap_install_error)
		return sbx_fail(err, trap_install_error, "install the SIGSYS handler");
	thread_kind = kind_names[kind];
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return sbx_fail(err, errno, "no_new_privs");
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return sbx_failx(err, ENOMEM, "seccomp_init");
	int r = allow(ctx, common);
	switch (kind) {
	case VMM_THREAD_MAIN:
		/* vCPU threads inherit this filter, so it admits all they do */
		r = r ?: allow(ctx, main_thread);
		/* the vCPU threads name themselves and then load their own, narrower filter */
		r = r
			?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
					    SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
		r = r
			?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
					    SCMP_A0(SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS));
		r = r ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 0);
		r = r ?: allow(ctx, devices);
		r = r ?: allow_ioctls(ctx, true);
		r = r ?: allow_unix_sockets(ctx);
		r = r ?: allow_tap_offload(ctx);
		break;
	case VMM_THREAD_VCPU:
		r = r ?: allow(ctx, devices);
		r = r ?: allow_unix_sockets(ctx);
		r = r ?: allow_ioctls(ctx, true);
		r = r ?: allow_tap_offload(ctx);
		break;
	case VMM_THREAD_DEVICES:
		r = r ?: allow(ctx, devices);
		r = r ?: allow_unix_sockets(ctx);
		r = r ?: allow_ioctls(ctx, false);
		break;
	case VMM_THREAD_CONTROL:
		r = r ?: allow(ctx, control);
		break;
	case VMM_THREAD_SIGNAL:
		r = r ?: allow(ctx, signal_thread);
		break;
	}
	/* Threads that may not open files get EACCES instead of the kill: glibc itself opens
	 * files now and then on a thread's behalf (an intermittent openat on the devices thread in
	 * the middle of a vsock transfer, 2 runs in 5, never under strace) and copes with a
	 * failure; a hijacked thread still opens nothing. */
	if (kind != VMM_THREAD_CONTROL) {
		r = r ?: seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
		r = r ?: seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
	}
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return sbx_fail(err, r == -1 ? EINVAL : -r, "load the seccomp filter");
	return 0;
}
