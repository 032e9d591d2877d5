/* The shim's config file: defaults when it is missing, every key applied, and every malformed
 * file refused with a message that names the file and the problem. Also the identifier rule
 * and the pod grouping of start. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "shim/bootstrap.h"
#include "shim/config.h"
#include "shim/task.h"
#include "tap.h"

static char dir[] = "/tmp/shim-config.XXXXXX";

static void remove_dir(void)
{
	const char *names[] = {"config.json", "unused"};
	char path[300];
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static const char *write_file(const char *name, const char *text)
{
	static char path[256];
	static bool made;
	if (!made && (made = mkdtemp(dir) != NULL))
		atexit(remove_dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static int load(const char *text, struct shim_config *c, struct sbx_err *err)
{
	memset(err, 0, sizeof(*err));
	return shim_config_load(write_file("config.json", text), c, err);
}

TEST(an_empty_object_gives_the_defaults)
{
	struct shim_config c;
	struct sbx_err err;
	ASSERT_EQ(load("{}", &c, &err), 0);
	ASSERT_EQ(c.vcpus, 1);
	ASSERT_EQ(c.memory_mib, 256);
	ASSERT_TRUE(!c.rootfs_stream);
	ASSERT_STR_EQ(c.state_root, "/run/kata-lite");
	ASSERT_TRUE(strstr(c.vmm, "/sbx-vmm") != NULL);
}

TEST(every_key_is_applied)
{
	struct shim_config c;
	struct sbx_err err;
	ASSERT_EQ(load("{\"vmm\":\"/v\",\"kernel\":\"/k\",\"initrd\":\"/i\",\"vcpus\":2,"
		       "\"memory_mib\":512,\"debug_console\":true,\"rootfs_transfer\":\"stream\","
		       "\"state_dir\":\"/s\"}",
		       &c, &err),
		  0);
	ASSERT_STR_EQ(c.vmm, "/v");
	ASSERT_STR_EQ(c.kernel, "/k");
	ASSERT_STR_EQ(c.initrd, "/i");
	ASSERT_EQ(c.vcpus, 2);
	ASSERT_EQ(c.memory_mib, 512);
	ASSERT_TRUE(c.debug_console);
	ASSERT_TRUE(c.rootfs_stream);
	ASSERT_STR_EQ(c.state_root, "/s");
}

static void refused(const char *text, const char *problem)
{
	struct shim_config c;
	struct sbx_err err;
	char want[512];
	ASSERT_TRUE(load(text, &c, &err) < 0);
	snprintf(want, sizeof(want), "%s/config.json: %s", dir, problem);
	ASSERT_STR_EQ(err.msg, want);
}

TEST(malformed_files_name_the_file_and_the_problem)
{
	refused("{\"vcpus\":\"two\"}", "\"vcpus\" must be a whole number from 1 to 64");
	refused("{\"vcpus\":0}", "\"vcpus\" must be a whole number from 1 to 64");
	refused("{\"memory_mib\":1}", "\"memory_mib\" must be a whole number from 64 to 1048576");
	refused("{\"kernel\":\"relative\"}", "\"kernel\" must be an absolute path");
	refused("{\"rootfs_transfer\":\"nfs\"}",
		"\"rootfs_transfer\" must be \"block\" or \"stream\"");
	refused("{\"debug_console\":1}", "\"debug_console\" must be true or false");
	refused("{\"kernal\":\"/k\"}", "unknown key \"kernal\"");
	refused("[]", "the top level must be an object");
	struct shim_config c;
	struct sbx_err err;
	ASSERT_TRUE(load("{\"vcpus\":", &c, &err) < 0);
	ASSERT_TRUE(strstr(err.msg, "config.json: line 1:") != NULL);
}

TEST(a_missing_explicit_file_is_an_error)
{
	struct shim_config c;
	struct sbx_err err = {0};
	char missing[300];
	write_file("unused", "");
	snprintf(missing, sizeof(missing), "%s/none.json", dir);
	ASSERT_TRUE(shim_config_load(missing, &c, &err) < 0);
	ASSERT_TRUE(strstr(err.msg, "none.json") != NULL);
}

TEST(a_missing_default_file_means_the_defaults)
{
	struct shim_config c;
	struct sbx_err err = {0};
	char missing[300];
	write_file("unused", "");
	snprintf(missing, sizeof(missing), "%s/none.json", dir);
	unsetenv("KATA_LITE_CONFIG");
	ASSERT_EQ(shim_config_load_from(NULL, missing, &c, &err), 0);
	ASSERT_STR_EQ(c.path, "");
	ASSERT_EQ(c.vcpus, 1);
	ASSERT_EQ(c.memory_mib, 256);
	ASSERT_TRUE(!c.debug_console);
	ASSERT_STR_EQ(c.state_root, "/run/kata-lite");
	ASSERT_TRUE(strstr(c.vmm, "/sbx-vmm") != NULL);
	/* the seam is the default path only: a default file that is there is read */
	const char *present = write_file("config.json", "{\"vcpus\":3}");
	ASSERT_EQ(shim_config_load_from("", present, &c, &err), 0);
	ASSERT_EQ(c.vcpus, 3);
	ASSERT_STR_EQ(c.path, present);
}

