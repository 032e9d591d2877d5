/* containerd-shim-kata-lite-v2: containerd's runtime v2 shim for io.containerd.kata-lite.v2.
 * Flags are Go-style as containerd passes them (-namespace ns, also --x and -x=v); the last
 * word is the command: start or delete. */
#define _GNU_SOURCE
#include "shim/bootstrap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fputs("usage: containerd-shim-kata-lite-v2 -namespace NS -address ADDR -id ID\n"
	      "         [-publish-binary PATH] [-bundle DIR] [-debug] start|delete\n"
	      "containerd runs this; see README.md for the containerd and Kubernetes setup.\n",
	      f);
}

/* Matches -name, --name, -name=value, --name=value; returns the value (or NULL for a flag
 * without '='), advancing *i past a separate value when the flag takes one. */
static bool flag(char **argv, int argc, int *i, const char *name, bool takes_value,
		 const char **value)
{
	const char *a = argv[*i];
	if (a[0] != '-')
		return false;
	a += a[1] == '-' ? 2 : 1;
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
		return false;
	if (a[n] == '=') {
		*value = a + n + 1;
	} else if (takes_value) {
		if (*i + 1 >= argc) {
			fprintf(stderr, "flag needs an argument: -%s\n", name);
			exit(2);
		}
		*value = argv[++*i];
	}
	return true;
}

int main(int argc, char **argv)
{
	struct shim_args a = {
	    .ns = "", .id = "", .address = "", .publish_binary = "", .bundle = ""};
	const char *cmd = NULL, *ignored = NULL;
	for (int i = 1; i < argc; i++) {
		const char *dbg = NULL;
		if (flag(argv, argc, &i, "namespace", true, &a.ns) ||
		    flag(argv, argc, &i, "address", true, &a.address) ||
		    flag(argv, argc, &i, "publish-binary", true, &a.publish_binary) ||
		    flag(argv, argc, &i, "id", true, &a.id) ||
		    flag(argv, argc, &i, "bundle", true, &a.bundle) ||
		    flag(argv, argc, &i, "socket", true, &ignored))
			continue;
		if (flag(argv, argc, &i, "debug", false, &dbg)) {
			a.debug = !dbg || strcmp(dbg, "false") != 0;
			continue;
		}
		if (flag(argv, argc, &i, "v", false, &ignored) ||
		    flag(argv, argc, &i, "version", false, &ignored)) {
			printf("containerd-shim-kata-lite-v2 version " SHIM_VERSION "\n");
			return 0;
		}
		if (flag(argv, argc, &i, "h", false, &ignored) ||
		    flag(argv, argc, &i, "help", false, &ignored)) {
			usage(stdout);
			return 0;
		}
		if (argv[i][0] == '-') {
			fprintf(stderr, "flag provided but not defined: %s\n", argv[i]);
			return 2;
		}
		if (cmd) {
			fprintf(stderr, "unexpected argument '%s'\n", argv[i]);
			return 2;
		}
		cmd = argv[i];
	}
	if (!cmd) {
		usage(stderr);
		return 2;
	}
	if (!*a.ns || !*a.id) {
		fprintf(stderr, "-namespace and -id are required\n");
		return 2;
	}
	if (!strcmp(cmd, "start"))
		return shim_cmd_start(&a);
	if (!strcmp(cmd, "delete"))
		return shim_cmd_delete(&a);
	fprintf(stderr, "unknown command '%s' (start or delete)\n", cmd);
	return 2;
}
