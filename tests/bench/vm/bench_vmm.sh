#!/bin/bash
# sbx-vmm start-up and memory: process start -> first KVM_RUN (BootTimes), RSS beyond the
# guest pages the guest touched, and those guest pages (Stats), on an idle guest after boot
# (the test init's boot-timer milestone 2). Median of 5.
source "$(dirname "$0")/../../lib.sh"
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
initrd=$REPO/build/test-guest/initrd.img
tests/probe/mk-test-initrd.sh "$initrd"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
firsts=() overheads=() guests=()
booted() { "$BIN/sbx-vmmctl" "$tmp/api" boot-times | grep -q '^milestone 2 '; }
for _ in 1 2 3 4 5; do
	"$BIN/sbx-vmm" --kernel build/guest/vmlinux --initrd "$initrd" --api "$tmp/api" \
		--console none --boot-timer --cmdline "quiet sbx.test=idle" </dev/null >/dev/null 2>&1 &
	pid=$!
	wait_for 60 "$BIN/sbx-vmmctl" "$tmp/api" ping
	wait_for 120 booted
	firsts+=("$("$BIN/sbx-vmmctl" "$tmp/api" boot-times | awk '$1 == "start_to_first_run_ns" {print int($2 / 1000)}')")
	stats=$("$BIN/sbx-vmmctl" "$tmp/api" stats)
	rss=$(awk '$1 == "rss_bytes" {print $2}' <<<"$stats")
	guest=$(awk '$1 == "guest_resident_bytes" {print $2}' <<<"$stats")
	overheads+=("$(((rss - guest) / 1024))")
	guests+=("$((guest / 1024))")
	"$BIN/sbx-vmmctl" "$tmp/api" shutdown >/dev/null
	wait "$pid"
done
echo "BENCH vmm start_to_first_kvm_run_us $(printf '%s\n' "${firsts[@]}" | median) us"
echo "BENCH vmm rss_overhead_kib $(printf '%s\n' "${overheads[@]}" | median) KiB"
echo "BENCH vmm guest_resident_after_boot_kib $(printf '%s\n' "${guests[@]}" | median) KiB"
