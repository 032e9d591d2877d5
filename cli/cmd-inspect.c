/* sbx inspect NAME...: the records as a JSON array, docker's shape, with the state as it is
 * now (a monitor that died shows as exited). */
#define _GNU_SOURCE
#include "cli/cli.h"
#include "cli/record.h"

#include <stdio.h>
#include <string.h>

int cmd_inspect(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("inspect", "need a container");
	if (argv[1][0] == '-')
		return cli_usage_error("inspect", "unknown flag '%s' (usage: sbx inspect NAME...)",
				       argv[1]);
	json_t *out = json_array();
	int status = 0;
	for (int i = 1; i < argc; i++) {
		struct record rec;
		struct sbx_err err = {0};
		if (record_find(cli->root, argv[i], &rec, &err) < 0) {
			status = cli_report(cli, &err);
			continue;
		}
		char now[32]; /* the status string lives in the object it replaces */
		snprintf(now, sizeof(now), "%s", record_status(&rec));
		json_t *st = json_object_get(rec.json, "State");
		json_object_set_new(st, "Status", json_string(now));
		json_object_set_new(st, "Running", json_boolean(!strcmp(now, "running")));
		json_array_append(out, rec.json);
		record_free(&rec);
	}
	char *s = json_dumps(out, JSON_INDENT(4));
	json_decref(out);
	if (s)
		printf("%s\n", s);
	free(s);
	return status;
}
