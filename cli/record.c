/* Container records under $SBX_ROOT: creation with an atomic name reservation, lookup by name
 * or id prefix, whole-file saves, the monitor's lock, removal. */
#define _GNU_SOURCE
#include "cli/record.h"

#include "base/cleanup.h"
#include "base/err.h"
#include "base/tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const adjectives[] = {
    "amber", "brave", "calm",  "deft",  "eager", "fleet", "gentle", "hardy",
    "keen",  "lucid", "merry", "noble", "quiet", "rapid", "stoic",  "tidy",
};
static const char *const nouns[] = {
    "badger", "crane", "dingo", "egret",  "ferret", "gecko", "heron",  "ibis",
    "jackal", "koala", "lemur", "marten", "newt",   "otter", "puffin", "quokka",
};

static void random_bytes(unsigned char *b, size_t n)
{
	if (getrandom(b, n, 0) != (ssize_t)n)
		for (size_t i = 0; i < n; i++)
			b[i] = (unsigned char)(rand() ^ getpid() ^ (int)i);
}

void record_time_format(uint64_t ns, char out[40])
{
	time_t s = (time_t)(ns / 1000000000ull);
	struct tm tm;
	gmtime_r(&s, &tm);
	char base[24];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 40, "%s.%09lluZ", base, (unsigned long long)(ns % 1000000000ull));
}

uint64_t record_time_parse(const char *s)
{
	struct tm tm = {0};
	const char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!rest)
		return 0;
	uint64_t frac = 0;
	int digits = 0;
	if (*rest == '.')
		for (rest++; *rest >= '0' && *rest <= '9'; rest++)
			if (digits++ < 9)
				frac = frac * 10 + (uint64_t)(*rest - '0');
	for (; digits < 9; digits++)
		frac *= 10;
	time_t t = timegm(&tm);
	return t <= 0 ? 0 : (uint64_t)t * 1000000000ull + frac;
}

void record_path(const struct record *r, const char *file, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", r->dir, file);
}

static int names_dir(const char *root, char *buf, size_t size, struct sbx_err *err)
{
	if (snprintf(buf, size, "%s/names", root) >= (int)size)
		return sbx_failx(err, ENAMETOOLONG, "SBX_ROOT '%s' too long", root);
	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		return sbx_fail(err, errno, "create '%s'", root);
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return sbx_fail(err, errno, "create '%s'", buf);
	return 0;
}

static bool valid_name(const char *n)
{
	/* docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
	size_t len = strlen(n);
	if (len < 2 || len > 100 ||
	    !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", n[0]))
		return false;
	return strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
	       len;
}

/* Reserves names/<name> -> id. -EEXIST when taken. */
static int reserve_name(const char *names, const char *name, const char *id, struct sbx_err *err)
{
	char link[4300], holder[64] = "";
	snprintf(link, sizeof(link), "%s/%s", names, name);
	if (symlink(id, link) == 0)
		return 0;
	if (errno != EEXIST)
		return sbx_fail(err, errno, "reserve the name '%s'", name);
	ssize_t n = readlink(link, holder, sizeof(holder) - 1);
	holder[n > 0 ? n : 0] = '\0';
	return sbx_failx(err, EEXIST, "the name '%s' is already in use by container %s", name,
			 holder);
}

int record_create(const char *root, const char *name, struct record *ret, struct sbx_err *err)
{
	memset(ret, 0, sizeof(*ret));
	char names[4150], boxes[4150];
	int r = names_dir(root, names, sizeof(names), err);
	if (r < 0)
		return r;
	snprintf(boxes, sizeof(boxes), "%s/sandboxes", root);
	if (mkdir(boxes, 0700) < 0 && errno != EEXIST)
		return sbx_fail(err, errno, "create '%s'", boxes);
	if (name && !valid_name(name))
		return sbx_failx(err, EINVAL,
				 "invalid container name '%s': only [a-zA-Z0-9][a-zA-Z0-9_.-]+",
				 name);
	for (int attempt = 0;; attempt++) {
		unsigned char b[RECORD_ID_LEN / 2 + 2];
		random_bytes(b, sizeof(b));
		for (int i = 0; i < RECORD_ID_LEN / 2; i++)
			snprintf(ret->id + 2 * i, 3, "%02x", b[i]);
		snprintf(ret->dir, sizeof(ret->dir), "%s/%s", boxes, ret->id);
		if (mkdir(ret->dir, 0700) == 0)
			break;
		if (errno != EEXIST || attempt > 8)
			return sbx_fail(err, errno, "create '%s'", ret->dir);
	}
	if (name) {
		snprintf(ret->name, sizeof(ret->name), "%s", name);
		r = reserve_name(names, name, ret->id, err);
	} else {
		r = -EEXIST;
		for (int attempt = 0; r == -EEXIST && attempt < 16; attempt++) {
			unsigned char b[2];
			random_bytes(b, sizeof(b));
			snprintf(ret->name, sizeof(ret->name), "%s_%s", adjectives[b[0] % 16],
				 nouns[b[1] % 16]);
			if (attempt == 15) /* crowded: make it unique with the id */
				snprintf(ret->name, sizeof(ret->name), "sbx_%s", ret->id);
			r = reserve_name(names, ret->name, ret->id, err);
		}
	}
	if (r < 0) {
		rmdir(ret->dir);
		return r;
	}
	char created[40];
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	record_time_format((uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec, created);
	char log[4300];
	record_path(ret, "container.log", log, sizeof(log));
	ret->json = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:b, s:b, s:i, s:i, s:s, s:s, s:s}}",
			      "Id", ret->id, "Name", ret->name, "Created", created, "LogPath", log,
			      "State", "Status", "created", "Running", 0, "Paused", 0, "Pid", 0,
			      "ExitCode", 0, "Error", "", "StartedAt", "0001-01-01T00:00:00Z",
			      "FinishedAt", "0001-01-01T00:00:00Z");
	if (!ret->json || record_save(ret, err) < 0) {
		r = ret->json ? -err->code : sbx_failx(err, ENOMEM, "record");
		record_remove(root, ret, NULL);
		record_free(ret);
		return r;
	}
	return 0;
}

