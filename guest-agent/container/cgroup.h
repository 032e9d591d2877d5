/* cgroup v2 group of one container (cgroup.c). dir is an absolute path under cgroup2. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "oci/spec.h"

struct cg_stats {
	uint64_t cpu_usec, cpu_user_usec, cpu_system_usec;
	uint64_t mem_current, mem_anon, mem_file, mem_max; /* mem_max, pids_max: 0 = no limit */
	uint64_t pids_current, pids_max, oom_kills, io_rbytes, io_wbytes;
};

int cg_create(const char *parent, const char *id, const struct oci_resources *r, char **ret_dir,
	      struct sbx_err *err);
int cg_apply(const char *dir, const struct oci_resources *r, struct sbx_err *err);
int cg_join(const char *dir, pid_t pid, struct sbx_err *err);
int cg_freeze(const char *dir, bool frozen, struct sbx_err *err);
int cg_kill_all(const char *dir, struct sbx_err *err);
int cg_stats(const char *dir, struct cg_stats *s);
/* memory.events oom_kill alone (cg_stats reads a dozen files). */
uint64_t cg_oom_kills(const char *dir);
int cg_remove(const char *dir, struct sbx_err *err);
