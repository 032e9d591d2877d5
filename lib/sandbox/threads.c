/* What the VMM's threads are doing, for a log line when the guest stops answering: each
 * thread's name, scheduler state and kernel wait channel. A vCPU asleep in kvm_vcpu_block
 * points at a halted guest that was never woken; one running in KVM_RUN at a guest that
 * spins; an event thread stuck elsewhere at the VMM. */
#define _GNU_SOURCE
#include "sandbox/sandbox.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

/* Reads the first line of /proc/PID/task/TID/NAME into buf, without its newline. */
static void read_task_file(pid_t pid, const char *tid, const char *name, char *buf, size_t max)
{
	char path[96];
	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/task/%s/%s", (int)pid, tid, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	if (!fgets(buf, (int)max, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/* The state letter of /proc/PID/task/TID/stat: the field after the parenthesised name. */
static char task_state(pid_t pid, const char *tid)
{
	char stat[512];
	read_task_file(pid, tid, "stat", stat, sizeof(stat));
	const char *close = strrchr(stat, ')');
	return close && close[1] == ' ' && close[2] ? close[2] : '?';
}

void sandbox_vmm_threads(const struct sandbox *sb, char *buf, size_t max)
{
	size_t used = 0;
	buf[0] = '\0';
	if (sb->exited || sb->vmm_pid <= 0)
		return;
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)sb->vmm_pid);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) && used + 1 < max) {
		if (e->d_name[0] == '.')
			continue;
		char comm[32], wchan[64];
		read_task_file(sb->vmm_pid, e->d_name, "comm", comm, sizeof(comm));
		read_task_file(sb->vmm_pid, e->d_name, "wchan", wchan, sizeof(wchan));
		int n = snprintf(buf + used, max - used, "%s%s:%c/%s", used ? " " : "", comm,
				 task_state(sb->vmm_pid, e->d_name), wchan[0] ? wchan : "-");
		if (n < 0 || (size_t)n >= max - used)
			break;
		used += (size_t)n;
	}
	closedir(d);
}
