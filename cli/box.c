/* Reaching a running container's agent from a verb other than its monitor. */
#define _GNU_SOURCE
#include "cli/box.h"

#include "agent/client.h"
#include "base/err.h"
#include "cli/cli.h"
#include "proto/agent.pb-c.h"
#include "sandbox/sandbox.h"
#include "ttrpc/client.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int box_connect(const struct cli *cli, const char *name, struct box *b, struct sbx_err *err)
{
	memset(b, 0, sizeof(*b));
	int r = record_find(cli->root, name, &b->rec, err);
	if (r < 0)
		return r;
	if (strcmp(record_status(&b->rec), "running") != 0) {
		r = sbx_failx(err, ESRCH, "container %s is not running", name);
		box_close(b);
		return r;
	}
	char vm[4300];
	record_path(&b->rec, "vm", vm, sizeof(vm));
	if ((r = sandbox_attach(vm, &b->sb, err)) < 0 ||
	    (r = agent_client_connect(b->sb, &b->cl, err)) < 0) {
		box_close(b);
		return r;
	}
	return 0;
}

void box_close(struct box *b)
{
	if (b->cl)
		ttrpc_client_free(b->cl);
	if (b->sb)
		sandbox_free(b->sb);
	record_free(&b->rec);
	b->cl = NULL;
	b->sb = NULL;
}

int box_signal(struct box *b, const char *exec_id, int sig, struct sbx_err *err)
{
	Sbx__Agent__V1__ProcessRef ref = SBX__AGENT__V1__PROCESS_REF__INIT;
	Sbx__Agent__V1__SignalProcessRequest r = SBX__AGENT__V1__SIGNAL_PROCESS_REQUEST__INIT;
	ref.container_id = b->rec.id;
	ref.exec_id = (char *)(exec_id ? exec_id : "");
	r.process = &ref;
	r.signal = (uint32_t)sig;
	return agent_call(b->cl, "SignalProcess", &r.base, NULL, NULL, 10000, err);
}

int box_parse_signal(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (end != s && !*end)
		return n >= 1 && n < NSIG ? (int)n : -1;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (int i = 1; i < NSIG; i++) {
		const char *abbrev = sigabbrev_np(i);
		if (abbrev && !strcasecmp(abbrev, s))
			return i;
	}
	return -1;
}
