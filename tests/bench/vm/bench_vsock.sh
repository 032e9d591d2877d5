#!/bin/bash
# vsock throughput host<->guest: 8 connections moving 64 MiB each way at once through the VMM's
# unix-socket side and the guest's AF_VSOCK (tests/probe/vsock-peer), both directions counted.
source "$(dirname "$0")/../../lib.sh"
cd "$REPO"
initrd=$REPO/build/test-guest/initrd-vsock.img
tests/probe/mk-test-initrd.sh "$initrd"
peer=$REPO/build/tests/vsock-peer
tmp=$(mktemp -d /tmp/sbx-bench-vsock.XXXXXX)
trap 'kill $vmm_pid $listen_pid 2>/dev/null; rm -rf "$tmp"' EXIT
timeout 300 "$peer" host-listen "$tmp/v.sock_5000" >/dev/null 2>&1 &
listen_pid=$!
wait_for 10 test -S "$tmp/v.sock_5000"
timeout 300 "$BIN/sbx-vmm" --kernel build/guest/vmlinux --initrd "$initrd" --mem 256 --cpus 2 \
	--vsock-cid 3 --vsock-uds "$tmp/v.sock" --console none --cmdline "quiet sbx.test=vsock" \
	</dev/null >/dev/null 2>&1 &
vmm_pid=$!
wait_for 30 test -S "$tmp/v.sock"
out=$(timeout 240 "$peer" host-xfer "$tmp/v.sock" 1234 8 64 2>&1)
echo "# $out"
mbps=$(sed -n 's/.* mbps=\([0-9.]*\).*/\1/p' <<<"$out")
echo "BENCH vmm vsock_throughput_8conn_both_ways ${mbps:-0} MB/s"
wait $vmm_pid
