/* The agent's state shared by PID 1's main loop, the RPC handlers and the stream relays: the
 * containers, their processes and exit statuses, and rootfs streams waiting for their Create.
 * One lock guards all of it; long work (mounts, clone, exec) runs outside it while the caller
 * holds a reference on the container. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct ttrpc_server;
struct sbx_err;
struct ct;
struct oci_spec;

#define AGENT_VERSION "0.1.0"
#define AGENT_ID_MAX 128
#define AGENT_MAX_CONTAINERS 256
#define AGENT_RUN_DIR "/run/sbx"
#define AGENT_CGROUP_PARENT "/sys/fs/cgroup/containers"

struct agent_proc {
	struct agent_proc *next;
	char exec_id[AGENT_ID_MAX + 1]; /* "" for the container's init */
	struct oci_spec *exec_spec;     /* an exec's process; NULL for init */
	pid_t pid;
	bool exited;
	int status; /* exit code, or 128+signal */
	uint64_t exited_at_ns;
	/* the agent's ends of the process's stdio, until a port-1025 stream takes them */
	int stdin_fd, stdout_fd, stderr_fd;
	int pty_master; /* terminal processes: kept for ResizeTty; -1 otherwise */
	/* sockets of attached streams, so CloseStdin and RemoveContainer can end them */
	int stream_sock[3];
};

/* Mounts made for a container's root, undone by agent_rootfs_teardown. */
struct agent_rootfs {
	char dir[160];  /* AGENT_RUN_DIR/<id> */
	char root[192]; /* what becomes "/" */
	bool lower, rw, overlay;
};

struct agent_container {
	struct agent_container *next;
	char id[AGENT_ID_MAX + 1];
	struct oci_spec *spec;
	struct ct *ct;
	char *cgroup_dir;
	struct agent_rootfs rootfs;
	struct agent_proc *procs; /* init first */
	uint64_t oom_kills_seen;
	unsigned refs; /* the list's own reference plus one per user */
	bool creating; /* CreateContainer still building it */
	bool started;  /* StartContainer ran (or runs) */
	bool removing;
};

/* A ROOTFS stream that arrived before (or while) its CreateContainer ran. */
struct agent_parked_stream {
	struct agent_parked_stream *next;
	char container_id[AGENT_ID_MAX + 1];
	int fd;
	uint64_t parked_ns;
};

struct agent {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a process exited, a reference dropped, a stream parked */
	struct ttrpc_server *rpc;
	int wake_fd;          /* eventfd: the main loop has something to do */
	bool destroy_pending; /* DestroySandbox answered: power off once the reply is out */
	uint64_t boot_ns;     /* CLOCK_BOOTTIME when the agent started */
	unsigned containers;
	struct agent_container *list;
	struct agent_parked_stream *parked;
	/* exits of pids not (yet) registered: a process can exit before its RPC records it */
	struct {
		pid_t pid;
		int status;
		uint64_t at_ns, mono_ns;
	} unclaimed[64];
	unsigned unclaimed_next;
};

/* The method table of the Agent service (rpc/). */
const struct ttrpc_method *agent_methods(unsigned *n);

/* Asks the main loop to power off after the current replies are sent. */
void agent_request_power_off(struct agent *a);

/* state.c. Ids: 1..AGENT_ID_MAX of [A-Za-z0-9_.-], not starting with '.' or '-'. */
bool agent_id_ok(const char *id);
int agent_check_id(const char *what, const char *id, bool may_be_empty, struct sbx_err *err);
/* A reference on the container named id, or -ENOENT / -EBUSY (being removed) in err. */
int agent_container_get(struct agent *a, const char *id, struct agent_container **ret,
			struct sbx_err *err);
void agent_container_put(struct agent *a, struct agent_container *c);
/* With the lock held: the process of c named exec_id ("" = init), or NULL. */
struct agent_proc *agent_proc_find(struct agent_container *c, const char *exec_id);
struct agent_proc *agent_proc_new(const char *exec_id);
void agent_proc_free(struct agent_proc *p);
/* With the lock held: links p to c. */
void agent_proc_add(struct agent_container *c, struct agent_proc *p);
/* With the lock held: records p's pid, claiming an exit that was reaped before this. */
void agent_proc_started(struct agent *a, struct agent_proc *p, pid_t pid);
/* Opens p's stdio: a pty (terminal), or pipes (stdin from /dev/null unless want_stdin). The
 * process's ends go into child_fds (close them once it runs); the agent's stay in p. */
int agent_proc_open_stdio(struct agent_proc *p, bool terminal, bool want_stdin, int child_fds[3],
			  struct sbx_err *err);
/* With the lock held: waits for a->changed until deadline_ns (CLOCK_MONOTONIC); false once the
 * deadline has passed. Callers loop on their own condition. */
bool agent_wait_changed(struct agent *a, uint64_t deadline_ns);
/* The main loop's reaper callback. */
void agent_on_exit(void *agent, pid_t pid, int status);

/* rootfs.c */
int agent_rootfs_block(struct agent_rootfs *r, const char *id, const char *serial,
		       const char *fstype, const char *upper_serial, struct sbx_err *err);
int agent_rootfs_stream(struct agent *a, struct agent_rootfs *r, const char *id, uint32_t size_mib,
			struct sbx_err *err);
void agent_rootfs_teardown(struct agent_rootfs *r);
/* Unmounts everything under AGENT_RUN_DIR, deepest first (DestroySandbox). */
void agent_rootfs_unmount_all(void);

/* streams.c: the port-1025 listener; one relay thread per attached stream. */
int agent_streams_start(struct agent *a, struct sbx_err *err);
/* With the lock held: ends the streams of p (RemoveContainer). */
void agent_streams_shutdown(struct agent_proc *p);
