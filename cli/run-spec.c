/* The config.json `sbx run` hands the agent: docker's defaults (namespaces, capabilities, the
 * OCI default mounts, masked and read-only paths) with the image config and the user's flags
 * applied. */
#include "cli/run.h"

#include "base/err.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* docker's default capability set */
static const char *const default_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

static const char *const masked[] = {
    "/proc/asound",        "/proc/acpi",       "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/proc/scsi",          "/sys/firmware",
};

static const char *const readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
				       "/proc/sysrq-trigger"};

static json_t *strv(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *mount(const char *dest, const char *type, const char *src, const char *opts)
{
	json_t *o = json_array();
	char *copy = strdup(opts);
	for (char *save, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(o, json_string(t));
	free(copy);
	return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type", type, "source", src,
			 "options", o);
}

/* Sets K=V in env: a K already there takes the new value in its place (docker's
 * ReplaceOrAppendEnvValues), so the process never sees a name twice and getenv() agrees with
 * the shell on which one wins. */
static void env_set(json_t *env, const char *kv)
{
	size_t klen = strcspn(kv, "=");
	for (size_t i = 0; i < json_array_size(env); i++) {
		const char *e = json_string_value(json_array_get(env, i));
		if (e && !strncmp(e, kv, klen) && e[klen] == '=') {
			json_array_set_new(env, i, json_string(kv));
			return;
		}
	}
	json_array_append_new(env, json_string(kv));
}

/* The annotation sbx-agent resolves USER[:GROUP] names from (guest-agent/passwd.h). */
#define USER_ANNOTATION "io.kata-lite.user"

/* docker's -u USER[:GROUP]. Numbers go into process.user here; a name needs the image's
 * /etc/passwd or /etc/group, which only the guest mounts, so *ret_names tells the caller to pass
 * the whole string on for the agent to resolve (numbers there too, as docker resolves them:
 * "1000:staff" keeps uid 1000). Without a group a numeric uid is also the gid, as before. */
static int parse_user(const char *u, long *uid, long *gid, bool *ret_names, struct sbx_err *err)
{
	*uid = *gid = 0;
	*ret_names = false;
	if (!u || !*u)
		return 0;
	const char *colon = strchr(u, ':');
	size_t ulen = colon ? (size_t)(colon - u) : strlen(u);
	if (ulen == 0 || (colon && (!colon[1] || strchr(colon + 1, ':'))))
		return sbx_failx(err, EINVAL, "user '%s': expected USER[:GROUP]", u);
	if (strspn(u, "0123456789") == ulen) {
		*uid = strtol(u, NULL, 10);
		if (*uid > 0x7fffffff)
			return sbx_failx(err, EINVAL, "user '%s': uid out of range", u);
		*gid = *uid;
	} else {
		*ret_names = true;
	}
	if (colon) {
		const char *g = colon + 1;
		if (strspn(g, "0123456789") == strlen(g)) {
			*gid = strtol(g, NULL, 10);
			if (*gid > 0x7fffffff)
				return sbx_failx(err, EINVAL, "user '%s': gid out of range", u);
		} else {
			*gid = 0;
			*ret_names = true;
		}
	} else if (*ret_names) {
		*gid = 0;
	}
	return 0;
}

int run_spec_json(const struct run_opts *o, const struct image_config *img, char **ret_json,
		  struct sbx_err *err)
{
	char **args;
	if (image_process_args(img, o->entrypoint, o->args, o->nargs, &args, err) < 0)
		return -err->code;
	long uid, gid;
	bool user_names;
	const char *user = o->user ? o->user : img->user;
	if (parse_user(user, &uid, &gid, &user_names, err) < 0) {
		image_strv_free(args);
		return -err->code;
	}
	json_t *argv = json_array(), *env = json_array();
	for (size_t i = 0; args[i]; i++)
		json_array_append_new(argv, json_string(args[i]));
	image_strv_free(args);
	bool has_path = false;
	for (size_t i = 0; img->env && img->env[i]; i++) {
		env_set(env, img->env[i]);
		has_path |= !strncmp(img->env[i], "PATH=", 5);
	}
	for (size_t i = 0; i < o->nenv; i++) {
		env_set(env, o->env[i]);
		has_path |= !strncmp(o->env[i], "PATH=", 5);
	}
	if (!has_path)
		json_array_append_new(
		    env, json_string(
			     "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
	size_t ncaps = sizeof(default_caps) / sizeof(default_caps[0]);
	json_t *caps =
	    json_pack("{s:o, s:o, s:o}", "bounding", strv(default_caps, ncaps), "effective",
		      strv(default_caps, ncaps), "permitted", strv(default_caps, ncaps));
	const char *cwd = o->workdir ? o->workdir : img->working_dir ? img->working_dir : "/";
	json_t *process = json_pack(
	    "{s:o, s:o, s:s, s:{s:I, s:I}, s:b, s:o, s:b, s:[{s:s, s:I, s:I}]}", "args", argv,
	    "env", env, "cwd", cwd, "user", "uid", (json_int_t)uid, "gid", (json_int_t)gid,
	    "terminal", o->tty, "capabilities", caps, "noNewPrivileges", true, "rlimits", "type",
	    "RLIMIT_NOFILE", "hard", (json_int_t)1048576, "soft", (json_int_t)1048576);
	json_t *mounts = json_array();
	json_array_append_new(mounts, mount("/proc", "proc", "proc", "nosuid,noexec,nodev"));
	json_array_append_new(
	    mounts, mount("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"));
	json_array_append_new(mounts,
			      mount("/dev/pts", "devpts", "devpts",
				    "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
	json_array_append_new(
	    mounts, mount("/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k"));
	json_array_append_new(mounts,
			      mount("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
	json_array_append_new(mounts, mount("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"));
	/* docker's too: the container's own cgroup (cgroup namespace), read-only, so cpu.max and
	 * memory.max show what --cpus and --memory set */
	json_array_append_new(
	    mounts, mount("/sys/fs/cgroup", "cgroup", "cgroup", "nosuid,noexec,nodev,relatime,ro"));
	json_t *res = json_object();
	if (o->memory_bytes > 0)
		json_object_set_new(res, "memory",
				    json_pack("{s:I, s:I}", "limit", (json_int_t)o->memory_bytes,
					      "swap", (json_int_t)o->memory_bytes));
	if (o->cpus_milli > 0)
		json_object_set_new(res, "cpu",
				    json_pack("{s:I, s:I}", "quota",
					      (json_int_t)o->cpus_milli * 100, "period",
					      (json_int_t)100000));
	/* With a network the container uses the VM's own namespace, where the agent set up
	 * eth0 (the VM is the isolation boundary); --network none keeps a private one with lo. */
	json_t *ns = json_pack("[{s:s},{s:s},{s:s},{s:s},{s:s}]", "type", "pid", "type", "mount",
			       "type", "uts", "type", "ipc", "type", "cgroup");
	if (o->net.mode == RUN_NET_NONE)
		json_array_append_new(ns, json_pack("{s:s}", "type", "network"));
	if (run_net_has_dns(&o->net))
		json_array_append_new(mounts,
				      json_pack("{s:s, s:s, s:s, s:[s,s]}", "destination",
						"/etc/resolv.conf", "type", "bind", "source",
						"/etc/resolv.conf", "options", "bind", "rw"));
	json_t *lx =
	    json_pack("{s:o, s:o, s:o, s:o}", "namespaces", ns, "resources", res, "maskedPaths",
		      strv(masked, sizeof(masked) / sizeof(masked[0])), "readonlyPaths",
		      strv(readonly, sizeof(readonly) / sizeof(readonly[0])));
	json_t *spec =
	    json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.0.2", "process",
		      process, "root", "path", "rootfs", "readonly", o->read_only, "hostname",
		      o->hostname, "mounts", mounts, "linux", lx);
	/* Every -u goes to the agent, numbers too: docker takes a numeric user's gid, HOME and
	 * groups from the image's passwd as well. Without the annotation a named user would run as
	 * uid 0: fail rather than drop it. */
	if (spec && (user_names || (user && *user)) &&
	    json_object_set_new(spec, "annotations", json_pack("{s:s}", USER_ANNOTATION, user)) <
		0) {
		json_decref(spec);
		spec = NULL;
	}
	if (!spec)
		return sbx_failx(err, ENOMEM, "build the container spec");
	*ret_json = json_dumps(spec, JSON_COMPACT);
	json_decref(spec);
	return *ret_json ? 0 : sbx_failx(err, ENOMEM, "build the container spec");
}
