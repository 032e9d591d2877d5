/* debug_console: the guest's serial console, which the VMM writes to <state>/vm/console.log,
 * copied line by line into the shim's log (the log containerd collects). */
#pragma once

#include <stdbool.h>

struct shim_console;
struct sbx_err;

/* Watches path (inotify) and reads it from its start. */
int shim_console_open(const char *path, struct shim_console **ret, struct sbx_err *err);
/* Readable (POLLIN) when the guest wrote more; -1 for NULL. */
int shim_console_fd(const struct shim_console *c);
/* Logs every complete line written since the last call; at_end also logs an unterminated
 * last line (the VM is gone). */
void shim_console_drain(struct shim_console *c, bool at_end);
void shim_console_free(struct shim_console *c);
