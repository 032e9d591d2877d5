/* Content-addressed blob store and references; sha256 through OpenSSL's EVP. */
#define _GNU_SOURCE
#include "image/store.h"

#include "base/cleanup.h"
#include "base/err.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SMALL_BLOB_MAX (4u << 20)

int image_digest_valid(const char *d)
{
	if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return 0;
	for (const char *p = d + 7; *p; p++)
		if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
			return 0;
	return 1;
}

static int mkdirs_at(int dirfd, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdirat(dirfd, buf, 0700) < 0 && errno != EEXIST)
				return -errno;
			if (c == '\0')
				return 0;
			*p = c;
		}
	}
}

int image_store_open(struct image_store *s, const char *root, struct sbx_err *err)
{
	memset(s, 0, sizeof(*s));
	s->rootfd = -1;
	if (snprintf(s->root, sizeof(s->root), "%s", root) >= (int)sizeof(s->root))
		return sbx_failx(err, ENAMETOOLONG, "store root '%s' too long", root);
	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		return sbx_fail(err, errno, "create store root '%s'", root);
	s->rootfd = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (s->rootfd < 0)
		return sbx_fail(err, errno, "open store root '%s'", root);
	/* Held shared while open; image_store_gc deletes only when it gets it exclusively. A
	 * filesystem without flock() gets no protection rather than no store. */
	if (flock(s->rootfd, LOCK_SH) < 0 && errno != ENOLCK && errno != EOPNOTSUPP) {
		int e = errno;
		close(s->rootfd);
		s->rootfd = -1;
		return sbx_fail(err, e, "lock store root '%s'", root);
	}
	int r;
	if ((r = mkdirs_at(s->rootfd, "blobs/sha256")) < 0 ||
	    (r = mkdirs_at(s->rootfd, "refs")) < 0 || (r = mkdirs_at(s->rootfd, "tmp")) < 0) {
		close(s->rootfd);
		s->rootfd = -1;
		return sbx_fail(err, -r, "create store layout under '%s'", root);
	}
	return 0;
}

void image_store_close(struct image_store *s)
{
	if (s && s->rootfd >= 0) {
		close(s->rootfd);
		s->rootfd = -1;
	}
}

static void hex_digest(EVP_MD_CTX *ctx, char out[IMAGE_DIGEST_MAX])
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_DigestFinal_ex(ctx, md, &n);
	strcpy(out, "sha256:");
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

/* A temp file in the store's tmp/ dir, so the final rename stays on one filesystem. */
static int open_tmp(struct image_store *s, char name[64])
{
	static unsigned counter;
	for (int tries = 0; tries < 100; tries++) {
		snprintf(name, 64, "tmp/%d-%u", (int)getpid(), __atomic_add_fetch(&counter, 1, 0));
		int fd = openat(s->rootfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd < 0 ? -errno : fd;
	}
	return -EEXIST;
}

int image_blob_begin(struct image_store *s, struct image_blob_writer *w, struct sbx_err *err)
{
	memset(w, 0, sizeof(*w));
	w->store = s;
	w->fd = open_tmp(s, w->tmp);
	if (w->fd < 0)
		return sbx_fail(err, -w->fd, "create temp blob in '%s'", s->root);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		image_blob_abort(w);
		return sbx_fail(err, ENOMEM, "sha256 context");
	}
	w->md_ctx = ctx;
	return 0;
}

int image_blob_write(struct image_blob_writer *w, const void *buf, size_t len, struct sbx_err *err)
{
	EVP_DigestUpdate(w->md_ctx, buf, len);
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(w->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sbx_fail(err, errno, "write blob to '%s'", w->store->root);
		p += n;
		len -= (size_t)n;
		w->size += (uint64_t)n;
	}
	return 0;
}

void image_blob_abort(struct image_blob_writer *w)
{
	if (w->fd >= 0) {
		close(w->fd);
		unlinkat(w->store->rootfd, w->tmp, 0);
		w->fd = -1;
	}
	EVP_MD_CTX_free(w->md_ctx);
	w->md_ctx = NULL;
}

