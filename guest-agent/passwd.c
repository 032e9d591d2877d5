/* USER[:GROUP] -> uid, gid, supplementary groups and home, from the image's /etc/passwd and
 * /etc/group (untrusted image content: lines that do not parse are skipped, sizes capped). */
#define _GNU_SOURCE
#include "guest-agent/passwd.h"

#include "base/cleanup.h"
#include "base/err.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A slice of a file's buffer; never NUL-terminated. */
struct field {
	const char *p;
	size_t n;
};

struct pw_entry {
	struct field name, home;
	uint32_t uid, gid;
};

struct gr_entry {
	struct field name, members;
	uint32_t gid;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* The next line of buf at *pos, trimmed of surrounding white space as runc does; false at the
 * end of buf. */
static bool next_line(const char *buf, size_t len, size_t *pos, struct field *line)
{
	const char *s, *nl;
	size_t n;

	if (!buf || *pos >= len)
		return false;
	s = buf + *pos;
	nl = memchr(s, '\n', len - *pos);
	n = nl ? (size_t)(nl - s) : len - *pos;
	*pos += n + (nl ? 1 : 0);
	while (n && is_space(*s))
		s++, n--;
	while (n && is_space(s[n - 1]))
		n--;
	line->p = s;
	line->n = n;
	return true;
}

/* Splits line at sep into at most max fields (the rest is ignored, like runc's parseLine);
 * returns how many there are. */
static size_t split(struct field line, char sep, struct field *f, size_t max)
{
	size_t n = 0;
	const char *p = line.p, *end = line.p + line.n;

	while (n < max) {
		const char *q = memchr(p, sep, (size_t)(end - p));

		f[n].p = p;
		f[n].n = q ? (size_t)(q - p) : (size_t)(end - p);
		n++;
		if (!q)
			break;
		p = q + 1;
	}
	return n;
}

/* A uid or gid: decimal digits only, at most PASSWD_MAX_ID. */
static bool parse_id(const char *p, size_t n, uint32_t *ret)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > PASSWD_MAX_ID)
		return false;
	*ret = (uint32_t)v;
	return true;
}

static bool field_is(struct field f, const char *s)
{
	return f.n == strlen(s) && !memcmp(f.p, s, f.n);
}

/* name:password:uid:gid:gecos:home:shell (passwd(5)). A line without a name or with a uid or
 * gid that is not a number, or with a NUL byte, is garbage: skipped, never half-used. */
static bool parse_pw_line(struct field line, struct pw_entry *e)
{
	struct field f[7] = {{0}};
	size_t n;

	if (memchr(line.p, '\0', line.n))
		return false;
	n = split(line, ':', f, 7);
	if (n < 4 || f[0].n == 0 || !parse_id(f[2].p, f[2].n, &e->uid) ||
	    !parse_id(f[3].p, f[3].n, &e->gid))
		return false;
	e->name = f[0];
	e->home = n > 5 ? f[5] : (struct field){"", 0};
	return true;
}

/* name:password:gid:member,member (group(5)), with the same garbage rule. */
static bool parse_gr_line(struct field line, struct gr_entry *e)
{
	struct field f[4] = {{0}};
	size_t n;

	if (memchr(line.p, '\0', line.n))
		return false;
	n = split(line, ':', f, 4);
	if (n < 3 || f[0].n == 0 || !parse_id(f[2].p, f[2].n, &e->gid))
		return false;
	e->name = f[0];
	e->members = n > 3 ? f[3] : (struct field){"", 0};
	return true;
}

static bool is_member(const struct gr_entry *g, struct field user)
{
	struct field m = g->members;
	const char *end = m.p + m.n;

	for (const char *p = m.p; p <= end;) {
		const char *q = memchr(p, ',', (size_t)(end - p));
		size_t n = q ? (size_t)(q - p) : (size_t)(end - p);

		if (n == user.n && n && !memcmp(p, user.p, n))
			return true;
		if (!q)
			break;
		p = q + 1;
	}
	return false;
}

/* The first passwd entry with that uid (numeric) or name; first match wins, as in runc. */
static bool find_user(const char *passwd, size_t len, const char *name, bool numeric, uint32_t uid,
		      struct pw_entry *ret)
{
	struct field line;
	size_t pos = 0;

	while (next_line(passwd, len, &pos, &line))
		if (parse_pw_line(line, ret) &&
		    (numeric ? ret->uid == uid : field_is(ret->name, name)))
			return true;
	return false;
}

static bool find_group(const char *group, size_t len, const char *name, bool numeric, uint32_t gid,
		       uint32_t *ret)
{
	struct gr_entry g;
	struct field line;
	size_t pos = 0;

	while (next_line(group, len, &pos, &line))
		if (parse_gr_line(line, &g) && (numeric ? g.gid == gid : field_is(g.name, name))) {
			*ret = g.gid;
			return true;
		}
	return false;
}

