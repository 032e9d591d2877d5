/* Stdio relays, raw terminal, signal forwarding and the exit wait for one guest process. */
#define _GNU_SOURCE
#include "cli/attach.h"

#include "agent/client.h"
#include "base/err.h"
#include "base/io.h"
#include "cli/logfile.h"
#include "proto/agent.pb-c.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#define KIND(k) SBX__AGENT__V1__STREAM_HELLO__KIND__##k

/* SIGUSR2 only wakes the signal thread to end it. */
static void forwarded(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGWINCH);
	sigaddset(set, SIGUSR2);
}

void attach_block_signals(void)
{
	sigset_t set;
	forwarded(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static struct termios saved_termios;
static bool termios_saved;

static void restore_terminal(void)
{
	if (termios_saved)
		tcsetattr(0, TCSADRAIN, &saved_termios);
	termios_saved = false;
}

static void raw_terminal(void)
{
	if (termios_saved || !isatty(0) || tcgetattr(0, &saved_termios) < 0)
		return;
	struct termios raw = saved_termios;
	cfmakeraw(&raw);
	if (tcsetattr(0, TCSADRAIN, &raw) == 0) {
		termios_saved = true;
		atexit(restore_terminal);
	}
}

static int call(struct attach *a, const char *method, const ProtobufCMessage *req,
		const ProtobufCMessageDescriptor *desc, ProtobufCMessage **resp, int timeout_ms,
		struct sbx_err *err)
{
	pthread_mutex_lock(&a->lock);
	struct ttrpc_client *cl = a->cl;
	pthread_mutex_unlock(&a->lock);
	if (!cl)
		return -ESRCH;
	return agent_call(cl, method, req, desc, resp, timeout_ms, err);
}

void attach_resize(struct attach *a)
{
	struct winsize ws;
	if (!a->tty || ioctl(0, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0)
		return;
	Sbx__Agent__V1__ProcessRef ref = SBX__AGENT__V1__PROCESS_REF__INIT;
	Sbx__Agent__V1__ResizeTtyRequest r = SBX__AGENT__V1__RESIZE_TTY_REQUEST__INIT;
	ref.container_id = (char *)a->container_id;
	ref.exec_id = (char *)a->exec_id;
	r.process = &ref;
	r.rows = ws.ws_row;
	r.cols = ws.ws_col;
	struct sbx_err ignored = {0};
	call(a, "ResizeTty", &r.base, NULL, NULL, 10000, &ignored);
}

static void *forward_signals(void *arg)
{
	struct attach *a = arg;
	sigset_t set;
	forwarded(&set);
	for (;;) {
		int sig;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGUSR2)
			return NULL;
		if (sig == SIGWINCH) {
			attach_resize(a);
			continue;
		}
		Sbx__Agent__V1__ProcessRef ref = SBX__AGENT__V1__PROCESS_REF__INIT;
		Sbx__Agent__V1__SignalProcessRequest r =
		    SBX__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;
		ref.container_id = (char *)a->container_id;
		ref.exec_id = (char *)a->exec_id;
		r.process = &ref;
		r.signal = (uint32_t)sig;
		struct sbx_err ignored = {0};
		call(a, "SignalProcess", &r.base, NULL, NULL, 10000, &ignored);
	}
}

static void *relay_out(void *arg)
{
	struct attach_relay *o = arg;
	struct attach *a = o->a;
	char buf[65536];
	for (;;) {
		ssize_t n = read(a->streams[o->stream], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (a->to_terminal)
			sbx_write_all(o->stream, buf, (size_t)n);
		log_sink_write(a->log, o->stream, buf, (size_t)n);
	}
	return NULL;
}

static void *relay_in(void *arg)
{
	struct attach *a = arg;
	sbx_copy_until_eof(0, a->streams[0]);
	shutdown(a->streams[0], SHUT_WR);
	return NULL;
}

int attach_open(struct attach *a, struct sbx_err *err)
{
	pthread_mutex_init(&a->lock, NULL);
	a->opened = true;
	for (int i = 0; i < 3; i++) {
		a->streams[i] = -1;
		a->started[i] = false;
	}
	a->signal_started = false;
	static const int kinds[3] = {KIND(STDIN), KIND(STDOUT), KIND(STDERR)};
	for (int i = 0; i < 3; i++) {
		if (i == 0 && !a->stdin_relay && !a->stdin_hold)
			continue;
		if (i == 2 && a->tty) /* the pty carries both */
			continue;
		a->streams[i] =
		    agent_stream_open(a->sb, a->container_id, a->exec_id, kinds[i], err);
		if (a->streams[i] < 0)
			return a->streams[i];
	}
	return 0;
}

void attach_start(struct attach *a)
{
	for (int i = 1; i < 3; i++) {
		if (a->streams[i] < 0)
			continue;
		a->relays[i] = (struct attach_relay){a, i};
		a->started[i] = pthread_create(&a->threads[i], NULL, relay_out, &a->relays[i]) == 0;
	}
	if (a->stdin_relay && a->streams[0] >= 0)
		a->started[0] = pthread_create(&a->threads[0], NULL, relay_in, a) == 0;
	if (a->tty && a->stdin_relay && a->to_terminal)
		raw_terminal();
	if (a->forward_signals)
		a->signal_started =
		    pthread_create(&a->signal_thread, NULL, forward_signals, a) == 0;
}

int attach_wait(struct attach *a, struct sbx_err *err)
{
	Sbx__Agent__V1__ProcessRef ref = SBX__AGENT__V1__PROCESS_REF__INIT;
	ref.container_id = (char *)a->container_id;
	ref.exec_id = (char *)a->exec_id;
	ProtobufCMessage *resp = NULL;
	int r = call(a, "WaitProcess", &ref.base,
		     &sbx__agent__v1__wait_process_response__descriptor, &resp, 0, err);
	if (r < 0)
		return r;
	int status = (int)((Sbx__Agent__V1__WaitProcessResponse *)resp)->exit_status;
	protobuf_c_message_free_unpacked(resp, NULL);
	/* output still in flight ends with the process's last writer */
	for (int i = 1; i < 3; i++)
		if (a->started[i]) {
			pthread_join(a->threads[i], NULL);
			a->started[i] = false;
		}
	restore_terminal();
	return status;
}

void attach_close(struct attach *a)
{
	if (!a->opened)
		return;
	a->opened = false;
	pthread_mutex_lock(&a->lock);
	a->cl = NULL;
	pthread_mutex_unlock(&a->lock);
	if (a->signal_started) {
		pthread_kill(a->signal_thread, SIGUSR2);
		pthread_join(a->signal_thread, NULL);
		a->signal_started = false;
	}
	if (a->started[0]) {
		pthread_cancel(a->threads[0]);
		pthread_join(a->threads[0], NULL);
		a->started[0] = false;
	}
	for (int i = 0; i < 3; i++) {
		if (a->streams[i] >= 0)
			shutdown(a->streams[i], SHUT_RDWR);
		if (a->started[i])
			pthread_join(a->threads[i], NULL);
		a->started[i] = false;
		if (a->streams[i] >= 0)
			close(a->streams[i]);
		a->streams[i] = -1;
	}
	restore_terminal();
}
