/* sbx exec [-i] [-t] [-e K=V] [-w DIR] [-u UID[:GID]] NAME CMD...: a new process in a running
 * container, with the container's environment, user and working directory unless overridden;
 * sbx exits with its status. */
#define _GNU_SOURCE
#include "cli/attach.h"
#include "cli/box.h"
#include "cli/cli.h"

#include "agent/client.h"
#include "proto/agent.pb-c.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct exec_opts {
	bool interactive, tty;
	const char *workdir, *user;
	json_t *env; /* K=V strings added to the container's */
};

static int parse(struct exec_opts *o, int argc, char **argv)
{
	static const struct option options[] = {
	    {"interactive", no_argument, NULL, 'i'},
	    {"tty", no_argument, NULL, 't'},
	    {"env", required_argument, NULL, 'e'},
	    {"workdir", required_argument, NULL, 'w'},
	    {"user", required_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+ite:w:u:h", options, NULL)) != -1) {
		switch (c) {
		case 'i':
			o->interactive = true;
			break;
		case 't':
			o->tty = true;
			break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=')
				return cli_usage_error("exec", "bad -e '%s': K=V", optarg);
			json_array_append_new(o->env, json_string(optarg));
			break;
		case 'w':
			if (optarg[0] != '/')
				return cli_usage_error("exec", "workdir '%s' must be absolute",
						       optarg);
			o->workdir = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'h':
			printf("usage: sbx exec [-i] [-t] [-e K=V] [-w DIR] [-u UID[:GID]] NAME "
			       "CMD...\n");
			return -1;
		default:
			return cli_usage_error("exec", "unknown or incomplete flag '%s'",
					       argv[optind - 1]);
		}
	}
	if (argc - optind < 2)
		return cli_usage_error("exec", "need a container and a command");
	return 0;
}

/* The container's process object with the command and the overrides applied. */
static char *exec_process(const struct box *b, const struct exec_opts *o, char **cmd, size_t ncmd,
			  struct sbx_err *err)
{
	char path[4300];
	record_path(&b->rec, "spec.json", path, sizeof(path));
	json_t *spec = json_load_file(path, 0, NULL);
	json_t *proc = json_object_get(spec, "process");
	if (!json_is_object(proc)) {
		json_decref(spec);
		sbx_failx(err, EINVAL, "'%s' has no process", path);
		return NULL;
	}
	json_t *args = json_array();
	for (size_t i = 0; i < ncmd; i++)
		json_array_append_new(args, json_string(cmd[i]));
	json_object_set_new(proc, "args", args);
	json_object_set_new(proc, "terminal", json_boolean(o->tty));
	json_t *env = json_object_get(proc, "env");
	if (json_is_array(env))
		json_array_extend(env, o->env);
	if (o->workdir)
		json_object_set_new(proc, "cwd", json_string(o->workdir));
	if (o->user) {
		char *end;
		long uid = strtol(o->user, &end, 10), gid = uid;
		if (end != o->user && *end == ':')
			gid = strtol(end + 1, &end, 10);
		if (end == o->user || *end || uid < 0 || gid < 0) {
			json_decref(spec);
			sbx_failx(err, EINVAL, "exec -u '%s': only UID[:GID] numbers", o->user);
			return NULL;
		}
		json_object_set_new(
		    proc, "user",
		    json_pack("{s:I, s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid));
	}
	char *s = json_dumps(proc, JSON_COMPACT);
	json_decref(spec);
	if (!s)
		sbx_failx(err, ENOMEM, "exec process");
	return s;
}

int cmd_exec(struct cli *cli, int argc, char **argv)
{
	struct exec_opts o = {.env = json_array()};
	int r = parse(&o, argc, argv);
	if (r != 0) {
		json_decref(o.env);
		return r < 0 ? 0 : r;
	}
	const char *name = argv[optind];
	char **cmd = argv + optind + 1;
	size_t ncmd = (size_t)(argc - optind - 1);
	struct sbx_err err = {0};
	struct box b;
	attach_block_signals();
	if (box_connect(cli, name, &b, &err) < 0) {
		json_decref(o.env);
		return cli_report(cli, &err);
	}
	int status = SBX_EXIT_ERROR;
	char *proc = exec_process(&b, &o, cmd, ncmd, &err);
	unsigned char rnd[6] = {0};
	char exec_id[16];
	if (getrandom(rnd, sizeof(rnd), 0) < 0)
		rnd[0] = 1;
	snprintf(exec_id, sizeof(exec_id), "exec-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	struct attach at = {.sb = b.sb,
			    .cl = b.cl,
			    .container_id = b.rec.id,
			    .exec_id = exec_id,
			    .tty = o.tty,
			    .stdin_relay = o.interactive,
			    .to_terminal = true,
			    .forward_signals = true};
	if (!proc)
		goto report;
	Sbx__Agent__V1__ExecProcessRequest req = SBX__AGENT__V1__EXEC_PROCESS_REQUEST__INIT;
	req.container_id = b.rec.id;
	req.exec_id = exec_id;
	req.oci_process.data = (uint8_t *)proc;
	req.oci_process.len = strlen(proc);
	req.stdin = o.interactive;
	if (agent_call(b.cl, "ExecProcess", &req.base, &sbx__agent__v1__process_started__descriptor,
		       NULL, 120000, &err) < 0)
		goto report;
	if (attach_open(&at, &err) < 0)
		goto report;
	attach_resize(&at);
	attach_start(&at);
	r = attach_wait(&at, &err);
	if (r < 0)
		goto report;
	status = r;
	goto out;
report:
	status = cli_report(cli, &err);
out:
	attach_close(&at);
	free(proc);
	json_decref(o.env);
	box_close(&b);
	return status;
}
