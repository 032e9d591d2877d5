/* agent-driver [--disk PATH:SERIAL[:ro]]... [--mem MIB] [--cpus N] [--vmm-arg ARG]...
 *              VMM KERNEL INITRD STATE_DIR
 * Boots the real guest initrd (sbx-agent as PID 1) through lib/sandbox, then reads commands from
 * stdin, one per line, and drives the Agent API through lib/agent, printing one line per result
 * for the tests in tests/vm/. Every process's stdout and stderr streams are attached right after
 * its create/exec and printed as "[ID/EXEC] line" and "[ID/EXEC err] line".
 *
 *   version | health | sandbox HOST [DNS...] | destroy | unserved METHOD
 *   create [--stdin] ID SPEC block SERIAL FSTYPE [UPPER_SERIAL]
 *   create [--stdin] ID SPEC stream TARFILE [SIZE_MIB]
 *   start ID | remove ID | pause ID | resume ID | stats ID | ps ID | oom
 *   exec [--stdin] ID EXEC PROCESS_JSON_FILE
 *   stdin ID EXEC|- TEXT...       (attach stdin, write TEXT and a newline, close)
 *   closestdin ID EXEC|- | resize ID EXEC|- ROWS COLS
 *   wait ID [EXEC] | wait-timeout MS ID EXEC|- | await ID EXEC|- TEXT MS (an output line)
 *   signal ID EXEC|- SIG [all] | update ID KEY=VALUE... (memory pids cpu_quota cpu_period)
 *   copy HOST_PATH GUEST_REL      (agent_copy_path into the guest's shared directory)
 *   copyraw PATH MODE_OCTAL [LINK_TARGET]   (one CopyFile as given, no data)
 *   network [if=MAC,NAME,MTU[,CIDR...]]... [route=DST,GW,DEV]... [dns=ADDR]...
 *                                 (agent_configure_network; empty fields stay empty)
 *   bench-health N | bench-true N SPEC SERIAL FSTYPE | bench-rootfs N SPEC TARFILE SERIAL FSTYPE
 */
#define _GNU_SOURCE
#include "agent/client.h"
#include "base/clock.h"
#include "base/err.h"
#include "proto/agent.pb-c.h"
#include "sandbox/sandbox.h"
#include "ttrpc/client.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KIND(k) SBX__AGENT__V1__STREAM_HELLO__KIND__##k
#define MAX_PROCS 512

static struct ttrpc_client *cl;

/* A decimal argument; a malformed one reads as 0, which every command refuses or ignores. */
static int num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	return *end || v < 0 || v > 1000000000 ? 0 : (int)v;
}
static struct sandbox *sb;

struct reader {
	char label[300];
	int fd;
	bool quiet;
};

struct proc {
	char id[130], exec[130];
	pthread_t out, err;
	bool has_out, has_err;
};
static struct proc procs[MAX_PROCS];
static int nprocs;

/* every output line seen, for "await" */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t seen_cond = PTHREAD_COND_INITIALIZER;
static char **seen;
static size_t nseen;

static void note_line(const char *label, const char *line)
{
	char *s;
	if (asprintf(&s, "[%s] %s", label, line) < 0)
		return;
	pthread_mutex_lock(&seen_lock);
	char **more = realloc(seen, (nseen + 1) * sizeof(*seen));
	if (more) {
		seen = more;
		seen[nseen++] = s;
	} else {
		free(s);
	}
	pthread_cond_broadcast(&seen_cond);
	pthread_mutex_unlock(&seen_lock);
}

/* Waits up to ms for the output line "[ID/EXEC] text". */
static void await_line(const char *id, const char *exec, const char *text, int ms)
{
	char *want;
	if (asprintf(&want, "[%s/%s] %s", id, exec, text) < 0)
		return;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	bool found = false;
	size_t i = 0;
	pthread_mutex_lock(&seen_lock);
	for (;;) {
		for (; i < nseen && !found; i++)
			found = !strcmp(seen[i], want);
		if (found || pthread_cond_timedwait(&seen_cond, &seen_lock, &until) == ETIMEDOUT)
			break;
	}
	for (; i < nseen && !found; i++)
		found = !strcmp(seen[i], want);
	pthread_mutex_unlock(&seen_lock);
	printf("%s %s\n", found ? "seen" : "not-seen", want);
	free(want);
}

