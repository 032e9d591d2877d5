/* sandbox-driver VMM KERNEL INITRD STATE_DIR: starts a sandbox through lib/sandbox with the
 * test initrd's sayready action, kills the VMM with SIGKILL, and prints what the state
 * directory holds at each step, for tests/vm/test_sandbox_lifecycle.sh. */
#include "base/err.h"
#include "sandbox/sandbox.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void list_dir(const char *label, const char *dir)
{
	printf("%s:", label);
	DIR *d = opendir(dir);
	if (!d) {
		printf(" (no directory)\n");
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			printf(" %s", e->d_name);
	closedir(d);
	printf("\n");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 5) {
		fprintf(stderr, "usage: sandbox-driver VMM KERNEL INITRD STATE_DIR\n");
		return 2;
	}
	struct sandbox_config cfg = {.vmm = argv[1],
				     .kernel = argv[2],
				     .initrd = argv[3],
				     .state_dir = argv[4],
				     .cmdline = "quiet sbx.test=sayready",
				     .cpus = 1,
				     .mem_mib = 128,
				     .boot_timeout_ms = 120000};
	struct sbx_err err = {0};
	struct sandbox *sb = NULL;
	if (sandbox_start(&cfg, &sb, &err) < 0) {
		fprintf(stderr, "sandbox-driver: %s\n", err.msg);
		list_dir("after-failed-start", argv[4]);
		return 1;
	}
	printf("ready version=%s ms=%llu\n", sb->agent_version,
	       (unsigned long long)((sb->ready_ns - sb->spawn_ns) / 1000000));
	list_dir("running", sb->dir);
	sandbox_kill(sb);
	if (sandbox_wait(sb, 30000) < 0) {
		fprintf(stderr, "sandbox-driver: the VMM outlived SIGKILL\n");
		return 1;
	}
	printf("exit=%d\n", sb->exit_status);
	list_dir("after-kill", sb->dir);
	sandbox_free(sb);
	list_dir("after-free", argv[4]);
	return 0;
}
