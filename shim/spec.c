/* config.json rewriting for the guest (see spec.h). */
#define _GNU_SOURCE
#include "shim/spec.h"

#include "agent/client.h"
#include "base/err.h"
#include "base/guest-shared.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static json_t *load_json(const char *bundle, struct sbx_err *err)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		sbx_failx(err, EINVAL, "%s: line %d: %s", path, je.line, je.text);
	else if (!json_is_object(root)) {
		json_decref(root);
		root = NULL;
		sbx_failx(err, EINVAL, "%s: not a JSON object", path);
	}
	return root;
}

int shim_spec_load(const char *bundle, struct shim_spec *spec, struct sbx_err *err)
{
	memset(spec, 0, sizeof(*spec));
	json_t *root = load_json(bundle, err);
	if (!root)
		return -err->code;
	json_t *ann = json_object_get(root, "annotations");
	const char *type =
	    json_string_value(json_object_get(ann, "io.kubernetes.cri.container-type"));
	spec->pod_sandbox = type && !strcmp(type, "sandbox");
	spec->terminal =
	    json_is_true(json_object_get(json_object_get(root, "process"), "terminal"));
	const char *rp = json_string_value(json_object_get(json_object_get(root, "root"), "path"));
	if (!rp || !*rp)
		rp = "rootfs";
	if (rp[0] == '/')
		snprintf(spec->root_path, sizeof(spec->root_path), "%s", rp);
	else
		snprintf(spec->root_path, sizeof(spec->root_path), "%s/%s", bundle, rp);
	json_t *limit = json_object_get(
	    json_object_get(json_object_get(json_object_get(root, "linux"), "resources"), "memory"),
	    "limit");
	if (json_is_integer(limit) && json_integer_value(limit) > 0)
		spec->memory_limit = (unsigned long long)json_integer_value(limit);
	const char *pod_mem =
	    json_string_value(json_object_get(ann, "io.kubernetes.cri.sandbox-memory"));
	if (pod_mem) {
		char *end;
		unsigned long long v = strtoull(pod_mem, &end, 10);
		if (!*end && v > spec->memory_limit)
			spec->memory_limit = v;
	}
	spec->json = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!spec->json)
		return sbx_fail(err, ENOMEM, "config.json");
	return 0;
}

static bool is_bind(json_t *m)
{
	const char *type = json_string_value(json_object_get(m, "type"));
	if (type && !strcmp(type, "bind"))
		return true;
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(m, "options"), i, o)
	{
		const char *s = json_string_value(o);
		if (s && (!strcmp(s, "bind") || !strcmp(s, "rbind")))
			return true;
	}
	return false;
}

static int rewrite_mounts(json_t *root, struct ttrpc_client *cl, const char *id,
			  struct sbx_err *err)
{
	json_t *mounts = json_object_get(root, "mounts");
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m)
	{
		if (!is_bind(m))
			continue;
		const char *dst = json_string_value(json_object_get(m, "destination"));
		const char *src = json_string_value(json_object_get(m, "source"));
		if (!dst || !src)
			return sbx_failx(err, EINVAL,
					 "config.json: mount %zu lacks a source or "
					 "destination",
					 i);
		if (!strcmp(dst, "/dev/shm")) {
			/* the pod's shm lives in the guest: a tmpfs per container */
			json_object_set_new(m, "type", json_string("tmpfs"));
			json_object_set_new(m, "source", json_string("shm"));
			json_object_set_new(
			    m, "options",
			    json_pack("[s,s,s,s]", "nosuid", "noexec", "nodev", "size=65536k"));
			continue;
		}
		struct stat st;
		if (lstat(src, &st) < 0)
			return sbx_fail(err, errno, "bind mount source '%s'", src);
		char rel[300], guest[400];
		snprintf(rel, sizeof(rel), "%s/%zu", id, i);
		if (agent_copy_path(cl, src, rel, err) < 0)
			return sbx_wrap(err, "copy '%s' into the VM for %s", src, dst);
		snprintf(guest, sizeof(guest), SBX_GUEST_SHARED_DIR "/%s", rel);
		json_object_set_new(m, "source", json_string(guest));
	}
	return 0;
}

/* Host namespace paths mean nothing in the guest; the network namespace is the VM's own. */
static void rewrite_namespaces(json_t *root)
{
	json_t *ns = json_object_get(json_object_get(root, "linux"), "namespaces");
	for (size_t i = json_array_size(ns); i-- > 0;) {
		json_t *n = json_array_get(ns, i);
		const char *type = json_string_value(json_object_get(n, "type"));
		if (type && !strcmp(type, "network"))
			json_array_remove(ns, i);
		else
			json_object_del(n, "path");
	}
}

int shim_spec_prepare(struct shim_spec *spec, struct ttrpc_client *cl, const char *id,
		      struct sbx_err *err)
{
	json_error_t je;
	json_t *root = json_loads(spec->json, 0, &je);
	if (!root)
		return sbx_failx(err, EINVAL, "config.json: %s", je.text);
	rewrite_namespaces(root);
	int r = rewrite_mounts(root, cl, id, err);
	if (r == 0) {
		char *out = json_dumps(root, JSON_COMPACT);
		if (!out) {
			r = sbx_fail(err, ENOMEM, "config.json");
		} else {
			free(spec->json);
			spec->json = out;
		}
	}
	json_decref(root);
	return r;
}

void shim_spec_free(struct shim_spec *spec)
{
	free(spec->json);
	spec->json = NULL;
}