static int call(const char *method, const ProtobufCMessage *req,
		const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp, int timeout_ms)
{
	struct sbx_err err = {0};
	ProtobufCMessage *dummy = NULL;
	int r = agent_call(cl, method, req, desc ? desc : &sbx__agent__v1__empty__descriptor,
			   resp ? resp : &dummy, timeout_ms, &err);
	if (r < 0 && r != -ETIMEDOUT)
		printf("%s: error: %s\n", method, err.msg);
	if (dummy)
		protobuf_c_message_free_unpacked(dummy, NULL);
	return r;
}

static void *read_stream(void *arg)
{
	struct reader *r = arg;
	FILE *f = fdopen(r->fd, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while (f && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (!r->quiet) {
			printf("[%s] %s\n", r->label, line);
			note_line(r->label, line);
		}
	}
	free(line);
	if (f)
		fclose(f);
	free(r);
	return NULL;
}

static bool open_reader(const char *id, const char *exec, int kind, bool quiet, pthread_t *t)
{
	struct sbx_err err = {0};
	int fd = agent_stream_open(sb, id, exec, kind, &err);
	if (fd < 0) {
		printf("stream: error: %s\n", err.msg);
		return false;
	}
	struct reader *r = calloc(1, sizeof(*r));
	snprintf(r->label, sizeof(r->label), "%s/%s%s", id, exec,
		 kind == KIND(STDERR) ? " err" : "");
	r->fd = fd;
	r->quiet = quiet;
	return pthread_create(t, NULL, read_stream, r) == 0;
}

static struct proc *find_proc(const char *id, const char *exec)
{
	for (int i = 0; i < nprocs; i++)
		if (!strcmp(procs[i].id, id) && !strcmp(procs[i].exec, exec))
			return &procs[i];
	return NULL;
}

static void attach_output(const char *id, const char *exec, bool quiet)
{
	struct proc *p = find_proc(id, exec);
	if (!p && nprocs < MAX_PROCS)
		p = &procs[nprocs++];
	if (!p)
		return;
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->exec, sizeof(p->exec), "%s", exec);
	p->has_out = open_reader(id, exec, KIND(STDOUT), quiet, &p->out);
	p->has_err = open_reader(id, exec, KIND(STDERR), quiet, &p->err);
}

static void join_output(const char *id, const char *exec)
{
	struct proc *p = find_proc(id, exec);
	if (!p)
		return;
	if (p->has_out)
		pthread_join(p->out, NULL);
	if (p->has_err)
		pthread_join(p->err, NULL);
	p->has_out = p->has_err = false;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *buf = malloc(8 << 20);
	*len = buf ? fread(buf, 1, 8 << 20, f) : 0;
	fclose(f);
	return buf;
}

struct tar_writer {
	char id[130];
	const char *path;
};

