/* Internal to lib/oci: typed jansson getters that check and name the JSON path on error. */
#pragma once

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "oci/spec.h"

#define BAD(err, ctx, ...) bad(err, ctx, __VA_ARGS__)

static inline int __attribute__((format(printf, 3, 4)))
bad(struct sbx_err *err, const char *ctx, const char *fmt, ...)
{
	char m[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	return sbx_failx(err, EINVAL, "%s: %s", ctx, m);
}

/* ---- small typed getters: all return 0 when absent (and leave *out), -EINVAL on bad type -- */

static inline int get_str(json_t *o, const char *key, const char *ctx, char **out,
			  struct sbx_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return BAD(err, ctx, "%s: must be a string", key);
	if (json_string_length(v) >= OCI_MAX_STR ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return BAD(err, ctx, "%s: too long or contains NUL", key);
	*out = strdup(json_string_value(v));
	return *out ? 1 : -ENOMEM;
}

static inline int get_bool(json_t *o, const char *key, const char *ctx, bool *out,
			   struct sbx_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return BAD(err, ctx, "%s: must be a boolean", key);
	*out = json_is_true(v);
	return 1;
}

static inline int get_int(json_t *o, const char *key, const char *ctx, int64_t min, int64_t max,
			  int64_t *out, struct sbx_err *err)
{
	json_t *v = json_object_get(o, key);
	json_int_t x;

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return BAD(err, ctx, "%s: must be an integer", key);
	x = json_integer_value(v);
	if (x < min || x > max)
		return BAD(err, ctx, "%s: %lld out of range [%" PRId64 ", %" PRId64 "]", key,
			   (long long)x, min, max);
	*out = x;
	return 1;
}

static inline int get_u64(json_t *o, const char *key, const char *ctx, uint64_t max, uint64_t *out,
			  struct sbx_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	/* jansson stores integers as long long; values above INT64_MAX do not parse at all */
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return BAD(err, ctx, "%s: must be a non-negative integer", key);
	if ((uint64_t)json_integer_value(v) > max)
		return BAD(err, ctx, "%s: too large", key);
	*out = (uint64_t)json_integer_value(v);
	return 1;
}

/* An array (or absent) of at most max elements. */
static inline int get_array(json_t *o, const char *key, const char *ctx, size_t max, json_t **out,
			    struct sbx_err *err)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return BAD(err, ctx, "%s: must be an array", key);
	if (json_array_size(v) > max)
		return BAD(err, ctx, "%s: more than %zu entries", key, max);
	*out = v;
	return 1;
}

static inline int get_obj(json_t *o, const char *key, const char *ctx, json_t **out,
			  struct sbx_err *err)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return BAD(err, ctx, "%s: must be an object", key);
	*out = v;
	return 1;
}

static inline void strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A string array -> NULL-terminated char **. check: 0 none, 1 absolute path, 2 env "K=V". */
static inline int get_strv(json_t *o, const char *key, const char *ctx, size_t max, int check,
			   char ***out, size_t *n, struct sbx_err *err)
{
	json_t *a, *v;
	size_t i;
	char **r;
	int rc;

	rc = get_array(o, key, ctx, max, &a, err);
	if (rc <= 0)
		return rc;
	r = calloc(json_array_size(a) + 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	json_array_foreach(a, i, v)
	{
		const char *s;

		if (!json_is_string(v) || json_string_length(v) >= OCI_MAX_STR ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			rc = BAD(err, ctx, "%s[%zu]: must be a string without NUL, < %d bytes", key,
				 i, OCI_MAX_STR);
			goto fail;
		}
		s = json_string_value(v);
		if (check == 1 && !oci_path_ok(s, false)) {
			rc =
			    BAD(err, ctx, "%s[%zu]: must be an absolute path without '..'", key, i);
			goto fail;
		}
		if (check == 2 && (s[0] == '=' || !strchr(s, '='))) {
			rc = BAD(err, ctx, "%s[%zu]: must be KEY=VALUE", key, i);
			goto fail;
		}
		r[i] = strdup(s);
		if (!r[i]) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	*out = r;
	*n = json_array_size(a);
	return 1;
fail:
	strv_free(r, json_array_size(a));
	return rc;
}

int oci_parse_linux(json_t *lx, struct oci_spec *s, struct sbx_err *err);
