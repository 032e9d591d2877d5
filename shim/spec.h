/* The bundle's config.json as the guest must see it: host namespace paths dropped (the VM is
 * the pod: its containers share the VM's network namespace, which carries the pod network),
 * host files that spec mounts bind copied into the guest and the mounts pointed at the copies,
 * the pod's /dev/shm a tmpfs of the guest's. */
#pragma once

#include <stdbool.h>

struct sbx_err;
struct ttrpc_client;

struct shim_spec {
	char *json;       /* rewritten spec for the agent, malloc'ed */
	bool pod_sandbox; /* io.kubernetes.cri.container-type = sandbox */
	bool terminal;
	char root_path[4096];            /* root.path resolved against the bundle */
	unsigned long long memory_limit; /* bytes, 0 unset: sizes the VM */
};

/* Reads <bundle>/config.json. */
int shim_spec_load(const char *bundle, struct shim_spec *spec, struct sbx_err *err);
/* Copies bind sources through cl and rewrites the spec for container id. */
int shim_spec_prepare(struct shim_spec *spec, struct ttrpc_client *cl, const char *id,
		      struct sbx_err *err);
void shim_spec_free(struct shim_spec *spec);
