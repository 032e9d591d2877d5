/* sbx rm [-f] NAME...: removes stopped containers (running ones too with -f, killed first):
 * the record, its log, the VM's state and the name; nothing else is left. */
#define _GNU_SOURCE
#include "cli/box.h"
#include "cli/cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static int rm_one(struct cli *cli, const char *name, bool force, struct sbx_err *err)
{
	struct record rec;
	int r = record_find(cli->root, name, &rec, err);
	if (r < 0)
		return r;
	if (record_monitor_alive(&rec)) {
		if (!force) {
			record_free(&rec);
			return sbx_failx(err, EBUSY,
					 "container %s is running: stop it first or use rm -f",
					 name);
		}
		struct box b;
		struct sbx_err ignored = {0};
		if (box_connect(cli, name, &b, &ignored) == 0) {
			box_signal(&b, NULL, SIGKILL, &ignored);
			box_close(&b);
		} else {
			/* the VM is not answering: end its monitor, the VMM dies with it */
			json_int_t pid = json_integer_value(
			    json_object_get(json_object_get(rec.json, "State"), "Pid"));
			if (pid > 1 && record_monitor_alive(&rec))
				kill((pid_t)pid, SIGKILL);
		}
		record_wait_monitor(&rec);
	}
	r = record_remove(cli->root, &rec, err);
	record_free(&rec);
	return r;
}

int cmd_rm(struct cli *cli, int argc, char **argv)
{
	bool force = false;
	static const struct option options[] = {{"force", no_argument, NULL, 'f'},
						{NULL, 0, NULL, 0}};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+f", options, NULL)) != -1) {
		if (c != 'f')
			return cli_usage_error("rm",
					       "unknown flag '%s' (usage: sbx rm [-f] NAME...)",
					       argv[optind - 1]);
		force = true;
	}
	if (optind >= argc)
		return cli_usage_error("rm", "need a container");
	int status = 0;
	for (int i = optind; i < argc; i++) {
		struct sbx_err err = {0};
		if (rm_one(cli, argv[i], force, &err) < 0)
			status = cli_report(cli, &err);
		else
			printf("%s\n", argv[i]);
	}
	return status;
}
