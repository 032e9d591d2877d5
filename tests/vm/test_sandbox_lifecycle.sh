#!/bin/bash
# lib/sandbox with a real VMM: the guest's READY on vsock port 1026 ends the start (no polling),
# SIGKILL of the VMM leaves its sockets behind, and sandbox_free removes them and the state dir.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
initrd=$REPO/build/test-guest/initrd.img
tests/probe/mk-test-initrd.sh "$initrd"
tmp=$(mktemp -d) # unix sockets cannot live on the 9p-shared repository
trap 'pkill -9 -f "$tmp/sb" 2>/dev/null; rm -rf "$tmp"' EXIT

out=$(timeout 300 build/tests/sandbox-driver "$BIN/sbx-vmm" build/guest/vmlinux "$initrd" \
	"$tmp/sb" 2>&1)
rc=$?
expect_eq "the driver runs to the end" 0 "$rc"
expect_match "the start returns on the guest's READY line, with its version" \
	'ready version=test-init ms=[0-9]+' "$out"
expect_match "a running sandbox has its vsock and API sockets and console" \
	'running:.*vsock.sock' "$(grep '^running:' <<<"$out")"
expect_match "SIGKILL is the VMM's exit status" 'exit=137' "$out"
expect_match "a killed VMM leaves its vsock socket behind" 'vsock.sock' \
	"$(grep '^after-kill:' <<<"$out")"
expect_eq "sandbox_free removes the state directory" "after-free: (no directory)" \
	"$(grep '^after-free:' <<<"$out")"
pgrep -f "$tmp/sb" >/dev/null && not_ok "no VMM process is left" || ok "no VMM process is left"

# A VMM that exits before any READY (here: no kernel) fails the start at once, not at the
# deadline, and leaves nothing.
out=$(timeout 120 build/tests/sandbox-driver "$BIN/sbx-vmm" /nonexistent-kernel "$initrd" \
	"$tmp/sb2" 2>&1)
rc=$?
expect_eq "a VMM that cannot start fails the start" 1 "$rc"
expect_match "and says the VMM exited before the agent was ready" \
	'exited with status 2 before the agent was ready' "$out"
[ -e "$tmp/sb2" ] && not_ok "a failed start leaves no state directory" ||
	ok "a failed start leaves no state directory"
done_testing
