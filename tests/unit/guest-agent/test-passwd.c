/* -u USER[:GROUP] against an image's /etc/passwd and /etc/group: runc's rules (names, numbers
 * with and without entries, explicit groups, member groups), its error messages, garbage lines
 * skipped, and the files read only from inside the root (no symlink escape, no FIFO hang). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/err.h"
#include "guest-agent/passwd.h"
#include "oci/spec.h"
#include "tap.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
			     "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
			     "sbxuser:x:1000:1000:sbx user:/home/sbxuser:/bin/sh\n"
			     "nohome:x:1001:1001::\n";
static const char group[] = "root:x:0:\n"
			    "daemon:x:1:\n"
			    "staff:x:50:other\n"
			    "sbxgroup:x:1000:\n"
			    "extra:x:2000:other,sbxuser\n"
			    "more:x:2001:sbxuser\n"
			    "nogroup:x:65534:\n";

static struct passwd_user u;

static int resolve(const char *spec, struct sbx_err *err)
{
	memset(err, 0, sizeof(*err));
	return passwd_resolve(spec, passwd, strlen(passwd), group, strlen(group), &u, err);
}

TEST(name_gives_uid_gid_home_and_member_groups)
{
	struct sbx_err err;

	ASSERT_EQ(resolve("sbxuser", &err), 0);
	ASSERT_EQ(u.uid, 1000);
	ASSERT_EQ(u.gid, 1000);
	ASSERT_STR_EQ(u.home, "/home/sbxuser");
	ASSERT_EQ(u.nsgids, 2);
	ASSERT_EQ(u.sgids[0], 2000);
	ASSERT_EQ(u.sgids[1], 2001);
	ASSERT_EQ(resolve("nobody", &err), 0);
	ASSERT_EQ(u.uid, 65534);
	ASSERT_EQ(u.gid, 65534);
	ASSERT_EQ(u.nsgids, 0);
}

TEST(number_with_an_entry_is_that_user)
{
	struct sbx_err err;

	ASSERT_EQ(resolve("1000", &err), 0);
	ASSERT_EQ(u.uid, 1000);
	ASSERT_EQ(u.gid, 1000);
	ASSERT_STR_EQ(u.home, "/home/sbxuser");
	ASSERT_EQ(u.nsgids, 2);
}

TEST(number_without_an_entry_gets_gid_0_and_home_slash)
{
	struct sbx_err err;

	ASSERT_EQ(resolve("4242", &err), 0);
	ASSERT_EQ(u.uid, 4242);
	ASSERT_EQ(u.gid, 0);
	ASSERT_STR_EQ(u.home, "/");
	ASSERT_EQ(u.nsgids, 0);
}

TEST(explicit_group_replaces_the_gid_and_adds_no_member_groups)
{
	struct sbx_err err;

	ASSERT_EQ(resolve("sbxuser:staff", &err), 0);
	ASSERT_EQ(u.uid, 1000);
	ASSERT_EQ(u.gid, 50);
	ASSERT_EQ(u.nsgids, 0);
	ASSERT_EQ(resolve("daemon:2000", &err), 0);
	ASSERT_EQ(u.uid, 1);
	ASSERT_EQ(u.gid, 2000);
	ASSERT_EQ(resolve("1000:staff", &err), 0);
	ASSERT_EQ(u.uid, 1000);
	ASSERT_EQ(u.gid, 50);
	/* a number with no group entry is that gid */
	ASSERT_EQ(resolve("nobody:777", &err), 0);
	ASSERT_EQ(u.gid, 777);
	ASSERT_EQ(resolve("4242:nogroup", &err), 0);
	ASSERT_EQ(u.uid, 4242);
	ASSERT_EQ(u.gid, 65534);
}

TEST(empty_home_is_slash)
{
	struct sbx_err err;

	ASSERT_EQ(resolve("nohome", &err), 0);
	ASSERT_EQ(u.uid, 1001);
	ASSERT_STR_EQ(u.home, "/");
}

TEST(unknown_names_are_errors_in_runc_words)
{
	struct sbx_err err;

	ASSERT_EQ(resolve("ghost", &err), -ENOENT);
	ASSERT_STR_EQ(err.msg, "unable to find user ghost: no matching entries in passwd file");
	ASSERT_EQ(resolve("sbxuser:ghosts", &err), -ENOENT);
	ASSERT_STR_EQ(err.msg, "unable to find group ghosts: no matching entries in group file");
	ASSERT_EQ(resolve("4242:ghosts", &err), -ENOENT);
	ASSERT_STR_EQ(err.msg, "unable to find group ghosts: no matching entries in group file");
}

