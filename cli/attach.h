/* A process's stdio between sbx and the guest: the agent's port-1025 streams relayed to this
 * terminal and/or the container log, the terminal in raw mode for -t with size changes passed
 * on, signals forwarded, and the wait for the exit status. Used by sbx run (foreground and the
 * detached monitor) and sbx exec. */
#pragma once

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

struct sandbox;
struct ttrpc_client;
struct log_sink;
struct sbx_err;

struct attach {
	struct sandbox *sb;
	struct ttrpc_client *cl;
	const char *container_id;
	const char *exec_id; /* "" for the container's init */
	bool tty;
	bool stdin_relay;     /* copy our fd 0 in */
	bool stdin_hold;      /* open stdin and keep it open with nothing written (-d -i) */
	bool to_terminal;     /* output to our fds 1 and 2 */
	bool forward_signals; /* INT, TERM, HUP, QUIT to the process; WINCH resizes */
	struct log_sink *log; /* may be NULL */
	/* private */
	bool opened;
	int streams[3];
	pthread_t threads[3];
	struct attach_relay {
		struct attach *a;
		int stream;
	} relays[3];
	bool started[3];
	pthread_t signal_thread;
	bool signal_started;
	pthread_mutex_t lock; /* cl is NULL once the process is gone */
};

/* Blocks the forwarded signals in the calling thread (call before any thread is made). */
void attach_block_signals(void);

/* Opens the streams; between the process's create and its start. */
int attach_open(struct attach *a, struct sbx_err *err);

/* Passes the terminal size on (no-op without a tty on our side). */
void attach_resize(struct attach *a);

/* After the start: relays run, the terminal goes raw (for -t on a terminal), signals forward. */
void attach_start(struct attach *a);

/* Waits for the exit status and the end of the output; restores the terminal. Returns the
 * status, or -errno with err filled when the wait itself failed (the VM died). */
int attach_wait(struct attach *a, struct sbx_err *err);

/* Stops everything attach_open/start began (safe on every path). */
void attach_close(struct attach *a);
