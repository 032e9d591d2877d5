/* Container lifecycle in the guest, crun's order: create (clone + setup, init waits on a sync
 * pipe), start (release to exec), wait, signal. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"
#include "oci/spec.h"

/* A process's stdin, stdout and stderr. terminal: all three are the slave of a pty, which
 * becomes the controlling terminal of a new session. */
struct ct_stdio {
	int fds[3];
	bool terminal;
};

struct ct {
	pid_t pid;     /* container init, in our pid namespace */
	int start_fd;  /* write end: one byte releases init to exec */
	int report_fd; /* init's setup/exec reports; EOF once it has exec'd */
	char *rootfs;  /* absolute host path of the root */
};

/* Creates the container from spec with root at rootfs (absolute). On return init is set up
 * and blocked before exec; errors from inside the child come back in err. cgroup_dir (may be
 * NULL) is an existing cgroup v2 group (cgroup.h) joined before unshare, so the container's
 * cgroup namespace is rooted at it. io NULL: init inherits the caller's stdio. The caller's
 * waitpid(-1) may reap the helper processes; that is fine. */
int ct_create(const struct oci_spec *spec, const char *rootfs, const char *cgroup_dir,
	      const struct ct_stdio *io, struct ct **ret, struct sbx_err *err);
/* Releases init and returns once it has exec'd; an exec failure comes back in err. */
int ct_start(struct ct *c, struct sbx_err *err);
/* Waits for init; *ret_status is the exit code, or 128+signal like runc. */
int ct_wait(struct ct *c, int *ret_status, struct sbx_err *err);
int ct_kill(struct ct *c, int sig, struct sbx_err *err);
void ct_free(struct ct *c);

/* Runs p inside c's namespaces (and cgroup_dir, may be NULL) with the same process setup and
 * the container's seccomp profile; *ret_pid is the new process (reaped by the subreaper). */
int ct_exec(struct ct *c, const struct oci_spec *spec, const struct oci_process *p,
	    const char *cgroup_dir, const struct ct_stdio *io, pid_t *ret_pid, struct sbx_err *err);

/* Steps run inside the child (process.c). Return -errno and fill err. */
int ct_setup_rootfs(const struct oci_spec *spec, const char *rootfs, struct sbx_err *err);
int ct_setup_process(const struct oci_spec *spec, struct sbx_err *err);
int ct_setup_exec(const struct oci_process *p, struct sbx_err *err);
int ct_apply_stdio(const struct ct_stdio *io, struct sbx_err *err);
/* Right after fork: closes every fd >= 3 but the n in keep (at most 16). */
void ct_close_fds_except(const int *keep, size_t n);
/* Every container process: socket(AF_VSOCK) fails with EACCES, whatever the spec says. */
int ct_deny_vsock(struct sbx_err *err);
int ct_apply_seccomp(const struct oci_seccomp *sc, struct sbx_err *err);
/* execvpe with the lookup in envp's PATH (the container's), or docker's default PATH when envp
 * has none; returns only on failure, with errno (ENOENT when no PATH entry has the file). */
int ct_execvpe(const char *file, char *const argv[], char *const envp[]);
const char *ct_env_path(char *const envp[]);
