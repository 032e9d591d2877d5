/* The two short-lived commands containerd runs: `start` (find or spawn the pod's shim, print
 * its address) and `delete` (clean up after a task whose shim may be gone, print a
 * DeleteResponse). Both run with the bundle as cwd. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct sbx_err;

#define SHIM_VERSION "0.1.0"

/* A symlink in each bundle the daemon serves, to the pod's state dir, for `delete`. */
#define SHIM_STATE_LINK "kata-lite-state"

struct shim_args {
	const char *ns, *id, *address, *publish_binary, *bundle;
	bool debug;
};

int shim_cmd_start(const struct shim_args *a);
int shim_cmd_delete(const struct shim_args *a);

/* The grouping id of the bundle's config.json (kata's rule: a CRI "container" joins its
 * sandbox-id, anything else is its own pod). */
int shim_group_id(const char *bundle, const char *id, char *out, size_t max, struct sbx_err *err);
/* /run/containerd/s/<sha256(address/ns/group)>, and the pod's state dir under state_root. */
void shim_socket_path(const char *address, const char *ns, const char *group, char *out,
		      size_t max);
void shim_state_dir(const char *state_root, const char *address, const char *ns, const char *group,
		    char *out, size_t max);

/* <dir>/<name> holding pid, written whole (for `delete` to find a dead pod's processes). */
void shim_write_pid_file(const char *dir, const char *name, pid_t pid);

/* The daemon: serves the task API on listen_fd until Shutdown; never returns. */
void shim_serve(const struct shim_args *a, const char *group, const char *socket, int listen_fd,
		const char *options_config_path);
