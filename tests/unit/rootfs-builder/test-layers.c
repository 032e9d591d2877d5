/* Layer application: whiteouts, opaque dirs, links, metadata, and refusal of every escape. */
#define _GNU_SOURCE
#include "tap.h"
#include "base/cleanup.h"
#include "base/err.h"
#include "rootfs-builder/ext4.h"
#include "rootfs-builder/layers.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

/* One entry of a test layer. type: 'f' file, 'd' dir, 'l' symlink, 'h' hard link, 'c' char dev. */
struct tl_entry {
	char type;
	const char *name;
	const char *data; /* file content, or link target */
	int mode;
};

enum tl_filter { TL_TAR, TL_GZIP, TL_ZSTD };

/* The layer as a file descriptor at offset 0, or -1 when libarchive can't write that filter. */
static int tl_write_layer(const struct tl_entry *ents, size_t n, enum tl_filter filter)
{
	char path[] = "/tmp/sbx-layer-XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	if ((filter == TL_GZIP && archive_write_add_filter_gzip(a) != ARCHIVE_OK) ||
	    (filter == TL_ZSTD && archive_write_add_filter_zstd(a) != ARCHIVE_OK)) {
		archive_write_free(a);
		close(fd);
		return -1;
	}
	archive_write_open_fd(a, fd);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, ents[i].name);
		archive_entry_set_perm(e, ents[i].mode ? ents[i].mode : 0644);
		archive_entry_set_uid(e, 1234);
		archive_entry_set_gid(e, 5678);
		archive_entry_set_mtime(e, 1000000000, 0);
		switch (ents[i].type) {
		case 'f':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_size(e, (la_int64_t)strlen(ents[i].data));
			break;
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, ents[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, ents[i].data);
			break;
		case 'c':
			archive_entry_set_filetype(e, AE_IFCHR);
			archive_entry_set_rdev(e, makedev(1, 3));
			break;
		}
		archive_write_header(a, e);
		if (ents[i].type == 'f')
			archive_write_data(a, ents[i].data, strlen(ents[i].data));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static char tl_root[64];

