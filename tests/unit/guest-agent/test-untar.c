/* The agent's tar extraction: archives GNU tar writes (pax, gnu, ustar) and the host's cached
 * rootfs tar (image_rootfs_tar) come out whole (files, modes, owners, symlinks, hard links,
 * devices, fifos, long names), and hostile archives ("..", writing through a symlink to outside,
 * hard links to outside) never touch anything outside the root. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "guest-agent/untar.h"
#include "image/rootfs.h"
#include "image/store.h"
#include "tap.h"

#include <sys/sysmacros.h>

/* Runs a shell command with $T set to the test's scratch directory. */
static int sh(const char *cmd, const char *dir)
{
	setenv("T", dir, 1);
	return system(cmd);
}

/* Extracts archive into a fresh dir (returned in root); returns untar_extract's result. */
static int extract(const char *archive, char *root, size_t size, struct sbx_err *err)
{
	static int n;
	snprintf(root, size, "%s/root%d", tap_tmpdir(), n++);
	mkdir(root, 0755);
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = open(archive, O_RDONLY | O_CLOEXEC);
	int r = untar_extract(rootfd, fd, NULL, err);
	close(fd);
	close(rootfd);
	return r;
}

static void make_tree(const char *t)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "set -e; mkdir -p %s/src/dir; cd %s/src; echo hello > dir/f; chmod 0640 dir/f;"
		 " chown 12:34 dir/f; ln -s dir/f sym; ln dir/f hard; mkfifo fifo;"
		 " touch n$(printf 'x%%.0s' $(seq 200)); chmod 0711 dir",
		 t, t);
	ASSERT_EQ(system(cmd), 0);
}

static void check_tree(const char *format, bool long_name)
{
	const char *t = tap_tmpdir();
	char archive[512], root[512], path[1024], cmd[1024];
	struct sbx_err err = {0};
	struct stat st, st2;
	if (access(t, F_OK) == 0) {
		snprintf(path, sizeof(path), "%s/src", t);
		if (access(path, F_OK) != 0)
			make_tree(t);
	}
	snprintf(archive, sizeof(archive), "%s/%s.tar", t, format);
	/* ustar cannot hold a 200-byte name with no '/' to split at */
	snprintf(cmd, sizeof(cmd), "tar --format=%s %s -C %s/src -cf %s .", format,
		 long_name ? "" : "--exclude='./nxx*'", t, archive);
	ASSERT_EQ(system(cmd), 0);
	ASSERT_EQ(extract(archive, root, sizeof(root), &err), 0);
	snprintf(path, sizeof(path), "%s/dir/f", root);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0640);
	ASSERT_EQ(st.st_uid, 12);
	ASSERT_EQ(st.st_gid, 34);
	ASSERT_EQ(st.st_size, 6);
	snprintf(path, sizeof(path), "%s/dir", root);
	ASSERT_EQ(stat(path, &st2), 0);
	ASSERT_EQ(st2.st_mode & 07777, 0711);
	snprintf(path, sizeof(path), "%s/hard", root);
	ASSERT_EQ(stat(path, &st2), 0);
	ASSERT_U64_EQ(st2.st_ino, st.st_ino);
	char link[64] = "";
	snprintf(path, sizeof(path), "%s/sym", root);
	ASSERT_GT(readlink(path, link, sizeof(link) - 1), 0);
	ASSERT_STR_EQ(link, "dir/f");
	snprintf(path, sizeof(path), "%s/fifo", root);
	ASSERT_EQ(lstat(path, &st), 0);
	ASSERT_TRUE(S_ISFIFO(st.st_mode));
	snprintf(cmd, sizeof(cmd), "test -f %s/n$(printf 'x%%.0s' $(seq 200))", root);
	if (long_name)
		ASSERT_EQ(system(cmd), 0);
}

TEST(pax_archive_extracts_whole)
{
	check_tree("pax", true);
}

TEST(gnu_archive_with_long_names_extracts_whole)
{
	check_tree("gnu", true);
}

TEST(ustar_archive_extracts_whole)
{
	check_tree("ustar", false);
}

