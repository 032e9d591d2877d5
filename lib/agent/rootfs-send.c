/* A rootfs tar sent down a container's ROOTFS stream on its own thread: the guest's
 * CreateContainer waits for the stream, so the caller makes that call meanwhile. */
#define _GNU_SOURCE
#include "agent/client.h"

#include "base/err.h"
#include "base/io.h"
#include "proto/agent.pb-c.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct agent_rootfs_sender {
	struct sandbox *sb;
	char *id, *path;
	pthread_t thread;
	struct sbx_err err;
	int result;
};

static void *send_tar(void *arg)
{
	struct agent_rootfs_sender *t = arg;
	int in = open(t->path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		t->result = sbx_fail(&t->err, errno, "open '%s'", t->path);
		return NULL;
	}
	int fd = agent_stream_open(t->sb, t->id, "", SBX__AGENT__V1__STREAM_HELLO__KIND__ROOTFS,
				   &t->err);
	if (fd >= 0) {
		t->result = sbx_copy_until_eof(in, fd);
		if (t->result < 0)
			sbx_fail(&t->err, -t->result, "send the rootfs");
		shutdown(fd, SHUT_WR);
		close(fd);
	} else {
		t->result = fd;
	}
	close(in);
	return NULL;
}

static void sender_free(struct agent_rootfs_sender *t)
{
	free(t->id);
	free(t->path);
	free(t);
}

int agent_rootfs_send_start(struct sandbox *sb, const char *container_id, const char *tar_path,
			    struct agent_rootfs_sender **ret, struct sbx_err *err)
{
	struct agent_rootfs_sender *t = calloc(1, sizeof(*t));
	if (!t || !(t->id = strdup(container_id)) || !(t->path = strdup(tar_path))) {
		if (t)
			sender_free(t);
		return sbx_fail(err, ENOMEM, "rootfs sender");
	}
	t->sb = sb;
	int e = pthread_create(&t->thread, NULL, send_tar, t);
	if (e) {
		sender_free(t);
		return sbx_fail(err, e, "start the rootfs sender");
	}
	*ret = t;
	return 0;
}

int agent_rootfs_send_finish(struct agent_rootfs_sender *t, struct sbx_err *err)
{
	pthread_join(t->thread, NULL);
	int r = t->result;
	if (r < 0 && err)
		*err = t->err;
	sender_free(t);
	return r;
}
