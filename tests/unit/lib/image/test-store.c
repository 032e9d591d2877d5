/* Image store: verified blobs, atomic references, docker-style reference normalization. */
#define _GNU_SOURCE
#include "tap.h"
#include "base/err.h"
#include "image/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char st_root[64];

static int st_open(struct image_store *s)
{
	snprintf(st_root, sizeof(st_root), "%s", tap_tmpdir());
	return image_store_open(s, st_root, NULL);
}

static int st_count_tmp(void)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/tmp", st_root);
	DIR *d = opendir(p);
	int n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

#define HELLO_DIGEST "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

TEST(blob_roundtrip_and_verification)
{
	struct image_store s;
	struct sbx_err err = {0};
	ASSERT_EQ(st_open(&s), 0);
	char d[IMAGE_DIGEST_MAX];
	ASSERT_EQ(image_blob_put_mem(&s, "hello", 5, NULL, d, &err), 0);
	ASSERT_STR_EQ(d, HELLO_DIGEST);
	ASSERT_TRUE(image_blob_exists(&s, HELLO_DIGEST));
	char *buf = NULL;
	size_t len = 0;
	ASSERT_EQ(image_blob_read(&s, HELLO_DIGEST, &buf, &len, &err), 0);
	ASSERT_STR_EQ(buf, "hello");
	free(buf);

	/* Wrong content for the expected digest: refused, nothing stored, no temp left. */
	ASSERT_EQ(image_blob_put_mem(&s, "hellO", 5, HELLO_DIGEST "", d, &err), -EBADMSG);
	ASSERT_EQ(image_blob_put_mem(
		      &s, "x", 1,
		      "sha256:0000000000000000000000000000000000000000000000000000000000000000", d,
		      &err),
		  -EBADMSG);
	ASSERT_TRUE(!image_blob_exists(
	    &s, "sha256:0000000000000000000000000000000000000000000000000000000000000000"));
	ASSERT_EQ(st_count_tmp(), 0);
	ASSERT_EQ(image_blob_open(&s, "sha256:../../etc/passwd", &err), -EINVAL);
	ASSERT_EQ(image_blob_open(&s, "md5:abc", &err), -EINVAL);
	image_store_close(&s);
}

TEST(refs_set_get_list_delete)
{
	struct image_store s;
	struct sbx_err err = {0};
	ASSERT_EQ(st_open(&s), 0);
	ASSERT_EQ(image_ref_set(&s, "docker.io/library/b:latest", HELLO_DIGEST, &err), 0);
	ASSERT_EQ(image_ref_set(&s, "docker.io/library/a:latest", HELLO_DIGEST, &err), 0);
	char d[IMAGE_DIGEST_MAX];
	ASSERT_EQ(image_ref_get(&s, "docker.io/library/a:latest", d, &err), 0);
	ASSERT_STR_EQ(d, HELLO_DIGEST);
	ASSERT_EQ(image_ref_get(&s, "docker.io/library/zz:latest", d, &err), -ENOENT);
	ASSERT_STR_EQ(err.msg, "no such image: docker.io/library/zz:latest");
	ASSERT_EQ(image_ref_delete(&s, "docker.io/library/b:latest", &err), 0);
	ASSERT_EQ(image_ref_delete(&s, "docker.io/library/b:latest", &err), -ENOENT);
	ASSERT_EQ(image_ref_set(&s, "x", "sha256:short", &err), -EINVAL);
	image_store_close(&s);
}

TEST(reference_normalization)
{
	char out[512];
	struct sbx_err err = {0};
	ASSERT_EQ(image_ref_normalize("busybox", out, sizeof(out), &err), 0);
	ASSERT_STR_EQ(out, "docker.io/library/busybox:latest");
	ASSERT_EQ(image_ref_normalize("user/app:1.2", out, sizeof(out), &err), 0);
	ASSERT_STR_EQ(out, "docker.io/user/app:1.2");
	ASSERT_EQ(image_ref_normalize("127.0.0.1:5000/test/bb:v1", out, sizeof(out), &err), 0);
	ASSERT_STR_EQ(out, "127.0.0.1:5000/test/bb:v1");
	ASSERT_EQ(image_ref_normalize("localhost/x", out, sizeof(out), &err), 0);
	ASSERT_STR_EQ(out, "localhost/x:latest");
	ASSERT_EQ(image_ref_normalize("busybox@" HELLO_DIGEST, out, sizeof(out), &err), 0);
	ASSERT_STR_EQ(out, "docker.io/library/busybox@" HELLO_DIGEST);
	ASSERT_EQ(image_ref_normalize("BusyBox", out, sizeof(out), &err), -EINVAL);
	ASSERT_EQ(image_ref_normalize("busybox:", out, sizeof(out), &err), -EINVAL);
	ASSERT_EQ(image_ref_normalize("a//b", out, sizeof(out), &err), -EINVAL);
	ASSERT_EQ(image_ref_normalize("", out, sizeof(out), &err), -EINVAL);
	ASSERT_EQ(image_ref_normalize("bb@sha256:xyz", out, sizeof(out), &err), -EINVAL);
}