TEST(dotdot_entry_is_refused)
{
	const char *t = tap_tmpdir();
	char root[512], archive[512];
	struct sbx_err err = {0};
	ASSERT_EQ(sh("set -e; mkdir -p $T/dd/a; cd $T/dd/a; echo x > ../evil;"
		     " tar -P -cf $T/dd.tar ../evil",
		     t),
		  0);
	snprintf(archive, sizeof(archive), "%s/dd.tar", t);
	ASSERT_LT(extract(archive, root, sizeof(root), &err), 0);
	ASSERT_TRUE(strstr(err.msg, "'..'") != NULL);
}

TEST(writing_through_a_symlink_stays_inside_the_root)
{
	const char *t = tap_tmpdir();
	char root[512], archive[512], path[1024];
	struct sbx_err err = {0};
	/* "l" -> <tmp>/outside (absolute), then "l/pwned": must land in root/<tmp>/outside */
	ASSERT_EQ(sh("set -e; mkdir -p $T/outside $T/sl/d; cd $T/sl; ln -s $T/outside l;"
		     " echo x > d/pwned",
		     t),
		  0);
	ASSERT_EQ(sh("set -e; cd $T/sl; tar -cf ../sl.tar l; tar -rf ../sl.tar --transform "
		     "'s,^d,l,' d/pwned",
		     t),
		  0);
	snprintf(archive, sizeof(archive), "%s/sl.tar", t);
	int r = extract(archive, root, sizeof(root), &err);
	snprintf(path, sizeof(path), "%s/outside/pwned", t);
	ASSERT_TRUE(access(path, F_OK) != 0);
	if (r == 0) {
		snprintf(path, sizeof(path), "%s%s/outside/pwned", root, t);
		ASSERT_EQ(access(path, F_OK), 0);
	}
}

TEST(hard_links_cannot_reach_outside)
{
	const char *t = tap_tmpdir();
	char root[512], archive[512];
	struct sbx_err err = {0};
	struct stat before, after;
	ASSERT_EQ(stat("/etc/hostname", &before), 0);
	/* only the hard link target is rewritten ('h'): "b" links to "../x" / "/etc/hostname" */
	ASSERT_EQ(sh("set -e; mkdir -p $T/hl; cd $T/hl; echo a > a; ln a b;"
		     " tar -P -cf ../dotdot.tar --transform 's,^a$,../x,h' a b;"
		     " tar -P -cf ../abs.tar --transform 's,^a$,/etc/hostname,h' a b",
		     t),
		  0);
	snprintf(archive, sizeof(archive), "%s/dotdot.tar", t);
	ASSERT_LT(extract(archive, root, sizeof(root), &err), 0);
	ASSERT_TRUE(strstr(err.msg, "'..'") != NULL);
	snprintf(archive, sizeof(archive), "%s/abs.tar", t);
	ASSERT_LT(extract(archive, root, sizeof(root), &err), 0);
	/* resolved inside the root, where there is no etc/ */
	ASSERT_TRUE(strstr(err.msg, "'etc/hostname'") != NULL);
	ASSERT_EQ(stat("/etc/hostname", &after), 0);
	ASSERT_U64_EQ(after.st_nlink, before.st_nlink);
}

TEST(garbage_and_truncation_are_errors_not_crashes)
{
	const char *t = tap_tmpdir();
	char root[512], archive[512];
	struct sbx_err err = {0};
	snprintf(archive, sizeof(archive), "%s/garbage.tar", t);
	FILE *f = fopen(archive, "we");
	for (int i = 0; i < 1024; i++)
		fputc('A' + i % 7, f);
	fclose(f);
	ASSERT_LT(extract(archive, root, sizeof(root), &err), 0);
	ASSERT_TRUE(strstr(err.msg, "checksum") != NULL);
	ASSERT_EQ(sh("set -e; cd $T; head -c 100000 /dev/zero | tr '\\0' x > big;"
		     " tar -cf full.tar big; head -c 5000 full.tar > cut.tar",
		     t),
		  0);
	snprintf(archive, sizeof(archive), "%s/cut.tar", t);
	ASSERT_LT(extract(archive, root, sizeof(root), &err), 0);
	ASSERT_TRUE(strstr(err.msg, "ended inside an entry") != NULL);
}

