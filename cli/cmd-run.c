/* sbx run [FLAGS] IMAGE [CMD...]: the image's config and the flags make a container spec and a
 * record; one microVM runs it, in the foreground with stdio attached (sbx exits with the
 * container's status, 125 for its own errors, like docker) or, with -d, under a monitor process
 * that outlives the CLI. */
#define _GNU_SOURCE
#include "cli/attach.h"
#include "cli/cli.h"
#include "cli/monitor.h"
#include "cli/record.h"
#include "cli/run.h"

#include "base/cleanup.h"

#include "image/config.h"
#include "image/rootfs.h"
#include "image/store.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int parse_memory(const char *s, int64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || errno || s[0] == '-')
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'b':
	case 'B':
		end++;
		break;
	}
	if (*end || v == 0 || v > (1ull << 40) >> shift)
		return -1;
	*ret = (int64_t)(v << shift);
	return *ret >= 4 << 20 ? 0 : -1; /* docker's minimum is 6 MiB; a guest needs some */
}

static int parse_cpus(const char *s, int *ret_milli)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v >= 0.01 && v <= 64))
		return -1;
	*ret_milli = (int)(v * 1000 + 0.5);
	return 0;
}

/* One K=V (or a bare K) appended to *v. */
static int add_env(char ***v, size_t *n, const char *kv)
{
	if (!kv[0] || kv[0] == '=')
		return -1;
	char **more = realloc(*v, (*n + 1) * sizeof(*more));
	if (!more)
		return -1;
	*v = more;
	/* docker: "-e NAME" alone passes NAME from sbx's own environment */
	if (!strchr(kv, '=')) {
		const char *val = getenv(kv);
		if (!val)
			return 0;
		char *s;
		if (asprintf(&s, "%s=%s", kv, val) < 0)
			return -1;
		more[(*n)++] = s;
		return 0;
	}
	more[*n] = strdup(kv);
	if (!more[*n])
		return -1;
	(*n)++;
	return 0;
}

/* docker's --env-file: leading blanks dropped, blank and '#' lines skipped, the name must
 * not contain blanks, a bare NAME comes from sbx's environment. */
static int read_env_file(char ***v, size_t *n, const char *path, struct sbx_err *err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return sbx_fail(err, errno, "env file '%s'", path);
	char line[8192];
	unsigned lineno = 0;
	int r = 0;
	while (r == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		size_t len = strcspn(line, "\n");
		if (!line[len] && !feof(f)) {
			r = sbx_failx(err, E2BIG, "env file '%s' line %u: longer than %zu bytes",
				      path, lineno, sizeof(line) - 2);
			break;
		}
		line[len] = '\0';
		if (len && line[len - 1] == '\r')
			line[len - 1] = '\0';
		const char *kv = line + strspn(line, " \t\v\f");
		if (!kv[0] || kv[0] == '#')
			continue;
		size_t klen = strcspn(kv, "=");
		if (klen == 0 || strcspn(kv, " \t\v\f") < klen)
			r = sbx_failx(err, EINVAL, "env file '%s' line %u: bad variable name", path,
				      lineno);
		else if (add_env(v, n, kv) < 0)
			r = sbx_fail(err, ENOMEM, "env file '%s'", path);
	}
	if (r == 0 && ferror(f))
		r = sbx_fail(err, errno ? errno : EIO, "env file '%s'", path);
	return r;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sbx run [--rm] [-d] [-i] [-t] [--name N] [-e K=V] [--env-file F]\n"
		   "               [-w DIR] [-u USER[:GROUP]] [--cpus N] [--memory SIZE]\n"
		   "               [--read-only] [--hostname H] [--entrypoint E]\n"
		   "               [--rootfs-transfer block|stream]\n"
		   "               [--network user|none|tap:NAME] [-p [ADDR:]HOSTPORT:PORT[/udp]]\n"
		   "               [--dns IP] [--ip CIDR] [--gateway IP] IMAGE [CMD...]\n");
}

