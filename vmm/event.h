/* The VMM's device-work thread: one epoll loop; devices register fds with a callback.
 * Callbacks run on the loop thread only. Registration is safe from any thread. */
#pragma once

#include <stdint.h>

struct sbx_err;
struct event_loop;

/* Called with the epoll events (EPOLLIN, EPOLLOUT, EPOLLHUP...) that fired. */
typedef void (*event_cb)(void *opaque, uint32_t events);

int event_loop_new(struct event_loop **ret, struct sbx_err *err);
void event_loop_free(struct event_loop *loop);

/* Watches fd for `events` (EPOLLIN etc., level-triggered). One registration per fd. */
int event_add(struct event_loop *loop, int fd, uint32_t events, event_cb cb, void *opaque);
/* Changes the watched events of a registered fd. */
int event_modify(struct event_loop *loop, int fd, uint32_t events);
/* Stops watching fd; after it returns on the loop thread the callback will not run again. */
int event_del(struct event_loop *loop, int fd);

/* Runs until event_loop_stop(); returns 0, or -errno if epoll fails. */
int event_loop_run(struct event_loop *loop);
/* Asks the loop to return; callable from any thread or a callback. */
void event_loop_stop(struct event_loop *loop);
/* Runs callbacks that are ready now, waiting at most timeout_ms; for tests. Returns how many
 * callbacks ran, or -errno. */
int event_loop_poll_once(struct event_loop *loop, int timeout_ms);
