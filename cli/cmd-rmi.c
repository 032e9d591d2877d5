/* sbx rmi [-f] IMAGE...: removes references, then, like docker, the blobs and cached rootfs
 * images no remaining reference needs. The last reference to an image a running container
 * uses stays unless -f; with -f it goes, but that container's blobs and rootfs stay. */
#include "cli/cli.h"
#include "cli/record.h"

#include "base/cleanup.h"
#include "image/gc.h"
#include "image/store.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The images running containers use, and one container id for each. */
struct in_use {
	const char **digests;
	char (*ids)[RECORD_ID_LEN + 1];
	size_t n;
	struct record *list;
	size_t n_list;
};

static int in_use_load(const char *root, struct in_use *u, struct sbx_err *err)
{
	memset(u, 0, sizeof(*u));
	int r = record_list(root, &u->list, &u->n_list, err);
	if (r < 0)
		return r;
	u->digests = calloc(u->n_list + 1, sizeof(*u->digests));
	u->ids = calloc(u->n_list + 1, sizeof(*u->ids));
	if (!u->digests || !u->ids)
		return sbx_fail(err, ENOMEM, "list containers");
	for (size_t i = 0; i < u->n_list; i++) {
		const char *d = json_string_value(json_object_get(u->list[i].json, "Image"));
		if (!image_digest_valid(d) || !record_monitor_alive(&u->list[i]))
			continue;
		u->digests[u->n] = d;
		memcpy(u->ids[u->n++], u->list[i].id, sizeof(*u->ids));
	}
	return 0;
}

static void in_use_free(struct in_use *u)
{
	free(u->digests);
	free(u->ids);
	record_list_free(u->list, u->n_list);
}

struct count {
	const char *digest;
	int n;
};

static int count_ref(void *opaque, const char *ref, const char *digest)
{
	struct count *c = opaque;
	c->n += strcmp(c->digest, digest) == 0;
	return 0;
}

/* Docker's rule: a running container pins its image's last reference, not every one. */
static int check_in_use(struct image_store *s, const struct in_use *u, const char *ref,
			struct sbx_err *err)
{
	char digest[IMAGE_DIGEST_MAX];
	int r = image_ref_get(s, ref, digest, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < u->n; i++) {
		if (strcmp(u->digests[i], digest) != 0)
			continue;
		struct count c = {.digest = digest};
		r = image_ref_list(s, count_ref, &c, err);
		if (r < 0)
			return r;
		if (c.n > 1)
			return 0;
		return sbx_failx(err, EBUSY,
				 "conflict: unable to remove repository reference \"%s\" (must "
				 "force) - container %s is using its referenced image %.12s",
				 ref, u->ids[i], digest + 7);
	}
	return 0;
}

static void on_delete(void *opaque, const char *digest)
{
	printf("Deleted: %s\n", digest);
}

int cmd_rmi(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	bool force = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else
			return cli_usage_error("rmi", "unknown flag '%s'", argv[optind - 1]);
	}
	if (optind >= argc)
		return cli_usage_error("rmi", "requires at least one IMAGE");
	struct sbx_err err = {0};
	struct image_store s;
	if (cli_open_store(cli, &s, &err) < 0)
		return cli_report(cli, &err);
	struct in_use u;
	int status = 0;
	if (in_use_load(cli->root, &u, &err) < 0) {
		status = cli_report(cli, &err);
		goto out;
	}
	bool untagged = false;
	for (int i = optind; i < argc; i++) {
		char ref[512];
		if (image_ref_normalize(argv[i], ref, sizeof(ref), &err) < 0 ||
		    (!force && check_in_use(&s, &u, ref, &err) < 0) ||
		    image_ref_delete(&s, ref, &err) < 0) {
			status = cli_report(cli, &err);
			continue;
		}
		printf("Untagged: %s\n", ref);
		untagged = true;
	}
	/* References are gone before any blob goes: a crash in between leaves only garbage, which
	 * the next rmi collects, as it does when another sbx has the store open now. */
	if (untagged && image_store_gc(&s, u.digests, u.n, on_delete, NULL, &err) < 0 &&
	    err.code != EWOULDBLOCK)
		status = cli_report(cli, &err);
out:
	in_use_free(&u);
	image_store_close(&s);
	return status;
}
