/* A process's stdio between containerd's side (FIFOs, or file:// URIs) and the agent's stream
 * connections on guest port 1025: one relay thread per direction. The host ends are opened in
 * Create/Exec so a bad path fails the call; the guest ends once the process exists. */
#pragma once

#include <pthread.h>
#include <stdbool.h>

struct sandbox;
struct sbx_err;

struct shim_io {
	int in_host, out_host, err_host;    /* -1 when unused */
	int in_guest, out_guest, err_guest; /* agent streams */
	int close_stdin;                    /* eventfd: CloseIO */
	bool terminal;
	pthread_t threads[3];
	bool started[3];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int outputs_running; /* stdout/stderr relays still copying */
	bool initialised;
};

/* Opens the host ends; "" leaves a stream unused. With terminal, stderr is never used. */
int shim_io_open(struct shim_io *io, const char *in, const char *out, const char *errp,
		 bool terminal, struct sbx_err *err);
/* Whether the process takes stdin (tell the agent before it starts the process). */
bool shim_io_has_stdin(const struct shim_io *io);
/* Connects the guest ends of (container, exec) and starts the relays. */
int shim_io_attach(struct shim_io *io, struct sandbox *sb, const char *container_id,
		   const char *exec_id, struct sbx_err *err);
/* CloseIO: what the client wrote so far still reaches the process, then its stdin ends. */
void shim_io_close_stdin(struct shim_io *io);
/* Waits up to timeout_ms for the output relays to reach EOF (output written before an exit
 * must be in the FIFO before Wait returns). */
void shim_io_wait_output(struct shim_io *io, int timeout_ms);
/* Stops the relays and closes everything. */
void shim_io_free(struct shim_io *io);