enum {
	OPT_RM = 256,
	OPT_NAME,
	OPT_ENV_FILE,
	OPT_CPUS,
	OPT_MEMORY,
	OPT_READ_ONLY,
	OPT_HOSTNAME,
	OPT_ENTRYPOINT,
	OPT_TRANSFER,
	OPT_NETWORK,
	OPT_DNS,
	OPT_IP,
	OPT_GATEWAY,
	OPT_HELP
};

static const struct option options[] = {
    {"rm", no_argument, NULL, OPT_RM},
    {"interactive", no_argument, NULL, 'i'},
    {"detach", no_argument, NULL, 'd'},
    {"tty", no_argument, NULL, 't'},
    {"rootfs-transfer", required_argument, NULL, OPT_TRANSFER},
    {"name", required_argument, NULL, OPT_NAME},
    {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, OPT_ENV_FILE},
    {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"read-only", no_argument, NULL, OPT_READ_ONLY},
    {"hostname", required_argument, NULL, OPT_HOSTNAME},
    {"entrypoint", required_argument, NULL, OPT_ENTRYPOINT},
    {"network", required_argument, NULL, OPT_NETWORK},
    {"publish", required_argument, NULL, 'p'},
    {"dns", required_argument, NULL, OPT_DNS},
    {"ip", required_argument, NULL, OPT_IP},
    {"gateway", required_argument, NULL, OPT_GATEWAY},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* One of the network flags; a bad one is reported here. */
static int parse_network_flag(struct run_net *n, int c, const char *arg)
{
	struct sbx_err err = {0};
	int r = c == OPT_NETWORK ? run_net_set_mode(n, arg, &err)
		: c == 'p'       ? run_net_add_publish(n, arg, &err)
		: c == OPT_DNS   ? run_net_add_dns(n, arg, &err)
		: c == OPT_IP    ? run_net_set_ip(n, arg, &err)
				 : run_net_set_gateway(n, arg, &err);
	if (r < 0)
		cli_usage_error("run", "%s", err.msg);
	return r;
}

static int parse_flags(struct run_opts *o, int argc, char **argv, char ***file_env,
		       size_t *nfile_env)
{
	struct sbx_err err = {0};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+idte:w:u:m:p:", options, NULL)) != -1) {
		switch (c) {
		case OPT_RM:
			o->rm = true;
			break;
		case 'i':
			o->interactive = true;
			break;
		case 'd':
			o->detach = true;
			break;
		case 't':
			o->tty = true;
			break;
		case OPT_TRANSFER:
			if (strcmp(optarg, "block") && strcmp(optarg, "stream"))
				return cli_usage_error(
				    "run", "--rootfs-transfer '%s' is not block or stream", optarg);
			o->transfer = optarg;
			break;
		case OPT_NAME:
			o->name = optarg;
			break;
		case 'e':
			if (add_env(&o->env, &o->nenv, optarg) < 0)
				return cli_usage_error("run", "bad -e '%s'", optarg);
			break;
		case OPT_ENV_FILE:
			if (read_env_file(file_env, nfile_env, optarg, &err) < 0)
				return cli_usage_error("run", "%s", err.msg);
			break;
		case 'w':
			if (optarg[0] != '/' || strstr(optarg, ".."))
				return cli_usage_error("run", "workdir '%s' must be absolute",
						       optarg);
			o->workdir = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case OPT_CPUS:
			if (parse_cpus(optarg, &o->cpus_milli) < 0)
				return cli_usage_error("run", "--cpus '%s' is not 0.01..64",
						       optarg);
			break;
		case 'm':
		case OPT_MEMORY:
			if (parse_memory(optarg, &o->memory_bytes) < 0)
				return cli_usage_error("run", "--memory '%s' is not a size >= 4m",
						       optarg);
			break;
		case OPT_READ_ONLY:
			o->read_only = true;
			break;
		case OPT_HOSTNAME:
			o->hostname = optarg;
			break;
		case OPT_ENTRYPOINT:
			o->entrypoint = optarg;
			break;
		case OPT_NETWORK:
		case 'p':
		case OPT_DNS:
		case OPT_IP:
		case OPT_GATEWAY:
			if (parse_network_flag(&o->net, c, optarg) < 0)
				return SBX_EXIT_ERROR;
			break;
		case OPT_HELP:
			usage(stdout);
			return -1;
		default:
			if (optopt && optopt < 256)
				return cli_usage_error(
				    "run", "unknown flag '-%c' (see sbx run --help)", optopt);
			return cli_usage_error("run", "unknown or incomplete flag '%s'",
					       argv[optind - 1]);
		}
	}
	if (run_net_check(&o->net, &err) < 0)
		return cli_usage_error("run", "%s", err.msg);
	if (optind >= argc)
		return cli_usage_error("run", "no image given");
	o->image = argv[optind];
	o->args = argv + optind + 1;
	o->nargs = (size_t)(argc - optind - 1);
	return 0;
}

