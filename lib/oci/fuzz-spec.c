/* Fuzz target: any bytes through the config.json parser; valid specs must free cleanly. */
#include <stddef.h>
#include <stdint.h>

#include "oci/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_spec *s = NULL;
	struct sbx_err err = {0};

	if (oci_spec_parse((const char *)data, size, &s, &err) == 0)
		oci_spec_free(s);
	return 0;
}
