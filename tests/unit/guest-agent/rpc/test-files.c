/* CopyFile (guest-agent/rpc/files.c): every malformed field refused by name before anything is
 * touched, and the file operations run for real below a temporary root: nested directories,
 * chunked files, symlinks that never redirect a later write, entries of the wrong type in the
 * way, the size cap. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/guest-shared.h"
#include "guest-agent/agent.h"
#include "guest-agent/rpc/files.h"
#include "guest-agent/rpc/rpc.h"
#include "proto/agent.pb-c.h"
#include "tap.h"

typedef Sbx__Agent__V1__CopyFileRequest Req;

static Req req(const char *path, uint32_t mode)
{
	Req r = SBX__AGENT__V1__COPY_FILE_REQUEST__INIT;
	r.path = (char *)path;
	r.mode = mode;
	r.uid = getuid();
	r.gid = getgid();
	return r;
}

static Req file(const char *path, uint32_t perm, const char *data, uint64_t off)
{
	Req r = req(path, S_IFREG | perm);
	r.data.data = (uint8_t *)data;
	r.data.len = strlen(data);
	r.offset = off;
	return r;
}

static Req link_to(const char *path, const char *target)
{
	Req r = req(path, S_IFLNK | 0777);
	r.link_target = (char *)target;
	return r;
}

/* files_check fails with errno want and a message containing text */
#define CHECK_REFUSED(in, want, text)                                                              \
	do {                                                                                       \
		struct sbx_err err_ = {0};                                                         \
		Req in_ = (in);                                                                    \
		ASSERT_EQ(files_check(&in_, SBX_SHARED_MAX_TOTAL, &err_), -(want));                \
		if (!strstr(err_.msg, text))                                                       \
			tap_fail(__FILE__, __LINE__, "message '%s' lacks '%s'", err_.msg, text);   \
	} while (0)

/* files_copy fails with errno want and a message containing text */
#define COPY_REFUSED(root, in, want, text)                                                         \
	do {                                                                                       \
		struct sbx_err err_ = {0};                                                         \
		Req in_ = (in);                                                                    \
		ASSERT_EQ(files_copy((root), &in_, &err_), -(want));                               \
		if (!strstr(err_.msg, text))                                                       \
			tap_fail(__FILE__, __LINE__, "message '%s' lacks '%s'", err_.msg, text);   \
	} while (0)

#define COPY_OK(root, in)                                                                          \
	do {                                                                                       \
		struct sbx_err err_ = {0};                                                         \
		Req in_ = (in);                                                                    \
		int r_ = files_copy((root), &in_, &err_);                                          \
		if (r_ < 0)                                                                        \
			tap_fail(__FILE__, __LINE__, "files_copy '%s': %s", in_.path, err_.msg);   \
		ASSERT_EQ(r_, 0);                                                                  \
	} while (0)

static char dir[64];

static struct files_root new_root(uint64_t max_total)
{
	snprintf(dir, sizeof(dir), "%s", tap_tmpdir());
	return (struct files_root){.fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC),
				   .max_total = max_total};
}

static const char *at(const char *rel)
{
	static char p[4][256];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, rel);
	return p[i];
}

