/* Loading image archives: the demo image (OCI layout + docker manifest), a pure OCI layout,
 * a legacy docker-save, corrupt blobs and non-archives. */
#define _GNU_SOURCE
#include "tap.h"
#include "base/err.h"
#include "image/load.h"
#include "image/store.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static int ld_refs;

static int ld_count(void *opaque, const char *ref, const char *digest)
{
	ld_refs++;
	return 0;
}

static int ld_store(struct image_store *s)
{
	return image_store_open(s, tap_tmpdir(), NULL);
}

struct ld_file {
	const char *name;
	const char *data;
};

static int ld_archive(const struct ld_file *files, size_t n)
{
	char path[] = "/tmp/sbx-arch-XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_open_fd(a, fd);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, files[i].name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)strlen(files[i].data));
		archive_write_header(a, e);
		archive_write_data(a, files[i].data, strlen(files[i].data));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

TEST(demo_image_loads)
{
	int fd = open("build/images/busybox.tar", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		tap_skip("build/images/busybox.tar not built (make images)");
		return;
	}
	struct image_store s;
	struct sbx_err err = {0};
	ASSERT_EQ(ld_store(&s), 0);
	ld_refs = 0;
	int r = image_load_archive(&s, fd, ld_count, NULL, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	ASSERT_EQ(r, 0);
	ASSERT_EQ(ld_refs, 1);
	char d[IMAGE_DIGEST_MAX];
	ASSERT_EQ(image_ref_get(&s, "docker.io/library/busybox:latest", d, &err), 0);
	char *m = NULL;
	ASSERT_EQ(image_blob_read(&s, d, &m, NULL, &err), 0);
	ASSERT_TRUE(strstr(m, "\"layers\"") != NULL);
	free(m);
	close(fd);
}

TEST(legacy_docker_save_loads)
{
	const struct ld_file files[] = {
	    {"abc/layer.tar", "layer-bytes"},
	    {"cfg.json", "{\"architecture\":\"amd64\",\"os\":\"linux\"}"},
	    {"manifest.json",
	     "[{\"Config\":\"cfg.json\",\"RepoTags\":[\"myimg:1\",\"reg.local:5000/x/y:2\"],"
	     "\"Layers\":[\"abc/layer.tar\"]}]"},
	};
	struct image_store s;
	struct sbx_err err = {0};
	ASSERT_EQ(ld_store(&s), 0);
	int fd = ld_archive(files, 3);
	ld_refs = 0;
	ASSERT_EQ(image_load_archive(&s, fd, ld_count, NULL, &err), 0);
	ASSERT_EQ(ld_refs, 2);
	char d[IMAGE_DIGEST_MAX];
	ASSERT_EQ(image_ref_get(&s, "docker.io/library/myimg:1", d, &err), 0);
	ASSERT_EQ(image_ref_get(&s, "reg.local:5000/x/y:2", d, &err), 0);
	close(fd);
}

TEST(corrupt_blob_is_refused)
{
	const struct ld_file files[] = {
	    {"oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"},
	    {"blobs/sha256/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
	     "not hello"},
	    {"index.json", "{\"manifests\":[]}"},
	};
	struct image_store s;
	struct sbx_err err = {0};
	ASSERT_EQ(ld_store(&s), 0);
	int fd = ld_archive(files, 3);
	ASSERT_EQ(image_load_archive(&s, fd, ld_count, NULL, &err), -EBADMSG);
	ASSERT_TRUE(strstr(err.msg, "digest mismatch") != NULL);
	close(fd);
}

TEST(missing_layer_sets_no_reference)
{
	/* The manifest names a layer the archive lacks: no reference may appear. */
	const char *manifest =
	    "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:"
	    "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"},\"layers\":[{"
	    "\"digest\":\"sha256:"
	    "1111111111111111111111111111111111111111111111111111111111111111\"}]}";
	struct image_store s;
	struct sbx_err err = {0};
	ASSERT_EQ(ld_store(&s), 0);
	char md[IMAGE_DIGEST_MAX];
	ASSERT_EQ(image_blob_put_mem(&s, manifest, strlen(manifest), NULL, md, &err), 0);
	char index[512], mpath[128];
	snprintf(index, sizeof(index),
		 "{\"manifests\":[{\"digest\":\"%s\",\"annotations\":{\"io.containerd.image.name\":"
		 "\"docker.io/library/broken:1\"}}]}",
		 md);
	snprintf(mpath, sizeof(mpath), "blobs/sha256/%s", md + 7);
	const struct ld_file files[] = {
	    {mpath, manifest},
	    {"blobs/sha256/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
	     "hello"},
	    {"index.json", index},
	};
	int fd = ld_archive(files, 3);
	ASSERT_EQ(image_load_archive(&s, fd, ld_count, NULL, &err), -ENOENT);
	ASSERT_TRUE(strstr(err.msg, "missing the layer blob") != NULL);
	char d[IMAGE_DIGEST_MAX];
	ASSERT_EQ(image_ref_get(&s, "docker.io/library/broken:1", d, &err), -ENOENT);
	close(fd);
}

TEST(not_an_archive)
{
	struct image_store s;
	struct sbx_err err = {0};
	ASSERT_EQ(ld_store(&s), 0);
	const struct ld_file files[] = {{"hello.txt", "hi"}};
	int fd = ld_archive(files, 1);
	ASSERT_EQ(image_load_archive(&s, fd, ld_count, NULL, &err), -EINVAL);
	ASSERT_STR_EQ(err.msg, "not an image archive: no manifest.json or index.json");
	close(fd);
	int dn = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LT(image_load_archive(&s, dn, ld_count, NULL, &err), 0);
	close(dn);
}