static void *write_tar(void *arg)
{
	struct tar_writer *w = arg;
	struct sbx_err err = {0};
	int fd = agent_stream_open(sb, w->id, "", KIND(ROOTFS), &err);
	int in = open(w->path, O_RDONLY | O_CLOEXEC);
	char buf[65536];
	ssize_t n;
	while (fd >= 0 && in >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	if (fd < 0)
		printf("rootfs stream: error: %s\n", err.msg);
	if (in >= 0)
		close(in);
	if (fd >= 0) {
		shutdown(fd, SHUT_WR);
		close(fd);
	}
	return NULL;
}

/* create: argv after "create" (and --stdin). Returns 0 on success. */
static int do_create(char **a, int n, bool want_stdin, bool quiet)
{
	if (n < 3 || (n < 4 && strcmp(a[2], "none"))) {
		printf("create: usage\n");
		return -1;
	}
	size_t len;
	char *spec = slurp(a[1], &len);
	if (!spec) {
		printf("create: cannot read %s\n", a[1]);
		return -1;
	}
	Sbx__Agent__V1__CreateContainerRequest req = SBX__AGENT__V1__CREATE_CONTAINER_REQUEST__INIT;
	Sbx__Agent__V1__RootfsSource src = SBX__AGENT__V1__ROOTFS_SOURCE__INIT;
	Sbx__Agent__V1__BlockRootfs blk = SBX__AGENT__V1__BLOCK_ROOTFS__INIT;
	Sbx__Agent__V1__StreamRootfs str = SBX__AGENT__V1__STREAM_ROOTFS__INIT;
	req.container_id = a[0];
	req.oci_spec.data = (uint8_t *)spec;
	req.oci_spec.len = len;
	req.rootfs = &src;
	req.stdin = want_stdin;
	pthread_t tw;
	bool writer = false;
	struct tar_writer w = {.path = n > 3 ? a[3] : ""};
	if (!strcmp(a[2], "block") && n >= 5) {
		src.source_case = SBX__AGENT__V1__ROOTFS_SOURCE__SOURCE_BLOCK;
		src.block = &blk;
		blk.serial = a[3];
		blk.fstype = a[4];
		if (n >= 6)
			blk.upper_serial = a[5];
	} else if (!strcmp(a[2], "stream")) {
		src.source_case = SBX__AGENT__V1__ROOTFS_SOURCE__SOURCE_STREAM;
		src.stream = &str;
		str.size_limit_mib = n >= 5 ? (uint32_t)num(a[4]) : 0;
		snprintf(w.id, sizeof(w.id), "%s", a[0]);
		writer = pthread_create(&tw, NULL, write_tar, &w) == 0;
	} else if (!strcmp(a[2], "none")) {
		/* no source: the agent must refuse it */
	} else {
		printf("create: bad rootfs kind %s\n", a[2]);
		free(spec);
		return -1;
	}
	ProtobufCMessage *resp = NULL;
	int r = call("CreateContainer", &req.base, &sbx__agent__v1__process_started__descriptor,
		     &resp, 300000);
	if (writer)
		pthread_join(tw, NULL);
	free(spec);
	if (r < 0)
		return r;
	if (!quiet)
		printf("created %s pid=%u\n", a[0], ((Sbx__Agent__V1__ProcessStarted *)resp)->pid);
	protobuf_c_message_free_unpacked(resp, NULL);
	attach_output(a[0], "", quiet);
	return 0;
}

static int container_call(const char *method, const char *id, const char *done_word)
{
	Sbx__Agent__V1__ContainerRequest req = SBX__AGENT__V1__CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	int r = call(method, &req.base, NULL, NULL, 120000);
	if (r == 0 && done_word)
		printf("%s %s\n", done_word, id);
	return r;
}

static const char *exec_arg(const char *s)
{
	return strcmp(s, "-") ? s : "";
}

static int do_wait(const char *id, const char *exec, int timeout_ms, bool quiet)
{
	Sbx__Agent__V1__ProcessRef ref = SBX__AGENT__V1__PROCESS_REF__INIT;
	ref.container_id = (char *)id;
	ref.exec_id = (char *)exec;
	ProtobufCMessage *resp = NULL;
	int r = call("WaitProcess", &ref.base, &sbx__agent__v1__wait_process_response__descriptor,
		     &resp, timeout_ms);
	if (r == -ETIMEDOUT) {
		printf("still-running %s/%s\n", id, exec);
		return r;
	}
	if (r < 0)
		return r;
	Sbx__Agent__V1__WaitProcessResponse *w = (void *)resp;
	join_output(id, exec);
	uint64_t now = clock_ns(CLOCK_REALTIME);
	if (!quiet)
		printf("exit %s/%s status=%d exited_at_age_s=%llu\n", id, exec, w->exit_status,
		       (unsigned long long)((now - w->exited_at_unix_ns) / 1000000000ull));
	r = w->exit_status;
	protobuf_c_message_free_unpacked(resp, NULL);
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return n ? v[n / 2] : 0;
}

static void bench_health(int n)
{
	uint64_t *t = calloc((size_t)n, sizeof(*t));
	Sbx__Agent__V1__Empty e = SBX__AGENT__V1__EMPTY__INIT;
	for (int i = 0; i < n; i++) {
		ProtobufCMessage *resp = NULL;
		uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
		if (call("Health", &e.base, &sbx__agent__v1__health_response__descriptor, &resp,
			 10000) < 0)
			return;
		t[i] = clock_ns(CLOCK_MONOTONIC) - t0;
		protobuf_c_message_free_unpacked(resp, NULL);
	}
	printf("bench health_us median=%llu\n", (unsigned long long)median(t, n) / 1000);
	free(t);
}

/* create+start+wait+remove of one container, n times; block (5 args) or stream rootfs */
static void bench_containers(const char *what, int n, char **args, int nargs)
{
	uint64_t *t = calloc((size_t)n, sizeof(*t));
	for (int i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "bench%d", i);
		char *a[6] = {id};
		for (int k = 0; k < nargs && k < 5; k++)
			a[k + 1] = args[k];
		uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
		if (do_create(a, nargs + 1, false, true) < 0 ||
		    container_call("StartContainer", id, NULL) < 0 ||
		    do_wait(id, "", 60000, true) < 0)
			return;
		t[i] = clock_ns(CLOCK_MONOTONIC) - t0;
		if (container_call("RemoveContainer", id, NULL) < 0)
			return;
	}
	printf("bench %s_ms median=%.1f\n", what, (double)median(t, n) / 1e6);
	free(t);
}

