/* `sbx run`: the options, the container spec built from them (run-spec.c) and the files a
 * sandbox boots (assets.c); cli/monitor.h runs it. */
#pragma once

#include "cli/network.h"
#include "image/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbx_err;

struct run_opts {
	bool rm, detach, interactive, tty, read_only;
	const char *name, *workdir, *user, *entrypoint, *hostname;
	const char *transfer; /* "block" or "stream" */
	char **env;           /* K=V */
	size_t nenv;
	int64_t memory_bytes;
	int cpus_milli;
	struct run_net net;
	const char *image;
	char **args;
	size_t nargs;
};

/* The guest and VMM files `sbx run` boots: $SBX_VMM/$SBX_KERNEL/$SBX_INITRD, else next to
 * the sbx binary (a build tree: bin/ and guest/), else the installed share directory. */
struct run_assets {
	char vmm[4096], kernel[4096], initrd[4096];
};
int run_find_assets(struct run_assets *a, struct sbx_err *err);

int run_spec_json(const struct run_opts *o, const struct image_config *img, char **ret_json,
		  struct sbx_err *err);