TEST(missing_files_are_empty)
{
	struct sbx_err err = {0};

	ASSERT_EQ(passwd_resolve("1000:50", NULL, 0, NULL, 0, &u, &err), 0);
	ASSERT_EQ(u.uid, 1000);
	ASSERT_EQ(u.gid, 50);
	ASSERT_EQ(passwd_resolve("root", NULL, 0, NULL, 0, &u, &err), -ENOENT);
	ASSERT_STR_EQ(err.msg, "unable to find user root: no matching entries in passwd file");
	ASSERT_EQ(passwd_resolve("sbxuser", passwd, strlen(passwd), NULL, 0, &u, &err), 0);
	ASSERT_EQ(u.nsgids, 0);
}

TEST(bad_specs_are_refused)
{
	static const char *const bad[] = {"",          ":staff", "sbxuser:",    "a:b:c",
					  "a\nb",      "a\tb",   "99999999999", "1:4294967296",
					  "2147483648"};
	struct sbx_err err;
	char long_spec[PASSWD_MAX_SPEC + 2];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (resolve(bad[i], &err) == 0)
			tap_fail(__FILE__, __LINE__, "'%s' was accepted", bad[i]);
		ASSERT_NE(err.msg[0], '\0');
	}
	memset(long_spec, 'a', sizeof(long_spec) - 1);
	long_spec[sizeof(long_spec) - 1] = '\0';
	ASSERT_LT(resolve(long_spec, &err), 0);
	ASSERT_EQ(resolve("2147483647", &err), 0);
	ASSERT_EQ(u.uid, 2147483647u);
}

TEST(garbage_lines_are_skipped)
{
	static const char pw[] = "\xff\xfe garbage\n"
				 "\n"
				 "# a comment:x:0:0\n"
				 "evil:x:notanumber:0:::\n"
				 "evil2:x:5\n"
				 ":x:7:7:::\n"
				 "nul\0name:x:8:8:::\n"
				 "  spaced:x:9:9::/sp:/bin/sh  \r\n"
				 "crlf:x:10:10::/c:/bin/sh\r\n"
				 "dup:x:11:11::/first:\n"
				 "dup:x:12:12::/second:\n"
				 "big:x:99999999999:1:::\n"
				 "short:x:13:13";
	static const char gr[] = "junk\n"
				 "g1:x:bad:crlf\n"
				 "g2:x:300:,,crlf,\r\n"
				 "g3:x:301:crlfx,xcrlf\n"
				 "g4:x:302:dup, crlf\n"
				 "g5:x:300:crlf\n";
	struct sbx_err err = {0};

#define R(s) passwd_resolve(s, pw, sizeof(pw) - 1, gr, sizeof(gr) - 1, &u, &err)
	ASSERT_EQ(R("evil"), -ENOENT);
	ASSERT_EQ(R("evil2"), -ENOENT);
	ASSERT_EQ(R("nul"), -ENOENT);
	ASSERT_EQ(R("spaced"), 0);
	ASSERT_EQ(u.uid, 9);
	ASSERT_STR_EQ(u.home, "/sp");
	ASSERT_EQ(R("crlf"), 0);
	ASSERT_EQ(u.uid, 10);
	ASSERT_STR_EQ(u.home, "/c");
	/* g2 and g5 share gid 300: listed once; " crlf" in g4 is not "crlf" */
	ASSERT_EQ(u.nsgids, 1);
	ASSERT_EQ(u.sgids[0], 300);
	ASSERT_EQ(R("dup"), 0);
	ASSERT_EQ(u.uid, 11);
	ASSERT_STR_EQ(u.home, "/first");
	ASSERT_EQ(R("big"), -ENOENT);
	ASSERT_EQ(R("short"), 0);
	ASSERT_EQ(u.uid, 13);
	ASSERT_STR_EQ(u.home, "/");
	ASSERT_EQ(R("0"), 0); /* runc has no comments: "# a comment" is a user with uid 0 */
	ASSERT_EQ(u.gid, 0);
	ASSERT_STR_EQ(u.home, "/");
#undef R
}

