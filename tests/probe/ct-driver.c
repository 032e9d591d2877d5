/* Test driver for the agent's container library: ct-driver BUNDLE [N] creates, starts and waits
 * for the container in BUNDLE/config.json N times (default 1), exits with its status, and with
 * N > 1 prints the median create+start+wait time in ms. With SIG, sends it to init after start. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

#include "guest-agent/container/container.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct sbx_err err = { 0 };
	struct oci_spec *spec = NULL;
	char path[PATH_MAX], root[PATH_MAX];
	double t[1000];
	int status = 0, n = argc > 2 ? atoi(argv[2]) : 1, sig = argc > 3 ? atoi(argv[3]) : 0;

	if (argc < 2 || n < 1 || n > 1000) {
		fprintf(stderr, "usage: ct-driver BUNDLE [N [SIG]]\n");
		return 2;
	}
	/* init is a grandchild: become its reaper like the agent (PID 1) is */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	snprintf(path, sizeof(path), "%s/config.json", argv[1]);
	if (oci_spec_load(path, &spec, &err) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/%s", argv[1], spec->root_path ? spec->root_path : "rootfs");
	if (!realpath(path, root)) {
		perror(path);
		return 125;
	}
	for (int i = 0; i < n; i++) {
		struct timespec a, b;
		struct ct *c = NULL;

		clock_gettime(CLOCK_MONOTONIC, &a);
		if (ct_create(spec, root, &c, &err) < 0 || ct_start(c, &err) < 0 ||
		    (sig && ct_kill(c, sig, &err) < 0) || ct_wait(c, &status, &err) < 0) {
			ct_free(c);
			goto fail;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		t[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
		ct_free(c);
	}
	if (n > 1) {
		qsort(t, (size_t)n, sizeof(t[0]), cmp_double);
		printf("median_ms=%.2f\n", t[n / 2]);
	}
	oci_spec_free(spec);
	return status;
fail:
	fprintf(stderr, "ct-driver: %s\n", err.msg);
	oci_spec_free(spec);
	return 125;
}