static void env_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* docker reads every --env-file before the -e flags, so -e wins wherever it stands. */
static int parse(struct run_opts *o, int argc, char **argv)
{
	char **file_env = NULL;
	size_t nfile_env = 0;
	int r = parse_flags(o, argc, argv, &file_env, &nfile_env);
	if (r != 0 || nfile_env == 0) {
		env_free(file_env, nfile_env);
		return r;
	}
	char **all = malloc((nfile_env + o->nenv) * sizeof(*all));
	if (!all) {
		env_free(file_env, nfile_env);
		return cli_usage_error("run", "out of memory");
	}
	memcpy(all, file_env, nfile_env * sizeof(*all));
	if (o->nenv)
		memcpy(all + nfile_env, o->env, o->nenv * sizeof(*all));
	free(file_env);
	free(o->env);
	o->env = all;
	o->nenv += nfile_env;
	return 0;
}

/* The record's docker-shaped description of what runs: Path/Args, Config, HostConfig. */
static int describe(struct record *rec, const struct run_opts *o, const char *ref,
		    const char *digest, const char *spec_json, struct sbx_err *err)
{
	json_t *spec = json_loads(spec_json, 0, NULL);
	json_t *proc = json_object_get(spec, "process");
	json_t *args = json_object_get(proc, "args");
	if (!spec || !json_is_array(args) || json_array_size(args) == 0) {
		json_decref(spec);
		return sbx_failx(err, EINVAL, "the container spec has no process args");
	}
	json_t *rest = json_array();
	for (size_t i = 1; i < json_array_size(args); i++)
		json_array_append(rest, json_array_get(args, i));
	json_t *j = rec->json;
	json_object_set(j, "Path", json_array_get(args, 0));
	json_object_set_new(j, "Args", rest);
	json_object_set_new(j, "Image", json_string(digest));
	json_object_set_new(j, "ImageRef", json_string(ref));
	json_object_set_new(j, "Config",
			    json_pack("{s:s, s:s, s:O, s:O, s:O, s:b, s:b, s:s}", "Hostname",
				      o->hostname, "User", o->user ? o->user : "", "Env",
				      json_object_get(proc, "env"), "Cmd", args, "WorkingDir",
				      json_object_get(proc, "cwd"), "Tty", o->tty, "OpenStdin",
				      o->interactive, "Image", o->image));
	char mode[32];
	json_t *ports = json_array();
	for (unsigned i = 0; i < o->net.n_publish; i++)
		json_array_append_new(ports, json_string(o->net.publish[i]));
	json_object_set_new(
	    j, "HostConfig",
	    json_pack("{s:b, s:I, s:I, s:b, s:s, s:s, s:o}", "AutoRemove", o->rm, "Memory",
		      (json_int_t)o->memory_bytes, "NanoCpus", (json_int_t)o->cpus_milli * 1000000,
		      "ReadonlyRootfs", o->read_only, "RootfsTransfer",
		      o->transfer ? o->transfer : "block", "NetworkMode",
		      run_net_mode_name(&o->net, mode, sizeof(mode)), "PortBindings", ports));
	json_decref(spec);
	char path[4300];
	record_path(rec, "spec.json", path, sizeof(path));
	FILE *f = fopen(path, "we");
	if (!f)
		return sbx_fail(err, errno, "create '%s'", path);
	bool written = fputs(spec_json, f) >= 0;
	if (fclose(f) != 0 || !written)
		return sbx_fail(err, errno ? errno : EIO, "write '%s'", path);
	return record_save(rec, err);
}

