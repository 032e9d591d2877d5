/* The process that owns one sandbox for its whole life: it holds the record's monitor lock,
 * boots the VM, creates and starts the container, relays its output (to the terminal in the
 * foreground, always to container.log), records the exit status and tears the VM down. A
 * foreground `sbx run` is its own monitor; `sbx run -d` forks one that outlives the CLI. */
#pragma once

#include "cli/record.h"
#include "cli/run.h"

struct sbx_err;

struct monitor_args {
	const struct run_opts *opts;
	struct record *rec;
	const char *root;
	const struct run_assets *assets;
	const char *spec_json;
	const char *rootfs; /* the image's ext4 (block) or flattened tar (stream) */
	bool foreground;
	int ready_fd; /* -d: one line when the container runs ("ok") or failed (the error) */
};

/* Returns the container's exit status, or -errno with err filled when sbx itself failed.
 * A container that never started leaves no record behind. */
int monitor_run(const struct monitor_args *m, struct sbx_err *err);
