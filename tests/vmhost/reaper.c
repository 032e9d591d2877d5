/* PID 1 of the emulated KVM host after the initramfs: chroots into the overlay root, runs the
 * command script, reaps every orphan, records the command's exit status, and powers off. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void power_off(void)
{
	/* Keep the kernel's "Power down" line out of the command's output. */
	klogctl(6, NULL, 0);
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "vmhost-reaper: usage: reaper NEWROOT CTLDIR\n");
		power_off();
	}
	const char *ctl = argv[2];
	if (chroot(argv[1]) < 0 || chdir("/") < 0) {
		fprintf(stderr, "vmhost-reaper: chroot %s: %s\n", argv[1], strerror(errno));
		power_off();
	}
	/* Serial output goes to the host unchanged: no \n -> \r\n translation. */
	struct termios t;
	if (tcgetattr(1, &t) == 0) {
		t.c_oflag &= ~(tcflag_t)OPOST;
		tcsetattr(1, TCSANOW, &t);
	}
	char script[4096];
	snprintf(script, sizeof(script), "%s/cmd.sh", ctl);
	pid_t child = fork();
	if (child == 0) {
		setsid();
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		execl("/bin/bash", "bash", script, (char *)NULL);
		fprintf(stderr, "vmhost-reaper: exec %s: %s\n", script, strerror(errno));
		_exit(127);
	}
	int code = 255;
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, 0);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			break;
		if (p == child) {
			code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
	}
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	char status_path[4096];
	snprintf(status_path, sizeof(status_path), "%s/status", ctl);
	FILE *f = fopen(status_path, "we");
	if (f) {
		fprintf(f, "%d\n", code);
		fclose(f);
	}
	power_off();
}
