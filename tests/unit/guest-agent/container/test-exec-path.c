/* The container's command is found through the container's PATH, not the caller's: a script in
 * a temp dir that only the given environment names runs, and exits with its own status. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "guest-agent/container/container.h"

static void write_script(const char *dir, const char *name, const char *body, mode_t mode)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "we");
	if (f) {
		fputs(body, f);
		fclose(f);
	}
	chmod(p, mode);
}

/* Runs ct_execvpe in a child; its exit status, or 200 + errno when the exec failed. */
static int run(const char *file, char *const envp[])
{
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = {(char *)file, NULL};
		ct_execvpe(file, argv, envp);
		_exit(200 + (errno < 50 ? errno : 49));
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(found_in_the_given_path_only)
{
	const char *dir = tap_tmpdir();
	write_script(dir, "kl-probe-cmd", "#!/bin/sh\nexit 7\n", 0755);
	char path[600];
	snprintf(path, sizeof(path), "PATH=/nonexistent:%s", dir);
	char *env[] = {path, NULL};
	ASSERT_EQ(run("kl-probe-cmd", env), 7);
	char *other[] = {"PATH=/nonexistent:/usr/bin", NULL};
	ASSERT_EQ(run("kl-probe-cmd", other), 200 + ENOENT);
}

TEST(not_executable_is_eacces_when_nothing_else_matches)
{
	const char *dir = tap_tmpdir();
	write_script(dir, "kl-noexec", "#!/bin/sh\nexit 0\n", 0644);
	char path[600];
	snprintf(path, sizeof(path), "PATH=%s:/nonexistent", dir);
	char *env[] = {path, NULL};
	ASSERT_EQ(run("kl-noexec", env), 200 + EACCES);
}

TEST(a_name_with_a_slash_is_not_searched)
{
	char *env[] = {"PATH=/bin", NULL};
	ASSERT_EQ(run("./no-such-cmd-kl", env), 200 + ENOENT);
	ASSERT_EQ(run("/bin/true", env), 0);
	ASSERT_EQ(run("", env), 200 + ENOENT);
}

TEST(no_path_in_env_means_the_docker_default)
{
	char *env[] = {"HOME=/", NULL};
	ASSERT_STR_EQ(ct_env_path(env),
		      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	ASSERT_EQ(run("true", env), 0);
	char *with[] = {"A=1", "PATH=/x:/y", NULL};
	ASSERT_STR_EQ(ct_env_path(with), "/x:/y");
}
