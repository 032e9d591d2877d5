/* config.json "linux" object: resources, seccomp, sysctl, devices, masked/read-only paths. */
#include <errno.h>
#include <inttypes.h>

#include "oci/spec-json.h"

/* ---- linux: resources, seccomp, paths, sysctl, devices ------------------------------------ */

static int parse_resources(json_t *lx, struct oci_spec *s, struct sbx_err *err)
{
	struct oci_resources *r = &s->res;
	json_t *res, *m, *c, *p, *b;
	int64_t x = 0;
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
		if (r->cpus &&
		    (strlen(r->cpus) > 256 || strspn(r->cpus, "0123456789,-") != strlen(r->cpus)))
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
    [OCI_OP_NE] = "SCMP_CMP_NE",
    [OCI_OP_LT] = "SCMP_CMP_LT",
    [OCI_OP_LE] = "SCMP_CMP_LE",
    [OCI_OP_EQ] = "SCMP_CMP_EQ",
    [OCI_OP_GE] = "SCMP_CMP_GE",
    [OCI_OP_GT] = "SCMP_CMP_GT",
    [OCI_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

static int get_enum(json_t *o, const char *key, const char *ctx, const char *const *names, size_t n,
		    int *out, struct sbx_err *err)
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
	json_array_foreach(a, i, v)
	{
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
	int64_t x = 0;

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
	json_array_foreach(a, i, v)
	{
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
	json_object_foreach(o, k, v)
	{
		struct oci_sysctl *sy = &s->sysctls[s->nsysctls];

		/* keys become /proc/sys/<a>/<b>: dots and dashes only, never a path */
		if (!*k || strlen(k) > 256 || k[0] == '.' ||
		    strspn(k,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
			strlen(k) ||
		    strstr(k, ".."))
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
	json_array_foreach(a, i, v)
	{
		struct oci_device *d = &s->devices[i];
		_cleanup_free_ char *type = NULL;
		char ctx[40];
		int64_t x = 0;

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

int oci_parse_linux(json_t *lx, struct oci_spec *s, struct sbx_err *err)
{
	int rc;

	if ((rc = parse_resources(lx, s, err)) < 0 || (rc = parse_seccomp(lx, s, err)) < 0 ||
	    (rc = parse_sysctl(lx, s, err)) < 0 || (rc = parse_devices(lx, s, err)) < 0)
		return rc;
	rc = get_strv(lx, "maskedPaths", "linux", OCI_MAX_PATHS, 1, &s->masked_paths, &s->nmasked,
		      err);
	if (rc < 0)
		return rc;
	rc = get_strv(lx, "readonlyPaths", "linux", OCI_MAX_PATHS, 1, &s->readonly_paths,
		      &s->nreadonly, err);
	return rc < 0 ? rc : 0;
}