/* -d: a monitor in its own session, reparented away from the CLI, owns the sandbox; the CLI
 * waits only for its one line saying the container runs (or why not). */
static int run_detached(struct monitor_args *m, struct sbx_err *err)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return sbx_fail(err, errno, "pipe");
	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		close(p[0]), close(p[1]);
		return sbx_fail(err, errno, "fork the monitor");
	}
	if (child == 0) {
		close(p[0]);
		setsid();
		if (fork() != 0)
			_exit(0);
		char log[4300];
		record_path(m->rec, "monitor.log", log, sizeof(log));
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		dup2(null, 0);
		dup2(out >= 0 ? out : null, 1);
		dup2(out >= 0 ? out : null, 2);
		m->ready_fd = p[1];
		struct sbx_err merr = {0};
		int r = monitor_run(m, &merr);
		if (r < 0)
			fprintf(stderr, "sbx monitor %s: %s\n", m->rec->id, merr.msg);
		_exit(r < 0 ? SBX_EXIT_ERROR : r);
	}
	close(p[1]);
	waitpid(child, NULL, 0);
	char line[SBX_ERR_MAX + 2] = "";
	size_t n = 0;
	ssize_t got;
	while (n < sizeof(line) - 1 && (got = read(p[0], line + n, sizeof(line) - 1 - n)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		n += (size_t)got;
	}
	close(p[0]);
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, "ok") == 0)
		return 0;
	if (!line[0])
		return sbx_failx(err, ECHILD, "the monitor of %s died before the container started",
				 m->rec->id);
	return sbx_failx(err, EIO, "%s", line);
}

int cmd_run(struct cli *cli, int argc, char **argv)
{
	struct run_opts o = {0};
	struct sbx_err err = {0};
	int r = parse(&o, argc, argv);
	if (r != 0) {
		env_free(o.env, o.nenv);
		return r < 0 ? 0 : r;
	}
	if (!o.hostname)
		o.hostname = "sbx";
	bool stream = o.transfer && !strcmp(o.transfer, "stream");
	struct run_assets assets;
	struct image_store s;
	struct image_config cfg = {0};
	struct record rec = {0};
	char *spec = NULL, ref[512], digest[IMAGE_DIGEST_MAX], rootfs[4300];
	int status = SBX_EXIT_ERROR;
	if (run_find_assets(&assets, &err) < 0)
		goto report;
	if (cli_open_store(cli, &s, &err) < 0)
		goto report;
	if (image_ref_normalize(o.image, ref, sizeof(ref), &err) < 0 ||
	    image_ref_get(&s, ref, digest, &err) < 0 ||
	    image_config_load(&s, digest, &cfg, &err) < 0 ||
	    (stream ? image_rootfs_tar(&s, digest, rootfs, sizeof(rootfs), NULL, &err)
		    : image_rootfs_ext4(&s, digest, rootfs, sizeof(rootfs), NULL, &err)) < 0 ||
	    run_spec_json(&o, &cfg, &spec, &err) < 0) {
		image_store_close(&s);
		goto report;
	}
	image_store_close(&s);
	if (record_create(cli->root, o.name, &rec, &err) < 0)
		goto report;
	if (describe(&rec, &o, ref, digest, spec, &err) < 0) {
		record_remove(cli->root, &rec, NULL);
		goto report;
	}
	struct monitor_args m = {.opts = &o,
				 .rec = &rec,
				 .root = cli->root,
				 .assets = &assets,
				 .spec_json = spec,
				 .rootfs = rootfs,
				 .foreground = !o.detach,
				 .ready_fd = -1};
	if (o.detach) {
		if (run_detached(&m, &err) < 0)
			goto report;
		printf("%s\n", rec.id);
		status = 0;
		goto out;
	}
	/* signals are taken by the forwarder thread from now on, never by default actions */
	attach_block_signals();
	r = monitor_run(&m, &err);
	if (r < 0)
		goto report;
	status = r;
	goto out;
report:
	status = cli_report(cli, &err);
out:
	record_free(&rec);
	free(spec);
	image_config_free(&cfg);
	env_free(o.env, o.nenv);
	return status;
}
