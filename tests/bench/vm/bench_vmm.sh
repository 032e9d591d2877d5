#!/bin/bash
# sbx-vmm start-up and memory: process start -> first KVM_RUN (BootTimes), and RSS beyond the
# guest pages the guest touched (Stats), on an idle guest after boot. Median of 5.
source "$(dirname "$0")/../../lib.sh"
cd "$REPO"
initrd=$REPO/build/test-guest/initrd.img
tests/probe/mk-test-initrd.sh "$initrd"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }
firsts=() overheads=()
for _ in 1 2 3 4 5; do
	"$BIN/sbx-vmm" --kernel build/guest/vmlinux --initrd "$initrd" --api "$tmp/api" \
		--console none --cmdline "quiet rdinit=/bin/sh" </dev/null >/dev/null 2>&1 &
	pid=$!
	wait_for 60 "$BIN/sbx-vmmctl" "$tmp/api" ping
	firsts+=("$("$BIN/sbx-vmmctl" "$tmp/api" boot-times | awk '{print int($2 / 1000)}')")
	stats=$("$BIN/sbx-vmmctl" "$tmp/api" stats)
	rss=$(awk '$1 == "rss_bytes" {print $2}' <<<"$stats")
	guest=$(awk '$1 == "guest_resident_bytes" {print $2}' <<<"$stats")
	overheads+=("$(((rss - guest) / 1024))")
	"$BIN/sbx-vmmctl" "$tmp/api" shutdown >/dev/null
	wait "$pid"
done
echo "BENCH vmm start_to_first_kvm_run_us $(printf '%s\n' "${firsts[@]}" | median) us"
echo "BENCH vmm rss_overhead_kib $(printf '%s\n' "${overheads[@]}" | median) KiB"
