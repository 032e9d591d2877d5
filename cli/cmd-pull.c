/* sbx pull [-q] IMAGE: a progress bar on a terminal, one line per blob otherwise. */
#include "cli/cli.h"

#include "image/pull.h"
#include "image/store.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct progress {
	int tty;
	int quiet;
	char last[80];
};

static void on_progress(void *opaque, const char *what, uint64_t done, uint64_t total)
{
	struct progress *p = opaque;
	if (p->quiet)
		return;
	const char *shortd = strncmp(what, "sha256:", 7) == 0 ? what + 7 : what;
	if (p->tty) {
		int pct = total ? (int)(done * 100 / total) : 0;
		int bars = pct / 5;
		fprintf(stderr, "\r%.12s [%-20.*s] %3d%% %llu/%llu KiB", shortd, bars,
			"####################", pct, (unsigned long long)done / 1024,
			(unsigned long long)total / 1024);
		if (total && done >= total)
			fputc('\n', stderr);
		return;
	}
	/* Plain output: one line when a blob starts and one when it is complete. */
	if (strcmp(p->last, what) != 0) {
		snprintf(p->last, sizeof(p->last), "%s", what);
		fprintf(stderr, "%.12s: downloading\n", shortd);
	}
	if (total && done >= total)
		fprintf(stderr, "%.12s: done\n", shortd);
}

int cmd_pull(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"quiet", no_argument, NULL, 'q'}, {NULL, 0, NULL, 0}};
	struct progress prog = {.tty = isatty(2)};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+q", opts, NULL)) != -1) {
		if (c == 'q')
			prog.quiet = 1;
		else
			return cli_usage_error("pull", "unknown flag '%s'", argv[optind - 1]);
	}
	if (argc - optind != 1)
		return cli_usage_error("pull", "requires exactly one IMAGE");
	struct sbx_err err = {0};
	char ref[512];
	if (image_ref_normalize(argv[optind], ref, sizeof(ref), &err) < 0)
		return cli_report(cli, &err);
	struct image_store s;
	if (cli_open_store(cli, &s, &err) < 0)
		return cli_report(cli, &err);
	struct image_pull_opts po = {.progress = on_progress, .opaque = &prog};
	char digest[IMAGE_DIGEST_MAX];
	int r = image_pull(&s, ref, &po, digest, &err);
	image_store_close(&s);
	if (r < 0) {
		sbx_wrap(&err, "pull %s", ref);
		return cli_report(cli, &err);
	}
	printf("Digest: %s\n%s\n", digest, ref);
	return 0;
}