int image_blob_commit(struct image_blob_writer *w, const char *expected,
		      char ret_digest[IMAGE_DIGEST_MAX], struct sbx_err *err)
{
	char digest[IMAGE_DIGEST_MAX];
	hex_digest(w->md_ctx, digest);
	int r = 0;
	if (expected && strcmp(expected, digest) != 0)
		r = sbx_failx(err, EBADMSG, "digest mismatch: expected %s, got %s", expected,
			      digest);
	else if (fsync(w->fd) < 0)
		r = sbx_fail(err, errno, "fsync blob");
	if (r == 0) {
		char path[128];
		snprintf(path, sizeof(path), "blobs/sha256/%s", digest + 7);
		if (renameat(w->store->rootfd, w->tmp, w->store->rootfd, path) < 0)
			r = sbx_fail(err, errno, "store blob %s", digest);
	}
	image_blob_abort(w); /* closes; the temp name is gone after a successful rename */
	if (r == 0 && ret_digest)
		memcpy(ret_digest, digest, IMAGE_DIGEST_MAX);
	return r;
}

int image_blob_put_fd(struct image_store *s, int in, const char *expected,
		      char ret_digest[IMAGE_DIGEST_MAX], uint64_t *ret_size, struct sbx_err *err)
{
	if (expected && !image_digest_valid(expected))
		return sbx_failx(err, EINVAL, "malformed digest '%s'", expected);
	struct image_blob_writer w;
	int r = image_blob_begin(s, &w, err);
	if (r < 0)
		return r;
	static __thread char buf[1 << 16];
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			image_blob_abort(&w);
			return sbx_fail(err, errno, "read blob");
		}
		if (n == 0)
			break;
		r = image_blob_write(&w, buf, (size_t)n, err);
		if (r < 0) {
			image_blob_abort(&w);
			return r;
		}
	}
	uint64_t size = w.size;
	r = image_blob_commit(&w, expected, ret_digest, err);
	if (r == 0 && ret_size)
		*ret_size = size;
	return r;
}

int image_blob_put_mem(struct image_store *s, const void *data, size_t len, const char *expected,
		       char ret_digest[IMAGE_DIGEST_MAX], struct sbx_err *err)
{
	if (expected && !image_digest_valid(expected))
		return sbx_failx(err, EINVAL, "malformed digest '%s'", expected);
	struct image_blob_writer w;
	int r = image_blob_begin(s, &w, err);
	if (r < 0)
		return r;
	r = image_blob_write(&w, data, len, err);
	if (r < 0) {
		image_blob_abort(&w);
		return r;
	}
	return image_blob_commit(&w, expected, ret_digest, err);
}

int image_blob_open(struct image_store *s, const char *digest, struct sbx_err *err)
{
	if (!image_digest_valid(digest))
		return sbx_failx(err, EINVAL, "malformed digest '%s'", digest);
	char path[128];
	snprintf(path, sizeof(path), "blobs/sha256/%s", digest + 7);
	int fd = openat(s->rootfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sbx_fail(err, errno, "blob %s", digest);
	return fd;
}

int image_blob_exists(struct image_store *s, const char *digest)
{
	if (!image_digest_valid(digest))
		return 0;
	char path[128];
	snprintf(path, sizeof(path), "blobs/sha256/%s", digest + 7);
	return faccessat(s->rootfd, path, F_OK, 0) == 0;
}

int image_blob_read(struct image_store *s, const char *digest, char **ret, size_t *ret_len,
		    struct sbx_err *err)
{
	_cleanup_close_ int fd = image_blob_open(s, digest, err);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return sbx_fail(err, errno, "stat blob %s", digest);
	if (st.st_size > SMALL_BLOB_MAX)
		return sbx_failx(err, EFBIG, "blob %s is %lld bytes, more than a manifest may be",
				 digest, (long long)st.st_size);
	_cleanup_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return sbx_fail(err, ENOMEM, "read blob %s", digest);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0)
			return sbx_fail(err, n < 0 ? errno : EIO, "read blob %s", digest);
		got += (size_t)n;
	}
	buf[got] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = got;
	return 0;
}

