/* OCI config.json -> struct oci_spec with jansson. Every field is checked here, once, with a
 * one-line error naming its JSON path ("mounts[3].destination: must be an absolute path"). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "oci/spec.h"

#define BAD(err, ctx, ...) bad(err, ctx, __VA_ARGS__)

static int __attribute__((format(printf, 3, 4))) bad(struct sbx_err *err, const char *ctx,
						       const char *fmt, ...)
{
	char m[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	return sbx_failx(err, EINVAL, "%s: %s", ctx, m);
}

static const char *const ns_names[OCI_NS_COUNT] = {
	[OCI_NS_PID] = "pid", [OCI_NS_MOUNT] = "mount", [OCI_NS_UTS] = "uts",
	[OCI_NS_IPC] = "ipc", [OCI_NS_NET] = "network", [OCI_NS_CGROUP] = "cgroup",
	[OCI_NS_USER] = "user", [OCI_NS_TIME] = "time",
};

const char *oci_ns_name(enum oci_ns_type t)
{
	return (unsigned)t < OCI_NS_COUNT ? ns_names[t] : "?";
}

static const char *const cap_names[] = {
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

int oci_cap_from_name(const char *name)
{
	if (strncmp(name, "CAP_", 4) != 0)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (strcmp(name + 4, cap_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

bool oci_path_ok(const char *p, bool relative)
{
	size_t n = strlen(p);
	const char *c;

	if (n == 0 || n >= OCI_MAX_STR)
		return false;
	if (!relative && p[0] != '/')
		return false;
	for (c = p; *c; c++) {
		/* a component equal to ".." */
		if (c[0] == '.' && c[1] == '.' && (c == p || c[-1] == '/') &&
		    (c[2] == '/' || c[2] == '\0'))
			return false;
	}
	return true;
}

/* ---- small typed getters: all return 0 when absent (and leave *out), -EINVAL on bad type -- */

static int get_str(json_t *o, const char *key, const char *ctx, char **out, struct sbx_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return BAD(err, ctx, "%s: must be a string", key);
	if (json_string_length(v) >= OCI_MAX_STR || strlen(json_string_value(v)) !=
							   json_string_length(v))
		return BAD(err, ctx, "%s: too long or contains NUL", key);
	*out = strdup(json_string_value(v));
	return *out ? 1 : -ENOMEM;
}

static int get_bool(json_t *o, const char *key, const char *ctx, bool *out, struct sbx_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return BAD(err, ctx, "%s: must be a boolean", key);
	*out = json_is_true(v);
	return 1;
}

static int get_int(json_t *o, const char *key, const char *ctx, int64_t min, int64_t max,
		   int64_t *out, struct sbx_err *err)
{
	json_t *v = json_object_get(o, key);
	json_int_t x;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return BAD(err, ctx, "%s: must be an integer", key);
	x = json_integer_value(v);
	if (x < min || x > max)
		return BAD(err, ctx, "%s: %lld out of range [%" PRId64 ", %" PRId64 "]", key,
			   (long long)x, min, max);
	*out = x;
	return 1;
}

static int get_u64(json_t *o, const char *key, const char *ctx, uint64_t max, uint64_t *out,
		   struct sbx_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	/* jansson stores integers as long long; values above INT64_MAX do not parse at all */
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return BAD(err, ctx, "%s: must be a non-negative integer", key);
	if ((uint64_t)json_integer_value(v) > max)
		return BAD(err, ctx, "%s: too large", key);
	*out = (uint64_t)json_integer_value(v);
	return 1;
}

/* An array (or absent) of at most max elements. */
static int get_array(json_t *o, const char *key, const char *ctx, size_t max, json_t **out,
		     struct sbx_err *err)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return BAD(err, ctx, "%s: must be an array", key);
	if (json_array_size(v) > max)
		return BAD(err, ctx, "%s: more than %zu entries", key, max);
	*out = v;
	return 1;
}

static int get_obj(json_t *o, const char *key, const char *ctx, json_t **out, struct sbx_err *err)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return BAD(err, ctx, "%s: must be an object", key);
	*out = v;
	return 1;
}

