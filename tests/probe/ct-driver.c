/* Test driver for the agent's container library: ct-driver BUNDLE [N] creates, starts and waits
 * for the container in BUNDLE/config.json N times (default 1), exits with its status, and with
 * N > 1 prints the median create+start+wait time in ms. With SIG, sends it to init after start.
 * With CT_CGROUP_PARENT set, each run gets a cgroup v2 group there with the spec's limits; the
 * driver prints the limit files and stats after the run (CT_CG_SHOW=1), can pause/resume the
 * running container (CT_CG_PAUSE=1: prints frozen=1 then thawed) and removes the group. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include "base/parse.h"
#include "guest-agent/container/cgroup.h"
#include "guest-agent/container/container.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void cat(const char *dir, const char *f)
{
	char p[PATH_MAX], buf[256] = "";
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", dir, f);
	fp = fopen(p, "re");
	if (fp) {
		if (!fgets(buf, sizeof(buf), fp))
			buf[0] = '\0';
		fclose(fp);
	}
	printf("%s=%s%s", f, buf, strchr(buf, '\n') ? "" : "\n");
}

/* while the container runs: show limits, and pause/resume it when asked */
static int show_cg(const char *cg, struct sbx_err *err)
{
	if (getenv("CT_CG_SHOW")) {
		cat(cg, "memory.max");
		cat(cg, "memory.low");
		cat(cg, "pids.max");
		cat(cg, "cpu.max");
		cat(cg, "cpu.weight");
	}
	if (getenv("CT_CG_PAUSE")) {
		if (cg_freeze(cg, true, err) < 0)
			return -err->code;
		for (int i = 0; i < 2000; i++) {
			char p[PATH_MAX], buf[256] = "";
			FILE *fp;

			snprintf(p, sizeof(p), "%s/cgroup.events", cg);
			fp = fopen(p, "re");
			if (fp) {
				while (fgets(buf, sizeof(buf), fp))
					if (!strcmp(buf, "frozen 1\n"))
						i = 9999;
				fclose(fp);
			}
			if (i == 9999) {
				printf("frozen=1\n");
				break;
			}
			usleep(1000);
		}
		if (cg_freeze(cg, false, err) < 0)
			return -err->code;
		printf("thawed\n");
	}
	fflush(stdout);
	return 0;
}

/* CT_EXEC=CMD: sh -c CMD inside the running container, then SIGKILL its init */
static int run_exec(struct ct *c, const struct oci_spec *spec, const char *cg, struct sbx_err *err)
{
	struct oci_process p = spec->process;
	char *args[] = {"/bin/sh", "-c", getenv("CT_EXEC"), NULL};
	pid_t pid;
	int st;

	p.args = args;
	p.nargs = 3;
	if (ct_exec(c, spec, &p, cg, NULL, &pid, err) < 0)
		return -err->code;
	if (waitpid(pid, &st, 0) < 0)
		return sbx_fail(err, errno, "wait exec");
	printf("exec_status=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	fflush(stdout);
	return ct_kill(c, SIGKILL, err);
}

int main(int argc, char **argv)
{
	struct sbx_err err = {0};
	struct oci_spec *spec = NULL;
	char path[PATH_MAX], root[PATH_MAX];
	double t[1000];
	const char *cgp = getenv("CT_CGROUP_PARENT");
	int status = 0;
	uint32_t n = 1, sig = 0;

	if (argc < 2 || (argc > 2 && parse_u32(argv[2], 1, 1000, &n, NULL) < 0) ||
	    (argc > 3 && parse_u32(argv[3], 0, 64, &sig, NULL) < 0)) {
		fprintf(stderr, "usage: ct-driver BUNDLE [N [SIG]]\n");
		return 2;
	}
	/* init is a grandchild: become its reaper like the agent (PID 1) is */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	snprintf(path, sizeof(path), "%s/config.json", argv[1]);
	if (oci_spec_load(path, &spec, &err) < 0)
		goto fail;
	if (spec->root_path && spec->root_path[0] == '/')
		snprintf(path, sizeof(path), "%s", spec->root_path);
	else
		snprintf(path, sizeof(path), "%s/%s", argv[1],
			 spec->root_path ? spec->root_path : "rootfs");
	if (!realpath(path, root)) {
		perror(path);
		return 125;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct timespec a, b;
		struct ct *c = NULL;
		char *cg = NULL, id[32];

		clock_gettime(CLOCK_MONOTONIC, &a);
		snprintf(id, sizeof(id), "ct-%d-%d", (int)getpid(), i);
		if (cgp && cg_create(cgp, id, &spec->res, &cg, &err) < 0)
			goto fail;
		if (ct_create(spec, root, cg, NULL, &c, &err) < 0 || ct_start(c, &err) < 0 ||
		    (sig && ct_kill(c, sig, &err) < 0) || (cg && show_cg(cg, &err) < 0) ||
		    (getenv("CT_EXEC") && run_exec(c, spec, cg, &err) < 0) ||
		    ct_wait(c, &status, &err) < 0) {
			ct_free(c);
			if (cg)
				cg_remove(cg, NULL);
			free(cg);
			goto fail;
		}
		if (cg) {
			struct cg_stats st;

			cg_stats(cg, &st);
			if (getenv("CT_CG_SHOW"))
				printf("cpu_usec=%llu pids=%llu oom_kills=%llu\n",
				       (unsigned long long)st.cpu_usec,
				       (unsigned long long)st.pids_current,
				       (unsigned long long)st.oom_kills);
			if (cg_remove(cg, &err) < 0)
				goto fail;
			free(cg);
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