/* A reference lives in refs/<sha256 of the name>: "<digest>\n<name>\n". */
static void ref_file(const char *ref, char out[128])
{
	char d[IMAGE_DIGEST_MAX];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, ref, strlen(ref));
	hex_digest(ctx, d);
	EVP_MD_CTX_free(ctx);
	snprintf(out, 128, "refs/%s", d + 7);
}

int image_ref_set(struct image_store *s, const char *ref, const char *digest, struct sbx_err *err)
{
	if (!image_digest_valid(digest))
		return sbx_failx(err, EINVAL, "malformed digest '%s'", digest);
	char tmp[64], path[128];
	_cleanup_close_ int fd = open_tmp(s, tmp);
	if (fd < 0)
		return sbx_fail(err, -fd, "create temp reference");
	_cleanup_fclose_ FILE *f = fdopen(TAKE_FD(fd), "w");
	if (!f)
		return sbx_fail(err, errno, "open temp reference");
	fprintf(f, "%s\n%s\n", digest, ref);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		int e = errno;
		unlinkat(s->rootfd, tmp, 0);
		return sbx_fail(err, e, "write reference %s", ref);
	}
	ref_file(ref, path);
	if (renameat(s->rootfd, tmp, s->rootfd, path) < 0) {
		int e = errno;
		unlinkat(s->rootfd, tmp, 0);
		return sbx_fail(err, e, "store reference %s", ref);
	}
	return 0;
}

struct ref_entry {
	char name[512];
	char digest[IMAGE_DIGEST_MAX];
};

static int read_ref_file(int dirfd, const char *name, char digest[IMAGE_DIGEST_MAX], char *refname,
			 size_t refname_size)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	_cleanup_fclose_ FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -errno;
	}
	char line[sizeof(((struct ref_entry *)0)->name)];
	if (!fgets(line, sizeof(line), f))
		return -EBADMSG;
	line[strcspn(line, "\n")] = '\0';
	if (!image_digest_valid(line))
		return -EBADMSG;
	memcpy(digest, line, IMAGE_DIGEST_MAX);
	if (refname) {
		if (!fgets(line, sizeof(line), f))
			return -EBADMSG;
		line[strcspn(line, "\n")] = '\0';
		if (strlen(line) >= refname_size)
			return -ENAMETOOLONG;
		memcpy(refname, line, strlen(line) + 1);
	}
	return 0;
}

int image_ref_get(struct image_store *s, const char *ref, char ret_digest[IMAGE_DIGEST_MAX],
		  struct sbx_err *err)
{
	char path[128];
	ref_file(ref, path);
	int r = read_ref_file(s->rootfd, path, ret_digest, NULL, 0);
	if (r == -ENOENT)
		return sbx_failx(err, ENOENT, "no such image: %s", ref);
	if (r < 0)
		return sbx_fail(err, -r, "read reference %s", ref);
	return 0;
}

int image_ref_delete(struct image_store *s, const char *ref, struct sbx_err *err)
{
	char path[128];
	ref_file(ref, path);
	if (unlinkat(s->rootfd, path, 0) < 0) {
		if (errno == ENOENT)
			return sbx_failx(err, ENOENT, "no such image: %s", ref);
		return sbx_fail(err, errno, "delete reference %s", ref);
	}
	return 0;
}

static int cmp_ref(const void *a, const void *b)
{
	return strcmp(((const struct ref_entry *)a)->name, ((const struct ref_entry *)b)->name);
}

