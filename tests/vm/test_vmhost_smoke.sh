#!/bin/bash
# Level 2 runs where /dev/kvm can boot a stock guest: the probe must say hardware here.
source "$(dirname "$0")/../lib.sh"

expect_eq "kvm-probe says hardware" hardware "$("$BIN/kvm-probe")"
[ -c /dev/kvm ] && ok "/dev/kvm is a character device" || not_ok "/dev/kvm is a character device"
if [ "${VMHOST_INSIDE:-0}" = 1 ]; then
	expect_eq "nested paging is on" Y "$(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null)"
	expect_match "cgroup2 is mounted" 'cgroup2' "$(stat -f -c %T /sys/fs/cgroup)"
	for m in tun veth bridge vhost_vsock; do
		check "modprobe $m works inside" modprobe "$m"
	done
	expect_eq "process substitution works (/dev/fd)" "x" "$(cat <(echo x))"
	check "the repository is writable" touch "$REPO/build/.vmhost-rw"
	rm -f "$REPO/build/.vmhost-rw"
fi
done_testing
