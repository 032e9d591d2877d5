/* Image config parsing, docker's entrypoint/cmd rules, and the per-image rootfs cache. */
#define _GNU_SOURCE
#include "tap.h"
#include "base/cleanup.h"
#include "base/err.h"
#include "image/config.h"
#include "image/load.h"
#include "image/rootfs.h"
#include "image/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int cf_store_with(struct image_store *s, const char *config_json, char md[72])
{
	if (image_store_open(s, tap_tmpdir(), NULL) < 0)
		return -1;
	char cd[72], manifest[512];
	if (image_blob_put_mem(s, config_json, strlen(config_json), NULL, cd, NULL) < 0)
		return -1;
	snprintf(manifest, sizeof(manifest),
		 "{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\"},\"layers\":[]}", cd);
	return image_blob_put_mem(s, manifest, strlen(manifest), NULL, md, NULL);
}

static char *cf_join(char **v)
{
	static char buf[256];
	buf[0] = '\0';
	for (; v && *v; v++) {
		strcat(buf, *v);
		if (v[1])
			strcat(buf, " ");
	}
	return buf;
}

TEST(config_fields)
{
	struct image_store s;
	char md[72];
	ASSERT_EQ(cf_store_with(&s,
				"{\"config\":{\"Entrypoint\":[\"/ep\"],\"Cmd\":[\"a\",\"b\"],"
				"\"Env\":[\"X=1\"],\"WorkingDir\":\"/w\",\"User\":\"1000:1000\"}}",
				md),
		  0);
	struct image_config c;
	struct sbx_err err = {0};
	ASSERT_EQ(image_config_load(&s, md, &c, &err), 0);
	ASSERT_STR_EQ(cf_join(c.entrypoint), "/ep");
	ASSERT_STR_EQ(cf_join(c.cmd), "a b");
	ASSERT_STR_EQ(cf_join(c.env), "X=1");
	ASSERT_STR_EQ(c.working_dir, "/w");
	ASSERT_STR_EQ(c.user, "1000:1000");

	char **args = NULL;
	ASSERT_EQ(image_process_args(&c, NULL, NULL, 0, &args, &err), 0);
	ASSERT_STR_EQ(cf_join(args), "/ep a b");
	image_strv_free(args);
	char *user[] = {"x", "y"};
	ASSERT_EQ(image_process_args(&c, NULL, user, 2, &args, &err), 0);
	ASSERT_STR_EQ(cf_join(args), "/ep x y");
	image_strv_free(args);
	ASSERT_EQ(image_process_args(&c, "/other", NULL, 0, &args, &err), 0);
	ASSERT_STR_EQ(cf_join(args), "/other");
	image_strv_free(args);
	ASSERT_EQ(image_process_args(&c, "", user, 2, &args, &err), 0);
	ASSERT_STR_EQ(cf_join(args), "x y");
	image_strv_free(args);
	ASSERT_EQ(image_process_args(&c, "", NULL, 0, &args, &err), -EINVAL);
	image_config_free(&c);
}

TEST(config_shape_errors)
{
	struct image_store s;
	char md[72];
	ASSERT_EQ(cf_store_with(&s, "{\"config\":{\"Cmd\":\"not-an-array\"}}", md), 0);
	struct image_config c;
	struct sbx_err err = {0};
	ASSERT_EQ(image_config_load(&s, md, &c, &err), -EINVAL);
	ASSERT_STR_EQ(err.msg, "image config: Cmd is not an array");
	ASSERT_EQ(cf_store_with(&s, "{\"config\":{\"Env\":[1]}}", md), 0);
	ASSERT_EQ(image_config_load(&s, md, &c, &err), -EINVAL);
	ASSERT_EQ(image_config_load(&s, "sha256:nothex", &c, &err), -EINVAL);
}

