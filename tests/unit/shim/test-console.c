/* debug_console (shim/console.c): what the guest writes to its console file reaches the shim's
 * log one line each, an unterminated line only once it ends or the VM goes, a long line is cut. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "shim/console.h"
#include "tap.h"

static char dir[] = "/tmp/shim-console.XXXXXX";
static char console_path[300], log_path[300];

static void remove_dir(void)
{
	unlink(console_path);
	unlink(log_path);
	rmdir(dir);
}

static void append(const char *text)
{
	int fd = open(console_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The messages logged so far, one per line. */
static const char *logged(void)
{
	static char out[8192];
	char line[4096];
	out[0] = '\0';
	FILE *f = fopen(log_path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *m = strstr(line, "msg=\"guest console: ");
		char *end = m ? strstr(m, "\" src=") : NULL;
		if (end)
			snprintf(out + strlen(out), sizeof(out) - strlen(out), "%.*s\n",
				 (int)(end - m - 20), m + 20);
	}
	if (f)
		fclose(f);
	return out;
}

TEST(console_lines_reach_the_log)
{
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	atexit(remove_dir);
	snprintf(console_path, sizeof(console_path), "%s/console.log", dir);
	snprintf(log_path, sizeof(log_path), "%s/shim.log", dir);
	int lfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	ASSERT_TRUE(lfd >= 0);
	log_init("shim", "t", LOG_LEVEL_INFO, lfd);

	append("Linux version 6.1\r\nsecond \"quoted\"\npart");
	struct shim_console *c = NULL;
	struct sbx_err err = {0};
	ASSERT_EQ(shim_console_open(console_path, &c, &err), 0);
	shim_console_drain(c, false);
	ASSERT_STR_EQ(logged(), "Linux version 6.1\nsecond \\\"quoted\\\"\n");

	append("ial\nlast");
	struct pollfd p = {.fd = shim_console_fd(c), .events = POLLIN};
	ASSERT_EQ(poll(&p, 1, 5000), 1); /* the write wakes the VM thread's poll */
	shim_console_drain(c, false);
	ASSERT_STR_EQ(logged(), "Linux version 6.1\nsecond \\\"quoted\\\"\npartial\n");
	shim_console_drain(c, true);
	ASSERT_STR_EQ(logged(), "Linux version 6.1\nsecond \\\"quoted\\\"\npartial\nlast\n");

	char big[1200];
	memset(big, 'x', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	append(big);
	shim_console_drain(c, true);
	const char *l = logged();
	ASSERT_TRUE(strstr(l, "last\n") != NULL);
	size_t first = strcspn(strstr(l, "last\n") + 5, "\n");
	ASSERT_EQ(first, 511); /* cut at CONSOLE_LINE_MAX - 1 */
	shim_console_free(c);
	shim_console_free(NULL);
	ASSERT_EQ(shim_console_fd(NULL), -1);
	close(lfd);
}

TEST(a_missing_console_is_an_error_naming_it)
{
	struct shim_console *c = NULL;
	struct sbx_err err = {0};
	ASSERT_TRUE(shim_console_open("/nonexistent/console.log", &c, &err) < 0);
	ASSERT_TRUE(strstr(err.msg, "/nonexistent/console.log") != NULL);
}
