/* sbx rmi IMAGE...: removes references; blobs no reference needs are left for a later prune. */
#include "cli/cli.h"

#include "image/store.h"

#include <stdio.h>

int cmd_rmi(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error("rmi", "requires at least one IMAGE");
	struct sbx_err err = {0};
	struct image_store s;
	if (cli_open_store(cli, &s, &err) < 0)
		return cli_report(cli, &err);
	int status = 0;
	for (int i = 1; i < argc; i++) {
		char ref[512];
		if (image_ref_normalize(argv[i], ref, sizeof(ref), &err) < 0 ||
		    image_ref_delete(&s, ref, &err) < 0) {
			status = cli_report(cli, &err);
			continue;
		}
		printf("Untagged: %s\n", ref);
	}
	image_store_close(&s);
	return status;
}