int record_save(const struct record *r, struct sbx_err *err)
{
	char path[4300], tmp[4320];
	record_path(r, "record.json", path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, getpid());
	if (json_dump_file(r->json, tmp, JSON_INDENT(2)) < 0) {
		unlink(tmp);
		return sbx_fail(err, errno ? errno : EIO, "write '%s'", tmp);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return sbx_fail(err, e, "rename to '%s'", path);
	}
	return 0;
}

static int load(const char *root, const char *id, struct record *ret, struct sbx_err *err)
{
	memset(ret, 0, sizeof(*ret));
	if (strlen(id) != RECORD_ID_LEN)
		return sbx_failx(err, ENOENT, "no such container: %s", id);
	snprintf(ret->id, sizeof(ret->id), "%s", id);
	snprintf(ret->dir, sizeof(ret->dir), "%s/sandboxes/%s", root, id);
	char path[4300];
	record_path(ret, "record.json", path, sizeof(path));
	json_error_t je;
	ret->json = json_load_file(path, 0, &je);
	if (!ret->json)
		return sbx_failx(err, ENOENT, "no such container: %s", id);
	const char *name = json_string_value(json_object_get(ret->json, "Name"));
	snprintf(ret->name, sizeof(ret->name), "%s", name ? name : "");
	return 0;
}

int record_find(const char *root, const char *key, struct record *ret, struct sbx_err *err)
{
	char link[4300], id[64];
	if (!key[0] || strchr(key, '/'))
		return sbx_failx(err, ENOENT, "no such container: %s", key);
	snprintf(link, sizeof(link), "%s/names/%s", root, key);
	ssize_t n = readlink(link, id, sizeof(id) - 1);
	if (n > 0) {
		id[n] = '\0';
		return load(root, id, ret, err);
	}
	/* an id or a unique prefix of one */
	char boxes[4150];
	snprintf(boxes, sizeof(boxes), "%s/sandboxes", root);
	_cleanup_closedir_ DIR *d = opendir(boxes);
	int found = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strncmp(de->d_name, key, strlen(key)) != 0)
			continue;
		if (found++ == 0 && strlen(de->d_name) < sizeof(id))
			memcpy(id, de->d_name, strlen(de->d_name) + 1);
	}
	if (found > 1)
		return sbx_failx(err, EINVAL, "'%s' matches %d containers: give more of the id",
				 key, found);
	if (found == 0)
		return sbx_failx(err, ENOENT, "no such container: %s", key);
	return load(root, id, ret, err);
}

