/* The VMM's epoll loop: a source removed by an earlier callback of the same batch must never
 * be called, even when a registration made in between lands at the same address. vsock makes
 * exactly that churn (a connection closed by a guest RST, another accepted at once), and a
 * stale EPOLLERR delivered to the new connection reset it under the shim's feet. */
#define _GNU_SOURCE
#include "tap.h"
#include "base/err.h"
#include "vmm/event.h"

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* The bug needs the allocator to hand a freed source straight back; ASan's quarantine would
 * hide it, so this binary runs without one. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=0:thread_local_quarantine_size_kb=0";
}

struct churn {
	struct event_loop *loop;
	int first_fd;    /* its callback removes stale_fd and registers fresh_fd */
	int stale_fd;    /* registered, ready, removed by the first callback */
	int fresh_fd;    /* registered by the first callback */
	int fresh_calls; /* how often the fresh source's callback ran */
	uint32_t fresh_events;
};

static void on_fresh(void *opaque, uint32_t events)
{
	struct churn *ch = opaque;
	ch->fresh_calls++;
	ch->fresh_events = events;
}

static void on_stale(void *opaque, uint32_t events)
{
	(void)opaque;
	(void)events;
	tap_fail(__FILE__, __LINE__, "a removed source was called");
}

static void on_first(void *opaque, uint32_t events)
{
	struct churn *ch = opaque;
	(void)events;
	char byte;
	if (read(ch->first_fd, &byte, 1) != 1)
		tap_fail(__FILE__, __LINE__, "read");
	event_del(ch->loop, ch->stale_fd);
	event_add(ch->loop, ch->fresh_fd, EPOLLIN, on_fresh, ch);
}

static void socket_pair_ready(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || write(sv[1], "x", 1) != 1)
		tap_fail(__FILE__, __LINE__, "socketpair");
}

TEST(source_removed_in_batch_is_never_called_even_when_its_memory_is_reused)
{
	for (int round = 0; round < 50; round++) {
		struct event_loop *loop;
		struct sbx_err err = {0};
		ASSERT_EQ(event_loop_new(&loop, &err), 0);
		int first[2], stale[2], fresh[2];
		socket_pair_ready(first);
		socket_pair_ready(stale);
		socket_pair_ready(fresh);
		struct churn ch = {
		    .loop = loop, .first_fd = first[0], .stale_fd = stale[0], .fresh_fd = fresh[0]};
		/* epoll reports ready fds in the order they were added while both are ready */
		ASSERT_EQ(event_add(loop, first[0], EPOLLIN, on_first, &ch), 0);
		ASSERT_EQ(event_add(loop, stale[0], EPOLLIN, on_stale, &ch), 0);
		ASSERT_EQ(event_loop_poll_once(loop, 1000), 1);
		/* the fresh fd was ready but registered after epoll_wait: not in this batch */
		ASSERT_EQ(ch.fresh_calls, 0);
		ASSERT_EQ(event_loop_poll_once(loop, 1000), 1);
		ASSERT_EQ(ch.fresh_calls, 1);
		ASSERT_EQ(ch.fresh_events, EPOLLIN);
		event_loop_free(loop);
		for (int i = 0; i < 2; i++) {
			close(first[i]);
			close(stale[i]);
			close(fresh[i]);
		}
	}
}

TEST(removed_source_is_not_called_from_a_later_batch)
{
	struct event_loop *loop;
	struct sbx_err err = {0};
	ASSERT_EQ(event_loop_new(&loop, &err), 0);
	int sv[2];
	socket_pair_ready(sv);
	struct churn ch = {.loop = loop};
	ASSERT_EQ(event_add(loop, sv[0], EPOLLIN, on_stale, &ch), 0);
	ASSERT_EQ(event_del(loop, sv[0]), 0);
	ASSERT_EQ(event_del(loop, sv[0]), -ENOENT);
	ASSERT_EQ(event_loop_poll_once(loop, 0), 0);
	ASSERT_EQ(event_loop_poll_once(loop, 0), 0);
	event_loop_free(loop);
	close(sv[0]);
	close(sv[1]);
}

TEST(adding_a_watched_fd_again_fails_and_keeps_the_first_registration)
{
	struct event_loop *loop;
	struct sbx_err err = {0};
	ASSERT_EQ(event_loop_new(&loop, &err), 0);
	int sv[2];
	socket_pair_ready(sv);
	struct churn ch = {.loop = loop};
	ASSERT_EQ(event_add(loop, sv[0], EPOLLIN, on_fresh, &ch), 0);
	ASSERT_EQ(event_add(loop, sv[0], EPOLLIN, on_stale, &ch), -EEXIST);
	ASSERT_EQ(event_loop_poll_once(loop, 1000), 1);
	ASSERT_EQ(ch.fresh_calls, 1);
	event_loop_free(loop);
	close(sv[0]);
	close(sv[1]);
}
