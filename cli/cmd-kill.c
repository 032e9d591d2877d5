/* sbx kill [-s SIGNAL] NAME [SIGNAL] and sbx stop [-t SECONDS] NAME...: signals to a running
 * container's init; stop is TERM, a grace period, then KILL, and returns once it has exited. */
#define _GNU_SOURCE
#include "cli/box.h"
#include "cli/cli.h"

#include "agent/client.h"
#include "proto/agent.pb-c.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_kill(struct cli *cli, int argc, char **argv)
{
	const char *sigarg = "KILL";
	static const struct option options[] = {{"signal", required_argument, NULL, 's'},
						{NULL, 0, NULL, 0}};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+s:", options, NULL)) != -1) {
		if (c != 's')
			return cli_usage_error("kill",
					       "unknown flag '%s' (usage: sbx kill [-s SIGNAL] "
					       "NAME [SIGNAL])",
					       argv[optind - 1]);
		sigarg = optarg;
	}
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage_error("kill", "usage: sbx kill [-s SIGNAL] NAME [SIGNAL]");
	if (argc - optind == 2)
		sigarg = argv[optind + 1];
	int sig = box_parse_signal(sigarg);
	if (sig < 0)
		return cli_usage_error("kill", "unknown signal '%s'", sigarg);
	struct sbx_err err = {0};
	struct box b;
	if (box_connect(cli, argv[optind], &b, &err) < 0)
		return cli_report(cli, &err);
	int r = box_signal(&b, NULL, sig, &err);
	box_close(&b);
	if (r < 0)
		return cli_report(cli, &err);
	printf("%s\n", argv[optind]);
	return 0;
}

/* TERM, up to grace_s for the exit, then KILL; then until the monitor has recorded it. */
static int stop_one(struct cli *cli, const char *name, int grace_s, struct sbx_err *err)
{
	struct box b;
	int r = box_connect(cli, name, &b, err);
	if (r == -ESRCH) /* docker: stopping a stopped container is fine */
		return 0;
	if (r < 0)
		return r;
	r = box_signal(&b, NULL, SIGTERM, err);
	if (r == 0) {
		Sbx__Agent__V1__ProcessRef ref = SBX__AGENT__V1__PROCESS_REF__INIT;
		ref.container_id = b.rec.id;
		struct sbx_err wait_err = {0};
		if (agent_call(b.cl, "WaitProcess", &ref.base,
			       &sbx__agent__v1__wait_process_response__descriptor, NULL,
			       grace_s > 0 ? grace_s * 1000 : 1, &wait_err) < 0)
			r = box_signal(&b, NULL, SIGKILL, err);
	}
	struct record rec = b.rec;
	b.rec.json = NULL;
	box_close(&b);
	if (r == 0)
		record_wait_monitor(&rec);
	record_free(&rec);
	return r;
}

int cmd_stop(struct cli *cli, int argc, char **argv)
{
	int grace = 10;
	static const struct option options[] = {{"time", required_argument, NULL, 't'},
						{NULL, 0, NULL, 0}};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+t:", options, NULL)) != -1) {
		char *end;
		long v = c == 't' ? strtol(optarg, &end, 10) : -1;
		if (c != 't' || end == optarg || *end || v < 0 || v > 86400)
			return cli_usage_error("stop", "usage: sbx stop [-t SECONDS] NAME...");
		grace = (int)v;
	}
	if (optind >= argc)
		return cli_usage_error("stop", "need a container");
	int status = 0;
	for (int i = optind; i < argc; i++) {
		struct sbx_err err = {0};
		if (stop_one(cli, argv[i], grace, &err) < 0)
			status = cli_report(cli, &err);
		else
			printf("%s\n", argv[i]);
	}
	return status;
}
