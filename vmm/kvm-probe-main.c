/* kvm-probe: prints hardware, pvm-emulated or absent; exit status 0, 1 or 2 (3: probe error). */
#include "vmm/x86/kvm-probe.h"

#include "base/err.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *dev = "/dev/kvm";
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		printf("usage: kvm-probe [DEVICE]\nprints hardware, pvm-emulated or absent\n");
		return 0;
	}
	if (argc == 2)
		dev = argv[1];
	else if (argc > 2) {
		fprintf(stderr, "kvm-probe: too many arguments\n");
		return 3;
	}
	struct sbx_err err = {0};
	int r = kvm_probe(dev, &err);
	if (r < 0) {
		fprintf(stderr, "kvm-probe: %s\n", err.msg);
		return 3;
	}
	printf("%s\n", kvm_probe_name(r));
	return r;
}
