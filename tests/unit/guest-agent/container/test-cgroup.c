/* cgroup limit files: the OCI values land in the cgroup v2 files with the v2 units (shares ->
 * weight, swap is memory+swap, quota/period -> "quota period"). Uses plain files in a tmpdir. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "guest-agent/container/cgroup.h"

static const char *const files[] = {"memory.max", "memory.low",   "memory.swap.max", "cpu.weight",
				    "cpu.max",    "cpuset.cpus",  "pids.max",        "io.weight",
				    "cpu.stat",   "memory.events"};

static void slurp(const char *dir, const char *f, char *buf, size_t len)
{
	char p[512];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", dir, f);
	buf[0] = '\0';
	fp = fopen(p, "re");
	if (fp) {
		size_t n = fread(buf, 1, len - 1, fp);

		buf[n] = '\0';
		fclose(fp);
	}
}

static void put(const char *dir, const char *f, const char *v)
{
	char p[512];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", dir, f);
	fp = fopen(p, "we");
	if (fp) {
		fputs(v, fp);
		fclose(fp);
	}
}

TEST(limits_written_in_v2_units)
{
	const char *dir = tap_tmpdir();
	struct oci_resources r = {0};
	struct sbx_err err = {0};
	char buf[128];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		put(dir, files[i], "");
	r.has_mem_limit = true, r.mem_limit = 64 << 20;
	r.has_mem_reservation = true, r.mem_reservation = 32 << 20;
	r.has_mem_swap = true, r.mem_swap = 96 << 20;
	r.has_cpu_shares = true, r.cpu_shares = 1024;
	r.has_cpu_quota = true, r.cpu_quota = 50000;
	r.has_cpu_period = true, r.cpu_period = 100000;
	r.cpus = "0-1";
	r.has_pids_limit = true, r.pids_limit = 64;
	r.blkio_weight = 500;
	ASSERT_EQ(cg_apply(dir, &r, &err), 0);
	slurp(dir, "memory.max", buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "67108864");
	slurp(dir, "memory.low", buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "33554432");
	slurp(dir, "memory.swap.max", buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "33554432");
	slurp(dir, "cpu.weight", buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "39");
	slurp(dir, "cpu.max", buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "50000 100000");
	slurp(dir, "pids.max", buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "64");
	slurp(dir, "io.weight", buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "default 500");
}

TEST(stats_parsed)
{
	const char *dir = tap_tmpdir();
	struct cg_stats st;

	put(dir, "cpu.stat", "usage_usec 1234\nuser_usec 1000\n");
	put(dir, "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n");
	put(dir, "memory.current", "4096\n");
	put(dir, "io.stat", "8:0 rbytes=100 wbytes=200 rios=1\n8:16 rbytes=1 wbytes=2\n");
	ASSERT_EQ(cg_stats(dir, &st), 0);
	ASSERT_U64_EQ(st.cpu_usec, 1234);
	ASSERT_U64_EQ(st.oom_kills, 2);
	ASSERT_U64_EQ(st.mem_current, 4096);
	ASSERT_U64_EQ(st.io_rbytes, 101);
	ASSERT_U64_EQ(st.io_wbytes, 202);
}

TEST(bad_ids_rejected)
{
	struct oci_resources r = {0};
	struct sbx_err err = {0};
	char *dir = NULL;

	ASSERT_EQ(cg_create(tap_tmpdir(), "../x", &r, &dir, &err), -EINVAL);
	ASSERT_EQ(cg_create(tap_tmpdir(), "..", &r, &dir, &err), -EINVAL);
	ASSERT_EQ(cg_create(tap_tmpdir(), "", &r, &dir, &err), -EINVAL);
	ASSERT_NULL(dir);
}
