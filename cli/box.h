/* What the verbs that act on an existing container share: finding it and reaching the agent of
 * its running sandbox. */
#pragma once

#include "cli/record.h"

struct cli;
struct sandbox;
struct ttrpc_client;
struct sbx_err;

struct box {
	struct record rec;
	struct sandbox *sb;
	struct ttrpc_client *cl;
};

/* Loads the record and, when it runs, connects to its agent; "is not running" otherwise. */
int box_connect(const struct cli *cli, const char *name, struct box *b, struct sbx_err *err);
void box_close(struct box *b);

/* SignalProcess to the container's init (exec_id "" or NULL) or an exec. */
int box_signal(struct box *b, const char *exec_id, int sig, struct sbx_err *err);

/* "KILL", "SIGKILL", "9" -> 9; -1 if unknown. */
int box_parse_signal(const char *s);