static const char *contents(const char *path)
{
	static char buf[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return n < 0 ? "(unreadable)" : buf;
}

TEST(paths_must_stay_relative_and_plain)
{
	char longp[SBX_COPY_MAX_PATH + 2], longname[300];

	CHECK_REFUSED(req("", S_IFDIR | 0755), EINVAL, "path is empty");
	CHECK_REFUSED(req("/etc/passwd", S_IFREG | 0644), EINVAL, "path '/etc/passwd' is absolute");
	CHECK_REFUSED(req("..", S_IFDIR | 0755), EINVAL, "path '..' has a '..' name");
	CHECK_REFUSED(req("a/../../etc", S_IFDIR | 0755), EINVAL, "has a '..' name");
	CHECK_REFUSED(req("a/./b", S_IFDIR | 0755), EINVAL, "path 'a/./b' has a '.' name");
	CHECK_REFUSED(req("a//b", S_IFDIR | 0755), EINVAL, "path 'a//b' has an empty name");
	CHECK_REFUSED(req("a/", S_IFDIR | 0755), EINVAL, "has an empty name");
	memset(longname, 'n', 256);
	longname[256] = '\0';
	CHECK_REFUSED(req(longname, S_IFDIR | 0755), EINVAL, "has a name longer than 255 bytes");
	for (size_t i = 0; i < sizeof(longp) - 1; i++)
		longp[i] = i % 100 == 99 ? '/' : 'p';
	longp[sizeof(longp) - 1] = '\0';
	CHECK_REFUSED(req(longp, S_IFDIR | 0755), EINVAL, "path of 4096 bytes is longer than 4095");
	longp[SBX_COPY_MAX_PATH] = '\0'; /* exactly the limit: fine */
	struct sbx_err err = {0};
	Req ok = req(longp, S_IFDIR | 0755);
	ASSERT_EQ(files_check(&ok, SBX_SHARED_MAX_TOTAL, &err), 0);
	ok = req("...", S_IFDIR | 0755); /* only '.' and '..' are special */
	ASSERT_EQ(files_check(&ok, SBX_SHARED_MAX_TOTAL, &err), 0);
}

TEST(types_ids_sizes_and_offsets_are_checked)
{
	Req r;

	CHECK_REFUSED(req("x", S_IFIFO | 0644), EINVAL, "file type 010000 is not a directory");
	CHECK_REFUSED(req("x", S_IFCHR | 0644), EINVAL,
		      "is not a directory, regular file or symlink");
	CHECK_REFUSED(req("x", S_IFSOCK | 0644), EINVAL, "is not a directory");
	CHECK_REFUSED(req("x", 0644), EINVAL, "file type 0 is not");
	CHECK_REFUSED(req("x", S_IFREG | 0x10000000), EINVAL, "has bits beyond the file type");
	r = req("x", S_IFREG | 0644);
	r.uid = UINT32_MAX;
	CHECK_REFUSED(r, EINVAL, "uid 4294967295 is not a valid id");
	r.uid = 0;
	r.gid = UINT32_MAX;
	CHECK_REFUSED(r, EINVAL, "gid 4294967295 is not a valid id");
	r = file("x", 0644, "", 0);
	r.data.len = SBX_COPY_MAX_DATA + 1;
	CHECK_REFUSED(r, EINVAL, "data of 1048577 bytes is more than 1048576 per call");
	r = file("x", 0644, "abc", UINT64_MAX - 1);
	CHECK_REFUSED(r, EINVAL, "offset 18446744073709551614 + 3 bytes of data overflows");
	r = file("x", 0644, "abc", SBX_SHARED_MAX_TOTAL);
	CHECK_REFUSED(r, ENOSPC, "past the shared directory's cap");
	r = file("d", 0755, "abc", 0);
	r.mode = S_IFDIR | 0755;
	CHECK_REFUSED(r, EINVAL, "only a regular file carries data or an offset");
	r = req("d", S_IFDIR | 0755);
	r.offset = 5;
	CHECK_REFUSED(r, EINVAL, "only a regular file carries data or an offset");
	CHECK_REFUSED(link_to("l", ""), EINVAL, "symlink 'l' has no link_target");
	r = file("x", 0644, "abc", 0);
	r.link_target = "y";
	CHECK_REFUSED(r, EINVAL, "only a symlink has a link_target");
	r = link_to("l", "y");
	r.data.data = (uint8_t *)"y";
	r.data.len = 1;
	CHECK_REFUSED(r, EINVAL, "only a regular file carries data");
}

static struct agent agent = {
    .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER, .wake_fd = -1};

/* The handler refuses before mounting anything (it would mount on this host's /run/sbx). */
TEST(the_handler_refuses_malformed_requests_before_acting)
{
	Sbx__Agent__V1__Empty out = SBX__AGENT__V1__EMPTY__INIT;
	struct sbx_err err = {0};
	Req in = req("../../etc/passwd", S_IFREG | 0644);
	int existed = access(SBX_GUEST_SHARED_DIR, F_OK);

	ASSERT_EQ(agent_h_copy_file(&agent, NULL, &in.base, &out.base, &err), -EINVAL);
	ASSERT_STR_EQ(err.msg, "path '../../etc/passwd' has a '..' name");
	in = req("x", S_IFBLK | 0600);
	ASSERT_EQ(agent_h_copy_file(&agent, NULL, &in.base, &out.base, &err), -EINVAL);
	ASSERT_TRUE(strstr(err.msg, "is not a directory, regular file or symlink") != NULL);
	ASSERT_EQ(access(SBX_GUEST_SHARED_DIR, F_OK), existed);
}

TEST(nested_directories_files_and_modes)
{
	struct files_root root = new_root(SBX_SHARED_MAX_TOTAL);
	struct stat st;

	ASSERT_GE(root.fd, 0);
	umask(077); /* created parents are 0755 whatever the umask */
	COPY_OK(&root, file("pod/c1/etc/hosts", 0644, "127.0.0.1 localhost\n", 0));
	umask(022);
	ASSERT_STR_EQ(contents(at("pod/c1/etc/hosts")), "127.0.0.1 localhost\n");
	ASSERT_EQ(stat(at("pod/c1/etc/hosts"), &st), 0);
	ASSERT_EQ(st.st_mode, S_IFREG | 0644);
	ASSERT_EQ(stat(at("pod/c1"), &st), 0);
	ASSERT_EQ(st.st_mode, S_IFDIR | 0755);
	ASSERT_EQ(root.used, 20);
	/* a directory sent after its contents takes its own mode; a second time changes nothing */
	COPY_OK(&root, req("pod/c1/etc", S_IFDIR | 0750));
	COPY_OK(&root, req("pod/c1/etc", S_IFDIR | 0750));
	ASSERT_EQ(stat(at("pod/c1/etc"), &st), 0);
	ASSERT_EQ(st.st_mode, S_IFDIR | 0750);
	ASSERT_STR_EQ(contents(at("pod/c1/etc/hosts")), "127.0.0.1 localhost\n");
	/* set-id and sticky bits survive (chown runs before chmod) */
	COPY_OK(&root, file("pod/c1/bin", 04755, "#!/bin/sh\n", 0));
	ASSERT_EQ(stat(at("pod/c1/bin"), &st), 0);
	ASSERT_EQ(st.st_mode, S_IFREG | 04755);
	COPY_OK(&root, req("pod/tmp", S_IFDIR | 01777));
	ASSERT_EQ(stat(at("pod/tmp"), &st), 0);
	ASSERT_EQ(st.st_mode, S_IFDIR | 01777);
	COPY_OK(&root, file("pod/empty", 0600, "", 0));
	ASSERT_EQ(stat(at("pod/empty"), &st), 0);
	ASSERT_EQ(st.st_size, 0);
	close(root.fd);
}

TEST(owners_are_set)
{
	struct files_root root = new_root(SBX_SHARED_MAX_TOTAL);
	struct stat st;
	Req r;

	if (geteuid() != 0) {
		tap_skip("chown needs root");
		return;
	}
	r = file("f", 0640, "x", 0);
	r.uid = 1234, r.gid = 5678;
	COPY_OK(&root, r);
	ASSERT_EQ(lstat(at("f"), &st), 0);
	ASSERT_EQ(st.st_uid, 1234);
	ASSERT_EQ(st.st_gid, 5678);
	r = req("d", S_IFDIR | 0700);
	r.uid = 42, r.gid = 43;
	COPY_OK(&root, r);
	ASSERT_EQ(lstat(at("d"), &st), 0);
	ASSERT_EQ(st.st_uid, 42);
	r = link_to("l", "f");
	r.uid = 7, r.gid = 8;
	COPY_OK(&root, r);
	ASSERT_EQ(lstat(at("l"), &st), 0);
	ASSERT_EQ(st.st_uid, 7);
	ASSERT_EQ(st.st_gid, 8);
	close(root.fd);
}

TEST(a_file_arrives_in_chunks_and_offset_0_truncates)
{
	struct files_root root = new_root(SBX_SHARED_MAX_TOTAL);

	COPY_OK(&root, file("f", 0644, "hello ", 0));
	COPY_OK(&root, file("f", 0644, "world\n", 6));
	ASSERT_STR_EQ(contents(at("f")), "hello world\n");
	ASSERT_EQ(root.used, 12);
	/* a chunk that overwrites inside the file grows nothing */
	COPY_OK(&root, file("f", 0644, "W", 6));
	ASSERT_STR_EQ(contents(at("f")), "hello World\n");
	ASSERT_EQ(root.used, 12);
	COPY_OK(&root, file("f", 0644, "new", 0));
	ASSERT_STR_EQ(contents(at("f")), "new");
	ASSERT_EQ(root.used, 3);
	close(root.fd);
}

TEST(symlinks_are_made_replaced_and_never_written_through)
{
	struct files_root root = new_root(SBX_SHARED_MAX_TOTAL);
	char outside[64], buf[64], target[128];
	struct stat st;
	ssize_t n;

	snprintf(outside, sizeof(outside), "%s", tap_tmpdir());
	snprintf(target, sizeof(target), "%s/victim", outside);
	int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(write(fd, "safe", 4), 4);
	close(fd);

	COPY_OK(&root, link_to("vol/..data", "..2024_01"));
	n = readlink(at("vol/..data"), buf, sizeof(buf));
	ASSERT_EQ(n, 9);
	ASSERT_TRUE(!memcmp(buf, "..2024_01", 9));
	/* sent again with another target: replaced, as kubelet swaps ..data */
	COPY_OK(&root, link_to("vol/..data", "..2024_02"));
	n = readlink(at("vol/..data"), buf, sizeof(buf));
	ASSERT_EQ(n, 9);
	ASSERT_TRUE(!memcmp(buf, "..2024_02", 9));

	/* a link to a directory outside, then writes below it and onto it */
	COPY_OK(&root, link_to("out", outside));
	COPY_OK(&root, link_to("up", "../"));
	COPY_OK(&root, link_to("victim", target));
	COPY_REFUSED(&root, file("out/victim", 0644, "owned", 0), EEXIST,
		     "'out' exists and is a symlink, not a directory");
	COPY_REFUSED(&root, file("out/new/file", 0644, "owned", 0), EEXIST,
		     "'out' exists and is a symlink, not a directory");
	COPY_REFUSED(&root, req("out/newdir", S_IFDIR | 0755), EEXIST, "is a symlink");
	COPY_REFUSED(&root, link_to("out/l", "/"), EEXIST, "is a symlink");
	COPY_REFUSED(&root, file("up/victim", 0644, "owned", 0), EEXIST, "is a symlink");
	COPY_REFUSED(&root, file("victim", 0644, "owned", 0), EEXIST,
		     "'victim' exists and is a symlink, not a regular file");
	COPY_REFUSED(&root, req("victim", S_IFDIR | 0755), EEXIST,
		     "'victim' exists and is a symlink, not a directory");
	ASSERT_STR_EQ(contents(target), "safe");
	ASSERT_EQ(lstat(target, &st), 0);
	ASSERT_EQ(st.st_mode, S_IFREG | 0644);
	ASSERT_EQ(access(at("out"), F_OK), 0); /* the link itself is still there */
	close(root.fd);
}

TEST(entries_of_another_type_are_in_the_way)
{
	struct files_root root = new_root(SBX_SHARED_MAX_TOTAL);

	COPY_OK(&root, file("f", 0644, "x", 0));
	COPY_OK(&root, req("d", S_IFDIR | 0755));
	COPY_REFUSED(&root, req("f", S_IFDIR | 0755), EEXIST,
		     "'f' exists and is a regular file, not a directory");
	COPY_REFUSED(&root, file("f/x", 0644, "x", 0), EEXIST,
		     "'f' exists and is a regular file, not a directory");
	COPY_REFUSED(&root, file("d", 0644, "x", 0), EEXIST,
		     "'d' exists and is a directory, not a regular file");
	COPY_REFUSED(&root, link_to("d", "f"), EEXIST,
		     "'d' exists and is a directory, not a symlink");
	COPY_REFUSED(&root, link_to("f", "d"), EEXIST,
		     "exists and is a regular file, not a symlink");
	/* a FIFO (a container may make one in a writable volume) neither hangs nor is written */
	ASSERT_EQ(mkfifo(at("fifo"), 0644), 0);
	COPY_REFUSED(&root, file("fifo", 0644, "x", 0), EEXIST,
		     "'fifo' exists and is a special file, not a regular file");
	/* nor does a hard link carry a write into another copy */
	ASSERT_EQ(link(at("f"), at("hard")), 0);
	COPY_REFUSED(&root, file("hard", 0644, "y", 0), EEXIST, "'hard' has 2 hard links");
	ASSERT_STR_EQ(contents(at("f")), "x");
	close(root.fd);
}

TEST(the_total_size_is_capped)
{
	struct files_root root = new_root(100);
	char sixty[61];

	memset(sixty, 's', 60);
	sixty[60] = '\0';
	COPY_OK(&root, file("a", 0644, sixty, 0));
	COPY_REFUSED(&root, file("b", 0644, sixty, 0), ENOSPC,
		     "the shared directory is full: 'b' needs 60 more bytes, 60 of 100 are used");
	COPY_REFUSED(&root, file("a", 0644, "x", 100), ENOSPC, "past the shared directory's cap");
	/* growing a past the cap is refused, up to it fits */
	COPY_REFUSED(&root, file("a", 0644, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 60),
		     ENOSPC,
		     "'a' would end at byte 101, past the shared directory's cap of 100 bytes");
	COPY_OK(&root, file("a", 0644, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 60));
	ASSERT_EQ(root.used, 100);
	/* rewriting a from offset 0 gives its bytes back */
	COPY_OK(&root, file("a", 0644, "small", 0));
	ASSERT_EQ(root.used, 5);
	COPY_OK(&root, file("b", 0644, sixty, 0));
	ASSERT_EQ(root.used, 65);
	/* a hole counts by the file's size, so sparse offsets cannot dodge the cap */
	COPY_REFUSED(&root, file("c", 0644, "z", 40), ENOSPC, "needs 41 more bytes");
	close(root.fd);
}