TEST(too_many_member_groups_is_an_error)
{
	size_t size = 400 * 40, n = 0;
	_cleanup_free_ char *gr = malloc(size);
	struct sbx_err err = {0};

	ASSERT_NOT_NULL(gr);
	for (int i = 0; i < 400; i++)
		n += (size_t)snprintf(gr + n, size - n, "g%d:x:%d:sbxuser\n", i, 3000 + i);
	ASSERT_EQ(passwd_resolve("sbxuser", passwd, strlen(passwd), gr, n, &u, &err), -E2BIG);
	ASSERT_NE(strstr(err.msg, "more than"), NULL);
}

static struct oci_process *process_with(const char *env0, uint32_t gid0)
{
	struct oci_process *p = calloc(1, sizeof(*p));

	p->env = calloc(2, sizeof(*p->env));
	p->env[0] = strdup(env0);
	p->nenv = 1;
	p->gids = calloc(1, sizeof(*p->gids));
	p->gids[0] = gid0;
	p->ngids = 1;
	return p;
}

static void process_free(struct oci_process *p)
{
	for (size_t i = 0; i < p->nenv; i++)
		free(p->env[i]);
	free(p->env);
	free(p->gids);
	free(p);
}

TEST(apply_sets_ids_groups_and_home)
{
	struct oci_process *p = process_with("PATH=/bin", 2001);
	struct sbx_err err = {0};

	ASSERT_EQ(resolve("sbxuser", &err), 0);
	ASSERT_EQ(passwd_apply(&u, p, &err), 0);
	ASSERT_EQ(p->uid, 1000);
	ASSERT_EQ(p->gid, 1000);
	/* docker's order: primary gid, member groups, then the spec's own; each once */
	ASSERT_EQ(p->ngids, 3);
	ASSERT_EQ(p->gids[0], 1000);
	ASSERT_EQ(p->gids[1], 2000);
	ASSERT_EQ(p->gids[2], 2001);
	ASSERT_EQ(p->nenv, 2);
	ASSERT_STR_EQ(p->env[1], "HOME=/home/sbxuser");
	ASSERT_NULL(p->env[2]);
	process_free(p);
}

TEST(apply_keeps_a_given_home)
{
	struct oci_process *p = process_with("HOME=/mine", 7);
	struct sbx_err err = {0};

	ASSERT_EQ(resolve("nobody", &err), 0);
	ASSERT_EQ(passwd_apply(&u, p, &err), 0);
	ASSERT_EQ(p->nenv, 1);
	ASSERT_STR_EQ(p->env[0], "HOME=/mine");
	ASSERT_EQ(p->ngids, 2);
	process_free(p);
}

/* ---- reading from a root --------------------------------------------------------------------- */

static int sh(const char *cmd, const char *dir)
{
	setenv("T", dir, 1);
	return system(cmd);
}

static int resolve_in(const char *root, const char *spec, struct sbx_err *err)
{
	_cleanup_close_ int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	memset(err, 0, sizeof(*err));
	return passwd_resolve_in_root(fd, spec, &u, err);
}

TEST(files_are_read_from_the_root)
{
	const char *t = tap_tmpdir();
	char root[512];
	struct sbx_err err;

	snprintf(root, sizeof(root), "%s/ok", t);
	ASSERT_EQ(sh("set -e; mkdir -p $T/ok/etc; printf 'app:x:70:71::/srv:\\n' >$T/ok/etc/passwd;"
		     " printf 'app:x:71:\\nx:x:72:app\\n' >$T/ok/etc/group",
		     t),
		  0);
	ASSERT_EQ(resolve_in(root, "app", &err), 0);
	ASSERT_EQ(u.uid, 70);
	ASSERT_EQ(u.gid, 71);
	ASSERT_EQ(u.nsgids, 1);
	ASSERT_EQ(u.sgids[0], 72);
	ASSERT_STR_EQ(u.home, "/srv");
	/* no /etc at all: numbers still work */
	snprintf(root, sizeof(root), "%s/empty", t);
	ASSERT_EQ(mkdir(root, 0755), 0);
	ASSERT_EQ(resolve_in(root, "5:6", &err), 0);
	ASSERT_EQ(u.uid, 5);
	ASSERT_EQ(u.gid, 6);
	ASSERT_EQ(resolve_in(root, "app", &err), -ENOENT);
}

