/* The VMM's per-thread allow-lists: a syscall outside the list kills the process with SIGSYS,
 * what the thread needs still works, and no_new_privs is set. Each case runs in a child. */
#define _GNU_SOURCE
#include "tap.h"
#include "vmm/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs body in a child after applying `kind`; returns the wait status. */
static int in_child(enum vmm_thread_kind kind, int (*body)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		/* the kill report is checked once, below; keep the TAP stream clean */
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, STDERR_FILENO);
		if (vmm_seccomp_apply(kind, NULL) < 0)
			_exit(100);
		_exit(body());
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return status;
}

static int make_inet_socket(void)
{
	return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 1;
}

static int to_parent[2], to_child[2];

/* what every thread does, reading and writing fds it was given; then it waits while the
 * parent looks at its /proc status */
static int allowed_work(void)
{
	char c = 'x';
	if (write(to_parent[1], &c, 1) != 1 || read(to_child[0], &c, 1) != 1)
		return 4;
	return 0;
}

static int exec_shell(void)
{
	char *argv[] = {"/bin/true", NULL};
	execve("/bin/true", argv, NULL);
	return 0;
}

TEST(a_syscall_outside_the_list_kills_with_sigsys)
{
	const enum vmm_thread_kind kinds[] = {VMM_THREAD_MAIN, VMM_THREAD_VCPU, VMM_THREAD_DEVICES,
					      VMM_THREAD_CONTROL, VMM_THREAD_SIGNAL};
	for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int st = in_child(kinds[i], make_inet_socket);
		ASSERT_TRUE(WIFSIGNALED(st));
		ASSERT_EQ(WTERMSIG(st), SIGSYS);
		st = in_child(kinds[i], exec_shell);
		ASSERT_TRUE(WIFSIGNALED(st));
		ASSERT_EQ(WTERMSIG(st), SIGSYS);
	}
}

/* 0 when the open fails with EACCES, as the filter answers */
static int open_is_refused(void)
{
	return !fopen("/etc/hostname", "r") && errno == EACCES ? 0 : 1;
}

TEST(vcpu_and_device_threads_cannot_open_files)
{
	const enum vmm_thread_kind kinds[] = {VMM_THREAD_VCPU, VMM_THREAD_DEVICES, VMM_THREAD_MAIN,
					      VMM_THREAD_SIGNAL};
	for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int st = in_child(kinds[i], open_is_refused);
		ASSERT_TRUE(WIFEXITED(st));
		ASSERT_EQ(WEXITSTATUS(st), 0);
	}
}

static bool status_has(pid_t pid, const char *line)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return strstr(buf, line) != NULL;
}

TEST(allowed_syscalls_work_with_no_new_privs_and_a_filter)
{
	ASSERT_EQ(pipe(to_parent), 0);
	ASSERT_EQ(pipe(to_child), 0);
	const enum vmm_thread_kind kinds[] = {VMM_THREAD_MAIN, VMM_THREAD_VCPU, VMM_THREAD_DEVICES,
					      VMM_THREAD_CONTROL, VMM_THREAD_SIGNAL};
	for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		pid_t pid = fork();
		if (pid == 0) {
			if (vmm_seccomp_apply(kinds[i], NULL) < 0)
				_exit(100);
			_exit(allowed_work());
		}
		char c;
		ASSERT_EQ(read(to_parent[0], &c, 1), 1);
		bool nnp = status_has(pid, "NoNewPrivs:\t1"),
		     filtered = status_has(pid, "Seccomp:\t2");
		ASSERT_EQ(write(to_child[1], &c, 1), 1);
		int st = 0;
		waitpid(pid, &st, 0);
		ASSERT_TRUE(WIFEXITED(st));
		ASSERT_EQ(WEXITSTATUS(st), 0);
		ASSERT_TRUE(nnp);
		ASSERT_TRUE(filtered);
	}
}

TEST(a_blocked_syscall_is_named_on_stderr_before_the_kill)
{
	int err_pipe[2];
	ASSERT_EQ(pipe(err_pipe), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(err_pipe[1], STDERR_FILENO);
		if (vmm_seccomp_apply(VMM_THREAD_DEVICES, NULL) < 0)
			_exit(100);
		_exit(make_inet_socket());
	}
	close(err_pipe[1]);
	char buf[256] = {0};
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(err_pipe[0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	close(err_pipe[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	ASSERT_TRUE(WIFSIGNALED(st));
	ASSERT_EQ(WTERMSIG(st), SIGSYS);
	char want[96];
	snprintf(want, sizeof(want), "the devices thread made syscall %d,", (int)SYS_socket);
	ASSERT_TRUE(strstr(buf, want) != NULL);
}
