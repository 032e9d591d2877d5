/* sbx ps [-a] [-q]: the running containers (all with -a), docker's columns. */
#define _GNU_SOURCE
#include "cli/cli.h"
#include "cli/record.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void ago(uint64_t then_ns, char *buf, size_t size)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t n = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
	uint64_t s = then_ns && n > then_ns ? (n - then_ns) / 1000000000ull : 0;
	if (s < 1)
		snprintf(buf, size, "Less than a second");
	else if (s < 60)
		snprintf(buf, size, "%llu second%s", (unsigned long long)s, s == 1 ? "" : "s");
	else if (s < 3600)
		snprintf(buf, size, "%llu minute%s", (unsigned long long)s / 60,
			 s / 60 == 1 ? "" : "s");
	else if (s < 86400 * 2)
		snprintf(buf, size, "%llu hours", (unsigned long long)s / 3600);
	else
		snprintf(buf, size, "%llu days", (unsigned long long)s / 86400);
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

int cmd_ps(struct cli *cli, int argc, char **argv)
{
	bool all = false, quiet = false;
	static const struct option options[] = {
	    {"all", no_argument, NULL, 'a'}, {"quiet", no_argument, NULL, 'q'}, {NULL, 0, NULL, 0}};
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "aq", options, NULL)) != -1) {
		if (c == 'a')
			all = true;
		else if (c == 'q')
			quiet = true;
		else
			return cli_usage_error("ps", "unknown flag '%s' (usage: sbx ps [-a] [-q])",
					       argv[optind - 1]);
	}
	if (optind < argc)
		return cli_usage_error("ps", "unexpected argument '%s'", argv[optind]);
	struct record *list;
	size_t n;
	struct sbx_err err = {0};
	if (record_list(cli->root, &list, &n, &err) < 0)
		return cli_report(cli, &err);
	if (!quiet)
		printf("%-12s   %-20s   %-24s   %-18s   %-28s   %s\n", "CONTAINER ID", "IMAGE",
		       "COMMAND", "CREATED", "STATUS", "NAMES");
	for (size_t i = 0; i < n; i++) {
		struct record *r = &list[i];
		const char *status = record_status(r);
		if (!all && strcmp(status, "running") != 0)
			continue;
		if (quiet) {
			printf("%s\n", r->id);
			continue;
		}
		json_t *st = json_object_get(r->json, "State");
		char command[64] = "\"", created[40], since[40], state[64];
		snprintf(command + 1, sizeof(command) - 1, "%s", str(r->json, "Path"));
		json_t *a;
		size_t k;
		json_array_foreach(json_object_get(r->json, "Args"), k, a)
		{
			size_t len = strlen(command);
			snprintf(command + len, sizeof(command) - len, " %s", json_string_value(a));
		}
		if (strlen(command) > 21)
			strcpy(command + 18, "…");
		strcat(command, "\"");
		ago(record_time_parse(str(r->json, "Created")), created, sizeof(created));
		strcat(created, " ago");
		if (!strcmp(status, "running")) {
			ago(record_time_parse(str(st, "StartedAt")), since, sizeof(since));
			snprintf(state, sizeof(state), "Up %s", since);
		} else if (!strcmp(status, "exited")) {
			ago(record_time_parse(str(st, "FinishedAt")), since, sizeof(since));
			snprintf(state, sizeof(state), "Exited (%lld) %s ago",
				 (long long)json_integer_value(json_object_get(st, "ExitCode")),
				 since);
		} else {
			snprintf(state, sizeof(state), "Created");
		}
		printf("%-12s   %-20.20s   %-24s   %-18s   %-28s   %s\n", r->id,
		       str(json_object_get(r->json, "Config"), "Image"), command, created, state,
		       r->name);
	}
	record_list_free(list, n);
	return 0;
}
