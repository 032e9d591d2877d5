#!/bin/bash
# sbx-agent as the guest's PID 1 in the real initrd, driven through lib/sandbox and lib/agent:
# READY without polling, Version, Health, CreateSandbox (hostname and DNS checked before use),
# an unimplemented call refused by name, DestroySandbox powering the VM off cleanly.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
tmp=$(mktemp -d) # unix sockets cannot live on the 9p-shared repository
trap 'pkill -9 -f "$tmp/sb" 2>/dev/null; rm -rf "$tmp"' EXIT

out=$(timeout 300 build/tests/agent-driver "$BIN/sbx-vmm" build/guest/vmlinux \
	build/guest/initrd.img "$tmp/sb" 2>&1 <<-SCRIPT
	version
	health
	sandbox bad_host;name
	sandbox pod-one 1.2.3.4;rm-rf
	sandbox pod-one 10.0.2.3 fd00::3
	unserved Reboot
	destroy
	SCRIPT
)
expect_eq "the driver runs to the end" 0 "$?"
expect_match "the agent says READY with its version" 'ready version=[0-9]+\.[0-9]+\.[0-9]+ ms=' "$out"
expect_match "Version names the agent and the guest kernel" 'version agent=[0-9.]+ kernel=6\.1\.[0-9]+-kata-lite' "$out"
expect_match "Health reports uptime, containers and free memory" \
	'health uptime_ms=[0-9]+ containers=0 mem_available_kib=[1-9][0-9]+' "$out"
expect_match "a bad hostname is refused by name" \
	"CreateSandbox: error: .*hostname 'bad_host;name' is not a valid host name" "$out"
expect_match "a DNS server that is not an address is refused" \
	"CreateSandbox: error: .*dns server '1.2.3.4;rm-rf' is not an IP address" "$out"
expect_match "a valid CreateSandbox succeeds" 'create-sandbox ok' "$out"
expect_match "a call the agent does not serve is refused by name" 'Reboot: error: .*Reboot' "$out"
expect_match "DestroySandbox answers before the VM goes" 'destroy-sandbox ok' "$out"
expect_match "and the VM powers off cleanly (VMM exit 0)" 'vmm exit=0$' "$(grep '^vmm exit' <<<"$out")"
expect_match "the console says why it powered off" 'powering off: DestroySandbox' "$out"
[ -e "$tmp/sb" ] && not_ok "no state is left" || ok "no state is left"
done_testing
