/* cgroup v2 for one container: a group under a parent directory, controllers enabled in the
 * parent, the spec's limits, then freeze/kill/stats/OOM count from the group's files. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "guest-agent/container/cgroup.h"

static int cg_write(const char *dir, const char *file, const char *val, struct sbx_err *err)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -1;
	size_t n = strlen(val);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return sbx_fail(err, errno, "open '%s'", path);
	if (write(fd, val, n) != (ssize_t)n)
		return sbx_fail(err, errno, "write '%s' to '%s'", val, path);
	return 0;
}

static int cg_read(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* value of "key N" in a flat-keyed file (cpu.stat, memory.events); 0 if absent */
static uint64_t cg_key(const char *dir, const char *file, const char *key)
{
	char buf[4096], *p;
	size_t kl = strlen(key);

	if (cg_read(dir, file, buf, sizeof(buf)) < 0)
		return 0;
	for (p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ' ')
			return strtoull(p + kl + 1, NULL, 10);
	return 0;
}

static uint64_t cg_u64(const char *dir, const char *file)
{
	char buf[64];

	return cg_read(dir, file, buf, sizeof(buf)) < 0 ? 0 : strtoull(buf, NULL, 10);
}

static int enable_controllers(const char *parent, struct sbx_err *err)
{
	static const char *const ctl[] = {"+cpu", "+cpuset", "+memory", "+pids", "+io"};
	char avail[512];

	if (cg_read(parent, "cgroup.controllers", avail, sizeof(avail)) < 0)
		return sbx_fail(err, errno, "read '%s/cgroup.controllers'", parent);
	for (size_t i = 0; i < ARRAY_SIZE(ctl); i++)
		if (strstr(avail, ctl[i] + 1) &&
		    cg_write(parent, "cgroup.subtree_control", ctl[i], err) < 0)
			return -err->code;
	return 0;
}

int cg_apply(const char *dir, const struct oci_resources *r, struct sbx_err *err)
{
	char v[64];

	if (r->has_mem_limit) {
		if (r->mem_limit < 0)
			snprintf(v, sizeof(v), "max");
		else
			snprintf(v, sizeof(v), "%" PRId64, r->mem_limit);
		if (cg_write(dir, "memory.max", v, err) < 0)
			return -err->code;
	}
	if (r->has_mem_reservation) {
		snprintf(v, sizeof(v), "%" PRId64, r->mem_reservation);
		if (cg_write(dir, "memory.low", v, err) < 0)
			return -err->code;
	}
	if (r->has_mem_swap) {
		/* OCI swap is memory+swap; cgroup v2 memory.swap.max is swap alone */
		if (r->mem_swap < 0)
			snprintf(v, sizeof(v), "max");
		else
			snprintf(v, sizeof(v), "%" PRId64,
				 r->mem_swap - (r->has_mem_limit ? r->mem_limit : 0));
		if (cg_write(dir, "memory.swap.max", v, err) < 0 && err->code != ENOENT)
			return -err->code;
	}
	if (r->has_cpu_shares) {
		/* the conversion runc and crun use: [2, 262144] -> [1, 10000] */
		snprintf(v, sizeof(v), "%" PRIu64, 1 + ((r->cpu_shares - 2) * 9999) / 262142);
		if (cg_write(dir, "cpu.weight", v, err) < 0)
			return -err->code;
	}
	if (r->has_cpu_quota || r->has_cpu_period) {
		char q[24];

		if (r->has_cpu_quota && r->cpu_quota > 0)
			snprintf(q, sizeof(q), "%" PRId64, r->cpu_quota);
		else
			snprintf(q, sizeof(q), "max");
		snprintf(v, sizeof(v), "%s %" PRIu64, q,
			 r->has_cpu_period ? r->cpu_period : 100000);
		if (cg_write(dir, "cpu.max", v, err) < 0)
			return -err->code;
	}
	if (r->cpus && cg_write(dir, "cpuset.cpus", r->cpus, err) < 0)
		return -err->code;
	if (r->has_pids_limit) {
		/* OCI: 0 or less is unlimited */
		if (r->pids_limit <= 0)
			snprintf(v, sizeof(v), "max");
		else
			snprintf(v, sizeof(v), "%" PRId64, r->pids_limit);
		if (cg_write(dir, "pids.max", v, err) < 0)
			return -err->code;
	}
	if (r->blkio_weight) {
		snprintf(v, sizeof(v), "default %u", r->blkio_weight);
		if (cg_write(dir, "io.weight", v, err) < 0 && err->code != ENOENT)
			return -err->code;
	}
	return 0;
}

