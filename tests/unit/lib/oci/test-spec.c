/* OCI config.json parsing: a full spec round-trips into the struct; every malformed field is
 * rejected with a one-line message naming its JSON path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "tap.h"
#include "oci/spec.h"

static struct oci_spec *load_full(void)
{
	struct oci_spec *s = NULL;
	struct sbx_err err = {0};
	char path[512];

	snprintf(path, sizeof(path), "%s/tests/corpus/spec/full.json",
		 getenv("SRCDIR") ? getenv("SRCDIR") : ".");
	if (oci_spec_load(path, &s, &err) < 0)
		fprintf(stderr, "# %s\n", err.msg);
	return s;
}

TEST(full_spec_parses)
{
	struct oci_spec *s = load_full();

	ASSERT_NOT_NULL(s);
	ASSERT_STR_EQ(s->hostname, "ct1");
	ASSERT_EQ(s->process.nargs, 3);
	ASSERT_NULL(s->process.args[3]);
	ASSERT_STR_EQ(s->process.cwd, "/tmp");
	ASSERT_EQ(s->process.uid, 1000);
	ASSERT_EQ(s->process.ngids, 2);
	ASSERT_EQ(s->process.gids[1], 20);
	ASSERT_EQ(s->process.nrlimits, 1);
	ASSERT_EQ(s->process.rlimits[0].resource, RLIMIT_NOFILE);
	ASSERT_U64_EQ(s->process.rlimits[0].soft, 512);
	ASSERT_U64_EQ(s->process.caps[OCI_CAP_BOUNDING], (1ull << 5) | 1ull);
	ASSERT_U64_EQ(s->process.caps[OCI_CAP_AMBIENT], 0);
	ASSERT_TRUE(s->process.no_new_privs);
	ASSERT_EQ(s->process.oom_score_adj, 100);
	ASSERT_STR_EQ(s->root_path, "rootfs");
	ASSERT_TRUE(s->root_readonly);
	ASSERT_EQ(s->nmounts, 3);
	ASSERT_STR_EQ(s->mounts[1].type, "bind");
	ASSERT_EQ(s->mounts[1].noptions, 2);
	ASSERT_EQ(s->nns, 6);
	ASSERT_STR_EQ(oci_spec_ns(s, OCI_NS_NET)->path, "/var/run/netns/x");
	ASSERT_NULL(oci_spec_ns(s, OCI_NS_USER));
	ASSERT_TRUE(s->res.has_mem_limit);
	ASSERT_EQ(s->res.mem_limit, 67108864);
	ASSERT_EQ(s->res.cpu_quota, 50000);
	ASSERT_STR_EQ(s->res.cpus, "0-1");
	ASSERT_EQ(s->res.pids_limit, 64);
	ASSERT_EQ(s->res.blkio_weight, 500);
	ASSERT_NOT_NULL(s->seccomp);
	ASSERT_EQ(s->seccomp->default_action, OCI_SC_ALLOW);
	ASSERT_EQ(s->seccomp->nsyscalls, 2);
	ASSERT_EQ(s->seccomp->syscalls[0].errno_ret, 1);
	ASSERT_EQ(s->seccomp->syscalls[1].errno_ret, EPERM);
	ASSERT_EQ(s->seccomp->syscalls[1].nargs, 1);
	ASSERT_EQ(s->seccomp->syscalls[1].args[0].op, OCI_OP_EQ);
	ASSERT_U64_EQ(s->seccomp->syscalls[1].args[0].value, 8);
	ASSERT_EQ(s->nmasked, 2);
	ASSERT_EQ(s->nsysctls, 1);
	ASSERT_STR_EQ(s->sysctls[0].key, "net.ipv4.ip_forward");
	ASSERT_EQ(s->ndevices, 1);
	ASSERT_EQ(s->devices[0].mode, 0666);
	oci_spec_free(s);
}

/* Each row: a malformed spec and the exact message it must produce. */
static const struct {
	const char *json, *msg;
} bad_specs[] = {
    {"[]", "spec: must be a JSON object"},
    {"{\"mounts\":[{\"destination\":\"/a\",\"type\":\"tmpfs\"},{},{},"
     "{\"destination\":\"rel\",\"type\":\"tmpfs\"}]}",
     "mounts[1]: destination: missing"},
    {"{\"mounts\":[{\"destination\":\"/a\",\"type\":\"tmpfs\"},"
     "{\"destination\":\"rel\",\"type\":\"tmpfs\"}]}",
     "mounts[1]: destination: must be an absolute path without '..'"},
    {"{\"mounts\":[{\"destination\":\"/x/../../etc\",\"type\":\"tmpfs\"}]}",
     "mounts[0]: destination: must be an absolute path without '..'"},
    {"{\"mounts\":[{\"destination\":\"/x\",\"source\":\"/y\"}]}",
     "mounts[0]: type: missing (and not a bind mount)"},
    {"{\"process\":{\"args\":[],\"cwd\":\"/\"}}", "process.args: must have at least one element"},
    {"{\"process\":{\"args\":[\"a\"],\"cwd\":\"..\"}}",
     "process.cwd: must be an absolute path without '..'"},
    {"{\"process\":{\"args\":[\"a\"]}}", "process.cwd: missing"},
    {"{\"process\":{\"args\":[\"a\"],\"cwd\":\"/\",\"env\":[\"NOEQUALS\"]}}",
     "process: env[0]: must be KEY=VALUE"},
    {"{\"process\":{\"args\":[\"a\"],\"cwd\":\"/\",\"oomScoreAdj\":5000}}",
     "process: oomScoreAdj: 5000 out of range [-1000, 1000]"},
    {"{\"process\":{\"args\":[\"a\"],\"cwd\":\"/\",\"user\":{\"uid\":-1}}}",
     "process.user: uid: -1 out of range [0, 4294967294]"},
    {"{\"process\":{\"args\":[\"a\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_FOO\","
     "\"soft\":1,\"hard\":1}]}}",
     "process.rlimits[0]: type: unknown rlimit 'RLIMIT_FOO'"},
    {"{\"process\":{\"args\":[\"a\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\","
     "\"soft\":10,\"hard\":1}]}}",
     "process.rlimits[0]: soft limit above hard limit"},
    {"{\"process\":{\"args\":[\"a\"],\"cwd\":\"/\",\"capabilities\":{\"bounding\":"
     "[\"CAP_FLY\"]}}}",
     "process.capabilities: bounding[0]: unknown capability"},
    {"{\"process\":{\"args\":[\"a\"],\"cwd\":\"/\",\"terminal\":\"yes\"}}",
     "process: terminal: must be a boolean"},
    {"{\"linux\":{\"namespaces\":[{\"type\":\"pidd\"}]}}",
     "linux.namespaces[0]: type: unknown namespace type 'pidd'"},
    {"{\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}",
     "linux.namespaces[1]: type: 'pid' given twice"},
    {"{\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"x\"}]}}",
     "linux.namespaces[0]: path: must be an absolute path without '..'"},
    {"{\"linux\":{\"resources\":{\"memory\":{\"limit\":9223372036854775807}}}}",
     "linux.resources.memory: limit: 9223372036854775807 out of range [-1, 1125899906842624]"},
    {"{\"linux\":{\"resources\":{\"memory\":{\"limit\":1000,\"swap\":10}}}}",
     "linux.resources.memory: swap: below limit (swap is memory+swap)"},
    {"{\"linux\":{\"resources\":{\"cpu\":{\"shares\":1}}}}",
     "linux.resources.cpu: shares: must be 2..262144"},
    {"{\"linux\":{\"resources\":{\"cpu\":{\"cpus\":\"0-1;rm\"}}}}",
     "linux.resources.cpu: cpus: must be a cpu list like 0-2,4"},
    {"{\"linux\":{\"resources\":{\"blockIO\":{\"weight\":5}}}}",
     "linux.resources.blockIO: weight: 5 out of range [10, 1000]"},
    {"{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOPE\"}}}",
     "linux.seccomp: defaultAction: unknown value 'SCMP_ACT_NOPE'"},
    {"{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
     "[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":7,\"op\":"
     "\"SCMP_CMP_EQ\"}]}]}}}",
     "linux.seccomp.syscalls[0]: index: too large"},
    {"{\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
     "[],\"action\":\"SCMP_ACT_ERRNO\"}]}}}",
     "linux.seccomp.syscalls[0]: names: missing or empty"},
    {"{\"linux\":{\"maskedPaths\":[\"/proc/../etc\"]}}",
     "linux: maskedPaths[0]: must be an absolute path without '..'"},
    {"{\"linux\":{\"sysctl\":{\"../../etc/x\":\"1\"}}}", "linux.sysctl: bad key '../../etc/x'"},
    {"{\"linux\":{\"devices\":[{\"path\":\"/etc/x\",\"type\":\"c\"}]}}",
     "linux.devices[0]: path: must be an absolute path under /dev"},
    {"{\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"z\"}]}}",
     "linux.devices[0]: type: must be c, b, u or p"},
    {"{\"hostname\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
     "hostname: longer than 64 bytes"},
    {"{\"hostname\":\"a\",\"hostname\":\"b\"}", NULL},
};

