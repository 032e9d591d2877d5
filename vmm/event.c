/* epoll loop with a small registration table; an eventfd wakes the loop for stop().
 * A removed source is freed only before the next epoll_wait, never during a batch: a batch
 * can still hold its events, and a registration made by an earlier callback could otherwise
 * get the same memory and receive them (a stale EPOLLERR would reset a fresh vsock connection). */
#include "vmm/event.h"

#include "base/err.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct event_source {
	int fd;
	event_cb cb;
	void *opaque;
	bool removed;
	struct event_source *next;
};

struct event_loop {
	int epfd;
	int stopfd;
	volatile int stopping;
	pthread_mutex_t lock; /* guards sources, removed and each source's removed flag */
	struct event_source *sources;
	struct event_source *removed; /* freed before the next epoll_wait */
};

int event_loop_new(struct event_loop **ret, struct sbx_err *err)
{
	struct event_loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return sbx_fail(err, ENOMEM, "allocate event loop");
	pthread_mutex_init(&loop->lock, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->stopfd < 0) {
		int e = errno;
		event_loop_free(loop);
		return sbx_fail(err, e, "create event loop");
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stopfd, &ev) < 0) {
		int e = errno;
		event_loop_free(loop);
		return sbx_fail(err, e, "watch stop eventfd");
	}
	*ret = loop;
	return 0;
}

static void free_sources(struct event_source *s)
{
	while (s) {
		struct event_source *next = s->next;
		free(s);
		s = next;
	}
}

void event_loop_free(struct event_loop *loop)
{
	if (!loop)
		return;
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->stopfd >= 0)
		close(loop->stopfd);
	free_sources(loop->sources);
	free_sources(loop->removed);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

int event_add(struct event_loop *loop, int fd, uint32_t events, event_cb cb, void *opaque)
{
	struct event_source *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = fd;
	s->cb = cb;
	s->opaque = opaque;
	/* before the source is listed: a failed add (fd already watched) must not touch the
	 * registration that is there */
	struct epoll_event ev = {.events = events, .data.ptr = s};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;
		free(s);
		return -e;
	}
	pthread_mutex_lock(&loop->lock);
	s->next = loop->sources;
	loop->sources = s;
	pthread_mutex_unlock(&loop->lock);
	return 0;
}

static struct event_source *find_source(struct event_loop *loop, int fd)
{
	for (struct event_source *s = loop->sources; s; s = s->next)
		if (s->fd == fd)
			return s;
	return NULL;
}

int event_modify(struct event_loop *loop, int fd, uint32_t events)
{
	pthread_mutex_lock(&loop->lock);
	struct event_source *s = find_source(loop, fd);
	pthread_mutex_unlock(&loop->lock);
	if (!s)
		return -ENOENT;
	struct epoll_event ev = {.events = events, .data.ptr = s};
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int event_del(struct event_loop *loop, int fd)
{
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	pthread_mutex_lock(&loop->lock);
	struct event_source **pp = &loop->sources, *found = NULL;
	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->fd == fd) {
			found = *pp;
			*pp = found->next;
			found->removed = true;
			found->next = loop->removed;
			loop->removed = found;
			break;
		}
	}
	pthread_mutex_unlock(&loop->lock);
	return found ? 0 : -ENOENT;
}

static bool source_removed(struct event_loop *loop, struct event_source *s)
{
	pthread_mutex_lock(&loop->lock);
	bool removed = s->removed;
	pthread_mutex_unlock(&loop->lock);
	return removed;
}

int event_loop_poll_once(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event evs[32];
	pthread_mutex_lock(&loop->lock);
	struct event_source *removed = loop->removed;
	loop->removed = NULL;
	pthread_mutex_unlock(&loop->lock);
	free_sources(removed); /* the last batch that could name them is done */
	int n = epoll_wait(loop->epfd, evs, 32, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	int ran = 0;
	for (int i = 0; i < n; i++) {
		struct event_source *s = evs[i].data.ptr;
		if (!s) {
			uint64_t v;
			ssize_t r = read(loop->stopfd, &v, sizeof(v));
			(void)r;
			continue;
		}
		/* An earlier callback in this batch may have removed this source. */
		if (source_removed(loop, s))
			continue;
		s->cb(s->opaque, evs[i].events);
		ran++;
	}
	return ran;
}

int event_loop_run(struct event_loop *loop)
{
	while (!loop->stopping) {
		int r = event_loop_poll_once(loop, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

void event_loop_stop(struct event_loop *loop)
{
	loop->stopping = 1;
	uint64_t one = 1;
	ssize_t r = write(loop->stopfd, &one, sizeof(one));
	(void)r;
}
