/* The shim's config file, read strictly: unknown keys and wrong types are errors, so a typo
 * never silently falls back to a default. */
#define _GNU_SOURCE
#include "shim/config.h"

#include "base/err.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Defaults: the files beside this binary when it runs from the build tree, else the installed
 * layout (<prefix>/bin and <prefix>/share/kata-lite). */
static void set_defaults(struct shim_config *c)
{
	char self[3800]; /* leaves room for the suffixes below */
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(c->vmm, sizeof(c->vmm), "%s/sbx-vmm", self);
	snprintf(c->kernel, sizeof(c->kernel), "%s/../guest/vmlinux", self);
	snprintf(c->initrd, sizeof(c->initrd), "%s/../guest/initrd.img", self);
	if (access(c->kernel, R_OK) != 0) {
		snprintf(c->kernel, sizeof(c->kernel), "%s/../share/kata-lite/vmlinux", self);
		snprintf(c->initrd, sizeof(c->initrd), "%s/../share/kata-lite/initrd.img", self);
	}
	c->vcpus = 1;
	c->memory_mib = 256;
	c->debug_console = false;
	c->rootfs_stream = false;
	snprintf(c->state_root, sizeof(c->state_root), "/run/kata-lite");
}

static int get_path(json_t *v, const char *key, char *out, size_t max, const char *file,
		    struct sbx_err *err)
{
	const char *s = json_string_value(v);
	if (!s || s[0] != '/' || strlen(s) >= max)
		return sbx_failx(err, EINVAL, "%s: \"%s\" must be an absolute path", file, key);
	snprintf(out, max, "%s", s);
	return 0;
}

static int get_count(json_t *v, const char *key, unsigned min, unsigned max, unsigned *out,
		     const char *file, struct sbx_err *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return sbx_failx(err, EINVAL, "%s: \"%s\" must be a whole number from %u to %u",
				 file, key, min, max);
	*out = (unsigned)json_integer_value(v);
	return 0;
}

static int apply(json_t *root, struct shim_config *c, const char *file, struct sbx_err *err)
{
	if (!json_is_object(root))
		return sbx_failx(err, EINVAL, "%s: the top level must be an object", file);
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v)
	{
		int r;
		if (!strcmp(key, "vmm"))
			r = get_path(v, key, c->vmm, sizeof(c->vmm), file, err);
		else if (!strcmp(key, "kernel"))
			r = get_path(v, key, c->kernel, sizeof(c->kernel), file, err);
		else if (!strcmp(key, "initrd"))
			r = get_path(v, key, c->initrd, sizeof(c->initrd), file, err);
		else if (!strcmp(key, "state_dir"))
			r = get_path(v, key, c->state_root, sizeof(c->state_root), file, err);
		else if (!strcmp(key, "vcpus"))
			r = get_count(v, key, 1, 64, &c->vcpus, file, err);
		else if (!strcmp(key, "memory_mib"))
			r = get_count(v, key, 64, 1 << 20, &c->memory_mib, file, err);
		else if (!strcmp(key, "debug_console")) {
			r = json_is_boolean(v)
				? 0
				: sbx_failx(err, EINVAL,
					    "%s: \"debug_console\" must be true or false", file);
			c->debug_console = json_is_true(v);
		} else if (!strcmp(key, "rootfs_transfer")) {
			const char *s = json_string_value(v);
			r = s && (!strcmp(s, "block") || !strcmp(s, "stream"))
				? 0
				: sbx_failx(
				      err, EINVAL,
				      "%s: \"rootfs_transfer\" must be \"block\" or \"stream\"",
				      file);
			c->rootfs_stream = s && !strcmp(s, "stream");
		} else {
			r = sbx_failx(err, EINVAL, "%s: unknown key \"%s\"", file, key);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int shim_config_load_from(const char *path, const char *default_path, struct shim_config *c,
			  struct sbx_err *err)
{
	memset(c, 0, sizeof(*c));
	set_defaults(c);
	bool explicit = path && *path;
	if (!explicit) {
		path = getenv("KATA_LITE_CONFIG");
		explicit = path && *path;
	}
	if (!explicit)
		path = default_path;
	if (access(path, F_OK) != 0 && errno == ENOENT && !explicit)
		return 0;
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (access(path, R_OK) != 0)
			return sbx_fail(err, errno, "config %s", path);
		return sbx_failx(err, EINVAL, "%s: line %d: %s", path, je.line, je.text);
	}
	int r = apply(root, c, path, err);
	json_decref(root);
	if (r < 0)
		return r;
	snprintf(c->path, sizeof(c->path), "%s", path);
	return 0;
}

int shim_config_load(const char *path, struct shim_config *c, struct sbx_err *err)
{
	return shim_config_load_from(path, SHIM_CONFIG_DEFAULT, c, err);
}