/* Every group that lists user as a member, each gid once; errors name the user as asked for
 * (shown), never with bytes from the file. */
static int member_groups(const char *group, size_t len, struct field user, const char *shown,
			 struct passwd_user *u, struct sbx_err *err)
{
	struct gr_entry g;
	struct field line;
	size_t pos = 0;

	while (next_line(group, len, &pos, &line)) {
		bool seen = false;

		if (!parse_gr_line(line, &g) || !is_member(&g, user))
			continue;
		for (size_t i = 0; i < u->nsgids && !seen; i++)
			seen = u->sgids[i] == g.gid;
		if (seen)
			continue;
		if (u->nsgids == OCI_MAX_GIDS)
			return sbx_failx(err, E2BIG, "user %s: in more than %d groups", shown,
					 OCI_MAX_GIDS);
		u->sgids[u->nsgids++] = g.gid;
	}
	return 0;
}

/* Splits "USER[:GROUP]" into user and group (NULL when absent), both non-empty. */
static int split_spec(const char *spec, char *buf, size_t size, char **user, char **group,
		      struct sbx_err *err)
{
	size_t n = strlen(spec);
	char *colon;

	if (n == 0 || n >= size || n > PASSWD_MAX_SPEC)
		return sbx_failx(err, EINVAL, "user '%.64s': must be 1-%d bytes", spec,
				 PASSWD_MAX_SPEC);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)spec[i] < 0x20 || spec[i] == 0x7f)
			return sbx_failx(err, EINVAL, "user: contains a control character");
	memcpy(buf, spec, n + 1);
	colon = strchr(buf, ':');
	if (colon) {
		*colon = '\0';
		if (strchr(colon + 1, ':'))
			return sbx_failx(err, EINVAL, "user '%s': expected USER[:GROUP]", spec);
	}
	*user = buf;
	*group = colon ? colon + 1 : NULL;
	if (!**user || (*group && !**group))
		return sbx_failx(err, EINVAL, "user '%s': empty user or group name", spec);
	return 0;
}

/* A number, if s is all digits: 1, or 0 for a name, or -ERANGE. */
static int parse_numeric(const char *s, uint32_t *ret)
{
	size_t n = strspn(s, "0123456789");

	if (s[n])
		return 0;
	return parse_id(s, n, ret) ? 1 : -ERANGE;
}

int passwd_resolve(const char *spec, const char *passwd, size_t passwd_len, const char *group,
		   size_t group_len, struct passwd_user *ret, struct sbx_err *err)
{
	char buf[PASSWD_MAX_SPEC + 1], *uname = NULL, *gname = NULL;
	uint32_t uid = 0, gid = 0;
	struct pw_entry pw;
	bool matched;
	int unum, gnum = 0;

	if (split_spec(spec, buf, sizeof(buf), &uname, &gname, err) < 0)
		return -err->code;
	unum = parse_numeric(uname, &uid);
	if (gname)
		gnum = parse_numeric(gname, &gid);
	if (unum < 0 || gnum < 0)
		return sbx_failx(err, ERANGE, "user '%s': uids and gids must be in range 0-%u",
				 spec, PASSWD_MAX_ID);
	memset(ret, 0, sizeof(*ret));
	matched = find_user(passwd, passwd_len, uname, unum, uid, &pw);
	if (!matched && !unum)
		return sbx_failx(err, ENOENT,
				 "unable to find user %s: no matching entries in passwd file",
				 uname);
	/* runc: a number without an entry is that uid, with gid 0 and home "/" */
	ret->uid = matched ? pw.uid : uid;
	ret->gid = matched ? pw.gid : 0;
	if (matched && pw.home.n >= sizeof(ret->home))
		return sbx_failx(err, ENAMETOOLONG, "user %s: home directory longer than %zu bytes",
				 uname, sizeof(ret->home) - 1);
	if (matched && pw.home.n)
		memcpy(ret->home, pw.home.p, pw.home.n);
	else
		ret->home[0] = '/';
	if (gname) {
		/* an explicit group replaces the primary one; runc then adds no member groups */
		if (find_group(group, group_len, gname, gnum, gid, &ret->gid))
			return 0;
		if (!gnum)
			return sbx_failx(
			    err, ENOENT,
			    "unable to find group %s: no matching entries in group file", gname);
		ret->gid = gid;
		return 0;
	}
	return matched ? member_groups(group, group_len, pw.name, uname, ret, err) : 0;
}