TEST(rootfs_image_is_built_once_and_cached)
{
	int fd = open("build/images/busybox.tar", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		tap_skip("build/images/busybox.tar not built (make images)");
		return;
	}
	char root[64];
	snprintf(root, sizeof(root), "%s", tap_tmpdir());
	struct image_store s;
	struct sbx_err err = {0};
	ASSERT_EQ(image_store_open(&s, root, &err), 0);
	ASSERT_EQ(image_load_archive(&s, fd, NULL, NULL, &err), 0);
	close(fd);
	char md[72];
	ASSERT_EQ(image_ref_get(&s, "docker.io/library/busybox:latest", md, &err), 0);
	char path[4096];
	int built = -1;
	int r = image_rootfs_ext4(&s, md, path, sizeof(path), &built, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	ASSERT_EQ(r, 0);
	ASSERT_EQ(built, 1);
	struct stat st1, st2;
	ASSERT_EQ(stat(path, &st1), 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(image_rootfs_ext4(&s, md, path, sizeof(path), &built, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ASSERT_EQ(built, 0);
	ASSERT_EQ(stat(path, &st2), 0);
	ASSERT_EQ(st1.st_ino, st2.st_ino);
	printf("# cached lookup took %ld us\n",
	       (long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
	/* No scratch trees are left beside the cache. */
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "%s/rootfs", root);
	int n = 0;
	DIR *d = opendir(cmd);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strncmp(de->d_name, "tree.", 5) == 0)
			n++;
	if (d)
		closedir(d);
	ASSERT_EQ(n, 0);
}

#define IX_ARM "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define IX_AMD "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define IX_OCI_M "application/vnd.oci.image.manifest.v1+json"
#define IX_DOCKER_M "application/vnd.docker.distribution.manifest.v2+json"

/* image_index_pick_amd64 on the JSON text of an index: its return, the digest in out. */
static int ix_pick(const char *text, char out[72], struct sbx_err *err)
{
	json_t *j = json_loads(text, 0, NULL);
	if (!j)
		return -999;
	out[0] = '\0';
	int r = image_index_pick_amd64(j, out, err);
	json_decref(j);
	return r;
}

TEST(index_picks_linux_amd64)
{
	char out[72];
	struct sbx_err err = {0};
	/* An OCI index with arm64 first, and an attestation without a platform. */
	ASSERT_EQ(
	    ix_pick(
		"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
		"\"manifests\":["
		"{\"mediaType\":\"" IX_OCI_M "\",\"digest\":\"" IX_ARM "\",\"size\":1,"
		"\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
		"{\"mediaType\":\"" IX_OCI_M "\",\"digest\":\"" IX_ARM "\",\"size\":1,"
		"\"annotations\":{\"vnd.docker.reference.type\":\"attestation-manifest\"}},"
		"{\"mediaType\":\"" IX_OCI_M "\",\"digest\":\"" IX_AMD "\",\"size\":1,"
		"\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}",
		out, &err),
	    0);
	ASSERT_STR_EQ(out, IX_AMD);
	/* A Docker manifest list; windows/amd64 is not linux/amd64. */
	ASSERT_EQ(
	    ix_pick("{\"schemaVersion\":2,\"mediaType\":"
		    "\"application/vnd.docker.distribution.manifest.list.v2+json\","
		    "\"manifests\":["
		    "{\"mediaType\":\"" IX_DOCKER_M "\",\"digest\":\"" IX_ARM "\",\"size\":1,"
		    "\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\"}},"
		    "{\"mediaType\":\"" IX_DOCKER_M "\",\"digest\":\"" IX_ARM "\",\"size\":1,"
		    "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}},"
		    "{\"mediaType\":\"" IX_DOCKER_M "\",\"digest\":\"" IX_AMD "\",\"size\":1,"
		    "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}",
		    out, &err),
	    0);
	ASSERT_STR_EQ(out, IX_AMD);
}

TEST(index_without_amd64_says_what_it_has)
{
	char out[72];
	struct sbx_err err = {0};
	ASSERT_EQ(ix_pick("{\"manifests\":["
			  "{\"digest\":\"" IX_ARM
			  "\",\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}},"
			  "{\"digest\":\"" IX_AMD
			  "\",\"platform\":{\"architecture\":\"s390x\",\"os\":\"linux\"}}]}",
			  out, &err),
		  -ENOENT);
	ASSERT_STR_EQ(err.msg,
		      "the image has no linux/amd64 variant (it has linux/arm64, linux/s390x)");
	ASSERT_STR_EQ(out, "");
	ASSERT_EQ(ix_pick("{\"manifests\":[]}", out, &err), -ENOENT);
	ASSERT_STR_EQ(err.msg, "the image has no linux/amd64 variant (it has none)");
}

TEST(index_malformed_entries_are_refused)
{
	char out[72];
	struct sbx_err err = {0};
	static const char *const bad[] = {
	    "[]",
	    "{}",
	    "{\"manifests\":{}}",
	    /* a malformed entry before a good one fails the index, not just the entry */
	    "{\"manifests\":[\"" IX_ARM "\",{\"digest\":\"" IX_AMD
	    "\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}",
	    "{\"manifests\":[{\"digest\":7,\"platform\":{\"architecture\":\"amd64\",\"os\":"
	    "\"linux\"}}]}",
	    "{\"manifests\":[{\"digest\":\"" IX_AMD "\",\"platform\":\"linux/amd64\"}]}",
	    "{\"manifests\":[{\"digest\":\"" IX_AMD
	    "\",\"platform\":{\"architecture\":[\"amd64\"],\"os\":\"linux\"}}]}",
	    /* the chosen entry: a digest that is not sha256 hex, or an index in an index */
	    "{\"manifests\":[{\"digest\":\"sha256:../../etc/"
	    "passwd\",\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}",
	    "{\"manifests\":[{\"digest\":\"" IX_AMD
	    "\",\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
	    "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = ix_pick(bad[i], out, &err);
		if (r != -EINVAL)
			printf("# case %zu: %s\n", i, err.msg);
		ASSERT_EQ(r, -EINVAL);
		ASSERT_STR_EQ(out, "");
	}
	ASSERT_EQ(ix_pick(bad[3], out, &err), -EINVAL);
	ASSERT_STR_EQ(err.msg, "image index: manifests[0] is malformed");
	ASSERT_EQ(ix_pick(bad[7], out, &err), -EINVAL);
	ASSERT_STR_EQ(
	    err.msg,
	    "image index: manifests[0] (linux/amd64): malformed digest 'sha256:../../etc/passwd'");
}
