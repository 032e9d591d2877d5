/* OCI runtime spec (config.json) for Linux, parsed and validated into plain C structs.
 * Everything the agent acts on comes out of here already checked: paths absolute and free of
 * "..", enums known, sizes bounded. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

#define OCI_MAX_ARGS 4096
#define OCI_MAX_ENV 4096
#define OCI_MAX_MOUNTS 512
#define OCI_MAX_GIDS 256
#define OCI_MAX_RLIMITS 32
#define OCI_MAX_CAPS 64
#define OCI_MAX_SYSCALLS 4096
#define OCI_MAX_PATHS 1024
#define OCI_MAX_STR 4096
#define OCI_MAX_ANNOTATIONS 1024
#define OCI_MAX_SPEC_BYTES (4u << 20)

enum oci_ns_type {
	OCI_NS_PID,
	OCI_NS_MOUNT,
	OCI_NS_UTS,
	OCI_NS_IPC,
	OCI_NS_NET,
	OCI_NS_CGROUP,
	OCI_NS_USER,
	OCI_NS_TIME,
	OCI_NS_COUNT
};

enum oci_cap_set {
	OCI_CAP_BOUNDING,
	OCI_CAP_EFFECTIVE,
	OCI_CAP_INHERITABLE,
	OCI_CAP_PERMITTED,
	OCI_CAP_AMBIENT,
	OCI_CAP_SETS
};

enum oci_sc_action {
	OCI_SC_KILL,
	OCI_SC_KILL_PROCESS,
	OCI_SC_TRAP,
	OCI_SC_ERRNO,
	OCI_SC_TRACE,
	OCI_SC_ALLOW,
	OCI_SC_LOG
};

enum oci_sc_op {
	OCI_OP_NE,
	OCI_OP_LT,
	OCI_OP_LE,
	OCI_OP_EQ,
	OCI_OP_GE,
	OCI_OP_GT,
	OCI_OP_MASKED_EQ
};

struct oci_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

struct oci_process {
	char **args; /* NULL-terminated */
	size_t nargs;
	char **env;
	size_t nenv;
	char *cwd;
	uint32_t uid, gid;
	uint32_t *gids;
	size_t ngids;
	bool terminal;
	struct oci_rlimit *rlimits;
	size_t nrlimits;
	uint64_t caps[OCI_CAP_SETS]; /* bit n = capability n */
	bool has_caps;
	bool no_new_privs;
	bool has_oom_score_adj;
	int oom_score_adj;
};

struct oci_mount {
	char *type, *source, *destination;
	char **options;
	size_t noptions;
};

struct oci_namespace {
	enum oci_ns_type type;
	char *path; /* join this namespace instead of creating one; may be NULL */
};

struct oci_resources {
	int64_t mem_limit, mem_reservation, mem_swap; /* -1 = unset (swap -1 = unlimited too) */
	bool has_mem_limit, has_mem_reservation, has_mem_swap;
	uint64_t cpu_shares, cpu_period;
	int64_t cpu_quota;
	bool has_cpu_shares, has_cpu_quota, has_cpu_period;
	char *cpus;
	int64_t pids_limit;
	bool has_pids_limit;
	uint16_t blkio_weight; /* 0 = unset, else 10..1000 */
};

struct oci_sc_arg {
	unsigned index;
	uint64_t value, value_two;
	enum oci_sc_op op;
};

struct oci_syscall {
	char **names;
	size_t nnames;
	enum oci_sc_action action;
	uint32_t errno_ret; /* for OCI_SC_ERRNO; default EPERM */
	struct oci_sc_arg *args;
	size_t nargs;
};

struct oci_seccomp {
	enum oci_sc_action default_action;
	uint32_t default_errno;
	char **archs;
	size_t narchs;
	struct oci_syscall *syscalls;
	size_t nsyscalls;
};

struct oci_sysctl {
	char *key, *value;
};

struct oci_device {
	char *path;
	char type; /* 'c', 'b', 'u' or 'p' */
	int64_t major, minor;
	uint32_t mode, uid, gid;
	bool has_mode, has_uid, has_gid;
};

/* One entry of the spec's "annotations" map; keys are unique (the JSON parser refuses
 * duplicates) and non-empty. */
struct oci_annotation {
	char *key, *value;
};

struct oci_spec {
	struct oci_process process;
	bool has_process;
	char *hostname;
	char *root_path;
	bool root_readonly;
	struct oci_mount *mounts;
	size_t nmounts;
	struct oci_namespace ns[OCI_NS_COUNT];
	size_t nns;
	struct oci_resources res;
	struct oci_seccomp *seccomp; /* NULL: none */
	char **masked_paths;
	size_t nmasked;
	char **readonly_paths;
	size_t nreadonly;
	struct oci_sysctl *sysctls;
	size_t nsysctls;
	struct oci_device *devices;
	size_t ndevices;
	struct oci_annotation *annotations;
	size_t nannotations;
};

/* Parses and validates a config.json text of len bytes. On success *ret is a new spec. */
int oci_spec_parse(const char *json, size_t len, struct oci_spec **ret, struct sbx_err *err);
/* Parses only a "process" object (an exec request); the result is a spec whose other fields are
 * empty. */
int oci_process_parse(const char *json, size_t len, struct oci_spec **ret, struct sbx_err *err);
int oci_spec_load(const char *path, struct oci_spec **ret, struct sbx_err *err);
void oci_spec_free(struct oci_spec *s);

/* Namespace of the given type in s, or NULL. */
const struct oci_namespace *oci_spec_ns(const struct oci_spec *s, enum oci_ns_type t);
/* The value of annotation key in s, or NULL. */
const char *oci_spec_annotation(const struct oci_spec *s, const char *key);

/* Helpers shared with the agent. */
const char *oci_ns_name(enum oci_ns_type t);
int oci_cap_from_name(const char *name); /* "CAP_SYS_ADMIN" -> 21, or -EINVAL */
/* Absolute, no "..", no empty or overlong; relative=true allows no leading '/'. */
bool oci_path_ok(const char *p, bool relative);
