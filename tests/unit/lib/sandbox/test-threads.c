/* sandbox_vmm_threads against this very process: a named thread asleep in a kernel wait shows
 * up with its name, state S and a wait channel; an exited VMM gives nothing. */
#define _GNU_SOURCE
#include "tap.h"
#include "sandbox/sandbox.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

static int wake_pipe[2];

static void *sleeper(void *arg)
{
	(void)arg;
	char c;
	(void)!read(wake_pipe[0], &c, 1);
	return NULL;
}

TEST(names_each_thread_with_state_and_wait)
{
	ASSERT_EQ(pipe(wake_pipe), 0);
	pthread_t t;
	ASSERT_EQ(pthread_create(&t, NULL, sleeper, NULL), 0);
	pthread_setname_np(t, "vcpu7");
	struct sandbox sb = {.vmm_pid = getpid()};
	char line[512];
	/* the thread may not have reached its read yet: poll with a deadline */
	for (int i = 0; i < 2000; i++) {
		sandbox_vmm_threads(&sb, line, sizeof(line));
		if (strstr(line, "vcpu7:S/") && !strstr(line, "vcpu7:S/-"))
			break;
		usleep(1000);
	}
	ASSERT_TRUE(strstr(line, "vcpu7:S/") != NULL);
	ASSERT_TRUE(strstr(line, "vcpu7:S/-") == NULL);
	(void)!write(wake_pipe[1], "x", 1);
	pthread_join(t, NULL);
}

TEST(an_exited_vmm_gives_an_empty_line)
{
	struct sandbox sb = {.vmm_pid = getpid(), .exited = true};
	char line[64] = "stale";
	sandbox_vmm_threads(&sb, line, sizeof(line));
	ASSERT_STR_EQ(line, "");
}

TEST(a_short_buffer_stays_terminated)
{
	struct sandbox sb = {.vmm_pid = getpid()};
	char line[8];
	memset(line, 'x', sizeof(line));
	sandbox_vmm_threads(&sb, line, sizeof(line));
	ASSERT_TRUE(memchr(line, '\0', sizeof(line)) != NULL);
}
