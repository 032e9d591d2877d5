/* Sandbox lifecycle on the host side. The VMM is watched through a pidfd, so a VMM that dies
 * during boot ends the wait at once with its console tail in the error. */
#define _GNU_SOURCE
#include "sandbox/sandbox.h"

#include "base/cleanup.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/vsock-ports.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_VMM_ARGS 96

static int unix_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

static int listen_unix(const char *path, struct sbx_err *err)
{
	struct sockaddr_un sa;
	if (unix_addr(&sa, path) < 0)
		return sbx_failx(err, ENAMETOOLONG, "socket path '%s' too long", path);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sbx_fail(err, errno, "socket");
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
		return sbx_fail(err, errno, "listen on '%s'", path);
	return TAKE_FD(fd);
}

/* Reads one '\n'-terminated line, byte by byte so nothing after it is consumed. */
static int read_line(int fd, char *buf, size_t max, int timeout_ms)
{
	size_t n = 0;
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000000ull;
	while (n + 1 < max) {
		int64_t left = (int64_t)(deadline - clock_ns(CLOCK_MONOTONIC)) / 1000000;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			return -ETIMEDOUT;
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ECONNRESET;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return (int)n;
		}
		n++;
	}
	return -EMSGSIZE;
}

static int spawn_vmm(const struct sandbox_config *cfg, struct sandbox *sb, struct sbx_err *err)
{
	const char *argv[MAX_VMM_ARGS];
	char cpus[16], mem[16], spare[16], cid[16], console[320], disks[8][600];
	size_t n = 0;
	snprintf(cpus, sizeof(cpus), "%u", cfg->cpus ? cfg->cpus : 1);
	snprintf(mem, sizeof(mem), "%u", cfg->mem_mib ? cfg->mem_mib : 256);
	snprintf(spare, sizeof(spare), "%u", cfg->spare_disks);
	snprintf(cid, sizeof(cid), "%u", SBX_VSOCK_GUEST_CID);
	snprintf(console, sizeof(console), "file:%s", sb->console);
	argv[n++] = cfg->vmm;
	argv[n++] = "--kernel";
	argv[n++] = cfg->kernel;
	argv[n++] = "--initrd";
	argv[n++] = cfg->initrd;
	argv[n++] = "--cpus";
	argv[n++] = cpus;
	argv[n++] = "--mem";
	argv[n++] = mem;
	argv[n++] = "--vsock-cid";
	argv[n++] = cid;
	argv[n++] = "--vsock-uds";
	argv[n++] = sb->vsock;
	argv[n++] = "--api";
	argv[n++] = sb->api;
	argv[n++] = "--console";
	argv[n++] = console;
	if (cfg->spare_disks) {
		argv[n++] = "--spare-disks";
		argv[n++] = spare;
	}
	if (cfg->cmdline) {
		argv[n++] = "--cmdline";
		argv[n++] = cfg->cmdline;
	}
	if (cfg->n_disks > 8)
		return sbx_failx(err, E2BIG, "at most 8 disks, got %u", cfg->n_disks);
	for (unsigned i = 0; i < cfg->n_disks; i++) {
		const struct sandbox_disk *d = &cfg->disks[i];
		snprintf(disks[i], sizeof(disks[i]), "%s%s%s%s", d->path, d->read_only ? ",ro" : "",
			 d->serial ? ",serial=" : "", d->serial ? d->serial : "");
		argv[n++] = "--disk";
		argv[n++] = disks[i];
	}
	for (const char *const *a = cfg->extra_args; a && *a; a++) {
		if (n + 2 >= MAX_VMM_ARGS)
			return sbx_failx(err, E2BIG, "too many VMM arguments");
		argv[n++] = *a;
	}
	argv[n] = NULL;

	_cleanup_close_ int log = open(sb->vmm_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (log < 0)
		return sbx_fail(err, errno, "create '%s'", sb->vmm_log);
	pid_t owner = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return sbx_fail(err, errno, "fork for the VMM");
	if (pid == 0) {
		/* The VMM never outlives whoever started it (sbx's monitor, the shim): a killed
		 * owner leaves no VM behind. Tied to the forking thread, so start from a thread
		 * that lives as long as the sandbox. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != owner)
			_exit(127);
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		dup2(log, 1);
		dup2(log, 2);
		execv(cfg->vmm, (char *const *)argv);
		dprintf(2, "exec %s: %s\n", cfg->vmm, strerror(errno));
		_exit(127);
	}
	sb->vmm_pid = pid;
	sb->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (sb->pidfd < 0)
		return sbx_fail(err, errno, "pidfd_open for the VMM");
	return 0;
}

static void reap(struct sandbox *sb, int options)
{
	if (sb->exited || sb->vmm_pid <= 0)
		return;
	int st;
	pid_t r;
	do
		r = waitpid(sb->vmm_pid, &st, options);
	while (r < 0 && errno == EINTR);
	if (r == sb->vmm_pid) {
		sb->exited = true;
		sb->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
}

/* The last non-empty line of a file, for one-line error messages. */
static void file_tail(const char *path, char *buf, size_t max)
{
	buf[0] = '\0';
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || max < 2)
		return;
	off_t end = lseek(fd, 0, SEEK_END);
	off_t start = end > (off_t)(max - 1) ? end - (off_t)(max - 1) : 0;
	ssize_t n = pread(fd, buf, max - 1, start);
	buf[n > 0 ? n : 0] = '\0';
	/* One line for error messages: the last non-empty line. */
	char *p = buf + strlen(buf);
	while (p > buf && (p[-1] == '\n' || p[-1] == '\r'))
		*--p = '\0';
	char *nl = strrchr(buf, '\n');
	if (nl)
		memmove(buf, nl + 1, strlen(nl + 1) + 1);
}

void sandbox_console_tail(const struct sandbox *sb, char *buf, size_t max)
{
	file_tail(sb->console, buf, max);
}

void sandbox_vmm_log_tail(const struct sandbox *sb, char *buf, size_t max)
{
	file_tail(sb->vmm_log, buf, max);
}

static int wait_ready(struct sandbox *sb, int listen_fd, int timeout_ms, struct sbx_err *err)
{
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000000ull;
	for (;;) {
		int64_t left = (int64_t)(deadline - clock_ns(CLOCK_MONOTONIC)) / 1000000;
		if (left <= 0) {
			char threads[200];
			sandbox_vmm_threads(sb, threads, sizeof(threads));
			return sbx_failx(
			    err, ETIMEDOUT,
			    "the guest agent was not ready within %d ms (vmm threads: %s)",
			    timeout_ms, threads[0] ? threads : "none");
		}
		struct pollfd p[2] = {{.fd = listen_fd, .events = POLLIN},
				      {.fd = sb->pidfd, .events = POLLIN}};
		int r = poll(p, 2, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return sbx_fail(err, errno, "wait for the guest agent");
		if (p[1].revents) {
			reap(sb, 0);
			/* The guest's last words, else the VMM's (a triple fault's registers) */
			char tail[200];
			sandbox_console_tail(sb, tail, sizeof(tail));
			if (!tail[0])
				file_tail(sb->vmm_log, tail, sizeof(tail));
			return sbx_failx(
			    err, ECHILD,
			    "the VMM exited with status %d before the agent was ready%s%s",
			    sb->exit_status, tail[0] ? ": " : "", tail);
		}
		if (!p[0].revents)
			continue;
		_cleanup_close_ int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		char line[96];
		if (read_line(c, line, sizeof(line), (int)left) < 0 ||
		    strncmp(line, "READY", 5) != 0)
			continue; /* not the agent's greeting: wait for the real one */
		const char *v = line[5] == ' ' ? line + 6 : "";
		size_t vl = strnlen(v, sizeof(sb->agent_version) - 1);
		memcpy(sb->agent_version, v, vl);
		sb->agent_version[vl] = '\0';
		return 0;
	}
}

/* The files of a state directory, the same for the owner and for an attached handle. */
static void set_paths(struct sandbox *sb)
{
	snprintf(sb->vsock, sizeof(sb->vsock), "%s/vsock.sock", sb->dir);
	snprintf(sb->api, sizeof(sb->api), "%s/api.sock", sb->dir);
	snprintf(sb->console, sizeof(sb->console), "%s/console.log", sb->dir);
	snprintf(sb->vmm_log, sizeof(sb->vmm_log), "%s/vmm.log", sb->dir);
}

int sandbox_start(const struct sandbox_config *cfg, struct sandbox **ret, struct sbx_err *err)
{
	struct sandbox *sb = calloc(1, sizeof(*sb));
	if (!sb)
		return sbx_fail(err, ENOMEM, "sandbox");
	sb->pidfd = -1;
	sb->keep_state = cfg->keep_state;
	int r = 0;
	if (snprintf(sb->dir, sizeof(sb->dir), "%s", cfg->state_dir) >= (int)sizeof(sb->dir)) {
		free(sb);
		return sbx_failx(err, ENAMETOOLONG, "state dir '%s' too long", cfg->state_dir);
	}
	if (mkdir(sb->dir, 0700) < 0) {
		r = sbx_fail(err, errno, "create state dir '%s'", sb->dir);
		free(sb);
		return r;
	}
	set_paths(sb);
	char ready_path[320];
	snprintf(ready_path, sizeof(ready_path), "%s_%u", sb->vsock, SBX_PORT_READY);
	int lfd = listen_unix(ready_path, err);
	if (lfd < 0) {
		sandbox_free(sb);
		return lfd;
	}
	sb->spawn_ns = clock_ns(CLOCK_MONOTONIC);
	r = spawn_vmm(cfg, sb, err);
	if (r == 0)
		r = wait_ready(sb, lfd, cfg->boot_timeout_ms ? cfg->boot_timeout_ms : 60000, err);
	close(lfd);
	unlink(ready_path);
	if (r < 0) {
		sandbox_free(sb);
		return r;
	}
	sb->ready_ns = clock_ns(CLOCK_MONOTONIC);
	*ret = sb;
	return 0;
}

int sandbox_attach(const char *state_dir, struct sandbox **ret, struct sbx_err *err)
{
	struct sandbox *sb = calloc(1, sizeof(*sb));
	if (!sb)
		return sbx_fail(err, ENOMEM, "sandbox");
	sb->pidfd = -1;
	sb->keep_state = true;
	if (snprintf(sb->dir, sizeof(sb->dir), "%s", state_dir) >= (int)sizeof(sb->dir)) {
		free(sb);
		return sbx_failx(err, ENAMETOOLONG, "state dir '%s' too long", state_dir);
	}
	set_paths(sb);
	*ret = sb;
	return 0;
}

int sandbox_connect(struct sandbox *sb, uint32_t port, int timeout_ms, struct sbx_err *err)
{
	struct sockaddr_un sa;
	if (unix_addr(&sa, sb->vsock) < 0)
		return sbx_failx(err, ENAMETOOLONG, "socket path '%s' too long", sb->vsock);
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sbx_fail(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return sbx_fail(err, errno, "connect to the VMM's vsock socket");
	char req[32], line[64];
	int n = snprintf(req, sizeof(req), "CONNECT %u\n", port);
	if (write(fd, req, (size_t)n) != n)
		return sbx_fail(err, errno, "send CONNECT %u", port);
	int r = read_line(fd, line, sizeof(line), timeout_ms);
	if (r < 0)
		return sbx_fail(err, -r, "guest port %u did not answer", port);
	if (strncmp(line, "OK ", 3) != 0)
		return sbx_failx(err, ECONNREFUSED, "guest port %u refused: '%s'", port, line);
	return TAKE_FD(fd);
}

int sandbox_wait(struct sandbox *sb, int timeout_ms)
{
	if (sb->exited || sb->pidfd < 0)
		return 0;
	struct pollfd p = {.fd = sb->pidfd, .events = POLLIN};
	int r;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	reap(sb, 0);
	return 0;
}

void sandbox_describe_vm(struct sandbox *sb, int grace_ms, char *buf, size_t max)
{
	char vmm_log[160], console[160];
	/* A VM that died takes its vsock connections with it a moment before the VMM is gone. */
	sandbox_wait(sb, grace_ms);
	sandbox_vmm_log_tail(sb, vmm_log, sizeof(vmm_log));
	sandbox_console_tail(sb, console, sizeof(console));
	if (sb->exited) {
		snprintf(buf, max, "the VMM exited with status %d: %s", sb->exit_status,
			 vmm_log[0] ? vmm_log : console);
		return;
	}
	char threads[200];
	sandbox_vmm_threads(sb, threads, sizeof(threads));
	snprintf(buf, max, "the VMM still runs: %s; vmm log: %s; console: %s", threads, vmm_log,
		 console);
}

void sandbox_kill(struct sandbox *sb)
{
	if (!sb->exited && sb->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, sb->pidfd, SIGKILL, NULL, 0);
}

static void remove_dir_contents(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

void sandbox_free(struct sandbox *sb)
{
	if (!sb)
		return;
	if (sb->vmm_pid > 0 && !sb->exited) {
		sandbox_kill(sb);
		reap(sb, 0);
	}
	if (sb->pidfd >= 0)
		close(sb->pidfd);
	if (!sb->keep_state) {
		remove_dir_contents(sb->dir);
		rmdir(sb->dir);
	}
	free(sb);
}
