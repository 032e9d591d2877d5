#!/bin/bash
# The KVM probe tells PVM from hardware KVM by running INT3 in a tiny guest.
source "$(dirname "$0")/../lib.sh"

out=$("$BIN/kvm-probe"); rc=$?
if [ -d /sys/module/kvm_pvm ]; then
	expect_eq "probe says pvm-emulated on a PVM host" "pvm-emulated 1" "$out $rc"
elif [ -e /dev/kvm ]; then
	expect_match "probe names a kind on a KVM host" '^(hardware 0|pvm-emulated 1)$' "$out $rc"
else
	expect_eq "probe says absent without /dev/kvm" "absent 2" "$out $rc"
fi

out=$("$BIN/kvm-probe" /nonexistent/kvm); rc=$?
expect_eq "a missing device is absent" "absent 2" "$out $rc"

out=$("$BIN/kvm-probe" /dev/null 2>&1); rc=$?
expect_eq "a device that is not KVM is absent" "absent 2" "$out $rc"

out=$("$BIN/kvm-probe" a b 2>&1); rc=$?
expect_eq "extra arguments are an error" "kvm-probe: too many arguments 3" "$out $rc"
done_testing