TEST(a_symlink_cannot_leave_the_root)
{
	const char *t = tap_tmpdir();
	char root[512];
	struct sbx_err err;

	/* $T/outside-passwd has "evil"; the image links to it by absolute path and through .. */
	snprintf(root, sizeof(root), "%s/sym", t);
	ASSERT_EQ(sh("set -e; printf 'evil:x:0:0::/:\\n' >$T/outside-passwd; mkdir -p $T/sym/etc;"
		     " ln -s $T/outside-passwd $T/sym/etc/passwd;"
		     " ln -s ../../../../../../../../$T/outside-passwd $T/sym/etc/group",
		     t),
		  0);
	ASSERT_EQ(resolve_in(root, "evil", &err), -ENOENT);
	ASSERT_STR_EQ(err.msg, "unable to find user evil: no matching entries in passwd file");
	/* a link that stays inside the root is followed there */
	ASSERT_EQ(
	    sh("set -e; mkdir -p $T/sym2/etc $T/sym2/real;"
	       " printf 'in:x:3:4::/:\\n' >$T/sym2/real/pw; ln -s /real/pw $T/sym2/etc/passwd",
	       t),
	    0);
	snprintf(root, sizeof(root), "%s/sym2", t);
	ASSERT_EQ(resolve_in(root, "in", &err), 0);
	ASSERT_EQ(u.uid, 3);
}

TEST(only_regular_files_of_bounded_size)
{
	const char *t = tap_tmpdir();
	char root[512];
	struct sbx_err err;

	snprintf(root, sizeof(root), "%s/fifo", t);
	ASSERT_EQ(sh("set -e; mkdir -p $T/fifo/etc; mkfifo $T/fifo/etc/passwd", t), 0);
	ASSERT_EQ(resolve_in(root, "x", &err), -EINVAL);
	ASSERT_STR_EQ(err.msg, "/etc/passwd in the image is not a regular file");
	snprintf(root, sizeof(root), "%s/dir", t);
	ASSERT_EQ(sh("set -e; mkdir -p $T/dir/etc/passwd", t), 0);
	ASSERT_EQ(resolve_in(root, "x", &err), -EINVAL);
	snprintf(root, sizeof(root), "%s/big", t);
	ASSERT_EQ(sh("set -e; mkdir -p $T/big/etc; truncate -s 1048577 $T/big/etc/group", t), 0);
	ASSERT_EQ(resolve_in(root, "0", &err), -EFBIG);
	ASSERT_NE(strstr(err.msg, "/etc/group in the image is larger than"), NULL);
}

TEST(the_annotation_drives_the_spec)
{
	const char *t = tap_tmpdir();
	static const char json[] =
	    "{\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"env\":[\"PATH=/bin\"],"
	    "\"user\":{\"uid\":0,\"gid\":0}},\"root\":{\"path\":\"rootfs\"},"
	    "\"annotations\":{\"other\":\"x\",\"io.kata-lite.user\":\"app:x\"}}";
	struct oci_spec *s = NULL;
	struct sbx_err err = {0};
	size_t ngids;
	uint32_t uid, gid;
	bool home;
	char root[512];
	int r;

	snprintf(root, sizeof(root), "%s/ok", t);
	ASSERT_EQ(sh("set -e; mkdir -p $T/ok/etc; printf 'app:x:70:71::/srv:\\n' >$T/ok/etc/passwd;"
		     " printf 'app:x:71:\\nx:x:72:app\\n' >$T/ok/etc/group",
		     t),
		  0);
	ASSERT_EQ(oci_spec_parse(json, sizeof(json) - 1, &s, &err), 0);
	ASSERT_STR_EQ(oci_spec_annotation(s, PASSWD_USER_ANNOTATION), "app:x");
	r = passwd_resolve_spec(s, root, &err);
	uid = s->process.uid;
	gid = s->process.gid;
	ngids = s->process.ngids;
	home = s->process.nenv == 2 && !strcmp(s->process.env[1], "HOME=/srv");
	oci_spec_free(s);
	ASSERT_EQ(r, 0);
	ASSERT_EQ(uid, 70);
	ASSERT_EQ(gid, 72);
	ASSERT_EQ(ngids, 1);
	ASSERT_TRUE(home);
}

TEST(no_annotation_leaves_the_spec_alone)
{
	static const char json[] = "{\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\","
				   "\"user\":{\"uid\":5,\"gid\":6}}}";
	struct oci_spec *s = NULL;
	struct sbx_err err = {0};

	ASSERT_EQ(oci_spec_parse(json, sizeof(json) - 1, &s, &err), 0);
	ASSERT_EQ(passwd_resolve_spec(s, "/nonexistent", &err), 0);
	ASSERT_EQ(s->process.uid, 5);
	ASSERT_EQ(s->process.gid, 6);
	ASSERT_EQ(s->process.nenv, 0);
	oci_spec_free(s);
}