static int tl_new_root(void)
{
	snprintf(tl_root, sizeof(tl_root), "%s", tap_tmpdir());
	return open(tl_root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
}

static int tl_apply(int root, const struct tl_entry *ents, size_t n, struct sbx_err *err)
{
	int fd = tl_write_layer(ents, n, TL_GZIP);
	int r = layer_apply(root, fd, NULL, err);
	close(fd);
	return r;
}

static int tl_exists(const char *rel)
{
	char p[256];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", tl_root, rel);
	return lstat(p, &st) == 0;
}

TEST(clean_path_rules)
{
	char out[64];
	struct sbx_err err = {0};
	ASSERT_EQ(layer_clean_path("./usr//bin/./sh", out, sizeof(out), &err), 0);
	ASSERT_STR_EQ(out, "usr/bin/sh");
	ASSERT_EQ(layer_clean_path("usr/bin/", out, sizeof(out), &err), 0);
	ASSERT_STR_EQ(out, "usr/bin");
	ASSERT_EQ(layer_clean_path("/etc/passwd", out, sizeof(out), &err), -EPERM);
	ASSERT_EQ(layer_clean_path("a/../../etc", out, sizeof(out), &err), -EPERM);
	ASSERT_STR_EQ(err.msg, "layer entry 'a/../../etc': '..' escapes the rootfs");
	ASSERT_EQ(layer_clean_path(
		      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", out,
		      sizeof(out), &err),
		  -ENAMETOOLONG);
}

TEST(files_dirs_links_and_metadata)
{
	int root = tl_new_root();
	struct sbx_err err = {0};
	const struct tl_entry l1[] = {
	    {'d', "etc/", NULL, 0755},          {'f', "etc/passwd", "root:x:0:0\n", 0644},
	    {'f', "bin/busybox", "ELF", 04755}, {'l', "bin/sh", "busybox", 0777},
	    {'h', "bin/ls", "bin/busybox", 0},  {'c', "dev/null", NULL, 0666},
	};
	ASSERT_EQ(tl_apply(root, l1, ARRAY_SIZE(l1), &err), 0);
	struct stat st;
	char p[256];
	snprintf(p, sizeof(p), "%s/bin/busybox", tl_root);
	ASSERT_EQ(stat(p, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 04755);
	ASSERT_EQ(st.st_uid, 1234);
	ASSERT_EQ(st.st_gid, 5678);
	ASSERT_EQ(st.st_mtime, 1000000000);
	ASSERT_EQ(st.st_nlink, 2);
	snprintf(p, sizeof(p), "%s/bin/sh", tl_root);
	char target[64] = {0};
	ASSERT_EQ(readlink(p, target, sizeof(target) - 1), 7);
	ASSERT_STR_EQ(target, "busybox");
	snprintf(p, sizeof(p), "%s/dev/null", tl_root);
	ASSERT_EQ(lstat(p, &st), 0);
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(major(st.st_rdev), 1);
	close(root);
}

TEST(whiteouts_and_opaque_dirs)
{
	int root = tl_new_root();
	struct sbx_err err = {0};
	const struct tl_entry lower[] = {
	    {'f', "a/keep", "1", 0},     {'f', "a/gone", "2", 0}, {'f', "b/old1", "3", 0},
	    {'f', "b/sub/old2", "4", 0}, {'f', "c/x", "5", 0},
	};
	ASSERT_EQ(tl_apply(root, lower, ARRAY_SIZE(lower), &err), 0);
	const struct tl_entry upper[] = {
	    {'f', "a/.wh.gone", "", 0}, {'d', "b/", NULL, 0755}, {'f', "b/.wh..wh..opq", "", 0},
	    {'f', "b/new", "6", 0},     {'f', ".wh.c", "", 0},
	};
	ASSERT_EQ(tl_apply(root, upper, ARRAY_SIZE(upper), &err), 0);
	ASSERT_TRUE(tl_exists("a/keep"));
	ASSERT_TRUE(!tl_exists("a/gone"));
	ASSERT_TRUE(!tl_exists("a/.wh.gone"));
	ASSERT_TRUE(!tl_exists("b/old1"));
	ASSERT_TRUE(!tl_exists("b/sub"));
	ASSERT_TRUE(tl_exists("b/new"));
	ASSERT_TRUE(!tl_exists("c"));
	close(root);
}

/* OCI's tar+zstd media type: a zstd layer on top of a gzip one, whiteout included. */
TEST(zstd_layers)
{
	int root = tl_new_root();
	struct sbx_err err = {0};
	const struct tl_entry lower[] = {{'f', "etc/old", "1", 0}, {'f', "etc/keep", "2", 0}};
	ASSERT_EQ(tl_apply(root, lower, ARRAY_SIZE(lower), &err), 0);
	const struct tl_entry upper[] = {
	    {'f', "etc/.wh.old", "", 0},
	    {'f', "usr/bin/zz", "zstd payload", 0755},
	};
	int fd = tl_write_layer(upper, ARRAY_SIZE(upper), TL_ZSTD);
	ASSERT_GE(fd, 0);
	/* Really zstd (RFC 8878 §3.1.1 frame magic), not a tar the writer fell back to. */
	unsigned char magic[4] = {0};
	ASSERT_EQ(pread(fd, magic, sizeof(magic), 0), 4);
	ASSERT_EQ(magic[0] | magic[1] << 8 | magic[2] << 16 | (uint32_t)magic[3] << 24,
		  0xFD2FB528u);
	struct layer_stats stats;
	int r = layer_apply(root, fd, &stats, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	ASSERT_EQ(r, 0);
	ASSERT_EQ(stats.whiteouts, 1);
	ASSERT_TRUE(!tl_exists("etc/old"));
	ASSERT_TRUE(tl_exists("etc/keep"));
	char p[256], buf[32] = {0};
	snprintf(p, sizeof(p), "%s/usr/bin/zz", tl_root);
	_cleanup_close_ int zz = open(p, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(zz, 0);
	ASSERT_EQ(read(zz, buf, sizeof(buf) - 1), 12);
	ASSERT_STR_EQ(buf, "zstd payload");
	struct stat st;
	ASSERT_EQ(fstat(zz, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0755);

	/* A zstd stream cut short is a corrupt layer, not a shorter rootfs. */
	off_t size = lseek(fd, 0, SEEK_END);
	ASSERT_EQ(ftruncate(fd, size / 2), 0);
	lseek(fd, 0, SEEK_SET);
	ASSERT_EQ(layer_apply(root, fd, NULL, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "zstd") != NULL);
	close(fd);
	close(root);
}

TEST(a_file_replaces_a_directory_and_back)
{
	int root = tl_new_root();
	struct sbx_err err = {0};
	const struct tl_entry l1[] = {{'f', "x/y", "1", 0}, {'f', "z", "2", 0}};
	const struct tl_entry l2[] = {{'f', "x", "file now", 0}, {'d', "z/", NULL, 0755}};
	ASSERT_EQ(tl_apply(root, l1, ARRAY_SIZE(l1), &err), 0);
	ASSERT_EQ(tl_apply(root, l2, ARRAY_SIZE(l2), &err), 0);
	struct stat st;
	char p[256];
	snprintf(p, sizeof(p), "%s/x", tl_root);
	ASSERT_EQ(lstat(p, &st), 0);
	ASSERT_TRUE(S_ISREG(st.st_mode));
	snprintf(p, sizeof(p), "%s/z", tl_root);
	ASSERT_EQ(lstat(p, &st), 0);
	ASSERT_TRUE(S_ISDIR(st.st_mode));
	close(root);
}

TEST(traversal_is_refused)
{
	int root = tl_new_root();
	struct sbx_err err = {0};
	const struct tl_entry dotdot[] = {{'f', "../escape", "x", 0}};
	ASSERT_EQ(tl_apply(root, dotdot, 1, &err), -EPERM);
	const struct tl_entry abs[] = {{'f', "/tmp/sbx-escape-abs", "x", 0}};
	ASSERT_EQ(tl_apply(root, abs, 1, &err), -EPERM);
	ASSERT_TRUE(access("/tmp/sbx-escape-abs", F_OK) != 0);

	/* A symlink to the host's /tmp, then a write through it. */
	const struct tl_entry via_link[] = {{'l', "evil", "/tmp", 0777},
					    {'f', "evil/sbx-escape-link", "x", 0}};
	ASSERT_EQ(tl_apply(root, via_link, 2, &err), -EPERM);
	ASSERT_STR_EQ(err.msg, "layer entry 'evil/sbx-escape-link': path escapes the rootfs "
			       "through a symlink");
	ASSERT_TRUE(access("/tmp/sbx-escape-link", F_OK) != 0);

	const struct tl_entry rel_link[] = {{'l', "up", "../../../../tmp", 0777},
					    {'f', "up/sbx-escape-rel", "x", 0}};
	ASSERT_EQ(tl_apply(root, rel_link, 2, &err), -EPERM);
	ASSERT_TRUE(access("/tmp/sbx-escape-rel", F_OK) != 0);

	const struct tl_entry hard[] = {{'h', "pw", "../../etc/passwd", 0}};
	ASSERT_EQ(tl_apply(root, hard, 1, &err), -EPERM);
	close(root);
}

TEST(garbage_is_not_a_layer)
{
	int root = tl_new_root();
	struct sbx_err err = {0};
	char path[] = "/tmp/sbx-garbage-XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	ASSERT_EQ(write(fd, "definitely not a tar archive, not even close....", 48), 48);
	lseek(fd, 0, SEEK_SET);
	ASSERT_LT(layer_apply(root, fd, NULL, &err), 0);
	close(fd);
	close(root);
}

TEST(ext4_image_of_a_tree)
{
	int root = tl_new_root();
	struct sbx_err err = {0};
	const struct tl_entry l1[] = {{'f', "hello", "hello world\n", 0644}};
	ASSERT_EQ(tl_apply(root, l1, 1, &err), 0);
	char img[128];
	snprintf(img, sizeof(img), "%s/root.img", tap_tmpdir());
	int r = ext4_build_image(tl_root, img, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	ASSERT_EQ(r, 0);
	int fd = open(img, O_RDONLY | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	uint16_t magic = 0;
	ASSERT_EQ(pread(fd, &magic, 2, 1024 + 0x38), 2);
	ASSERT_EQ(magic, 0xef53);
	close(fd);
	unlink(img);
	ASSERT_EQ(ext4_build_image("/nonexistent-dir", img, &err), -ENOENT);
	ASSERT_TRUE(access(img, F_OK) != 0);
	close(root);
}
