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
#include "oci/spec-json.h"

static const char *const ns_names[OCI_NS_COUNT] = {
    [OCI_NS_PID] = "pid",   [OCI_NS_MOUNT] = "mount", [OCI_NS_UTS] = "uts",
    [OCI_NS_IPC] = "ipc",   [OCI_NS_NET] = "network", [OCI_NS_CGROUP] = "cgroup",
    [OCI_NS_USER] = "user", [OCI_NS_TIME] = "time",
};

const char *oci_ns_name(enum oci_ns_type t)
{
	return (unsigned)t < OCI_NS_COUNT ? ns_names[t] : "?";
}

static const char *const cap_names[] = {
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
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

/* ---- process ------------------------------------------------------------------------------ */

static const struct {
	const char *name;
	int res;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
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
	json_array_foreach(a, i, v)
	{
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
	static const char *const sets[OCI_CAP_SETS] = {"bounding", "effective", "inheritable",
						       "permitted", "ambient"};
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
		json_array_foreach(a, i, v)
		{
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
	int64_t x = 0;
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
			json_array_foreach(a, i, v)
			{
				if (!json_is_integer(v) || json_integer_value(v) < 0 ||
				    json_integer_value(v) >= UINT32_MAX)
					return BAD(err, "process.user",
						   "additionalGids[%zu]: bad gid", i);
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
	json_array_foreach(a, i, v)
	{
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
	json_array_foreach(a, i, v)
	{
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

/* OCI runtime spec "annotations": a map of non-empty keys to string values. */
static int parse_annotations(json_t *root, struct oci_spec *s, struct sbx_err *err)
{
	const char *key;
	json_t *an, *v;
	int rc;

	rc = get_obj(root, "annotations", "spec", &an, err);
	if (rc <= 0)
		return rc;
	if (json_object_size(an) > OCI_MAX_ANNOTATIONS)
		return BAD(err, "annotations", "more than %d entries", OCI_MAX_ANNOTATIONS);
	s->annotations = calloc(json_object_size(an) + 1, sizeof(*s->annotations));
	if (!s->annotations)
		return -ENOMEM;
	json_object_foreach(an, key, v)
	{
		struct oci_annotation *a = &s->annotations[s->nannotations];

		if (!key[0] || strlen(key) >= OCI_MAX_STR)
			return BAD(err, "annotations", "a key is empty or too long");
		if (!json_is_string(v))
			return BAD(err, "annotations", "%.64s: must be a string", key);
		a->key = strdup(key);
		if (!a->key)
			return -ENOMEM;
		s->nannotations++;
		if ((rc = get_str(an, key, "annotations", &a->value, err)) < 0)
			return rc;
	}
	return 0;
}

const char *oci_spec_annotation(const struct oci_spec *s, const char *key)
{
	for (size_t i = 0; i < s->nannotations; i++)
		if (!strcmp(s->annotations[i].key, key))
			return s->annotations[i].value;
	return NULL;
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
	if ((rc = parse_process(root, s, err)) < 0 || (rc = parse_mounts(root, s, err)) < 0 ||
	    (rc = parse_annotations(root, s, err)) < 0)
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
	if (lx && (rc = parse_namespaces(lx, s, err)) >= 0)
		rc = oci_parse_linux(lx, s, err);
out:
	json_decref(root);
	if (rc < 0) {
		oci_spec_free(s);
		return rc == -ENOMEM ? sbx_fail(err, ENOMEM, "spec") : rc;
	}
	*ret = s;
	return 0;
}

int oci_process_parse(const char *json, size_t len, struct oci_spec **ret, struct sbx_err *err)
{
	struct oci_spec *s;
	json_error_t je;
	json_t *proc, *wrap;
	int rc;

	if (len > OCI_MAX_SPEC_BYTES)
		return sbx_failx(err, E2BIG, "process: larger than %u bytes", OCI_MAX_SPEC_BYTES);
	proc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!proc)
		return sbx_failx(err, EINVAL, "process: line %d column %d: %s", je.line, je.column,
				 je.text);
	wrap = json_object();
	s = calloc(1, sizeof(*s));
	if (!wrap || !s || json_object_set(wrap, "process", proc) < 0)
		rc = -ENOMEM;
	else if ((rc = parse_process(wrap, s, err)) >= 0 && !s->has_process)
		rc = BAD(err, "process", "must be a JSON object");
	json_decref(proc);
	json_decref(wrap);
	if (rc < 0) {
		oci_spec_free(s);
		return rc == -ENOMEM ? sbx_fail(err, ENOMEM, "process") : rc;
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
	for (size_t i = 0; i < s->nannotations; i++) {
		free(s->annotations[i].key);
		free(s->annotations[i].value);
	}
	free(s->annotations);
	free(s);
}