TEST(identifiers_follow_containerds_rule)
{
	struct sbx_err err;
	ASSERT_EQ(task_check_id("id", "abc-1.2_x", &err), 0);
	ASSERT_TRUE(task_check_id("id", "", &err) < 0);
	ASSERT_TRUE(task_check_id("id", "-a", &err) < 0);
	ASSERT_TRUE(task_check_id("id", "a-", &err) < 0);
	ASSERT_TRUE(task_check_id("id", "a--b", &err) < 0);
	ASSERT_TRUE(task_check_id("id", "a/b", &err) < 0);
	ASSERT_STR_EQ(err.msg, "id 'a/b' is not a valid identifier");
	char long_id[80];
	memset(long_id, 'a', 77);
	long_id[77] = '\0';
	ASSERT_TRUE(task_check_id("id", long_id, &err) < 0);
}

static void spec(const char *annotations)
{
	char text[512];
	snprintf(text, sizeof(text), "{\"annotations\":{%s}}", annotations);
	write_file("config.json", text);
}

TEST(pods_group_by_the_cri_sandbox_id)
{
	struct sbx_err err;
	char group[128];
	spec("");
	ASSERT_EQ(shim_group_id(dir, "plain", group, sizeof(group), &err), 0);
	ASSERT_STR_EQ(group, "plain");
	spec("\"io.kubernetes.cri.container-type\":\"sandbox\","
	     "\"io.kubernetes.cri.sandbox-id\":\"pod1\"");
	ASSERT_EQ(shim_group_id(dir, "pod1", group, sizeof(group), &err), 0);
	ASSERT_STR_EQ(group, "pod1");
	spec("\"io.kubernetes.cri.container-type\":\"container\","
	     "\"io.kubernetes.cri.sandbox-id\":\"pod1\"");
	ASSERT_EQ(shim_group_id(dir, "c1", group, sizeof(group), &err), 0);
	ASSERT_STR_EQ(group, "pod1");
	spec("\"io.kubernetes.cri.container-type\":\"container\"");
	ASSERT_TRUE(shim_group_id(dir, "c1", group, sizeof(group), &err) < 0);
	spec("\"io.kubernetes.cri.container-type\":\"vm\"");
	ASSERT_TRUE(shim_group_id(dir, "c1", group, sizeof(group), &err) < 0);
	ASSERT_TRUE(strstr(err.msg, "unknown io.kubernetes.cri.container-type 'vm'") != NULL);
}

TEST(the_socket_address_is_runc_and_katas)
{
	char path[256];
	shim_socket_path("/run/containerd/containerd.sock", "default", "demo", path, sizeof(path));
	ASSERT_STR_EQ(path, "/run/containerd/s/"
			    "12117510a54ae87cb9f59e68c4b6897783ff70cec968b5b5967a0a0cd503057e");
}
