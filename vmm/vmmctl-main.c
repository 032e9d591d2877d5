/* sbx-vmmctl: calls sbx-vmm's control API.
 *   sbx-vmmctl SOCKET ping|pause|resume|shutdown|stats|boot-times|sample-vcpus
 *   sbx-vmmctl SOCKET insert-disk SLOT PATH [ro] [serial=ID] */
#include "base/err.h"
#include "base/parse.h"
#include "proto/vmm.pb-c.h"
#include "ttrpc/client.h"

#include <stdio.h>
#include <string.h>

#define SERVICE "sbx.vmm.v1.Vmm"

static int call(struct ttrpc_client *c, const char *method, const ProtobufCMessage *req,
		const ProtobufCMessageDescriptor *rd, ProtobufCMessage **resp, struct sbx_err *err)
{
	return ttrpc_client_call(c, SERVICE, method, req, rd, resp, 10000, err);
}

static void print_boot_times(const Sbx__Vmm__V1__BootTimesResponse *b)
{
	printf("start_to_first_run_ns %llu\n", (unsigned long long)b->start_to_first_run_ns);
	for (size_t i = 0; i < b->n_milestones; i++)
		printf("milestone %u %llu\n", b->milestones[i]->id,
		       (unsigned long long)b->milestones[i]->start_to_milestone_ns);
}

static void print_stats(const Sbx__Vmm__V1__StatsResponse *s)
{
	printf("rss_bytes %llu\nguest_resident_bytes %llu\npaused %d\n",
	       (unsigned long long)s->rss_bytes, (unsigned long long)s->guest_resident_bytes,
	       s->paused);
	for (size_t i = 0; i < s->n_exits; i++)
		printf("exit %s %llu\n", s->exits[i]->reason,
		       (unsigned long long)s->exits[i]->count);
	for (size_t i = 0; i < s->n_devices; i++)
		printf("device %u %s bad_input=%llu needs_reset=%d\n", s->devices[i]->slot,
		       s->devices[i]->name, (unsigned long long)s->devices[i]->bad_input,
		       s->devices[i]->needs_reset);
}

static void print_samples(const Sbx__Vmm__V1__SampleVcpusResponse *s)
{
	for (size_t i = 0; i < s->n_vcpus; i++) {
		const Sbx__Vmm__V1__VcpuSample *v = s->vcpus[i];
		if (v->sampled)
			printf("vcpu %u rip %#llx rsp %#llx rflags %#llx\n", v->id,
			       (unsigned long long)v->rip, (unsigned long long)v->rsp,
			       (unsigned long long)v->rflags);
		else
			printf("vcpu %u not sampled\n", v->id);
	}
}

static int run(struct ttrpc_client *c, int argc, char **argv, struct sbx_err *err)
{
	Sbx__Vmm__V1__Empty empty = SBX__VMM__V1__EMPTY__INIT;
	ProtobufCMessage *resp = NULL;
	const char *verb = argv[2];
	int r;
	if (!strcmp(verb, "ping")) {
		r = call(c, "Ping", &empty.base, &sbx__vmm__v1__ping_response__descriptor, &resp,
			 err);
		if (r == 0)
			printf("%s pid %u\n", ((Sbx__Vmm__V1__PingResponse *)resp)->version,
			       ((Sbx__Vmm__V1__PingResponse *)resp)->pid);
	} else if (!strcmp(verb, "pause") || !strcmp(verb, "resume")) {
		r = call(c, verb[0] == 'p' ? "Pause" : "Resume", &empty.base,
			 &sbx__vmm__v1__empty__descriptor, &resp, err);
	} else if (!strcmp(verb, "shutdown")) {
		Sbx__Vmm__V1__ShutdownRequest req = SBX__VMM__V1__SHUTDOWN_REQUEST__INIT;
		r = call(c, "Shutdown", &req.base, &sbx__vmm__v1__empty__descriptor, &resp, err);
	} else if (!strcmp(verb, "stats")) {
		r = call(c, "Stats", &empty.base, &sbx__vmm__v1__stats_response__descriptor, &resp,
			 err);
		if (r == 0)
			print_stats((Sbx__Vmm__V1__StatsResponse *)resp);
	} else if (!strcmp(verb, "boot-times")) {
		r = call(c, "BootTimes", &empty.base,
			 &sbx__vmm__v1__boot_times_response__descriptor, &resp, err);
		if (r == 0)
			print_boot_times((Sbx__Vmm__V1__BootTimesResponse *)resp);
	} else if (!strcmp(verb, "sample-vcpus")) {
		r = call(c, "SampleVcpus", &empty.base,
			 &sbx__vmm__v1__sample_vcpus_response__descriptor, &resp, err);
		if (r == 0)
			print_samples((Sbx__Vmm__V1__SampleVcpusResponse *)resp);
	} else if (!strcmp(verb, "insert-disk") && argc >= 5) {
		Sbx__Vmm__V1__InsertDiskRequest req = SBX__VMM__V1__INSERT_DISK_REQUEST__INIT;
		r = parse_u32(argv[3], 0, 255, &req.slot, err);
		if (r < 0)
			return sbx_wrap(err, "SLOT");
		req.path = argv[4];
		for (int i = 5; i < argc; i++) {
			if (!strcmp(argv[i], "ro"))
				req.read_only = 1;
			else if (!strncmp(argv[i], "serial=", 7))
				req.serial = argv[i] + 7;
			else
				return sbx_failx(err, EINVAL, "unknown insert-disk option '%s'",
						 argv[i]);
		}
		r = call(c, "InsertDisk", &req.base, &sbx__vmm__v1__empty__descriptor, &resp, err);
	} else {
		return sbx_failx(err, EINVAL, "unknown command '%s'", verb);
	}
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	return r;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: sbx-vmmctl SOCKET ping|pause|resume|shutdown|stats|"
				"boot-times|sample-vcpus|insert-disk SLOT PATH [ro] [serial=ID]\n");
		return 2;
	}
	struct sbx_err err = {0};
	struct ttrpc_client *c = NULL;
	int r = ttrpc_client_dial_unix(argv[1], &c, &err);
	if (r == 0)
		r = run(c, argc, argv, &err);
	ttrpc_client_free(c);
	if (r < 0) {
		fprintf(stderr, "sbx-vmmctl: %s\n", err.msg);
		return 1;
	}
	return 0;
}
