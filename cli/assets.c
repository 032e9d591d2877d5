/* Where sbx finds the VMM, the guest kernel and the initrd it boots. */
#define _GNU_SOURCE
#include "cli/run.h"

#include "base/err.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int run_find_assets(struct run_assets *a, struct sbx_err *err)
{
	const char *env[3] = {getenv("SBX_VMM"), getenv("SBX_KERNEL"), getenv("SBX_INITRD")};
	char *out[3] = {a->vmm, a->kernel, a->initrd};
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	static const char *const local[3] = {"/sbx-vmm", "/../guest/vmlinux",
					     "/../guest/initrd.img"};
	static const char *const shared[3] = {"/usr/local/bin/sbx-vmm",
					      "/usr/local/share/kata-lite/vmlinux",
					      "/usr/local/share/kata-lite/initrd.img"};
	static const char *const what[3] = {"sbx-vmm (SBX_VMM)", "guest kernel (SBX_KERNEL)",
					    "guest initrd (SBX_INITRD)"};
	for (int i = 0; i < 3; i++) {
		if (env[i] && *env[i]) {
			snprintf(out[i], sizeof(a->vmm), "%s", env[i]);
		} else {
			snprintf(out[i], sizeof(a->vmm), "%s%s", self, local[i]);
			if (access(out[i], R_OK) != 0)
				snprintf(out[i], sizeof(a->vmm), "%s", shared[i]);
		}
		if (access(out[i], R_OK) != 0)
			return sbx_failx(err, ENOENT, "no %s at %s", what[i], out[i]);
	}
	return 0;
}