static void do_stats(const char *id)
{
	Sbx__Agent__V1__ContainerRequest req = SBX__AGENT__V1__CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	ProtobufCMessage *resp = NULL;
	if (call("StatsContainer", &req.base, &sbx__agent__v1__container_stats__descriptor, &resp,
		 30000) < 0)
		return;
	Sbx__Agent__V1__ContainerStats *s = (void *)resp;
	printf("stats %s cpu_ns=%llu mem=%llu mem_limit=%llu pids=%llu pids_limit=%llu "
	       "oom_kills=%llu\n",
	       id, (unsigned long long)s->cpu_usage_ns, (unsigned long long)s->memory_usage,
	       (unsigned long long)s->memory_limit, (unsigned long long)s->pids_current,
	       (unsigned long long)s->pids_limit, (unsigned long long)s->oom_kills);
	protobuf_c_message_free_unpacked(resp, NULL);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	int end = 0;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6 ||
	    s[end])
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static char *field(char **s)
{
	char *f = strsep(s, ",");
	return f ? f : "";
}

/* network WORD...: one ConfigureNetwork through agent_configure_network. */
static void do_network(char **a, int n)
{
	static struct agent_net_iface ifs[16];
	static struct agent_net_route routes[64];
	static const char *addrs[16][64], *dns[64];
	struct agent_net_config cfg = {.ifaces = ifs, .routes = routes, .dns = dns};
	struct sbx_err err = {0};

	for (int i = 0; i < n; i++) {
		char *s = strchr(a[i], '=') ? strchr(a[i], '=') + 1 : a[i];

		if (!strncmp(a[i], "if=", 3) && cfg.n_ifaces < 16) {
			struct agent_net_iface *f = &ifs[cfg.n_ifaces];

			*f = (struct agent_net_iface){.addresses = addrs[cfg.n_ifaces]};
			if (parse_mac(field(&s), f->mac) < 0) {
				printf("network: bad MAC in %s\n", a[i]);
				return;
			}
			f->name = field(&s);
			f->mtu = (uint32_t)strtoul(field(&s), NULL, 10);
			while (s && f->n_addresses < 64)
				addrs[cfg.n_ifaces][f->n_addresses++] = field(&s);
			cfg.n_ifaces++;
		} else if (!strncmp(a[i], "route=", 6) && cfg.n_routes < 64) {
			struct agent_net_route *r = &routes[cfg.n_routes++];

			r->destination = field(&s);
			r->gateway = field(&s);
			r->device = field(&s);
		} else if (!strncmp(a[i], "dns=", 4) && cfg.n_dns < 64) {
			dns[cfg.n_dns++] = s;
		} else {
			printf("network: bad word %s\n", a[i]);
			return;
		}
	}
	if (agent_configure_network(cl, &cfg, &err) < 0)
		printf("ConfigureNetwork: error %d: %s\n", err.code, err.msg);
	else
		printf("network configured\n");
}

