/* The sbx command line: one cmd-<verb>.c per verb, listed in main.c's table. A verb returns the
 * process exit status; sbx's own failures are 125, like docker. */
#pragma once

#include "base/err.h"

#define SBX_EXIT_ERROR 125

struct cli {
	const char *root; /* $SBX_ROOT or /var/lib/sbx */
	const char *prog;
};

/* Prints "sbx: <msg>" for err and returns SBX_EXIT_ERROR. */
int cli_report(const struct cli *cli, const struct sbx_err *err);
/* Prints "sbx <verb>: <msg>" for a usage problem and returns SBX_EXIT_ERROR. */
int cli_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Opens the image store under cli->root/images. */
struct image_store;
int cli_open_store(const struct cli *cli, struct image_store *s, struct sbx_err *err);

int cmd_pull(struct cli *cli, int argc, char **argv);
int cmd_load(struct cli *cli, int argc, char **argv);
int cmd_images(struct cli *cli, int argc, char **argv);
int cmd_rmi(struct cli *cli, int argc, char **argv);
int cmd_run(struct cli *cli, int argc, char **argv);
int cmd_ps(struct cli *cli, int argc, char **argv);
int cmd_exec(struct cli *cli, int argc, char **argv);
int cmd_logs(struct cli *cli, int argc, char **argv);
int cmd_kill(struct cli *cli, int argc, char **argv);
int cmd_stop(struct cli *cli, int argc, char **argv);
int cmd_rm(struct cli *cli, int argc, char **argv);
int cmd_inspect(struct cli *cli, int argc, char **argv);
