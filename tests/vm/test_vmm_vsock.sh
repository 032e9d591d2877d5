#!/bin/bash
# virtio-vsock in a real guest: a guest-initiated connection reaches a host listener on
# <uds>_<port>; the host reaches a guest listener through "CONNECT <port>" and 8 connections
# at once move 64 MiB each way with every byte checked; bad handshakes are refused; the socket
# is gone after the VMM exits.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
initrd=$REPO/build/test-guest/initrd-vsock.img
tests/probe/mk-test-initrd.sh "$initrd"
peer=$REPO/build/tests/vsock-peer
tmp=$(mktemp -d /tmp/sbx-vsock.XXXXXX) # unix sockets cannot live on the 9p-shared repo
trap 'kill $vmm_pid $listen_pid 2>/dev/null; rm -rf "$tmp"' EXIT
uds=$tmp/v.sock

timeout 300 "$peer" host-listen "${uds}_5000" >"$tmp/listen.out" 2>&1 &
listen_pid=$!
wait_for 10 test -S "${uds}_5000"
# a parameter of the test rig's rides along (SBX_GUEST_CMDLINE_EXTRA, before --cmdline)
SBX_GUEST_CMDLINE_EXTRA="${SBX_GUEST_CMDLINE_EXTRA:-} sbx.rig=1" \
	timeout 300 "$BIN/sbx-vmm" --kernel build/guest/vmlinux --initrd "$initrd" --mem 256 --cpus 2 \
	--vsock-cid 3 --vsock-uds "$uds" --cmdline "sbx.test=vsock" >"$tmp/console" 2>&1 &
vmm_pid=$!
check "the VMM creates the vsock socket" wait_for 30 test -S "$uds"

# a handshake the VMM cannot parse is answered and closed
out=$(timeout 60 "$peer" host-line "$uds" "HELLO 1" 2>&1)
expect_match "a bad handshake gets an error line" '^ERR' "$out"

out=$(timeout 240 "$peer" host-xfer "$uds" 1234 8 64 2>&1); rc=$?
echo "# $out"
[ "$rc" = 0 ] || postmortem "$(pgrep -P "$vmm_pid" -x sbx-vmm || echo "$vmm_pid")"
expect_eq "8 host connections move 64 MiB each way, every byte checked" 0 "$rc"
expect_match "all 8 connections succeed" 'conns=8 ok=8' "$out"

wait $vmm_pid; rc=$?
console=$(tr -d '\r' <"$tmp/console")
# the kernel's own lines too (no "quiet"): a guest that never reached /init shows how far it got
[ "$rc" = 0 ] && [[ $out == *"ok=8"* ]] || echo "$console" | tail -n 30 | sed 's/^/# console: /'
expect_eq "the VMM exits 0 after the guest powers off" 0 "$rc"
expect_match "SBX_GUEST_CMDLINE_EXTRA reaches the guest's command line" \
	'Command line: console=ttyS0 .* sbx.rig=1 sbx.test=vsock' "$console"
expect_match "the guest served all 8 connections" 'vsock-serve done 8' "$console"
wait $listen_pid
expect_match "the guest-initiated connection reached the host listener" \
	'host-listen got 1048576 ' "$(cat "$tmp/listen.out")"
sum=$(sed -n 's/.*host-listen got 1048576 \([0-9a-f]*\).*/\1/p' "$tmp/listen.out")
expect_match "the guest sent the bytes the host received, and read the host's reply" \
	"guest-connect sent=1048576 sum=$sum reply=got 1048576 $sum" "$console"
check "the socket is removed when the VMM exits" test ! -e "$uds"

out=$("$BIN/sbx-vmm" --kernel build/guest/vmlinux --vsock-uds "$uds" 2>&1); rc=$?
expect_eq "--vsock-uds without --vsock-cid: exit 2" "2 sbx-vmm: --vsock-uds needs --vsock-cid" "$rc $out"
out=$("$BIN/sbx-vmm" --kernel build/guest/vmlinux --vsock-cid 2 2>&1); rc=$?
expect_eq "a reserved CID: exit 2" 2 "$rc"
done_testing
