/* The spec's seccomp profile through libseccomp: default action, architectures, rules with
 * argument conditions and errno returns. Loaded last, right before exec. */
#include <errno.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <string.h>

#include "guest-agent/container/container.h"

static uint32_t action(enum oci_sc_action a, uint32_t eno)
{
	switch (a) {
	case OCI_SC_KILL:
		return SCMP_ACT_KILL_THREAD;
	case OCI_SC_KILL_PROCESS:
		return SCMP_ACT_KILL_PROCESS;
	case OCI_SC_TRAP:
		return SCMP_ACT_TRAP;
	case OCI_SC_ERRNO:
		return SCMP_ACT_ERRNO(eno);
	case OCI_SC_TRACE:
		return SCMP_ACT_TRACE(eno);
	case OCI_SC_LOG:
		return SCMP_ACT_LOG;
	case OCI_SC_ALLOW:
		break;
	}
	return SCMP_ACT_ALLOW;
}

static const enum scmp_compare ops[] = {
    [OCI_OP_NE] = SCMP_CMP_NE,
    [OCI_OP_LT] = SCMP_CMP_LT,
    [OCI_OP_LE] = SCMP_CMP_LE,
    [OCI_OP_EQ] = SCMP_CMP_EQ,
    [OCI_OP_GE] = SCMP_CMP_GE,
    [OCI_OP_GT] = SCMP_CMP_GT,
    [OCI_OP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

int ct_apply_seccomp(const struct oci_seccomp *sc, struct sbx_err *err)
{
	scmp_filter_ctx ctx;
	int r = 0;

	ctx = seccomp_init(action(sc->default_action, sc->default_errno));
	if (!ctx)
		return sbx_failx(err, ENOMEM, "seccomp_init");
	/* keep no_new_privs as the spec says; we set it in process.c when asked */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	for (size_t i = 0; i < sc->narchs && r >= 0; i++) {
		uint32_t arch = seccomp_arch_resolve_name(sc->archs[i] + 10);

		/* names are SCMP_ARCH_X86_64; libseccomp wants "x86_64" */
		if (!arch) {
			char low[32];
			size_t k;

			for (k = 0; sc->archs[i][10 + k] && k < sizeof(low) - 1; k++)
				low[k] = (char)(sc->archs[i][10 + k] | 0x20);
			low[k] = '\0';
			arch = seccomp_arch_resolve_name(low);
		}
		if (arch && arch != seccomp_arch_native()) {
			r = seccomp_arch_add(ctx, arch);
			if (r == -EEXIST)
				r = 0;
		}
	}
	for (size_t i = 0; i < sc->nsyscalls && r >= 0; i++) {
		const struct oci_syscall *s = &sc->syscalls[i];
		struct scmp_arg_cmp cmp[6];
		uint32_t act = action(s->action, s->errno_ret);

		if (act == action(sc->default_action, sc->default_errno))
			continue; /* libseccomp refuses rules equal to the default */
		for (size_t k = 0; k < s->nargs; k++)
			cmp[k] = (struct scmp_arg_cmp){s->args[k].index, ops[s->args[k].op],
						       s->args[k].value, s->args[k].value_two};
		for (size_t n = 0; n < s->nnames && r >= 0; n++) {
			int nr = seccomp_syscall_resolve_name(s->names[n]);

			if (nr == __NR_SCMP_ERROR)
				continue; /* unknown on this arch: runc and crun skip it too */
			r = seccomp_rule_add_array(ctx, act, nr, (unsigned)s->nargs, cmp);
		}
	}
	if (r >= 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return sbx_fail(err, -r, "seccomp");
	return 0;
}

int ct_deny_vsock(struct sbx_err *err)
{
	/* vsock is not namespaced: without this a container could reach the host's vsock ports
	 * (the ready port, other sandboxes' listeners) whatever profile its spec carries.
	 * Filters stack and the strictest result wins, so the spec's profile cannot undo it. */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx)
		return sbx_failx(err, ENOMEM, "seccomp: init");
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
			     SCMP_A0(SCMP_CMP_EQ, AF_VSOCK));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socketpair), 1,
				     SCMP_A0(SCMP_CMP_EQ, AF_VSOCK));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r < 0 ? sbx_fail(err, -r, "seccomp: deny vsock") : 0;
}
