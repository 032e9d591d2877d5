/* OCI "annotations": a map of non-empty keys to strings, looked up by key; anything else is
 * refused with a message naming "annotations". */
#include <string.h>

#include "oci/spec.h"
#include "tap.h"

static int parse(const char *annotations, struct oci_spec **s, struct sbx_err *err)
{
	char json[512];

	snprintf(json, sizeof(json), "{\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"}%s%s}",
		 annotations ? ",\"annotations\":" : "", annotations ? annotations : "");
	memset(err, 0, sizeof(*err));
	*s = NULL;
	return oci_spec_parse(json, strlen(json), s, err);
}

TEST(annotations_are_looked_up_by_key)
{
	struct oci_spec *s;
	struct sbx_err err;

	ASSERT_EQ(
	    parse("{\"a\":\"1\",\"io.kata-lite.user\":\"nobody:nogroup\",\"e\":\"\"}", &s, &err),
	    0);
	ASSERT_EQ(s->nannotations, 3);
	ASSERT_STR_EQ(oci_spec_annotation(s, "io.kata-lite.user"), "nobody:nogroup");
	ASSERT_STR_EQ(oci_spec_annotation(s, "e"), "");
	ASSERT_NULL(oci_spec_annotation(s, "missing"));
	oci_spec_free(s);
	ASSERT_EQ(parse(NULL, &s, &err), 0);
	ASSERT_EQ(s->nannotations, 0);
	ASSERT_NULL(oci_spec_annotation(s, "a"));
	oci_spec_free(s);
	ASSERT_EQ(parse("null", &s, &err), 0);
	oci_spec_free(s);
}

TEST(bad_annotations_are_refused)
{
	static const char *const bad[] = {"[]",           "\"x\"",
					  "{\"a\":1}",    "{\"a\":null}",
					  "{\"\":\"x\"}", "{\"a\":\"x\",\"a\":\"y\"}"};
	struct oci_spec *s;
	struct sbx_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(parse(bad[i], &s, &err), -EINVAL);
		ASSERT_NULL(s);
		if (!strstr(err.msg, "annotations") && !strstr(err.msg, "duplicate"))
			tap_fail(__FILE__, __LINE__, "%s: '%s'", bad[i], err.msg);
	}
}
