/* agent_copy_path (lib/agent/copy.c) against a real ttrpc server over a socketpair whose CopyFile
 * is the agent's own files_copy on a temporary root: a tree with files, 1 MiB chunks, symlinks
 * copied as links, sockets and FIFOs skipped, a top-level symlink followed, errors named. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/client.h"
#include "base/err.h"
#include "base/guest-shared.h"
#include "guest-agent/rpc/files.h"
#include "proto/agent.pb-c.h"
#include "tap.h"
#include "ttrpc/client.h"
#include "ttrpc/server.h"

static struct files_root root = {.fd = -1};
static char guest[64], host[64];
static unsigned calls, full_chunks;
static size_t biggest;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static int h_copy(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,
		  ProtobufCMessage *resp, struct sbx_err *err)
{
	const Sbx__Agent__V1__CopyFileRequest *in = (const void *)req;
	pthread_mutex_lock(&lock);
	calls++;
	full_chunks += in->data.len == SBX_COPY_MAX_DATA;
	biggest = in->data.len > biggest ? in->data.len : biggest;
	int r = files_copy(&root, in, err);
	pthread_mutex_unlock(&lock);
	return r;
}

static const struct ttrpc_method methods[] = {
    {AGENT_SERVICE, "CopyFile", &sbx__agent__v1__copy_file_request__descriptor,
     &sbx__agent__v1__empty__descriptor, h_copy},
};

static struct ttrpc_server *srv;

static struct ttrpc_client *connect_agent(void)
{
	struct ttrpc_client *cl = NULL;
	int sv[2];

	if (!srv && ttrpc_server_new(methods, 1, NULL, &srv, NULL) < 0)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return NULL;
	if (ttrpc_server_serve_fd(srv, sv[1], NULL) < 0 || ttrpc_client_new(sv[0], &cl, NULL) < 0)
		return NULL;
	return cl;
}

static void setup(void)
{
	snprintf(guest, sizeof(guest), "%s", tap_tmpdir());
	snprintf(host, sizeof(host), "%s", tap_tmpdir());
	if (root.fd >= 0)
		close(root.fd);
	root = (struct files_root){.fd = open(guest, O_PATH | O_DIRECTORY | O_CLOEXEC),
				   .max_total = SBX_SHARED_MAX_TOTAL};
	calls = full_chunks = 0;
	biggest = 0;
}

static const char *in(const char *base, const char *rel)
{
	static char p[4][4200];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", base, rel);
	return p[i];
}

static int put(const char *path, mode_t mode, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, data, len);
	close(fd);
	return chmod(path, mode) == 0 && n == (ssize_t)len ? 0 : -1;
}

/* 0 when the two files have the same bytes */
static int same(const char *a, const char *b)
{
	FILE *fa = fopen(a, "re"), *fb = fopen(b, "re");
	int ca, cb, r = fa && fb ? 0 : -1;
	while (r == 0 && (ca = fgetc(fa), cb = fgetc(fb), ca == cb) && ca != EOF)
		;
	if (r == 0 && ca != cb)
		r = -1;
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return r;
}

static mode_t mode_of(const char *p)
{
	struct stat st;
	return lstat(p, &st) < 0 ? 0 : st.st_mode;
}

TEST(a_tree_is_copied_with_modes_chunks_and_links)
{
	struct ttrpc_client *cl;
	struct sbx_err err = {0};
	char buf[64];
	size_t big = 2 * SBX_COPY_MAX_DATA + 12345;
	char *data = malloc(big);

	setup();
	cl = connect_agent();
	ASSERT_NOT_NULL(cl);
	ASSERT_NOT_NULL(data);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 7 + i / 4096);
	ASSERT_EQ(mkdir(in(host, "vol"), 0750), 0);
	ASSERT_EQ(chmod(in(host, "vol"), 0750), 0);
	ASSERT_EQ(put(in(host, "vol/key"), 0640, "value\n", 6), 0);
	ASSERT_EQ(put(in(host, "vol/big"), 0600, data, big), 0);
	ASSERT_EQ(put(in(host, "vol/empty"), 0444, "", 0), 0);
	ASSERT_EQ(put(in(host, "vol/exact"), 0644, data, SBX_COPY_MAX_DATA), 0);
	ASSERT_EQ(mkdir(in(host, "vol/sub"), 0755), 0);
	ASSERT_EQ(mkdir(in(host, "vol/sub/deeper"), 0700), 0);
	ASSERT_EQ(put(in(host, "vol/sub/deeper/f"), 0644, "deep", 4), 0);
	ASSERT_EQ(symlink("..data/key", in(host, "vol/rel-link")), 0);
	ASSERT_EQ(symlink("/etc/passwd", in(host, "vol/abs-link")), 0);
	ASSERT_EQ(symlink("sub", in(host, "vol/dir-link")), 0);
	ASSERT_EQ(mkfifo(in(host, "vol/fifo"), 0644), 0);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", in(host, "vol/sock"));
	ASSERT_EQ(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);

	int r = agent_copy_path(cl, in(host, "vol"), "pod/c1/0", &err);
	if (r < 0)
		tap_fail(__FILE__, __LINE__, "agent_copy_path: %s", err.msg);
	ASSERT_EQ(r, 0);
	ASSERT_EQ(mode_of(in(guest, "pod/c1/0")), S_IFDIR | 0750);
	ASSERT_EQ(mode_of(in(guest, "pod/c1/0/key")), S_IFREG | 0640);
	ASSERT_EQ(same(in(host, "vol/key"), in(guest, "pod/c1/0/key")), 0);
	ASSERT_EQ(mode_of(in(guest, "pod/c1/0/big")), S_IFREG | 0600);
	ASSERT_EQ(same(in(host, "vol/big"), in(guest, "pod/c1/0/big")), 0);
	ASSERT_EQ(mode_of(in(guest, "pod/c1/0/empty")), S_IFREG | 0444);
	ASSERT_EQ(same(in(host, "vol/exact"), in(guest, "pod/c1/0/exact")), 0);
	ASSERT_EQ(mode_of(in(guest, "pod/c1/0/sub/deeper")), S_IFDIR | 0700);
	ASSERT_EQ(same(in(host, "vol/sub/deeper/f"), in(guest, "pod/c1/0/sub/deeper/f")), 0);
	ASSERT_EQ(mode_of(in(guest, "pod/c1/0/rel-link")), S_IFLNK | 0777);
	ssize_t n = readlink(in(guest, "pod/c1/0/abs-link"), buf, sizeof(buf));
	ASSERT_EQ(n, 11);
	ASSERT_TRUE(!memcmp(buf, "/etc/passwd", 11));
	ASSERT_EQ(mode_of(in(guest, "pod/c1/0/dir-link")), S_IFLNK | 0777);
	ASSERT_EQ(mode_of(in(guest, "pod/c1/0/fifo")), 0);
	ASSERT_EQ(mode_of(in(guest, "pod/c1/0/sock")), 0);
	/* big: 1 MiB, 1 MiB, the rest; exact: 1 MiB and no empty call after it */
	ASSERT_EQ(full_chunks, 3);
	ASSERT_EQ(biggest, SBX_COPY_MAX_DATA);
	/* dirs vol sub deeper, files key big*3 empty exact*1 f, links 3 */
	ASSERT_EQ(calls, 3 + 1 + 3 + 1 + 1 + 1 + 3);
	ASSERT_EQ(root.used, 6 + big + SBX_COPY_MAX_DATA + 4);
	/* copying the same tree again is fine: directories kept, files rewritten, links replaced */
	ASSERT_EQ(agent_copy_path(cl, in(host, "vol"), "pod/c1/0", &err), 0);
	ASSERT_EQ(root.used, 6 + big + SBX_COPY_MAX_DATA + 4);
	close(s);
	free(data);
	ttrpc_client_free(cl);
}

