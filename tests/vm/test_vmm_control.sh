#!/bin/bash
# sbx-vmm's control API through sbx-vmmctl: Ping, BootTimes, Pause/Resume, Stats, InsertDisk into
# a spare slot (the guest sees the new capacity and serial), SampleVcpus, Shutdown, and refused
# requests.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
initrd=$REPO/build/test-guest/initrd.img
tests/probe/mk-test-initrd.sh "$initrd"
tmp=$(mktemp -d) # unix sockets cannot live on the 9p-shared repository
trap 'kill -9 $vmm_pid 2>/dev/null; rm -rf "$tmp"' EXIT
ctl=$BIN/sbx-vmmctl
api=$tmp/api.sock
truncate -s 2M "$tmp/late.img"
printf 'inserted-media!!' | dd of="$tmp/late.img" conv=notrunc status=none

"$BIN/sbx-vmm" --kernel build/guest/vmlinux --initrd "$initrd" --spare-disks 1 --api "$api" \
	--boot-timer --cmdline "quiet sbx.test=waitdisk" >"$tmp/out" 2>&1 &
vmm_pid=$!
wait_for 60 "$ctl" "$api" ping
expect_match "Ping answers with the VMM's pid" "sbx-vmm .* pid $vmm_pid" "$("$ctl" "$api" ping)"
# After setup every thread runs under its seccomp allow-list with no_new_privs (DESIGN §7).
threads=0 confined=0
for st in /proc/$vmm_pid/task/*/status; do
	threads=$((threads + 1))
	grep -q '^Seccomp:[[:space:]]*2' "$st" && grep -q '^NoNewPrivs:[[:space:]]*1' "$st" &&
		confined=$((confined + 1))
done
[ "$threads" -ge 4 ] && [ "$confined" -eq "$threads" ] &&
	ok "all $threads VMM threads run under a seccomp filter with no_new_privs" ||
	not_ok "all VMM threads run under a seccomp filter ($confined of $threads)"
first=$("$ctl" "$api" boot-times | awk '$1 == "start_to_first_run_ns" {print $2}')
[ "${first:-0}" -gt 0 ] && ok "BootTimes reports the first KVM_RUN ($((first / 1000)) us after start)" ||
	not_ok "BootTimes reports the first KVM_RUN"
# the test init writes milestone 1 to the boot-timer register as soon as it runs
milestone_seen() { "$ctl" "$api" boot-times | grep -q '^milestone 1 '; }
if wait_for 120 milestone_seen; then
	m1=$("$ctl" "$api" boot-times | awk '$1 == "milestone" && $2 == 1 {print $3}')
	[ "$m1" -gt "$first" ] && ok "BootTimes lists the guest's boot-timer milestone after the first KVM_RUN ($((m1 / 1000000)) ms)" ||
		not_ok "BootTimes milestone 1 ($m1 ns) comes after the first KVM_RUN ($first ns)"
else
	not_ok "BootTimes lists the guest's boot-timer milestone"
fi
check "Pause" "$ctl" "$api" pause
expect_match "Stats says paused" 'paused 1' "$("$ctl" "$api" stats)"
exits1=$("$ctl" "$api" stats | awk '$1 == "exit" {s += $3} END {print s + 0}')
exits2=$("$ctl" "$api" stats | awk '$1 == "exit" {s += $3} END {print s + 0}')
expect_eq "no vCPU exits while paused" "$exits1" "$exits2"
check "Resume" "$ctl" "$api" resume
expect_match "Stats says running again" 'paused 0' "$("$ctl" "$api" stats)"
expect_match "Stats lists the devices" 'device 0 blk bad_input=0' "$("$ctl" "$api" stats)"

out=$("$ctl" "$api" insert-disk 7 "$tmp/late.img" 2>&1); rc=$?
expect_eq "InsertDisk into a slot that does not exist fails" "1 sbx-vmmctl: slot 7: the VM has 1 disk slots" "$rc $out"
out=$("$ctl" "$api" insert-disk 0 relative.img 2>&1); rc=$?
expect_eq "InsertDisk with a relative path fails" "1 sbx-vmmctl: path must be absolute" "$rc $out"
# Paused, so the guest cannot see the disk (and power off) before the second insert is refused.
check "Pause for the inserts" "$ctl" "$api" pause
check "InsertDisk into the spare slot" "$ctl" "$api" insert-disk 0 "$tmp/late.img" serial=late-disk
out=$("$ctl" "$api" insert-disk 0 "$tmp/late.img" 2>&1); rc=$?
expect_eq "a second InsertDisk into a full slot fails" "1 sbx-vmmctl: slot 0: the slot already has media" "$rc $out"
check "Resume after the inserts" "$ctl" "$api" resume
wait "$vmm_pid"
rc=$?
out=$(tr -d '\r' <"$tmp/out")
expect_eq "the guest resets after seeing the disk: exit 0" 0 "$rc"
expect_match "the guest sees the inserted capacity and serial" 'inserted_size=4096 inserted_serial=late-disk' "$out"
expect_match "and reads the inserted media" 'inserted_head=inserted-media!!' "$out"
expect_match "--boot-timer prints each milestone on stderr" 'boot-timer: milestone 1 at [0-9]+\.[0-9]{3} ms.*boot-timer: milestone 2 at' "$(tr '\n' ' ' <<<"$out")"
[ -e "$api" ] && not_ok "the API socket is removed at exit" || ok "the API socket is removed at exit"

"$BIN/sbx-vmm" --kernel build/guest/vmlinux --initrd "$initrd" --api "$api" --console none \
	--cpus 2 --cmdline "quiet rdinit=/bin/sh" </dev/null >/dev/null 2>&1 &
vmm_pid=$!
wait_for 60 "$ctl" "$api" ping
# SampleVcpus: where each vCPU is, for a guest that stops answering. An idle guest is in the
# kernel's idle loop; the first sample may come before the kernel runs at all.
idle_guest() {
	samples=$("$ctl" "$api" sample-vcpus) || return 1
	[ "$(grep -c '^vcpu [01] rip 0xffffffff8' <<<"$samples")" -eq 2 ]
}
if wait_for 120 idle_guest; then
	ok "SampleVcpus reports both vCPUs in the guest kernel"
	sym=$(guest_symbol "$(awk '$1 == "vcpu" && $2 == 0 {print $4}' <<<"$samples")")
	[ -n "$sym" ] && [ "$sym" != "??" ] && ok "vCPU 0's rip names a kernel function ($sym)" ||
		not_ok "vCPU 0's rip names a kernel function: got '$sym' for: $samples"
else
	not_ok "SampleVcpus reports both vCPUs in the guest kernel: ${samples:-no answer}"
fi
check "Pause before a sample" "$ctl" "$api" pause
expect_eq "a paused vCPU is reported, not waited for" "vcpu 0 not sampled
vcpu 1 not sampled" "$("$ctl" "$api" sample-vcpus)"
check "Resume after the sample" "$ctl" "$api" resume
check "Shutdown" "$ctl" "$api" shutdown
wait "$vmm_pid"
expect_eq "Shutdown stops the VM (exit 5)" 5 "$?"
done_testing