/* Reads path inside root into a new buffer; *ret NULL when the image has no such file. */
static int read_in_root(int rootfd, const char *path, char **ret, size_t *ret_len,
			struct sbx_err *err)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	_cleanup_close_ int pfd = -1, fd = -1;
	_cleanup_free_ char *buf = NULL;
	char proc[64];
	struct stat st;
	size_t n = 0;

	*ret = NULL;
	*ret_len = 0;
	pfd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (pfd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	if (pfd < 0)
		return sbx_fail(err, errno, "open %s in the image", path);
	if (fstat(pfd, &st) < 0)
		return sbx_fail(err, errno, "stat %s in the image", path);
	/* a FIFO would block CreateContainer, a device node could be anything */
	if (!S_ISREG(st.st_mode))
		return sbx_failx(err, EINVAL, "%s in the image is not a regular file", path);
	if (st.st_size > PASSWD_MAX_FILE)
		return sbx_failx(err, EFBIG, "%s in the image is larger than %u bytes", path,
				 PASSWD_MAX_FILE);
	/* O_PATH cannot read; reopening the fd's /proc link opens this very inode */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return sbx_fail(err, errno, "open %s in the image", path);
	buf = malloc(PASSWD_MAX_FILE + 1);
	if (!buf)
		return sbx_fail(err, ENOMEM, "read %s in the image", path);
	for (;;) {
		ssize_t r = read(fd, buf + n, PASSWD_MAX_FILE + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return sbx_fail(err, errno, "read %s in the image", path);
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > PASSWD_MAX_FILE)
			return sbx_failx(err, EFBIG, "%s in the image is larger than %u bytes",
					 path, PASSWD_MAX_FILE);
	}
	*ret = TAKE_PTR(buf);
	*ret_len = n;
	return 0;
}

int passwd_resolve_in_root(int rootfd, const char *spec, struct passwd_user *ret,
			   struct sbx_err *err)
{
	_cleanup_free_ char *passwd = NULL, *group = NULL;
	size_t passwd_len, group_len;

	if (read_in_root(rootfd, "/etc/passwd", &passwd, &passwd_len, err) < 0 ||
	    read_in_root(rootfd, "/etc/group", &group, &group_len, err) < 0)
		return -err->code;
	return passwd_resolve(spec, passwd, passwd_len, group, group_len, ret, err);
}

static bool add_gid(uint32_t *gids, size_t *n, uint32_t gid)
{
	for (size_t i = 0; i < *n; i++)
		if (gids[i] == gid)
			return true;
	if (*n == OCI_MAX_GIDS)
		return false;
	gids[(*n)++] = gid;
	return true;
}

int passwd_apply(const struct passwd_user *u, struct oci_process *p, struct sbx_err *err)
{
	uint32_t gids[OCI_MAX_GIDS] = {0}, *new_gids;
	char **env = NULL, *home = NULL;
	size_t n = 0, home_size = strlen(u->home) + sizeof("HOME=");
	bool ok, has_home = false;

	/* docker's order: the primary gid, the member groups, then any the spec already had */
	ok = add_gid(gids, &n, u->gid);
	for (size_t i = 0; ok && i < u->nsgids; i++)
		ok = add_gid(gids, &n, u->sgids[i]);
	for (size_t i = 0; ok && i < p->ngids; i++)
		ok = add_gid(gids, &n, p->gids[i]);
	if (!ok)
		return sbx_failx(err, E2BIG, "user: more than %d groups", OCI_MAX_GIDS);
	for (size_t i = 0; i < p->nenv; i++)
		has_home |= !strncmp(p->env[i], "HOME=", 5);
	new_gids = calloc(n, sizeof(*new_gids));
	if (!has_home)
		home = malloc(home_size);
	if (!has_home && home)
		env = realloc(p->env, (p->nenv + 2) * sizeof(*env));
	if (env)
		p->env = env; /* the old array may be gone; its entries moved over */
	if (!new_gids || (!has_home && !env)) {
		free(new_gids);
		free(home);
		return sbx_fail(err, ENOMEM, "user");
	}
	memcpy(new_gids, gids, n * sizeof(*gids));
	free(p->gids);
	p->gids = new_gids;
	p->ngids = n;
	if (env) {
		snprintf(home, home_size, "HOME=%s", u->home);
		env[p->nenv++] = home;
		env[p->nenv] = NULL;
	}
	p->uid = u->uid;
	p->gid = u->gid;
	return 0;
}

int passwd_resolve_spec(struct oci_spec *spec, const char *root, struct sbx_err *err)
{
	const char *user = oci_spec_annotation(spec, PASSWD_USER_ANNOTATION);
	_cleanup_close_ int rootfd = -1;
	_cleanup_free_ struct passwd_user *u = NULL;

	if (!user)
		return 0;
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return sbx_fail(err, errno, "open %s", root);
	u = malloc(sizeof(*u));
	if (!u)
		return sbx_fail(err, ENOMEM, "user");
	if (passwd_resolve_in_root(rootfd, user, u, err) < 0 ||
	    passwd_apply(u, &spec->process, err) < 0)
		return -err->code;
	return 0;
}
