/* docker's `-u USER[:GROUP]` resolved against the container image's own /etc/passwd and
 * /etc/group, with the rules of runc's libcontainer/user (GetExecUser). The resolver works on
 * buffers so it can be unit-tested and fuzzed; the files are read with openat2(RESOLVE_IN_ROOT). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "oci/spec.h"

struct sbx_err;

/* The spec annotation the host puts the unresolved USER[:GROUP] in (cli/run-spec.c). */
#define PASSWD_USER_ANNOTATION "io.kata-lite.user"

#define PASSWD_MAX_FILE (1u << 20) /* bytes read of each file; larger is an error */
#define PASSWD_MAX_SPEC 256        /* length of USER[:GROUP] */
#define PASSWD_MAX_ID 2147483647u  /* runc's range: uids and gids are 0..2^31-1 */
#define PASSWD_MAX_HOME (OCI_MAX_STR - sizeof("HOME=")) /* HOME=<home> stays a valid env entry */

struct passwd_user {
	uint32_t uid, gid;
	uint32_t sgids[OCI_MAX_GIDS]; /* groups of /etc/group that list the user as a member */
	size_t nsgids;
	char home[PASSWD_MAX_HOME]; /* "/" when the user has no passwd entry */
};

/* Resolves spec ("USER[:GROUP]", each a name or a number) against the contents of passwd and
 * group; a NULL buffer stands for a file the image does not have. Errors name the problem in
 * runc's words ("unable to find user X: no matching entries in passwd file"); *ret is then
 * undefined. */
int passwd_resolve(const char *spec, const char *passwd, size_t passwd_len, const char *group,
		   size_t group_len, struct passwd_user *ret, struct sbx_err *err);

/* The same against <root>/etc/passwd and <root>/etc/group, root an O_PATH directory fd: both
 * are resolved inside root, so a symlink in the image cannot point outside it. */
int passwd_resolve_in_root(int rootfd, const char *spec, struct passwd_user *ret,
			   struct sbx_err *err);

/* Sets p's uid and gid from u, adds u's gid and supplementary groups to p's additional gids
 * (docker lists the primary gid there too) and sets HOME unless p's env has one. */
int passwd_apply(const struct passwd_user *u, struct oci_process *p, struct sbx_err *err);

/* If spec carries PASSWD_USER_ANNOTATION, resolves it against the files under root (the
 * container's mounted rootfs) and applies the result to spec->process. */
int passwd_resolve_spec(struct oci_spec *spec, const char *root, struct sbx_err *err);
