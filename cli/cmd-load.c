/* sbx load [-i FILE]: docker-save or OCI-layout archive (stdin without -i). */
#include "cli/cli.h"

#include "image/load.h"
#include "image/store.h"

#include "base/cleanup.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

static int print_loaded(void *opaque, const char *ref, const char *digest)
{
	printf("Loaded image: %s\n", ref);
	return 0;
}

int cmd_load(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"input", required_argument, NULL, 'i'},
					     {"quiet", no_argument, NULL, 'q'},
					     {NULL, 0, NULL, 0}};
	const char *input = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+i:q", opts, NULL)) != -1) {
		if (c == 'i')
			input = optarg;
		else if (c != 'q')
			return cli_usage_error("load", "unknown flag '%s'", argv[optind - 1]);
	}
	if (optind != argc)
		return cli_usage_error("load", "unexpected argument '%s'", argv[optind]);
	struct sbx_err err = {0};
	_cleanup_close_ int fd = input ? open(input, O_RDONLY | O_CLOEXEC) : dup(0);
	if (fd < 0) {
		sbx_fail(&err, errno, "open '%s'", input ? input : "stdin");
		return cli_report(cli, &err);
	}
	struct image_store s;
	if (cli_open_store(cli, &s, &err) < 0)
		return cli_report(cli, &err);
	int r = image_load_archive(&s, fd, print_loaded, NULL, &err);
	image_store_close(&s);
	if (r < 0) {
		sbx_wrap(&err, "load %s", input ? input : "stdin");
		return cli_report(cli, &err);
	}
	return 0;
}
