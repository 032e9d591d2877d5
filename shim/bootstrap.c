/* start and delete, as containerd 1.6 runs them (spec §2.1, §2.4). */
#define _GNU_SOURCE
#include "shim/bootstrap.h"

#include "base/err.h"
#include "base/io.h"
#include "base/log.h"
#include "base/tree.h"
#include "proto/shim.pb-c.h"
#include "shim/config.h"
#include "ttrpc/server.h"

#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SOCKET_DIR "/run/containerd/s"
#define OPTIONS_MAX (1u << 20)
#define RUNTIME_OPTIONS_TYPE "runtimeoptions.v1.Options"

int shim_group_id(const char *bundle, const char *id, char *out, size_t max, struct sbx_err *err)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	json_error_t je;
	json_t *spec = json_load_file(path, 0, &je);
	if (!spec)
		return sbx_failx(err, EINVAL, "%s: %s", path, je.text);
	json_t *ann = json_object_get(spec, "annotations");
	const char *type =
	    json_string_value(json_object_get(ann, "io.kubernetes.cri.container-type"));
	const char *pod = json_string_value(json_object_get(ann, "io.kubernetes.cri.sandbox-id"));
	int r = 0;
	if (type && !strcmp(type, "container")) {
		if (!pod || !*pod || strlen(pod) >= max)
			r = sbx_failx(err, EINVAL, "%s: a CRI container without a valid sandbox-id",
				      path);
		else
			snprintf(out, max, "%s", pod);
	} else if (!type || !strcmp(type, "sandbox")) {
		snprintf(out, max, "%s", id);
	} else {
		r = sbx_failx(err, EINVAL, "%s: unknown io.kubernetes.cri.container-type '%s'",
			      path, type);
	}
	json_decref(spec);
	return r;
}

