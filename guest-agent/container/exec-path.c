/* The container's command is looked up in the container's PATH. glibc's execvpe searches the
 * caller's PATH, which here is the agent's: a command in the image's /usr/sbin, say, would be
 * "not found" although the image's own PATH names it. Runs in the forked child right before
 * exec, so it allocates nothing. */
#define _GNU_SOURCE
#include "guest-agent/container/container.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* What docker and runc give a process whose environment has no PATH. */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const char *ct_env_path(char *const envp[])
{
	for (size_t i = 0; envp && envp[i]; i++)
		if (!strncmp(envp[i], "PATH=", 5))
			return envp[i] + 5;
	return DEFAULT_PATH;
}

int ct_execvpe(const char *file, char *const argv[], char *const envp[])
{
	if (!*file) {
		errno = ENOENT;
		return -1;
	}
	if (strchr(file, '/'))
		return execve(file, argv, envp);
	const char *path = ct_env_path(envp);
	bool denied = false;
	for (const char *dir = path;; dir++) {
		const char *end = strchrnul(dir, ':');
		char cand[4096];
		/* An empty entry is the working directory, as POSIX has it. */
		int n = end == dir
			    ? snprintf(cand, sizeof(cand), "%s", file)
			    : snprintf(cand, sizeof(cand), "%.*s/%s", (int)(end - dir), dir, file);
		if (n > 0 && (size_t)n < sizeof(cand)) {
			execve(cand, argv, envp);
			if (errno == EACCES)
				denied = true;
			else if (errno != ENOENT && errno != ENOTDIR && errno != ENAMETOOLONG)
				return -1; /* found, but it cannot run: say why */
		}
		if (!*end)
			break;
		dir = end;
	}
	errno = denied ? EACCES : ENOENT;
	return -1;
}
