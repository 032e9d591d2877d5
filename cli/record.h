/* The containers sbx knows. $SBX_ROOT/sandboxes/<id>/ holds
 *   record.json   what `sbx inspect` prints (docker's shape), written whole and renamed
 *   spec.json     the container's OCI spec (exec takes its env, user and cwd)
 *   container.log its output, docker's framed stdout/stderr records (see cli/logfile.h)
 *   monitor.lock  flock()ed by the process that owns the VM for as long as it lives
 *   vm/           the VMM's state directory (sockets, console)
 * and $SBX_ROOT/names/<name> is a symlink to the id: symlink() is the atomic "name in use". */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbx_err;

#define RECORD_ID_LEN 12

struct record {
	char id[RECORD_ID_LEN + 1];
	char name[128];
	char dir[4200];
	json_t *json; /* record.json */
};

/* Reserves the name (NULL: a generated one) and creates the directory with a skeleton
 * record.json in state "created". "name already in use" is -EEXIST with err naming the holder. */
int record_create(const char *root, const char *name, struct record *ret, struct sbx_err *err);

/* Finds a container by name, full id or unique id prefix and loads its record. */
int record_find(const char *root, const char *name_or_id, struct record *ret, struct sbx_err *err);

/* All records, oldest first. */
int record_list(const char *root, struct record **ret, size_t *ret_n, struct sbx_err *err);

int record_save(const struct record *r, struct sbx_err *err);
void record_free(struct record *r);
void record_list_free(struct record *list, size_t n);

/* Removes the directory and the name; the caller has made sure no monitor owns it. */
int record_remove(const char *root, const struct record *r, struct sbx_err *err);

/* dir/<file> into buf. */
void record_path(const struct record *r, const char *file, char *buf, size_t size);

/* Takes monitor.lock for the calling process; returns the fd that holds it. */
int record_lock_monitor(const struct record *r, struct sbx_err *err);
/* Whether a monitor holds the lock now. */
bool record_monitor_alive(const struct record *r);
/* Blocks until no monitor holds the lock. */
void record_wait_monitor(const struct record *r);

/* State.Status as it is now: a "running" record whose monitor is gone is "exited" (it died). */
const char *record_status(const struct record *r);

/* Sets State fields (a NULL string leaves it) and saves. */
int record_set_state(struct record *r, const char *status, int exit_code, const char *error,
		     struct sbx_err *err);

/* RFC 3339 UTC with nanoseconds, docker's format; and back to ns since the epoch (0 if bad). */
void record_time_format(uint64_t realtime_ns, char out[40]);
uint64_t record_time_parse(const char *s);