TEST(malformed_specs_rejected_with_path)
{
	for (size_t i = 0; i < sizeof(bad_specs) / sizeof(bad_specs[0]); i++) {
		struct oci_spec *s = NULL;
		struct sbx_err err = {0};
		int r = oci_spec_parse(bad_specs[i].json, strlen(bad_specs[i].json), &s, &err);

		if (r >= 0)
			fprintf(stderr, "# accepted: %s\n", bad_specs[i].json);
		ASSERT_EQ(r, -EINVAL);
		ASSERT_NULL(s);
		if (bad_specs[i].msg)
			ASSERT_STR_EQ(err.msg, bad_specs[i].msg);
	}
}

TEST(path_check)
{
	ASSERT_TRUE(oci_path_ok("/a/b", false));
	ASSERT_TRUE(oci_path_ok("/a/..b/c..", false));
	ASSERT_TRUE(!oci_path_ok("/a/..", false));
	ASSERT_TRUE(!oci_path_ok("a", false));
	ASSERT_TRUE(oci_path_ok("a", true));
	ASSERT_TRUE(!oci_path_ok("../a", true));
	ASSERT_TRUE(!oci_path_ok("", true));
}

TEST(oversized_spec_rejected)
{
	struct oci_spec *s = NULL;
	struct sbx_err err = {0};

	ASSERT_EQ(oci_spec_parse("{}", OCI_MAX_SPEC_BYTES + 1, &s, &err), -E2BIG);
}