static void run_command(char **a, int n)
{
	Sbx__Agent__V1__Empty empty = SBX__AGENT__V1__EMPTY__INIT;
	ProtobufCMessage *resp = NULL;
	const char *c = a[0];
	bool want_stdin = n > 1 && !strcmp(a[1], "--stdin");
	if (want_stdin) {
		a++;
		n--;
	}
	if (!strcmp(c, "version")) {
		if (call("Version", &empty.base, &sbx__agent__v1__version_response__descriptor,
			 &resp, 30000) == 0) {
			Sbx__Agent__V1__VersionResponse *v = (void *)resp;
			printf("version agent=%s kernel=%s\n", v->agent_version, v->kernel_release);
		}
	} else if (!strcmp(c, "health")) {
		if (call("Health", &empty.base, &sbx__agent__v1__health_response__descriptor, &resp,
			 30000) == 0) {
			Sbx__Agent__V1__HealthResponse *h = (void *)resp;
			printf("health uptime_ms=%llu containers=%u mem_available_kib=%llu\n",
			       (unsigned long long)h->uptime_ms, h->containers,
			       (unsigned long long)h->mem_available_kib);
		}
	} else if (!strcmp(c, "sandbox") && n >= 2) {
		Sbx__Agent__V1__CreateSandboxRequest r =
		    SBX__AGENT__V1__CREATE_SANDBOX_REQUEST__INIT;
		r.hostname = a[1];
		r.n_dns = (size_t)(n - 2);
		r.dns = a + 2;
		if (call("CreateSandbox", &r.base, NULL, NULL, 30000) == 0)
			printf("create-sandbox ok\n");
	} else if (!strcmp(c, "unserved") && n == 2) {
		call(a[1], &empty.base, NULL, NULL, 30000);
	} else if (!strcmp(c, "create")) {
		do_create(a + 1, n - 1, want_stdin, false);
	} else if (!strcmp(c, "start") && n == 2) {
		container_call("StartContainer", a[1], "started");
	} else if (!strcmp(c, "remove") && n == 2) {
		container_call("RemoveContainer", a[1], "removed");
	} else if (!strcmp(c, "pause") && n == 2) {
		container_call("PauseContainer", a[1], "paused");
	} else if (!strcmp(c, "resume") && n == 2) {
		container_call("ResumeContainer", a[1], "resumed");
	} else if (!strcmp(c, "stats") && n == 2) {
		do_stats(a[1]);
	} else if (!strcmp(c, "ps") && n == 2) {
		Sbx__Agent__V1__ContainerRequest r = SBX__AGENT__V1__CONTAINER_REQUEST__INIT;
		r.container_id = a[1];
		if (call("ListProcesses", &r.base, &sbx__agent__v1__process_list__descriptor, &resp,
			 30000) == 0)
			printf("ps %s n=%zu\n", a[1],
			       ((Sbx__Agent__V1__ProcessList *)resp)->n_pids);
	} else if (!strcmp(c, "oom")) {
		if (call("GetOOMEvent", &empty.base, &sbx__agent__v1__oomevent__descriptor, &resp,
			 120000) == 0)
			printf("oom %s\n", ((Sbx__Agent__V1__OOMEvent *)resp)->container_id);
	} else if (!strcmp(c, "exec") && n == 4) {
		size_t len;
		char *proc = slurp(a[3], &len);
		Sbx__Agent__V1__ExecProcessRequest r = SBX__AGENT__V1__EXEC_PROCESS_REQUEST__INIT;
		r.container_id = a[1];
		r.exec_id = a[2];
		r.oci_process.data = (uint8_t *)proc;
		r.oci_process.len = proc ? len : 0;
		r.stdin = want_stdin;
		if (call("ExecProcess", &r.base, &sbx__agent__v1__process_started__descriptor,
			 &resp, 60000) == 0) {
			printf("exec %s/%s pid=%u\n", a[1], a[2],
			       ((Sbx__Agent__V1__ProcessStarted *)resp)->pid);
			attach_output(a[1], a[2], false);
		}
		free(proc);
	} else if (!strcmp(c, "stdin") && n >= 3) {
		struct sbx_err err = {0};
		int fd = agent_stream_open(sb, a[1], exec_arg(a[2]), KIND(STDIN), &err);
		if (fd < 0) {
			printf("stdin: error: %s\n", err.msg);
		} else {
			for (int i = 3; i < n; i++)
				dprintf(fd, "%s%s", a[i], i + 1 < n ? " " : "\n");
			shutdown(fd, SHUT_WR);
			close(fd);
			printf("stdin sent\n");
		}
	} else if ((!strcmp(c, "closestdin") && n == 3) || (!strcmp(c, "resize") && n == 5)) {
		Sbx__Agent__V1__ProcessRef ref = SBX__AGENT__V1__PROCESS_REF__INIT;
		ref.container_id = a[1];
		ref.exec_id = (char *)exec_arg(a[2]);
		if (c[0] == 'c') {
			if (call("CloseStdin", &ref.base, NULL, NULL, 30000) == 0)
				printf("stdin closed\n");
		} else {
			Sbx__Agent__V1__ResizeTtyRequest r =
			    SBX__AGENT__V1__RESIZE_TTY_REQUEST__INIT;
			r.process = &ref;
			r.rows = (uint32_t)num(a[3]);
			r.cols = (uint32_t)num(a[4]);
			if (call("ResizeTty", &r.base, NULL, NULL, 30000) == 0)
				printf("resized\n");
		}
	} else if (!strcmp(c, "wait") && (n == 2 || n == 3)) {
		do_wait(a[1], n == 3 ? exec_arg(a[2]) : "", 0, false);
	} else if (!strcmp(c, "wait-timeout") && n == 4) {
		do_wait(a[2], exec_arg(a[3]), num(a[1]), false);
	} else if (!strcmp(c, "await") && n == 5) {
		await_line(a[1], exec_arg(a[2]), a[3], num(a[4]));
	} else if (!strcmp(c, "signal") && (n == 4 || n == 5)) {
		Sbx__Agent__V1__ProcessRef ref = SBX__AGENT__V1__PROCESS_REF__INIT;
		ref.container_id = a[1];
		ref.exec_id = (char *)exec_arg(a[2]);
		Sbx__Agent__V1__SignalProcessRequest r =
		    SBX__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;
		r.process = &ref;
		r.signal = (uint32_t)strtoul(a[3], NULL, 10);
		r.all = n == 5 && !strcmp(a[4], "all");
		if (call("SignalProcess", &r.base, NULL, NULL, 30000) == 0)
			printf("signaled %s/%s %u\n", a[1], ref.exec_id, r.signal);
	} else if (!strcmp(c, "update") && n >= 3) {
		Sbx__Agent__V1__LinuxResources lr = SBX__AGENT__V1__LINUX_RESOURCES__INIT;
		Sbx__Agent__V1__UpdateContainerRequest r =
		    SBX__AGENT__V1__UPDATE_CONTAINER_REQUEST__INIT;
		r.container_id = a[1];
		r.resources = &lr;
		for (int i = 2; i < n; i++) {
			char *eq = strchr(a[i], '=');
			long long v = eq ? strtoll(eq + 1, NULL, 10) : 0;
			if (!strncmp(a[i], "memory=", 7))
				lr.memory_limit = v;
			else if (!strncmp(a[i], "pids=", 5))
				lr.pids_limit = v;
			else if (!strncmp(a[i], "cpu_quota=", 10))
				lr.cpu_quota = v;
			else if (!strncmp(a[i], "cpu_period=", 11))
				lr.cpu_period = (uint64_t)v;
			else if (!strncmp(a[i], "io_weight=", 10))
				lr.io_weight = (uint32_t)v;
		}
		if (call("UpdateContainer", &r.base, NULL, NULL, 30000) == 0)
			printf("updated %s\n", a[1]);
	} else if (!strcmp(c, "copy") && n == 3) {
		struct sbx_err err = {0};
		if (agent_copy_path(cl, a[1], a[2], &err) < 0)
			printf("CopyFile: error: %s\n", err.msg);
		else
			printf("copied %s\n", a[2]);
	} else if (!strcmp(c, "copyraw") && (n == 3 || n == 4)) {
		Sbx__Agent__V1__CopyFileRequest r = SBX__AGENT__V1__COPY_FILE_REQUEST__INIT;
		r.path = a[1];
		r.mode = (uint32_t)strtoul(a[2], NULL, 8);
		if (n == 4)
			r.link_target = a[3];
		if (call("CopyFile", &r.base, NULL, NULL, 30000) == 0)
			printf("copied %s\n", a[1]);
	} else if (!strcmp(c, "network")) {
		do_network(a + 1, n - 1);
	} else if (!strcmp(c, "destroy")) {
		Sbx__Agent__V1__DestroySandboxRequest d =
		    SBX__AGENT__V1__DESTROY_SANDBOX_REQUEST__INIT;
		if (call("DestroySandbox", &d.base, NULL, NULL, 30000) == 0)
			printf("destroy-sandbox ok\n");
		/* closing the connection tells the agent its answer arrived */
		ttrpc_client_free(cl);
		cl = NULL;
		int w = sandbox_wait(sb, 60000);
		printf("vmm exit=%d%s\n", sb->exit_status, w < 0 ? " (still running)" : "");
	} else if (!strcmp(c, "bench-health") && n == 2) {
		bench_health(num(a[1]));
	} else if (!strcmp(c, "bench-true") && n == 5) {
		bench_containers("true_block", num(a[1]), (char *[]){a[2], "block", a[3], a[4]}, 4);
	} else if (!strcmp(c, "bench-rootfs") && n == 6) {
		bench_containers("rootfs_stream", num(a[1]), (char *[]){a[2], "stream", a[3]}, 3);
		bench_containers("rootfs_block", num(a[1]), (char *[]){a[2], "block", a[4], a[5]},
				 4);
	} else {
		printf("driver: unknown command or arguments: %s\n", c);
	}
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sandbox_disk disks[8];
	unsigned ndisks = 0, mem = 256, cpus = 1, nextra = 0;
	const char *extra[17] = {NULL};
	int i = 1;
	for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--disk") && ndisks < 8) {
			char *spec = argv[i + 1], *serial = strchr(spec, ':');
			if (!serial)
				break;
			*serial++ = '\0';
			char *ro = strchr(serial, ':');
			if (ro)
				*ro++ = '\0';
			disks[ndisks++] = (struct sandbox_disk){
			    .path = spec, .serial = serial, .read_only = ro && !strcmp(ro, "ro")};
		} else if (!strcmp(argv[i], "--mem")) {
			mem = (unsigned)num(argv[i + 1]);
		} else if (!strcmp(argv[i], "--cpus")) {
			cpus = (unsigned)num(argv[i + 1]);
		} else if (!strcmp(argv[i], "--vmm-arg") && nextra < 16) {
			extra[nextra++] = argv[i + 1]; /* e.g. --net=user,... */
		} else {
			break;
		}
	}
	if (argc - i != 4) {
		fprintf(stderr,
			"usage: agent-driver [--disk PATH:SERIAL[:ro]]... [--mem MIB] "
			"[--cpus N] [--vmm-arg ARG]... VMM KERNEL INITRD STATE_DIR < commands\n");
		return 2;
	}
	struct sandbox_config cfg = {.vmm = argv[i],
				     .kernel = argv[i + 1],
				     .initrd = argv[i + 2],
				     .state_dir = argv[i + 3],
				     .cmdline = "quiet",
				     .cpus = cpus,
				     .mem_mib = mem,
				     .disks = disks,
				     .n_disks = ndisks,
				     .extra_args = extra,
				     .boot_timeout_ms = 120000};
	struct sbx_err err = {0};
	if (sandbox_start(&cfg, &sb, &err) < 0) {
		fprintf(stderr, "agent-driver: %s\n", err.msg);
		return 1;
	}
	printf("ready version=%s ms=%llu\n", sb->agent_version,
	       (unsigned long long)((sb->ready_ns - sb->spawn_ns) / 1000000));
	if (agent_client_connect(sb, &cl, &err) < 0) {
		fprintf(stderr, "agent-driver: %s\n", err.msg);
		sandbox_free(sb);
		return 1;
	}
	char line[4096];
	while (fgets(line, sizeof(line), stdin)) {
		char *words[64];
		int n = 0;
		for (char *save, *w = strtok_r(line, " \t\n", &save); w && n < 64;
		     w = strtok_r(NULL, " \t\n", &save))
			words[n++] = w;
		if (n > 0 && words[0][0] != '#')
			run_command(words, n);
	}
	FILE *con = fopen(sb->console, "r");
	while (con && fgets(line, sizeof(line), con))
		printf("console: %s", line);
	if (con)
		fclose(con);
	ttrpc_client_free(cl);
	sandbox_free(sb);
	return 0;
}
