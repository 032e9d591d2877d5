/* The parts of an OCI image config that decide how a container runs, and docker's rules for
 * combining them with the user's flags. */
#pragma once

#include <jansson.h>
#include <stddef.h>

struct sbx_err;
struct image_store;

struct image_config {
	char **entrypoint; /* NULL-terminated; NULL when unset */
	char **cmd;
	char **env;
	char *working_dir; /* NULL when unset */
	char *user;        /* NULL when unset */
	char config_digest[72];
	char **layers; /* layer digests in order, NULL-terminated */
};

/* Reads the manifest `manifest_digest` and its config blob from the store. */
int image_config_load(struct image_store *s, const char *manifest_digest, struct image_config *ret,
		      struct sbx_err *err);
void image_config_free(struct image_config *c);

/* docker run semantics: with --entrypoint E the image's Cmd is dropped; otherwise the process is
 * Entrypoint followed by the user's arguments, or by the image's Cmd when there are none.
 * Returns a NULL-terminated array to free with image_strv_free, or -EINVAL when empty. */
int image_process_args(const struct image_config *c, const char *entrypoint_flag, char **user_args,
		       size_t n_user_args, char ***ret, struct sbx_err *err);
void image_strv_free(char **v);

/* An image index or manifest list: the digest of its linux/amd64 manifest, or -ENOENT. */
int image_index_pick_amd64(const json_t *index, char out[72], struct sbx_err *err);