int image_ref_list(struct image_store *s,
		   int (*fn)(void *opaque, const char *ref, const char *digest), void *opaque,
		   struct sbx_err *err)
{
	int fd = openat(s->rootfd, "refs", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sbx_fail(err, errno, "open refs");
	_cleanup_closedir_ DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return sbx_fail(err, errno, "list refs");
	}
	_cleanup_free_ struct ref_entry *list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct ref_entry *p = realloc(list, cap * sizeof(*p));
			if (!p)
				return sbx_fail(err, ENOMEM, "list refs");
			list = p;
		}
		int r = read_ref_file(dirfd(d), de->d_name, list[n].digest, list[n].name,
				      sizeof(list[n].name));
		/* Gone meanwhile, or not a reference: skipped. Any other failure is reported,
		 * because image_store_gc would take an unread reference's blobs for garbage. */
		if (r == 0)
			n++;
		else if (r != -ENOENT && r != -EBADMSG && r != -ENAMETOOLONG)
			return sbx_fail(err, -r, "read reference %s", de->d_name);
	}
	qsort(list, n, sizeof(*list), cmp_ref);
	for (size_t i = 0; i < n; i++) {
		int r = fn(opaque, list[i].name, list[i].digest);
		if (r < 0)
			return r;
	}
	return 0;
}

static int valid_component(const char *s, size_t len)
{
	/* [a-z0-9]+ separated by '.', '_', '__' or '-'+; we accept the character set. */
	if (len == 0 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '.' ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int image_ref_normalize(const char *in, char *out, size_t out_size, struct sbx_err *err)
{
	char buf[512];
	if (!in || !*in || strlen(in) >= sizeof(buf))
		return sbx_failx(err, EINVAL, "invalid reference format: '%s'", in ? in : "");
	snprintf(buf, sizeof(buf), "%s", in);
	char *digest = strchr(buf, '@');
	if (digest) {
		*digest++ = '\0';
		if (!image_digest_valid(digest))
			return sbx_failx(err, EINVAL,
					 "invalid reference format: bad digest in '%s'", in);
	}
	char *tag = NULL;
	char *last_slash = strrchr(buf, '/');
	char *colon = strrchr(last_slash ? last_slash : buf, ':');
	if (colon) {
		*colon = '\0';
		tag = colon + 1;
		size_t tl = strlen(tag);
		if (tl == 0 || tl > 128 || (!isalnum((unsigned char)tag[0]) && tag[0] != '_'))
			return sbx_failx(err, EINVAL, "invalid reference format: bad tag in '%s'",
					 in);
		for (char *p = tag; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
				return sbx_failx(err, EINVAL,
						 "invalid reference format: bad tag in '%s'", in);
	}
	/* The first component is a registry if it looks like a host. */
	const char *domain = "docker.io";
	char *path = buf;
	char *first_slash = strchr(buf, '/');
	if (first_slash) {
		size_t dl = (size_t)(first_slash - buf);
		if (memchr(buf, '.', dl) || memchr(buf, ':', dl) ||
		    (dl == 9 && strncmp(buf, "localhost", 9) == 0)) {
			*first_slash = '\0';
			domain = buf;
			path = first_slash + 1;
			for (const char *p = domain; *p; p++)
				if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' &&
				    *p != ':')
					return sbx_failx(
					    err, EINVAL,
					    "invalid reference format: bad registry in '%s'", in);
		}
	}
	for (const char *p = path;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (!valid_component(p, len))
			return sbx_failx(err, EINVAL,
					 "invalid reference format: '%s' (repository names are "
					 "lowercase letters, digits and . _ -)",
					 in);
		if (!slash)
			break;
		p = slash + 1;
	}
	const char *library =
	    strcmp(domain, "docker.io") == 0 && !strchr(path, '/') ? "library/" : "";
	int n;
	if (digest)
		n = snprintf(out, out_size, "%s/%s%s%s%s@%s", domain, library, path, tag ? ":" : "",
			     tag ? tag : "", digest);
	else
		n = snprintf(out, out_size, "%s/%s%s:%s", domain, library, path,
			     tag ? tag : "latest");
	if (n < 0 || (size_t)n >= out_size)
		return sbx_failx(err, ENAMETOOLONG, "reference '%s' too long", in);
	return 0;
}
