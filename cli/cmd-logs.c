/* sbx logs [-f] NAME: what the container wrote, stdout to stdout and stderr to stderr; with -f
 * until it exits. */
#define _GNU_SOURCE
#include "cli/cli.h"
#include "cli/logfile.h"
#include "cli/record.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

struct follow {
	const char *root;
	const struct record *rec;
};

/* The monitor writes "exited" only after the last output is in the log. */
static bool finished(void *arg)
{
	struct follow *f = arg;
	struct record now;
	if (record_find(f->root, f->rec->id, &now, NULL) < 0)
		return true;
	/* record_status already reads a running record whose monitor is gone as exited */
	const char *status = record_status(&now);
	bool done = strcmp(status, "running") != 0 &&
		    (strcmp(status, "created") != 0 || !record_monitor_alive(&now));
	record_free(&now);
	return done;
}

int cmd_logs(struct cli *cli, int argc, char **argv)
{
	bool follow = false;
	static const struct option options[] = {{"follow", no_argument, NULL, 'f'},
						{NULL, 0, NULL, 0}};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+f", options, NULL)) != -1) {
		if (c != 'f')
			return cli_usage_error("logs",
					       "unknown flag '%s' (usage: sbx logs [-f] NAME)",
					       argv[optind - 1]);
		follow = true;
	}
	if (argc - optind != 1)
		return cli_usage_error("logs", "need exactly one container");
	struct sbx_err err = {0};
	struct record rec;
	if (record_find(cli->root, argv[optind], &rec, &err) < 0)
		return cli_report(cli, &err);
	char log[4300];
	record_path(&rec, "container.log", log, sizeof(log));
	struct follow f = {cli->root, &rec};
	int r = log_dump(log, follow, finished, &f, &err);
	record_free(&rec);
	return r < 0 ? cli_report(cli, &err) : 0;
}