static int by_created(const void *a, const void *b)
{
	const struct record *x = a, *y = b;
	const char *cx = json_string_value(json_object_get(x->json, "Created"));
	const char *cy = json_string_value(json_object_get(y->json, "Created"));
	return strcmp(cx ? cx : "", cy ? cy : "");
}

int record_list(const char *root, struct record **ret, size_t *ret_n, struct sbx_err *err)
{
	*ret = NULL;
	*ret_n = 0;
	char boxes[4150];
	snprintf(boxes, sizeof(boxes), "%s/sandboxes", root);
	_cleanup_closedir_ DIR *d = opendir(boxes);
	if (!d)
		return errno == ENOENT ? 0 : sbx_fail(err, errno, "open '%s'", boxes);
	struct dirent *de;
	size_t cap = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (*ret_n == cap) {
			cap = cap ? cap * 2 : 16;
			struct record *more = realloc(*ret, cap * sizeof(**ret));
			if (!more) {
				record_list_free(*ret, *ret_n);
				return sbx_fail(err, ENOMEM, "list containers");
			}
			*ret = more;
		}
		/* a directory without a record is one being created or removed right now */
		if (load(root, de->d_name, &(*ret)[*ret_n], NULL) == 0)
			(*ret_n)++;
	}
	if (*ret_n)
		qsort(*ret, *ret_n, sizeof(**ret), by_created);
	return 0;
}

void record_free(struct record *r)
{
	if (r->json)
		json_decref(r->json);
	r->json = NULL;
}

void record_list_free(struct record *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		record_free(&list[i]);
	free(list);
}

int record_remove(const char *root, const struct record *r, struct sbx_err *err)
{
	char link[4300], id[64];
	snprintf(link, sizeof(link), "%s/names/%s", root, r->name);
	ssize_t n = r->name[0] ? readlink(link, id, sizeof(id) - 1) : -1;
	if (n > 0) {
		id[n] = '\0';
		if (strcmp(id, r->id) == 0)
			unlink(link);
	}
	int rc = sbx_remove_tree(r->dir);
	if (rc < 0)
		return sbx_fail(err, -rc, "remove '%s'", r->dir);
	return 0;
}

static int open_lock(const struct record *r)
{
	char path[4300];
	record_path(r, "monitor.lock", path, sizeof(path));
	return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

int record_lock_monitor(const struct record *r, struct sbx_err *err)
{
	int fd = open_lock(r);
	if (fd < 0)
		return sbx_fail(err, errno, "create the lock of %s", r->id);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		close(fd);
		return sbx_fail(err, e, "container %s already has a monitor", r->id);
	}
	return fd;
}

bool record_monitor_alive(const struct record *r)
{
	_cleanup_close_ int fd = open_lock(r);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		return false;
	return errno == EWOULDBLOCK;
}

void record_wait_monitor(const struct record *r)
{
	_cleanup_close_ int fd = open_lock(r);
	while (fd >= 0 && flock(fd, LOCK_SH) < 0 && errno == EINTR)
		;
}

const char *record_status(const struct record *r)
{
	json_t *st = json_object_get(r->json, "State");
	const char *s = json_string_value(json_object_get(st, "Status"));
	if (!s)
		return "unknown";
	if ((!strcmp(s, "running") || !strcmp(s, "created")) && !record_monitor_alive(r))
		return !strcmp(s, "running") ? "exited" : "created";
	return s;
}

int record_set_state(struct record *r, const char *status, int exit_code, const char *error,
		     struct sbx_err *err)
{
	json_t *st = json_object_get(r->json, "State");
	if (!st)
		return sbx_failx(err, EINVAL, "record %s has no State", r->id);
	char now[40];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	record_time_format((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, now);
	json_object_set_new(st, "Status", json_string(status));
	json_object_set_new(st, "Running", json_boolean(!strcmp(status, "running")));
	if (!strcmp(status, "running"))
		json_object_set_new(st, "StartedAt", json_string(now));
	if (!strcmp(status, "exited")) {
		json_object_set_new(st, "FinishedAt", json_string(now));
		json_object_set_new(st, "ExitCode", json_integer(exit_code));
		json_object_set_new(st, "Pid", json_integer(0));
	}
	if (error)
		json_object_set_new(st, "Error", json_string(error));
	return record_save(r, err);
}
