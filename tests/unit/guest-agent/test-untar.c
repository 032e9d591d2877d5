/* The agent's tar extraction: archives GNU tar writes (pax, gnu, ustar) come out whole (files,
 * modes, owners, symlinks, hard links, fifos, long names), and hostile archives ("..", writing
 * through a symlink to outside, hard links to outside) never touch anything outside the root. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "guest-agent/untar.h"
#include "tap.h"

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
