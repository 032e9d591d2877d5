/* Runs every TEST() of one binary in registration order and prints TAP version 12. */
#define _GNU_SOURCE
#include "tap.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

static struct tap_test *tap_head, **tap_tail = &tap_head;
static int tap_failed_current;
static const char *tap_skip_reason;

void tap_register(struct tap_test *t)
{
	*tap_tail = t;
	tap_tail = &t->next;
}

void tap_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	printf("# %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	tap_failed_current = 1;
}

static char tap_dirs[64][32];
static int tap_ndirs;

static int tap_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void tap_rm_dirs(void)
{
	for (int i = 0; i < tap_ndirs; i++)
		nftw(tap_dirs[i], tap_rm, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tap_tmpdir(void)
{
	if (tap_ndirs == (int)(sizeof(tap_dirs) / sizeof(tap_dirs[0])))
		return "/nonexistent-too-many-tmpdirs";
	char *d = tap_dirs[tap_ndirs];
	strcpy(d, "/tmp/sbx-test-XXXXXX");
	if (!mkdtemp(d))
		return "/nonexistent-mkdtemp-failed";
	if (tap_ndirs++ == 0)
		atexit(tap_rm_dirs);
	return d;
}

void tap_skip(const char *why)
{
	tap_skip_reason = why;
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	int count = 0, failed = 0;
	for (struct tap_test *t = tap_head; t; t = t->next)
		if (!only || strcmp(only, t->name) == 0)
			count++;
	printf("1..%d\n", count);
	fflush(stdout);
	int n = 0;
	for (struct tap_test *t = tap_head; t; t = t->next) {
		if (only && strcmp(only, t->name) != 0)
			continue;
		tap_failed_current = 0;
		tap_skip_reason = NULL;
		t->fn();
		n++;
		if (tap_failed_current) {
			failed++;
			printf("not ok %d - %s\n", n, t->name);
		} else if (tap_skip_reason) {
			printf("ok %d - %s # SKIP %s\n", n, t->name, tap_skip_reason);
		} else {
			printf("ok %d - %s\n", n, t->name);
		}
		fflush(stdout);
	}
	return failed ? 1 : 0;
}
