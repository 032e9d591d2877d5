/* /etc/kata-lite/config.json: where the VMM, guest kernel and initrd are, and the VM's size.
 * A missing file means defaults that point at the installed files (or, for a shim run from the
 * build tree, at the build outputs beside it); a malformed one is an error naming the file. */
#pragma once

#include <stdbool.h>

struct sbx_err;

#define SHIM_CONFIG_DEFAULT "/etc/kata-lite/config.json"

struct shim_config {
	char path[4096]; /* the file read; "" when only defaults apply */
	char vmm[4096], kernel[4096], initrd[4096];
	unsigned vcpus;
	unsigned memory_mib;
	bool debug_console; /* the guest's serial console goes to the shim's log */
	bool rootfs_stream; /* "rootfs_transfer": "stream" instead of "block" */
	char state_root[128];
};

/* path: an explicit config (runtime options' ConfigPath); NULL or "" means $KATA_LITE_CONFIG,
 * else SHIM_CONFIG_DEFAULT. An explicit file that is missing is an error too. */
int shim_config_load(const char *path, struct shim_config *c, struct sbx_err *err);
/* The same with another default file in place of SHIM_CONFIG_DEFAULT (for tests). */
int shim_config_load_from(const char *path, const char *default_path, struct shim_config *c,
			  struct sbx_err *err);
