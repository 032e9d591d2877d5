/* After setup every VMM thread narrows itself to the syscalls its job needs (DESIGN §7): a
 * guest that takes over a thread through a device bug cannot open files, exec or create
 * sockets it should not. Filters apply to the calling thread and the threads it creates. */
#pragma once

struct sbx_err;

enum vmm_thread_kind {
	VMM_THREAD_MAIN,    /* waits for the stop and tears down; parent of the vCPU threads */
	VMM_THREAD_VCPU,    /* KVM_RUN and the device exits it handles */
	VMM_THREAD_DEVICES, /* the event loop: virtqueues, disks, vsock sockets, console input */
	VMM_THREAD_CONTROL, /* the control API: accepts, one thread per request, InsertDisk */
	VMM_THREAD_SIGNAL,  /* sigwait for SIGINT/SIGTERM */
};

/* Sets no_new_privs and loads the allow-list of `kind`; opening a file fails with EACCES on
 * threads that may not, and anything else is reported on stderr
 * (thread kind, syscall number) and kills the process with SIGSYS. */
int vmm_seccomp_apply(enum vmm_thread_kind kind, struct sbx_err *err);

/* --no-seccomp: for debugging, and for sanitizer builds, whose exit-time leak check ptraces. */
void vmm_seccomp_disable(void);