static void strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A string array -> NULL-terminated char **. check: 0 none, 1 absolute path, 2 env "K=V". */
static int get_strv(json_t *o, const char *key, const char *ctx, size_t max, int check,
		    char ***out, size_t *n, struct sbx_err *err)
{
	json_t *a, *v;
	size_t i;
	char **r;
	int rc;

	rc = get_array(o, key, ctx, max, &a, err);
	if (rc <= 0)
		return rc;
	r = calloc(json_array_size(a) + 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	json_array_foreach(a, i, v) {
		const char *s;

		if (!json_is_string(v) || json_string_length(v) >= OCI_MAX_STR ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			rc = BAD(err, ctx, "%s[%zu]: must be a string without NUL, < %d bytes", key,
				 i, OCI_MAX_STR);
			goto fail;
		}
		s = json_string_value(v);
		if (check == 1 && !oci_path_ok(s, false)) {
			rc = BAD(err, ctx, "%s[%zu]: must be an absolute path without '..'", key, i);
			goto fail;
		}
		if (check == 2 && (s[0] == '=' || !strchr(s, '='))) {
			rc = BAD(err, ctx, "%s[%zu]: must be KEY=VALUE", key, i);
			goto fail;
		}
		r[i] = strdup(s);
		if (!r[i]) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	*out = r;
	*n = json_array_size(a);
	return 1;
fail:
	strv_free(r, json_array_size(a));
	return rc;
}

/* ---- process ------------------------------------------------------------------------------ */

static const struct {
	const char *name;
	int res;
} rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },	      { "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },	      { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },     { "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },	      { "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },     { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },   { "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

static int parse_rlimits(json_t *p, struct oci_process *pr, struct sbx_err *err)
{
	json_t *a, *v;
	size_t i;
	int rc;

	rc = get_array(p, "rlimits", "process", OCI_MAX_RLIMITS, &a, err);
	if (rc <= 0)
		return rc;
	pr->rlimits = calloc(json_array_size(a) + 1, sizeof(*pr->rlimits));
	if (!pr->rlimits)
		return -ENOMEM;
	json_array_foreach(a, i, v) {
		char ctx[64];
		_cleanup_free_ char *type = NULL;
		struct oci_rlimit *rl = &pr->rlimits[i];
		size_t k;

		snprintf(ctx, sizeof(ctx), "process.rlimits[%zu]", i);
		if (!json_is_object(v))
			return BAD(err, ctx, "must be an object");
		rc = get_str(v, "type", ctx, &type, err);
		if (rc < 0)
			return rc;
		if (!type)
			return BAD(err, ctx, "type: missing");
		for (k = 0; k < ARRAY_SIZE(rlimit_names); k++)
			if (strcmp(type, rlimit_names[k].name) == 0)
				break;
		if (k == ARRAY_SIZE(rlimit_names))
			return BAD(err, ctx, "type: unknown rlimit '%s'", type);
		rl->resource = rlimit_names[k].res;
		rl->soft = rl->hard = 0;
		if ((rc = get_u64(v, "soft", ctx, UINT64_MAX, &rl->soft, err)) < 0 ||
		    (rc = get_u64(v, "hard", ctx, UINT64_MAX, &rl->hard, err)) < 0)
			return rc;
		if (rl->soft > rl->hard)
			return BAD(err, ctx, "soft limit above hard limit");
		pr->nrlimits++;
	}
	return 0;
}

static int parse_caps(json_t *p, struct oci_process *pr, struct sbx_err *err)
{
	static const char *const sets[OCI_CAP_SETS] = { "bounding", "effective", "inheritable",
							"permitted", "ambient" };
	json_t *c;
	int rc;

	rc = get_obj(p, "capabilities", "process", &c, err);
	if (rc <= 0)
		return rc;
	pr->has_caps = true;
	for (int s = 0; s < OCI_CAP_SETS; s++) {
		json_t *a, *v;
		size_t i;
		char ctx[64];

		snprintf(ctx, sizeof(ctx), "process.capabilities");
		rc = get_array(c, sets[s], ctx, OCI_MAX_CAPS * 2, &a, err);
		if (rc < 0)
			return rc;
		if (!a)
			continue;
		json_array_foreach(a, i, v) {
			int cap = json_is_string(v) ? oci_cap_from_name(json_string_value(v)) : -1;

			if (cap < 0)
				return BAD(err, ctx, "%s[%zu]: unknown capability", sets[s], i);
			pr->caps[s] |= 1ull << cap;
		}
	}
	return 0;
}

static int parse_process(json_t *root, struct oci_spec *s, struct sbx_err *err)
{
	struct oci_process *pr = &s->process;
	json_t *p, *u;
	int64_t x;
	int rc;

	rc = get_obj(root, "process", "spec", &p, err);
	if (rc <= 0)
		return rc;
	s->has_process = true;
	rc = get_strv(p, "args", "process", OCI_MAX_ARGS, 0, &pr->args, &pr->nargs, err);
	if (rc < 0)
		return rc;
	if (pr->nargs == 0)
		return BAD(err, "process.args", "must have at least one element");
	rc = get_strv(p, "env", "process", OCI_MAX_ENV, 2, &pr->env, &pr->nenv, err);
	if (rc < 0)
		return rc;
	rc = get_str(p, "cwd", "process", &pr->cwd, err);
	if (rc < 0)
		return rc;
	if (!pr->cwd)
		return BAD(err, "process.cwd", "missing");
	if (!oci_path_ok(pr->cwd, false))
		return BAD(err, "process.cwd", "must be an absolute path without '..'");
	if ((rc = get_bool(p, "terminal", "process", &pr->terminal, err)) < 0 ||
	    (rc = get_bool(p, "noNewPrivileges", "process", &pr->no_new_privs, err)) < 0)
		return rc;
	rc = get_int(p, "oomScoreAdj", "process", -1000, 1000, &x, err);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		pr->has_oom_score_adj = true;
		pr->oom_score_adj = (int)x;
	}
	rc = get_obj(p, "user", "process", &u, err);
	if (rc < 0)
		return rc;
	if (u) {
		json_t *a, *v;
		size_t i;

		if ((rc = get_int(u, "uid", "process.user", 0, UINT32_MAX - 1, &x, err)) < 0)
			return rc;
		pr->uid = rc ? (uint32_t)x : 0;
		if ((rc = get_int(u, "gid", "process.user", 0, UINT32_MAX - 1, &x, err)) < 0)
			return rc;
		pr->gid = rc ? (uint32_t)x : 0;
		rc = get_array(u, "additionalGids", "process.user", OCI_MAX_GIDS, &a, err);
		if (rc < 0)
			return rc;
		if (a) {
			pr->gids = calloc(json_array_size(a) + 1, sizeof(*pr->gids));
			if (!pr->gids)
				return -ENOMEM;
			json_array_foreach(a, i, v) {
				if (!json_is_integer(v) || json_integer_value(v) < 0 ||
				    json_integer_value(v) >= UINT32_MAX)
					return BAD(err, "process.user", "additionalGids[%zu]: bad gid",
						   i);
				pr->gids[pr->ngids++] = (uint32_t)json_integer_value(v);
			}
		}
	}
	if ((rc = parse_rlimits(p, pr, err)) < 0)
		return rc;
	return parse_caps(p, pr, err);
}

/* ---- mounts, namespaces, paths ------------------------------------------------------------ */

static int parse_mounts(json_t *root, struct oci_spec *s, struct sbx_err *err)
{
	json_t *a, *v;
	size_t i;
	int rc;

	rc = get_array(root, "mounts", "spec", OCI_MAX_MOUNTS, &a, err);
	if (rc <= 0)
		return rc;
	s->mounts = calloc(json_array_size(a) + 1, sizeof(*s->mounts));
	if (!s->mounts)
		return -ENOMEM;
	json_array_foreach(a, i, v) {
		struct oci_mount *m = &s->mounts[i];
		char ctx[32];

		snprintf(ctx, sizeof(ctx), "mounts[%zu]", i);
		if (!json_is_object(v))
			return BAD(err, ctx, "must be an object");
		s->nmounts++;
		if ((rc = get_str(v, "destination", ctx, &m->destination, err)) < 0 ||
		    (rc = get_str(v, "type", ctx, &m->type, err)) < 0 ||
		    (rc = get_str(v, "source", ctx, &m->source, err)) < 0)
			return rc;
		if (!m->destination)
			return BAD(err, ctx, "destination: missing");
		if (!oci_path_ok(m->destination, false))
			return BAD(err, ctx, "destination: must be an absolute path without '..'");
		rc = get_strv(v, "options", ctx, 64, 0, &m->options, &m->noptions, err);
		if (rc < 0)
			return rc;
		if (!m->type) {
			bool bind = false;

			for (size_t k = 0; k < m->noptions; k++)
				bind |= !strcmp(m->options[k], "bind") ||
					!strcmp(m->options[k], "rbind");
			if (!bind)
				return BAD(err, ctx, "type: missing (and not a bind mount)");
			m->type = strdup("bind");
			if (!m->type)
				return -ENOMEM;
		}
	}
	return 0;
}

static int parse_namespaces(json_t *lx, struct oci_spec *s, struct sbx_err *err)
{
	json_t *a, *v;
	size_t i;
	int rc;

	rc = get_array(lx, "namespaces", "linux", OCI_NS_COUNT, &a, err);
	if (rc <= 0)
		return rc;
	json_array_foreach(a, i, v) {
		_cleanup_free_ char *type = NULL;
		struct oci_namespace *n = &s->ns[s->nns];
		char ctx[40];
		int t;

		snprintf(ctx, sizeof(ctx), "linux.namespaces[%zu]", i);
		if (!json_is_object(v))
			return BAD(err, ctx, "must be an object");
		if ((rc = get_str(v, "type", ctx, &type, err)) < 0)
			return rc;
		if (!type)
			return BAD(err, ctx, "type: missing");
		for (t = 0; t < OCI_NS_COUNT; t++)
			if (!strcmp(type, ns_names[t]))
				break;
		if (t == OCI_NS_COUNT)
			return BAD(err, ctx, "type: unknown namespace type '%s'", type);
		if (oci_spec_ns(s, t))
			return BAD(err, ctx, "type: '%s' given twice", type);
		if ((rc = get_str(v, "path", ctx, &n->path, err)) < 0)
			return rc;
		n->type = t;
		s->nns++;
		if (n->path && !oci_path_ok(n->path, false))
			return BAD(err, ctx, "path: must be an absolute path without '..'");
	}
	return 0;
}

const struct oci_namespace *oci_spec_ns(const struct oci_spec *s, enum oci_ns_type t)
{
	for (size_t i = 0; i < s->nns; i++)
		if (s->ns[i].type == t)
			return &s->ns[i];
	return NULL;
}


/* ---- linux: resources, seccomp, paths, sysctl, devices ------------------------------------ */

static int parse_resources(json_t *lx, struct oci_spec *s, struct sbx_err *err)
{
	struct oci_resources *r = &s->res;
	json_t *res, *m, *c, *p, *b;
	int64_t x;
	int rc;

	rc = get_obj(lx, "resources", "linux", &res, err);
	if (rc <= 0)
		return rc;
	/* 1 PiB bounds every byte count: anything larger is a typo or an attack */
	const int64_t big = 1ll << 50;
	if ((rc = get_obj(res, "memory", "linux.resources", &m, err)) < 0)
		return rc;
	if (m) {
		const char *ctx = "linux.resources.memory";

		if ((rc = get_int(m, "limit", ctx, -1, big, &r->mem_limit, err)) < 0)
			return rc;
		r->has_mem_limit = rc > 0 && r->mem_limit >= 0;
		if ((rc = get_int(m, "reservation", ctx, -1, big, &r->mem_reservation, err)) < 0)
			return rc;
		r->has_mem_reservation = rc > 0 && r->mem_reservation >= 0;
		if ((rc = get_int(m, "swap", ctx, -1, big, &r->mem_swap, err)) < 0)
			return rc;
		r->has_mem_swap = rc > 0;
		if (r->has_mem_limit && r->has_mem_swap && r->mem_swap >= 0 &&
		    r->mem_swap < r->mem_limit)
			return BAD(err, ctx, "swap: below limit (swap is memory+swap)");
	}
	if ((rc = get_obj(res, "cpu", "linux.resources", &c, err)) < 0)
		return rc;
	if (c) {
		const char *ctx = "linux.resources.cpu";

		if ((rc = get_u64(c, "shares", ctx, 262144, &r->cpu_shares, err)) < 0)
			return rc;
		r->has_cpu_shares = rc > 0;
		if (r->has_cpu_shares && r->cpu_shares < 2)
			return BAD(err, ctx, "shares: must be 2..262144");
		if ((rc = get_int(c, "quota", ctx, -1, 1ll << 40, &r->cpu_quota, err)) < 0)
			return rc;
		r->has_cpu_quota = rc > 0;
		if (r->has_cpu_quota && r->cpu_quota >= 0 && r->cpu_quota < 1000)
			return BAD(err, ctx, "quota: below 1000 us");
		if ((rc = get_u64(c, "period", ctx, 1000000, &r->cpu_period, err)) < 0)
			return rc;
		r->has_cpu_period = rc > 0;
		if (r->has_cpu_period && r->cpu_period < 1000)
			return BAD(err, ctx, "period: must be 1000..1000000 us");
		if ((rc = get_str(c, "cpus", ctx, &r->cpus, err)) < 0)
			return rc;
		if (r->cpus && (strlen(r->cpus) > 256 || strspn(r->cpus, "0123456789,-") !=
								strlen(r->cpus)))
			return BAD(err, ctx, "cpus: must be a cpu list like 0-2,4");
	}
	if ((rc = get_obj(res, "pids", "linux.resources", &p, err)) < 0)
		return rc;
	if (p) {
		if ((rc = get_int(p, "limit", "linux.resources.pids", -1, 1 << 22, &x, err)) < 0)
			return rc;
		r->has_pids_limit = rc > 0 && x > 0;
		r->pids_limit = x;
	}
	if ((rc = get_obj(res, "blockIO", "linux.resources", &b, err)) < 0)
		return rc;
	if (b) {
		if ((rc = get_int(b, "weight", "linux.resources.blockIO", 10, 1000, &x, err)) < 0)
			return rc;
		if (rc > 0)
			r->blkio_weight = (uint16_t)x;
	}
	return 0;
}

static const char *const sc_actions[] = {
	[OCI_SC_KILL] = "SCMP_ACT_KILL",   [OCI_SC_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
	[OCI_SC_TRAP] = "SCMP_ACT_TRAP",   [OCI_SC_ERRNO] = "SCMP_ACT_ERRNO",
	[OCI_SC_TRACE] = "SCMP_ACT_TRACE", [OCI_SC_ALLOW] = "SCMP_ACT_ALLOW",
	[OCI_SC_LOG] = "SCMP_ACT_LOG",
};
static const char *const sc_ops[] = {
	[OCI_OP_NE] = "SCMP_CMP_NE", [OCI_OP_LT] = "SCMP_CMP_LT", [OCI_OP_LE] = "SCMP_CMP_LE",
	[OCI_OP_EQ] = "SCMP_CMP_EQ", [OCI_OP_GE] = "SCMP_CMP_GE", [OCI_OP_GT] = "SCMP_CMP_GT",
	[OCI_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

static int get_enum(json_t *o, const char *key, const char *ctx, const char *const *names,
		    size_t n, int *out, struct sbx_err *err)
{
	_cleanup_free_ char *v = NULL;
	int rc = get_str(o, key, ctx, &v, err);

	if (rc <= 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v, names[i])) {
			*out = (int)i;
			return 1;
		}
	return BAD(err, ctx, "%s: unknown value '%s'", key, v);
}

static int parse_sc_args(json_t *a, struct oci_syscall *sc, const char *ctx, struct sbx_err *err)
{
	json_t *v;
	size_t i;
	int rc, op;

	sc->args = calloc(json_array_size(a) + 1, sizeof(*sc->args));
	if (!sc->args)
		return -ENOMEM;
	json_array_foreach(a, i, v) {
		struct oci_sc_arg *g = &sc->args[i];
		uint64_t idx = 0;

		if (!json_is_object(v))
			return BAD(err, ctx, "args[%zu]: must be an object", i);
		if ((rc = get_u64(v, "index", ctx, 5, &idx, err)) < 0)
			return rc;
		if (rc == 0)
			return BAD(err, ctx, "args[%zu].index: missing", i);
		if ((rc = get_u64(v, "value", ctx, UINT64_MAX, &g->value, err)) < 0 ||
		    (rc = get_u64(v, "valueTwo", ctx, UINT64_MAX, &g->value_two, err)) < 0)
			return rc;
		if ((rc = get_enum(v, "op", ctx, sc_ops, ARRAY_SIZE(sc_ops), &op, err)) < 0)
			return rc;
		if (rc == 0)
			return BAD(err, ctx, "args[%zu].op: missing", i);
		g->index = (unsigned)idx;
		g->op = op;
		sc->nargs++;
	}
	return 0;
}

static int parse_seccomp(json_t *lx, struct oci_spec *s, struct sbx_err *err)
{
	struct oci_seccomp *sp;
	json_t *o, *a, *v;
	size_t i;
	int rc, act;
	int64_t x;

	rc = get_obj(lx, "seccomp", "linux", &o, err);
	if (rc <= 0)
		return rc;
	sp = s->seccomp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	rc = get_enum(o, "defaultAction", "linux.seccomp", sc_actions, ARRAY_SIZE(sc_actions), &act,
		      err);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return BAD(err, "linux.seccomp", "defaultAction: missing");
	sp->default_action = act;
	sp->default_errno = EPERM;
	if ((rc = get_int(o, "defaultErrnoRet", "linux.seccomp", 0, 4095, &x, err)) < 0)
		return rc;
	if (rc > 0)
		sp->default_errno = (uint32_t)x;
	rc = get_strv(o, "architectures", "linux.seccomp", 16, 0, &sp->archs, &sp->narchs, err);
	if (rc < 0)
		return rc;
	for (i = 0; i < sp->narchs; i++)
		if (strncmp(sp->archs[i], "SCMP_ARCH_", 10))
			return BAD(err, "linux.seccomp", "architectures[%zu]: unknown", i);
	rc = get_array(o, "syscalls", "linux.seccomp", OCI_MAX_SYSCALLS, &a, err);
	if (rc <= 0)
		return rc;
	sp->syscalls = calloc(json_array_size(a) + 1, sizeof(*sp->syscalls));
	if (!sp->syscalls)
		return -ENOMEM;
	json_array_foreach(a, i, v) {
		struct oci_syscall *sc = &sp->syscalls[i];
		char ctx[48];
		json_t *args;

		snprintf(ctx, sizeof(ctx), "linux.seccomp.syscalls[%zu]", i);
		if (!json_is_object(v))
			return BAD(err, ctx, "must be an object");
		sp->nsyscalls++;
		if ((rc = get_strv(v, "names", ctx, 512, 0, &sc->names, &sc->nnames, err)) < 0)
			return rc;
		if (sc->nnames == 0)
			return BAD(err, ctx, "names: missing or empty");
		rc = get_enum(v, "action", ctx, sc_actions, ARRAY_SIZE(sc_actions), &act, err);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return BAD(err, ctx, "action: missing");
		sc->action = act;
		sc->errno_ret = EPERM;
		if ((rc = get_int(v, "errnoRet", ctx, 0, 4095, &x, err)) < 0)
			return rc;
		if (rc > 0)
			sc->errno_ret = (uint32_t)x;
		if ((rc = get_array(v, "args", ctx, 6, &args, err)) < 0)
			return rc;
		if (args && (rc = parse_sc_args(args, sc, ctx, err)) < 0)
			return rc;
	}
	return 0;
}

static int parse_sysctl(json_t *lx, struct oci_spec *s, struct sbx_err *err)
{
	const char *k;
	json_t *o, *v;
	int rc;

	rc = get_obj(lx, "sysctl", "linux", &o, err);
	if (rc <= 0)
		return rc;
	if (json_object_size(o) > 256)
		return BAD(err, "linux.sysctl", "more than 256 entries");
	s->sysctls = calloc(json_object_size(o) + 1, sizeof(*s->sysctls));
	if (!s->sysctls)
		return -ENOMEM;
	json_object_foreach(o, k, v) {
		struct oci_sysctl *sy = &s->sysctls[s->nsysctls];

		/* keys become /proc/sys/<a>/<b>: dots and dashes only, never a path */
		if (!*k || strlen(k) > 256 || k[0] == '.' ||
		    strspn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
			    strlen(k) || strstr(k, ".."))
			return BAD(err, "linux.sysctl", "bad key '%.64s'", k);
		if (!json_is_string(v) || json_string_length(v) > 1024 ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return BAD(err, "linux.sysctl", "%s: value must be a short string", k);
		sy->key = strdup(k);
		sy->value = strdup(json_string_value(v));
		s->nsysctls++;
		if (!sy->key || !sy->value)
			return -ENOMEM;
	}
	return 0;
}

static int parse_devices(json_t *lx, struct oci_spec *s, struct sbx_err *err)
{
	json_t *a, *v;
	size_t i;
	int rc;

	rc = get_array(lx, "devices", "linux", 256, &a, err);
	if (rc <= 0)
		return rc;
	s->devices = calloc(json_array_size(a) + 1, sizeof(*s->devices));
	if (!s->devices)
		return -ENOMEM;
	json_array_foreach(a, i, v) {
		struct oci_device *d = &s->devices[i];
		_cleanup_free_ char *type = NULL;
		char ctx[40];
		int64_t x;

		snprintf(ctx, sizeof(ctx), "linux.devices[%zu]", i);
		if (!json_is_object(v))
			return BAD(err, ctx, "must be an object");
		s->ndevices++;
		if ((rc = get_str(v, "path", ctx, &d->path, err)) < 0 ||
		    (rc = get_str(v, "type", ctx, &type, err)) < 0)
			return rc;
		if (!d->path || !oci_path_ok(d->path, false) || strncmp(d->path, "/dev/", 5))
			return BAD(err, ctx, "path: must be an absolute path under /dev");
		if (!type || strlen(type) != 1 || !strchr("cbup", type[0]))
			return BAD(err, ctx, "type: must be c, b, u or p");
		d->type = type[0] == 'u' ? 'c' : type[0];
		if ((rc = get_int(v, "major", ctx, 0, 4095, &d->major, err)) < 0 ||
		    (rc = get_int(v, "minor", ctx, 0, 1048575, &d->minor, err)) < 0)
			return rc;
		if ((rc = get_int(v, "fileMode", ctx, 0, 07777, &x, err)) < 0)
			return rc;
		d->has_mode = rc > 0;
		d->mode = (uint32_t)x;
		if ((rc = get_int(v, "uid", ctx, 0, UINT32_MAX - 1, &x, err)) < 0)
			return rc;
		d->has_uid = rc > 0;
		d->uid = (uint32_t)x;
		if ((rc = get_int(v, "gid", ctx, 0, UINT32_MAX - 1, &x, err)) < 0)
			return rc;
		d->has_gid = rc > 0;
		d->gid = (uint32_t)x;
	}
	return 0;
}

static int parse_linux(json_t *lx, struct oci_spec *s, struct sbx_err *err)
{
	int rc;

	if ((rc = parse_namespaces(lx, s, err)) < 0 || (rc = parse_resources(lx, s, err)) < 0 ||
	    (rc = parse_seccomp(lx, s, err)) < 0 || (rc = parse_sysctl(lx, s, err)) < 0 ||
	    (rc = parse_devices(lx, s, err)) < 0)
		return rc;
	rc = get_strv(lx, "maskedPaths", "linux", OCI_MAX_PATHS, 1, &s->masked_paths, &s->nmasked,
		      err);
	if (rc < 0)
		return rc;
	rc = get_strv(lx, "readonlyPaths", "linux", OCI_MAX_PATHS, 1, &s->readonly_paths,
		      &s->nreadonly, err);
	return rc < 0 ? rc : 0;
}

int oci_spec_parse(const char *json, size_t len, struct oci_spec **ret, struct sbx_err *err)
{
	struct oci_spec *s;
	json_error_t je;
	json_t *root, *r, *lx;
	int rc;

	if (len > OCI_MAX_SPEC_BYTES)
		return sbx_failx(err, E2BIG, "spec: larger than %u bytes", OCI_MAX_SPEC_BYTES);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return sbx_failx(err, EINVAL, "spec: line %d column %d: %s", je.line, je.column,
				 je.text);
	s = calloc(1, sizeof(*s));
	if (!s) {
		rc = -ENOMEM;
		goto out;
	}
	if (!json_is_object(root)) {
		rc = BAD(err, "spec", "must be a JSON object");
		goto out;
	}
	if ((rc = parse_process(root, s, err)) < 0 || (rc = parse_mounts(root, s, err)) < 0)
		goto out;
	if ((rc = get_str(root, "hostname", "spec", &s->hostname, err)) < 0)
		goto out;
	if (s->hostname && strlen(s->hostname) > 64) {
		rc = BAD(err, "hostname", "longer than 64 bytes");
		goto out;
	}
	if ((rc = get_obj(root, "root", "spec", &r, err)) < 0)
		goto out;
	if (r) {
		if ((rc = get_str(r, "path", "root", &s->root_path, err)) < 0 ||
		    (rc = get_bool(r, "readonly", "root", &s->root_readonly, err)) < 0)
			goto out;
		if (s->root_path && !oci_path_ok(s->root_path, true)) {
			rc = BAD(err, "root.path", "must be a path without '..'");
			goto out;
		}
	}
	if ((rc = get_obj(root, "linux", "spec", &lx, err)) < 0)
		goto out;
	if (lx)
		rc = parse_linux(lx, s, err);
out:
	json_decref(root);
	if (rc < 0) {
		oci_spec_free(s);
		return rc == -ENOMEM ? sbx_fail(err, ENOMEM, "spec") : rc;
	}
	*ret = s;
	return 0;
}

int oci_spec_load(const char *path, struct oci_spec **ret, struct sbx_err *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t n = 0;
	ssize_t r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sbx_fail(err, errno, "open '%s'", path);
	buf = malloc(OCI_MAX_SPEC_BYTES + 1);
	if (!buf)
		return sbx_fail(err, ENOMEM, "spec");
	while ((r = read(fd, buf + n, OCI_MAX_SPEC_BYTES + 1 - n)) > 0)
		n += (size_t)r;
	if (r < 0)
		return sbx_fail(err, errno, "read '%s'", path);
	return oci_spec_parse(buf, n, ret, err);
}

void oci_spec_free(struct oci_spec *s)
{
	if (!s)
		return;
	strv_free(s->process.args, s->process.nargs);
	strv_free(s->process.env, s->process.nenv);
	free(s->process.cwd);
	free(s->process.gids);
	free(s->process.rlimits);
	for (size_t i = 0; i < s->nmounts; i++) {
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		free(s->mounts[i].destination);
		strv_free(s->mounts[i].options, s->mounts[i].noptions);
	}
	free(s->mounts);
	for (size_t i = 0; i < s->nns; i++)
		free(s->ns[i].path);
	free(s->hostname);
	free(s->root_path);
	free(s->res.cpus);
	if (s->seccomp) {
		strv_free(s->seccomp->archs, s->seccomp->narchs);
		for (size_t i = 0; i < s->seccomp->nsyscalls; i++) {
			strv_free(s->seccomp->syscalls[i].names, s->seccomp->syscalls[i].nnames);
			free(s->seccomp->syscalls[i].args);
		}
		free(s->seccomp->syscalls);
		free(s->seccomp);
	}
	strv_free(s->masked_paths, s->nmasked);
	strv_free(s->readonly_paths, s->nreadonly);
	for (size_t i = 0; i < s->nsysctls; i++) {
		free(s->sysctls[i].key);
		free(s->sysctls[i].value);
	}
	free(s->sysctls);
	for (size_t i = 0; i < s->ndevices; i++)
		free(s->devices[i].path);
	free(s->devices);
	free(s);
}
