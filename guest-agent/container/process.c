/* Process setup inside the new namespaces, after the rootfs: hostname, sysctls, rlimits,
 * oom_score_adj, capabilities (bounding drop, user switch keeping caps, capset, ambient),
 * no_new_privs, cwd. Seccomp comes last, right before exec (create.c). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "guest-agent/container/container.h"

static int write_file(const char *path, const char *val, struct sbx_err *err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t n = strlen(val);

	if (fd < 0)
		return sbx_fail(err, errno, "open '%s'", path);
	if (write(fd, val, n) != (ssize_t)n)
		return sbx_fail(err, errno, "write '%s'", path);
	return 0;
}

static int set_sysctls(const struct oci_spec *spec, struct sbx_err *err)
{
	for (size_t i = 0; i < spec->nsysctls; i++) {
		char path[300];
		char *c;

		/* key validated by lib/oci: [A-Za-z0-9._-], so this stays under /proc/sys */
		snprintf(path, sizeof(path), "/proc/sys/%s", spec->sysctls[i].key);
		for (c = path + 10; *c; c++)
			if (*c == '.')
				*c = '/';
		if (write_file(path, spec->sysctls[i].value, err) < 0)
			return sbx_wrap(err, "sysctl %s", spec->sysctls[i].key);
	}
	return 0;
}

static int set_caps(const struct oci_process *p, struct sbx_err *err)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {0};
	const uint64_t *c = p->caps;

	d[0].effective = (uint32_t)c[OCI_CAP_EFFECTIVE];
	d[1].effective = (uint32_t)(c[OCI_CAP_EFFECTIVE] >> 32);
	d[0].permitted = (uint32_t)c[OCI_CAP_PERMITTED];
	d[1].permitted = (uint32_t)(c[OCI_CAP_PERMITTED] >> 32);
	d[0].inheritable = (uint32_t)c[OCI_CAP_INHERITABLE];
	d[1].inheritable = (uint32_t)(c[OCI_CAP_INHERITABLE] >> 32);
	if (syscall(SYS_capset, &h, d) < 0)
		return sbx_fail(err, errno, "capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return sbx_fail(err, errno, "clear ambient caps");
	for (int i = 0; i < 64; i++)
		if ((c[OCI_CAP_AMBIENT] >> i & 1) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
			return sbx_fail(err, errno, "raise ambient cap %d", i);
	return 0;
}

static int switch_user(const struct oci_process *p, struct sbx_err *err)
{
	gid_t gids[OCI_MAX_GIDS];

	for (size_t i = 0; i < p->ngids; i++)
		gids[i] = p->gids[i];
	if (setgroups(p->ngids, gids) < 0)
		return sbx_fail(err, errno, "setgroups");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return sbx_fail(err, errno, "setgid %u", p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return sbx_fail(err, errno, "setuid %u", p->uid);
	return 0;
}

int ct_setup_process(const struct oci_spec *spec, struct sbx_err *err)
{
	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return sbx_fail(err, errno, "sethostname");
	if (set_sysctls(spec, err) < 0)
		return -err->code;
	return ct_setup_exec(&spec->process, err);
}

int ct_setup_exec(const struct oci_process *p, struct sbx_err *err)
{
	char buf[16];

	for (size_t i = 0; i < p->nrlimits; i++) {
		struct rlimit rl = {p->rlimits[i].soft, p->rlimits[i].hard};

		if (setrlimit(p->rlimits[i].resource, &rl) < 0)
			return sbx_fail(err, errno, "setrlimit %d", p->rlimits[i].resource);
	}
	if (p->has_oom_score_adj) {
		snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
		if (write_file("/proc/self/oom_score_adj", buf, err) < 0)
			return -err->code;
	}
	if (p->has_caps) {
		for (int i = 0; i <= CAP_LAST_CAP; i++)
			if (!(p->caps[OCI_CAP_BOUNDING] >> i & 1) &&
			    prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL)
				return sbx_fail(err, errno, "drop bounding cap %d", i);
		/* keep permitted caps across setuid; capset below then sets the exact sets */
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			return sbx_fail(err, errno, "keepcaps");
	}
	if (switch_user(p, err) < 0)
		return -err->code;
	if (p->has_caps && set_caps(p, err) < 0)
		return -err->code;
	if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return sbx_fail(err, errno, "no_new_privs");
	if (chdir(p->cwd) < 0)
		return sbx_fail(err, errno, "chdir '%s'", p->cwd);
	return 0;
}