TEST(a_top_level_symlink_is_followed_like_a_bind_mount_source)
{
	struct ttrpc_client *cl;
	struct sbx_err err = {0};

	setup();
	cl = connect_agent();
	ASSERT_NOT_NULL(cl);
	ASSERT_EQ(put(in(host, "stub-resolv.conf"), 0644, "nameserver 10.0.0.1\n", 20), 0);
	ASSERT_EQ(symlink(in(host, "stub-resolv.conf"), in(host, "resolv.conf")), 0);
	ASSERT_EQ(agent_copy_path(cl, in(host, "resolv.conf"), "c1/resolv.conf", &err), 0);
	ASSERT_EQ(mode_of(in(guest, "c1/resolv.conf")), S_IFREG | 0644);
	ASSERT_EQ(same(in(host, "stub-resolv.conf"), in(guest, "c1/resolv.conf")), 0);
	ttrpc_client_free(cl);
}

TEST(failures_name_the_entry)
{
	struct ttrpc_client *cl;
	struct sbx_err err = {0};

	setup();
	cl = connect_agent();
	ASSERT_NOT_NULL(cl);
	ASSERT_EQ(agent_copy_path(cl, in(host, "nosuch"), "x", &err), -ENOENT);
	ASSERT_TRUE(strstr(err.msg, "/nosuch': No such file or directory") != NULL);
	ASSERT_EQ(mkfifo(in(host, "fifo"), 0644), 0);
	ASSERT_EQ(agent_copy_path(cl, in(host, "fifo"), "x", &err), -EOPNOTSUPP);
	ASSERT_TRUE(strstr(err.msg, "/fifo' is not a regular file, directory or symlink") != NULL);
	/* the agent's refusals come back with its message */
	ASSERT_EQ(put(in(host, "f"), 0644, "x", 1), 0);
	ASSERT_EQ(agent_copy_path(cl, in(host, "f"), "../escape", &err), -EINVAL);
	ASSERT_STR_EQ(err.msg, "path '../escape' has a '..' name");
	ASSERT_EQ(agent_copy_path(cl, in(host, "f"), "taken", &err), 0);
	ASSERT_EQ(mkdir(in(host, "d"), 0755), 0);
	ASSERT_EQ(agent_copy_path(cl, in(host, "d"), "taken", &err), -EEXIST);
	ASSERT_STR_EQ(err.msg, "'taken' exists and is a regular file, not a directory");
	/* a tree whose guest paths outgrow the limit fails before sending them */
	char name[256];
	memset(name, 'n', 255);
	name[255] = '\0';
	char long_file[400];
	snprintf(long_file, sizeof(long_file), "%s/d/%s", host, name);
	ASSERT_EQ(put(long_file, 0644, "x", 1), 0);
	char rel[4000];
	memset(rel, 'r', sizeof(rel) - 1);
	for (size_t i = 100; i < sizeof(rel) - 1; i += 100)
		rel[i] = '/';
	rel[sizeof(rel) - 1] = '\0';
	ASSERT_EQ(agent_copy_path(cl, in(host, "d"), rel, &err), -ENAMETOOLONG);
	ASSERT_TRUE(strstr(err.msg, "the guest path is longer than 4095") != NULL);
	ttrpc_client_free(cl);
}