int cg_create(const char *parent, const char *id, const struct oci_resources *r, char **ret_dir,
	      struct sbx_err *err)
{
	_cleanup_free_ char *dir = NULL;

	if (!*id || strchr(id, '/') || !strcmp(id, ".") || !strcmp(id, ".."))
		return sbx_failx(err, EINVAL, "cgroup: bad id '%s'", id);
	if (enable_controllers(parent, err) < 0)
		return -err->code;
	if (asprintf(&dir, "%s/%s", parent, id) < 0)
		return sbx_fail(err, ENOMEM, "cgroup");
	if (mkdir(dir, 0755) < 0)
		return sbx_fail(err, errno, "mkdir '%s'", dir);
	if (cg_apply(dir, r, err) < 0) {
		rmdir(dir);
		return -err->code;
	}
	*ret_dir = TAKE_PTR(dir);
	return 0;
}

int cg_join(const char *dir, pid_t pid, struct sbx_err *err)
{
	char v[24];

	snprintf(v, sizeof(v), "%d", (int)pid);
	return cg_write(dir, "cgroup.procs", v, err);
}

int cg_freeze(const char *dir, bool frozen, struct sbx_err *err)
{
	return cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", err);
}

int cg_kill_all(const char *dir, struct sbx_err *err)
{
	return cg_write(dir, "cgroup.kill", "1", err);
}

int cg_stats(const char *dir, struct cg_stats *s)
{
	char buf[4096], *p;

	memset(s, 0, sizeof(*s));
	s->cpu_usec = cg_key(dir, "cpu.stat", "usage_usec");
	s->cpu_user_usec = cg_key(dir, "cpu.stat", "user_usec");
	s->cpu_system_usec = cg_key(dir, "cpu.stat", "system_usec");
	s->mem_file = cg_key(dir, "memory.stat", "file");
	s->mem_max = cg_u64(dir, "memory.max"); /* "max" reads as 0: no limit */
	s->pids_max = cg_u64(dir, "pids.max");
	s->mem_current = cg_u64(dir, "memory.current");
	s->mem_anon = cg_key(dir, "memory.stat", "anon");
	s->pids_current = cg_u64(dir, "pids.current");
	s->oom_kills = cg_oom_kills(dir);
	/* io.stat: one line per device "maj:min rbytes=N wbytes=N ..."; sum them */
	if (cg_read(dir, "io.stat", buf, sizeof(buf)) == 0)
		for (p = buf; (p = strstr(p, "bytes=")); p += 6) {
			if (p[-1] == 'r')
				s->io_rbytes += strtoull(p + 6, NULL, 10);
			else if (p[-1] == 'w')
				s->io_wbytes += strtoull(p + 6, NULL, 10);
		}
	return 0;
}

uint64_t cg_oom_kills(const char *dir)
{
	return cg_key(dir, "memory.events", "oom_kill");
}

int cg_remove(const char *dir, struct sbx_err *err)
{
	/* cgroup.kill then wait for the group to empty (populated 0) before rmdir */
	for (int i = 0; i < 1000; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		cg_write(dir, "cgroup.kill", "1", NULL);
		usleep(1000);
	}
	return sbx_fail(err, errno, "rmdir '%s'", dir);
}
