/* The shim daemon `start` forks: serves containerd.task.v2.Task on the pod's socket until
 * Shutdown finds no container left, then stops the VM and removes its socket and state. */
#define _GNU_SOURCE
#include "shim/bootstrap.h"
#include "shim/events.h"
#include "shim/shim.h"
#include "shim/task.h"

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/tree.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TASK_SERVICE "containerd.task.v2.Task"
#define DRAIN_MS 2000

#define M(name, fn, reqt, respt)                                                                   \
	{                                                                                          \
		TASK_SERVICE, name, &sbx__shim__v1__##reqt##__descriptor,                          \
		    &sbx__shim__v1__##respt##__descriptor, fn                                      \
	}
static const struct ttrpc_method methods[] = {
    M("Create", task_create, create_task_request, create_task_response),
    M("Start", task_start, start_request, start_response),
    M("Delete", task_delete, delete_request, delete_response),
    M("State", task_state, state_request, state_response),
    M("Wait", task_wait, wait_request, wait_response),
    M("Connect", task_connect, connect_request, connect_response),
    M("Shutdown", task_shutdown, shutdown_request, empty),
    M("Exec", task_exec, exec_process_request, empty),
    M("Kill", task_kill, kill_request, empty),
    M("Pids", task_pids, pids_request, pids_response),
    M("CloseIO", task_close_io, close_iorequest, empty),
    M("ResizePty", task_resize_pty, resize_pty_request, empty),
    M("Pause", task_pause, pause_request, empty),
    M("Resume", task_resume, resume_request, empty),
    M("Update", task_update, update_task_request, empty),
    M("Stats", task_stats, stats_request, stats_response),
    M("Checkpoint", task_checkpoint, checkpoint_task_request, empty),
};

struct acceptor {
	struct ttrpc_server *srv;
	int fd;
};

static void *accept_thread(void *arg)
{
	struct acceptor *a = arg;
	log_set_thread("accept");
	ttrpc_server_accept_loop(a->srv, a->fd);
	return NULL;
}

void shim_serve(const struct shim_args *a, const char *group, const char *socket, int listen_fd,
		const char *options_config_path)
{
	struct shim *s = &the_shim;
	signal(SIGPIPE, SIG_IGN); /* containerd away: writes to its log FIFO just fail */
	log_init("shim", group, a->debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, 2);
	snprintf(s->group, sizeof(s->group), "%s", group);
	snprintf(s->options_config, sizeof(s->options_config), "%s", options_config_path);
	struct sbx_err err = {0};
	/* The state dir's root comes from the config; a broken config fails Create later. */
	struct shim_config cfg;
	if (shim_config_load(options_config_path, &cfg, NULL) < 0)
		snprintf(cfg.state_root, sizeof(cfg.state_root), "/run/kata-lite");
	shim_state_dir(cfg.state_root, a->address, a->ns, group, s->state_dir,
		       sizeof(s->state_dir));
	mkdir(cfg.state_root, 0711);
	if (mkdir(s->state_dir, 0700) < 0 && errno != EEXIST) {
		log_error("create %s: %m", s->state_dir);
		_exit(1);
	}
	shim_write_pid_file(s->state_dir, "shim.pid", getpid());
	shim_events_new(getenv("TTRPC_ADDRESS"), a->ns, &s->events);

	struct ttrpc_server *srv = NULL;
	if (ttrpc_server_new(methods, sizeof(methods) / sizeof(methods[0]), s, &srv, &err) < 0) {
		log_error("%s", err.msg);
		_exit(1);
	}
	struct acceptor acc = {.srv = srv, .fd = listen_fd};
	pthread_t t;
	if (pthread_create(&t, NULL, accept_thread, &acc) != 0) {
		log_error("accept thread: %m");
		_exit(1);
	}
	log_info("serving %s for pod %s", socket, group);

	pthread_mutex_lock(&s->lock);
	while (!s->exiting)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);

	log_info("shutting down");
	unlink(socket);
	shim_vm_stop(s);
	shim_events_flush(s->events, DRAIN_MS);
	/* Give the Shutdown reply a moment to leave; containerd tolerates it missing. */
	uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + (uint64_t)DRAIN_MS * 1000000u;
	while (ttrpc_server_active_calls(srv) > 0 && clock_ns(CLOCK_MONOTONIC) < deadline) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	sbx_remove_tree(s->state_dir);
	_exit(0);
}
