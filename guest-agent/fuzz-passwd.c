/* Fuzz target: any bytes as /etc/passwd and /etc/group (split at the first 0xff byte, or the
 * same bytes for both), resolved for a few USER[:GROUP] forms; nothing touches a file. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "guest-agent/passwd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const specs[] = {"root",          "nobody",   "sbxuser", "1000",
					    "sbxuser:extra", "daemon:1", "0:wheel", "65534:65534"};
	static struct passwd_user u;
	const uint8_t *cut = memchr(data, 0xff, size);
	const char *passwd = (const char *)data, *group = (const char *)data;
	size_t passwd_len = size, group_len = size;
	struct oci_process p = {0};
	struct sbx_err err = {0};

	if (cut) {
		passwd_len = (size_t)(cut - data);
		group = (const char *)cut + 1;
		group_len = size - passwd_len - 1;
	}
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		if (passwd_resolve(specs[i], passwd, passwd_len, group, group_len, &u, &err) == 0 &&
		    passwd_apply(&u, &p, &err) == 0) {
			free(p.gids);
			p.gids = NULL;
			p.ngids = 0;
			for (size_t k = 0; k < p.nenv; k++)
				free(p.env[k]);
			free(p.env);
			p.env = NULL;
			p.nenv = 0;
		}
	return 0;
}