/* A two-layer image in a fresh store under t, the upper layer whiting out d/gone. */
static int store_layered_image(struct image_store *s, const char *t, char md[IMAGE_DIGEST_MAX],
			       struct sbx_err *err)
{
	if (sh("set -e; mkdir -p $T/l1/d $T/l2/d $T/store; cd $T/l1; echo hi > d/f;"
	       " chmod 0604 d/f; chown 7:8 d/f; ln d/f d/h; ln -s f d/s; mknod d/null c 1 3;"
	       " mkfifo d/p; echo x > d/gone; touch d/$(printf 'n%.0s' $(seq 150));"
	       " touch $T/l2/d/.wh.gone;"
	       " tar -C $T/l1 -cf $T/l1.tar .; tar -C $T/l2 -cf $T/l2.tar .",
	       t) != 0)
		return -1;
	char path[512], layers[2][IMAGE_DIGEST_MAX], cd[IMAGE_DIGEST_MAX], json[1024];
	snprintf(path, sizeof(path), "%s/store", t);
	if (image_store_open(s, path, err) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/l%d.tar", t, i + 1);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		int r = image_blob_put_fd(s, fd, NULL, layers[i], NULL, err);
		close(fd);
		if (r < 0)
			return -1;
	}
	snprintf(json, sizeof(json), "{\"rootfs\":{\"diff_ids\":[\"%s\",\"%s\"]}}", layers[0],
		 layers[1]);
	if (image_blob_put_mem(s, json, strlen(json), NULL, cd, err) < 0)
		return -1;
	snprintf(json, sizeof(json),
		 "{\"schemaVersion\":2,\"config\":{\"digest\":\"%s\"},\"layers\":"
		 "[{\"digest\":\"%s\"},{\"digest\":\"%s\"}]}",
		 cd, layers[0], layers[1]);
	return image_blob_put_mem(s, json, strlen(json), NULL, md, err);
}

TEST(the_hosts_rootfs_tar_extracts_whole)
{
	const char *t = tap_tmpdir();
	struct image_store s;
	struct sbx_err err = {0};
	char md[IMAGE_DIGEST_MAX], tarball[4096], root[512], path[1024];
	ASSERT_EQ(store_layered_image(&s, t, md, &err), 0);
	int built = 0;
	int r = image_rootfs_tar(&s, md, tarball, sizeof(tarball), &built, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	ASSERT_EQ(r, 0);
	ASSERT_EQ(built, 1);
	image_store_close(&s);
	r = extract(tarball, root, sizeof(root), &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	ASSERT_EQ(r, 0);
	struct stat st, st2;
	snprintf(path, sizeof(path), "%s/d/f", root);
	ASSERT_EQ(stat(path, &st), 0);
	ASSERT_EQ(st.st_mode & 07777, 0604);
	ASSERT_EQ(st.st_uid, 7);
	ASSERT_EQ(st.st_gid, 8);
	ASSERT_EQ(st.st_size, 3);
	snprintf(path, sizeof(path), "%s/d/h", root);
	ASSERT_EQ(stat(path, &st2), 0);
	ASSERT_U64_EQ(st2.st_ino, st.st_ino);
	char link[16] = "";
	snprintf(path, sizeof(path), "%s/d/s", root);
	ASSERT_EQ(readlink(path, link, sizeof(link) - 1), 1);
	ASSERT_STR_EQ(link, "f");
	snprintf(path, sizeof(path), "%s/d/null", root);
	ASSERT_EQ(lstat(path, &st), 0);
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(major(st.st_rdev), 1);
	ASSERT_EQ(minor(st.st_rdev), 3);
	snprintf(path, sizeof(path), "%s/d/p", root);
	ASSERT_EQ(lstat(path, &st), 0);
	ASSERT_TRUE(S_ISFIFO(st.st_mode));
	snprintf(path, sizeof(path), "%s/d/gone", root);
	ASSERT_TRUE(access(path, F_OK) != 0);
	snprintf(path, sizeof(path), "%s/d/.wh.gone", root);
	ASSERT_TRUE(access(path, F_OK) != 0);
	setenv("R", root, 1);
	ASSERT_EQ(system("test -f $R/d/$(printf 'n%.0s' $(seq 150))"), 0);
}
