/* Fuzz target: image references as users and registries spell them. */
#include "image/pull.h"
#include "image/store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[600], out[512], host[256], repo[256], tag[160];
	if (size >= sizeof(in))
		size = sizeof(in) - 1;
	memcpy(in, data, size);
	in[size] = '\0';
	if (image_ref_normalize(in, out, sizeof(out), NULL) == 0)
		image_ref_split(out, host, sizeof(host), repo, sizeof(repo), tag, sizeof(tag),
				NULL);
	image_digest_valid(in);
	return 0;
}
