/* Stdio relays between containerd's FIFOs and the agent's streams. Output FIFOs are opened
 * read-write (as runc does) so a client that detaches never turns our writes into EPIPE, and
 * the reader sees EOF exactly when we close after the guest stream ended. */
#define _GNU_SOURCE
#include "shim/io.h"

#include "agent/client.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/io.h"
#include "proto/agent.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KIND(k) SBX__AGENT__V1__STREAM_HELLO__KIND__##k
enum { IN, OUT, ERR };

/* "" unused; "/path" or "fifo:///path" a FIFO; "file:///path" a file appended to. */
static int open_host(const char *uri, bool input, int *ret, struct sbx_err *err)
{
	*ret = -1;
	if (!uri || !*uri)
		return 0;
	const char *path = uri;
	bool file = false;
	if (!strncmp(uri, "fifo://", 7)) {
		path = uri + 7;
	} else if (!strncmp(uri, "file://", 7)) {
		path = uri + 7;
		file = true;
	} else if (strstr(uri, "://")) {
		return sbx_failx(err, EOPNOTSUPP,
				 "stdio '%s': only FIFOs and file:// are supported", uri);
	}
	if (path[0] != '/')
		return sbx_failx(err, EINVAL, "stdio '%s' is not an absolute path", uri);
	int fd;
	if (input)
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	else if (file)
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	else
		fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return sbx_fail(err, errno, "open stdio '%s'", path);
	*ret = fd;
	return 0;
}

int shim_io_open(struct shim_io *io, const char *in, const char *out, const char *errp,
		 bool terminal, struct sbx_err *err)
{
	memset(io, 0, sizeof(*io));
	io->in_host = io->out_host = io->err_host = -1;
	io->in_guest = io->out_guest = io->err_guest = -1;
	io->terminal = terminal;
	pthread_mutex_init(&io->lock, NULL);
	pthread_cond_init(&io->cond, NULL);
	io->initialised = true;
	io->close_stdin = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io->close_stdin < 0)
		return sbx_fail(err, errno, "eventfd");
	if (open_host(in, true, &io->in_host, err) < 0 ||
	    open_host(out, false, &io->out_host, err) < 0 ||
	    (!terminal && open_host(errp, false, &io->err_host, err) < 0))
		return -err->code;
	return 0;
}

bool shim_io_has_stdin(const struct shim_io *io)
{
	return io->in_host >= 0;
}

struct relay {
	struct shim_io *io;
	int which;
};

/* FIFO -> guest: poll so CloseIO can end it while the client still holds its write end. */
static void relay_stdin(struct shim_io *io)
{
	char buf[16384];
	struct pollfd p[2] = {{.fd = io->in_host, .events = POLLIN},
			      {.fd = io->close_stdin, .events = POLLIN}};
	bool closing = false;
	for (;;) {
		if (!closing && poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents & POLLIN)
			closing = true;
		ssize_t n = read(io->in_host, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (closing)
				break; /* drained what was written before CloseIO */
			p[0].revents = 0;
			continue;
		}
		if (n <= 0 || sbx_write_all(io->in_guest, buf, (size_t)n) < 0)
			break;
	}
	shutdown(io->in_guest, SHUT_WR);
}

static void *relay_thread(void *arg)
{
	struct relay r = *(struct relay *)arg;
	free(arg);
	struct shim_io *io = r.io;
	if (r.which == IN) {
		relay_stdin(io);
		return NULL;
	}
	int from = r.which == OUT ? io->out_guest : io->err_guest;
	int *to = r.which == OUT ? &io->out_host : &io->err_host;
	sbx_copy_until_eof(from, *to);
	pthread_mutex_lock(&io->lock);
	close(*to); /* the reader's EOF: this process's output is complete */
	*to = -1;
	io->outputs_running--;
	pthread_cond_broadcast(&io->cond);
	pthread_mutex_unlock(&io->lock);
	return NULL;
}

static int start_relay(struct shim_io *io, int which, struct sbx_err *err)
{
	struct relay *r = malloc(sizeof(*r));
	if (!r)
		return sbx_fail(err, ENOMEM, "stdio relay");
	*r = (struct relay){.io = io, .which = which};
	if (which != IN) {
		pthread_mutex_lock(&io->lock);
		io->outputs_running++;
		pthread_mutex_unlock(&io->lock);
	}
	int e = pthread_create(&io->threads[which], NULL, relay_thread, r);
	if (e) {
		free(r);
		if (which != IN) {
			pthread_mutex_lock(&io->lock);
			io->outputs_running--;
			pthread_mutex_unlock(&io->lock);
		}
		return sbx_fail(err, e, "stdio relay thread");
	}
	io->started[which] = true;
	return 0;
}

int shim_io_attach(struct shim_io *io, struct sandbox *sb, const char *container_id,
		   const char *exec_id, struct sbx_err *err)
{
	/* Output first: the process may already run (an exec) and its pipe only holds so much. */
	if (io->out_host >= 0) {
		io->out_guest = agent_stream_open(sb, container_id, exec_id, KIND(STDOUT), err);
		if (io->out_guest < 0 || start_relay(io, OUT, err) < 0)
			return -err->code;
	}
	if (io->err_host >= 0) {
		io->err_guest = agent_stream_open(sb, container_id, exec_id, KIND(STDERR), err);
		if (io->err_guest < 0 || start_relay(io, ERR, err) < 0)
			return -err->code;
	}
	if (io->in_host >= 0) {
		io->in_guest = agent_stream_open(sb, container_id, exec_id, KIND(STDIN), err);
		if (io->in_guest < 0 || start_relay(io, IN, err) < 0)
			return -err->code;
	}
	return 0;
}

void shim_io_close_stdin(struct shim_io *io)
{
	uint64_t one = 1;
	if (io->initialised && io->close_stdin >= 0 && write(io->close_stdin, &one, 8) < 0)
		return;
}

void shim_io_wait_output(struct shim_io *io, int timeout_ms)
{
	if (!io->initialised)
		return;
	struct timespec dl = clock_deadline(CLOCK_REALTIME, timeout_ms);
	pthread_mutex_lock(&io->lock);
	while (io->outputs_running > 0)
		if (pthread_cond_timedwait(&io->cond, &io->lock, &dl) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&io->lock);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void shim_io_free(struct shim_io *io)
{
	if (!io->initialised)
		return;
	/* Unblock every relay: the guest sockets end reads and writes, CloseIO ends stdin. */
	shim_io_close_stdin(io);
	int *guest[3] = {&io->in_guest, &io->out_guest, &io->err_guest};
	for (int i = 0; i < 3; i++)
		if (*guest[i] >= 0)
			shutdown(*guest[i], SHUT_RDWR);
	for (int i = 0; i < 3; i++)
		if (io->started[i])
			pthread_join(io->threads[i], NULL);
	for (int i = 0; i < 3; i++)
		close_fd(guest[i]);
	close_fd(&io->in_host);
	close_fd(&io->out_host);
	close_fd(&io->err_host);
	close_fd(&io->close_stdin);
	pthread_mutex_destroy(&io->lock);
	pthread_cond_destroy(&io->cond);
	io->initialised = false;
}
