/* The handlers of containerd.task.v2.Task (spec §3), one file per group: task-lifecycle.c
 * (Create, Start, Delete, State, Wait, Connect, Shutdown), task-process.c (Exec, Kill, Pids,
 * CloseIO, ResizePty) and task-resources.c (Pause, Resume, Update, Stats, Checkpoint). The table
 * that names them is in daemon.c. ctx is struct shim. */
#pragma once

#include "proto/shim.pb-c.h"
#include "ttrpc/server.h"

#include <stdint.h>

#define TASK_HANDLER(name)                                                                         \
	int name(void *ctx, struct ttrpc_call *call, const ProtobufCMessage *req,                  \
		 ProtobufCMessage *resp, struct sbx_err *err)

TASK_HANDLER(task_create);
TASK_HANDLER(task_start);
TASK_HANDLER(task_delete);
TASK_HANDLER(task_state);
TASK_HANDLER(task_wait);
TASK_HANDLER(task_connect);
TASK_HANDLER(task_shutdown);
TASK_HANDLER(task_exec);
TASK_HANDLER(task_kill);
TASK_HANDLER(task_pids);
TASK_HANDLER(task_close_io);
TASK_HANDLER(task_resize_pty);
TASK_HANDLER(task_pause);
TASK_HANDLER(task_resume);
TASK_HANDLER(task_update);
TASK_HANDLER(task_stats);
TASK_HANDLER(task_checkpoint);

/* containerd's identifier rule (ids, exec ids): [A-Za-z0-9]+([._-][A-Za-z0-9]+)*, <= 76. */
int task_check_id(const char *what, const char *id, struct sbx_err *err);
/* A Timestamp allocated for the call's response. */
Sbx__Shim__V1__Timestamp *task_timestamp(struct ttrpc_call *call, uint64_t ns);
