/* sbx images: one line per reference: repository, tag, image id (manifest digest). */
#include "cli/cli.h"

#include "image/store.h"

#include <stdio.h>
#include <string.h>

static int print_ref(void *opaque, const char *ref, const char *digest)
{
	char repo[512];
	const char *tag = "<none>";
	snprintf(repo, sizeof(repo), "%s", ref);
	char *at = strchr(repo, '@');
	char *slash = strrchr(repo, '/');
	char *colon = slash ? strrchr(slash, ':') : NULL;
	if (at)
		*at = '\0';
	else if (colon) {
		*colon = '\0';
		tag = colon + 1;
	}
	printf("%-48s %-16s %.19s\n", repo, at ? "<none>" : tag, digest);
	return 0;
}

int cmd_images(struct cli *cli, int argc, char **argv)
{
	if (argc > 1)
		return cli_usage_error("images", "takes no arguments");
	struct sbx_err err = {0};
	struct image_store s;
	if (cli_open_store(cli, &s, &err) < 0)
		return cli_report(cli, &err);
	printf("%-48s %-16s %s\n", "REPOSITORY", "TAG", "IMAGE ID");
	int r = image_ref_list(&s, print_ref, NULL, &err);
	image_store_close(&s);
	return r < 0 ? cli_report(cli, &err) : 0;
}
