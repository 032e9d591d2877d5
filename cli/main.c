/* sbx: run untrusted containers in microVMs, docker-style. Dispatches to cmd-<verb>.c. */
#include "cli/cli.h"

#include "image/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct cli_cmd {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *summary;
};

static const struct cli_cmd commands[] = {
    {"pull", cmd_pull, "pull an image from a registry"},
    {"load", cmd_load, "load an image from a docker-save or OCI-layout archive"},
    {"images", cmd_images, "list images"},
    {"rmi", cmd_rmi, "remove images"},
    {"run", cmd_run, "run a command in a new container, in its own microVM"},
    {"ps", cmd_ps, "list containers"},
    {"exec", cmd_exec, "run a command in a running container"},
    {"logs", cmd_logs, "show a container's output"},
    {"kill", cmd_kill, "send a signal to a running container"},
    {"stop", cmd_stop, "stop a running container (TERM, then KILL)"},
    {"rm", cmd_rm, "remove containers"},
    {"inspect", cmd_inspect, "show containers as JSON"},
};

int cli_report(const struct cli *cli, const struct sbx_err *err)
{
	fprintf(stderr, "%s: %s\n", cli->prog, err->msg);
	return SBX_EXIT_ERROR;
}

int cli_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "sbx %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return SBX_EXIT_ERROR;
}

int cli_open_store(const struct cli *cli, struct image_store *s, struct sbx_err *err)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/images", cli->root) >= (int)sizeof(path))
		return sbx_failx(err, ENAMETOOLONG, "SBX_ROOT '%s' too long", cli->root);
	/* The root itself may not exist yet on a fresh machine. */
	if (mkdir(cli->root, 0700) < 0 && errno != EEXIST)
		return sbx_fail(err, errno, "create '%s'", cli->root);
	return image_store_open(s, path, err);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sbx COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nenvironment: SBX_ROOT (default /var/lib/sbx)\n");
}

int main(int argc, char **argv)
{
	struct cli cli = {.root = getenv("SBX_ROOT"), .prog = "sbx"};
	if (!cli.root || !*cli.root)
		cli.root = "/var/lib/sbx";
	if (argc < 2) {
		usage(stderr);
		return SBX_EXIT_ERROR;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(&cli, argc - 1, argv + 1);
	fprintf(stderr, "sbx: unknown command '%s' (see sbx --help)\n", argv[1]);
	return SBX_EXIT_ERROR;
}
