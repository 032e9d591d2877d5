/* `sbx pull`: the OCI distribution API over libcurl. Anonymous bearer-token flow, manifest
 * lists and image indexes (linux/amd64 is picked), Docker and OCI media types. Every blob is
 * verified by digest on the way into the store; the reference is set last. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct sbx_err;
struct image_store;

/* Progress: called as bytes arrive (done may equal total at the end). */
typedef void (*image_progress_cb)(void *opaque, const char *what, uint64_t done, uint64_t total);

struct image_pull_opts {
	image_progress_cb progress; /* may be NULL */
	void *opaque;
	int timeout_s; /* per request connect timeout; 0 = 30 s */
};

/* ref must be normalized (image_ref_normalize). ret_digest gets the manifest digest. */
int image_pull(struct image_store *s, const char *ref, const struct image_pull_opts *opts,
	       char ret_digest[72], struct sbx_err *err);

/* Splits a normalized reference into registry host, repository and tag-or-digest. */
int image_ref_split(const char *ref, char *host, size_t host_size, char *repo, size_t repo_size,
		    char *tag, size_t tag_size, struct sbx_err *err);