static void sha256_hex(const char *s, char out[65])
{
	unsigned char md[32];
	unsigned n = 0;
	EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

/* The pod's name on this host: sha256 of "<containerd address>/<ns>/<group>" (runc's and
 * kata's socket name). */
static void pod_hash(const char *address, const char *ns, const char *group, char hex[65])
{
	char key[4500];
	snprintf(key, sizeof(key), "%s/%s/%s", address, ns, group);
	sha256_hex(key, hex);
}

void shim_socket_path(const char *address, const char *ns, const char *group, char *out, size_t max)
{
	char hex[65];
	pod_hash(address, ns, group, hex);
	snprintf(out, max, SOCKET_DIR "/%s", hex);
}

void shim_state_dir(const char *state_root, const char *address, const char *ns, const char *group,
		    char *out, size_t max)
{
	char hex[65];
	pod_hash(address, ns, group, hex);
	hex[16] = '\0'; /* short: the VM's unix sockets live below it */
	snprintf(out, max, "%s/%s", state_root, hex);
}

static bool socket_answers(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* Writes dir/name atomically (a temp file beside it, then rename). */
static int write_file_atomic(const char *dir, const char *name, const char *text,
			     struct sbx_err *err)
{
	char path[512], tmp[520];
	snprintf(path, sizeof(path), "%.255s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%.255s/.%s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return sbx_fail(err, errno, "create %s", tmp);
	int r = sbx_write_all(fd, text, strlen(text));
	close(fd);
	if (r < 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return sbx_fail(err, r < 0 ? -r : errno, "write %s", path);
	}
	return 0;
}

void shim_write_pid_file(const char *dir, const char *name, pid_t pid)
{
	char text[32];
	snprintf(text, sizeof(text), "%d\n", (int)pid);
	struct sbx_err err = {0};
	if (write_file_atomic(dir, name, text, &err) < 0)
		log_warn("%s", err.msg); /* only `delete` reads it: the pod runs on without */
}

/* The options Any on stdin: only runtimeoptions' config_path matters to us. */
static void read_options(char *config_path, size_t max)
{
	config_path[0] = '\0';
	uint8_t *buf = malloc(OPTIONS_MAX);
	if (!buf)
		return;
	size_t len = 0;
	ssize_t n;
	while (len < OPTIONS_MAX && (n = read(0, buf + len, OPTIONS_MAX - len)) > 0)
		len += (size_t)n;
	Sbx__Shim__V1__Any *any = len ? sbx__shim__v1__any__unpack(NULL, len, buf) : NULL;
	if (any && any->type_url && strstr(any->type_url, RUNTIME_OPTIONS_TYPE)) {
		Sbx__Shim__V1__RuntimeOptions *o =
		    sbx__shim__v1__runtime_options__unpack(NULL, any->value.len, any->value.data);
		if (o && o->config_path)
			snprintf(config_path, max, "%s", o->config_path);
		if (o)
			sbx__shim__v1__runtime_options__free_unpacked(o, NULL);
	}
	if (any)
		sbx__shim__v1__any__free_unpacked(any, NULL);
	free(buf);
}

int shim_cmd_start(const struct shim_args *a)
{
	struct sbx_err err = {0};
	char group[256], sock[256], addr[300], cwd[4096], options_config[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		return fprintf(stderr, "getcwd: %m\n"), 1;
	read_options(options_config, sizeof(options_config));
	if (shim_group_id(cwd, a->id, group, sizeof(group), &err) < 0)
		return fprintf(stderr, "%s\n", err.msg), 1;
	shim_socket_path(a->address, a->ns, group, sock, sizeof(sock));
	snprintf(addr, sizeof(addr), "unix://%s", sock);
	if (!socket_answers(sock)) {
		mkdir("/run/containerd", 0711);
		mkdir(SOCKET_DIR, 0711);
		int fd = ttrpc_listen_unix(sock, &err);
		if (fd < 0)
			return fprintf(stderr, "%s\n", err.msg), 1;
		pid_t pid = fork();
		if (pid < 0)
			return fprintf(stderr, "fork: %m\n"), 1;
		if (pid == 0) {
			/* containerd reads our stdout and stderr to EOF: the daemon must hold
			 * neither, nor share our session. */
			setsid();
			int null = open("/dev/null", O_RDWR);
			dup2(null, 0);
			dup2(null, 1);
			int log = open("log", O_WRONLY | O_CLOEXEC);
			dup2(log >= 0 ? log : null, 2);
			if (log > 2)
				close(log);
			if (null > 2)
				close(null);
			shim_serve(a, group, sock, fd, options_config);
		}
		close(fd);
	}
	if (write_file_atomic(".", "address", addr, &err) < 0)
		return fprintf(stderr, "%s\n", err.msg), 1;
	fputs(addr, stdout);
	return 0;
}

static int read_state_link(const char *bundle, char *out, size_t max)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/" SHIM_STATE_LINK, bundle);
	ssize_t n = readlink(path, out, max - 1);
	if (n <= 0)
		return -1;
	out[n] = '\0';
	return out[0] == '/' ? 0 : -1;
}

/* Kills the process in <dir>/<name> if its command line still names `what`. */
static void kill_recorded(const char *dir, const char *name, const char *what)
{
	char path[512], buf[64], cmd[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *end;
	long pid = strtol(buf, &end, 10);
	if (pid <= 1 || (*end && *end != '\n'))
		return;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return;
	cmd[n] = '\0';
	if (strstr(cmd, what))
		kill((pid_t)pid, SIGKILL);
}

int shim_cmd_delete(const struct shim_args *a)
{
	struct sbx_err err = {0};
	char cwd[4096];
	const char *bundle = a->bundle && *a->bundle ? a->bundle : getcwd(cwd, sizeof(cwd));
	char group[256], sock[256], dir[256];
	struct shim_config cfg;
	if (shim_config_load(NULL, &cfg, &err) < 0) {
		fprintf(stderr, "%s (using the default state dir)\n", err.msg);
		snprintf(cfg.state_root, sizeof(cfg.state_root), "/run/kata-lite");
	}
	if (bundle && shim_group_id(bundle, a->id, group, sizeof(group), &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		snprintf(group, sizeof(group), "%s", a->id);
	}
	shim_socket_path(a->address, a->ns, group, sock, sizeof(sock));
	if (!socket_answers(sock)) {
		/* The pod's shim is gone: its VM, sockets and state go too. */
		/* The daemon recorded its state dir in the bundle (its config may have come from
		 * runtime options we do not get here). */
		if (!bundle || read_state_link(bundle, dir, sizeof(dir)) < 0)
			shim_state_dir(cfg.state_root, a->address, a->ns, group, dir, sizeof(dir));
		kill_recorded(dir, "shim.pid", "containerd-shim-kata-lite-v2");
		kill_recorded(dir, "vmm.pid", "sbx-vmm");
		unlink(sock);
		sbx_remove_tree(dir);
		if (bundle) {
			char rootfs[4200];
			snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle);
			umount2(rootfs, MNT_DETACH);
		}
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	Sbx__Shim__V1__Timestamp ts = SBX__SHIM__V1__TIMESTAMP__INIT;
	ts.seconds = now.tv_sec;
	ts.nanos = (int32_t)now.tv_nsec;
	Sbx__Shim__V1__DeleteResponse resp = SBX__SHIM__V1__DELETE_RESPONSE__INIT;
	resp.exit_status = 128 + SIGKILL;
	resp.exited_at = &ts;
	uint8_t buf[128];
	size_t len = sbx__shim__v1__delete_response__pack(&resp, buf);
	return sbx_write_all(1, buf, len) < 0 ? 1 : 0;
}
