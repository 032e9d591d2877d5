#!/bin/bash
# sbx-vmm's bad input: one line naming the problem, exit 2, nothing left behind. These fail
# before a VM exists, so they run on any host.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
vmm=$BIN/sbx-vmm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tests/probe/mk-test-initrd.sh "$tmp/initrd.img"

expect_err() { # NAME EXPECTED-REGEX ARGS...
	local name=$1 want=$2 out rc
	shift 2
	out=$("$vmm" "$@" 2>&1); rc=$?
	expect_eq "$name: exit 2" 2 "$rc"
	expect_match "$name: one line naming the problem" "^sbx-vmm: $want\$" "$out"
}

expect_err "no kernel" '--kernel is required'
expect_err "missing kernel" "kernel '/nonexistent': No such file or directory" --kernel /nonexistent
head -c 4096 /dev/urandom >"$tmp/garbage"
expect_err "corrupt kernel" 'kernel: neither an ELF vmlinux nor a bzImage' --kernel "$tmp/garbage"
head -c 64 build/guest/vmlinux >"$tmp/truncated"
expect_err "truncated ELF" 'kernel: corrupt ELF program headers' --kernel "$tmp/truncated"
expect_err "memory too small" 'memory is too small for the kernel \(it needs [0-9]+ MiB\)' \
	--kernel build/guest/vmlinux --mem 16
head -c $((40 << 20)) /dev/zero >"$tmp/big.img"
expect_err "initrd larger than memory" "initrd '.*' \([0-9]+ MiB\) does not fit in guest memory" \
	--kernel build/guest/vmlinux --initrd "$tmp/big.img" --mem 48
expect_err "missing initrd" "initrd '/nonexistent': No such file or directory" \
	--kernel build/guest/vmlinux --initrd /nonexistent
expect_err "bad --cpus" '--cpus: 33 is out of range \[1, 32\]' --kernel build/guest/vmlinux --cpus 33
expect_err "bad --mem" "--mem: 'lots' is not a number" --kernel build/guest/vmlinux --mem lots
expect_err "bad --console" "--console must be stdout, file:PATH or none, not 'tty'" \
	--kernel build/guest/vmlinux --console tty
expect_err "unknown flag" "unknown or incomplete option '--frobnicate'" --frobnicate
expect_err "absent /dev/kvm" '/nonexistent/kvm is missing or not usable \(is KVM enabled\?\)' \
	--kernel build/guest/vmlinux --initrd "$tmp/initrd.img" --kvm /nonexistent/kvm \
	--console "file:$tmp/console.log"
[ -e "$tmp/console.log" ] && not_ok "a failed start leaves no console file" || ok "a failed start leaves no console file"
if [ "$("$BIN/kvm-probe")" = pvm-emulated ]; then
	expect_err "a /dev/kvm that cannot run a stock guest" \
		'this /dev/kvm cannot run a stock guest \(pvm-emulated\); run on hardware KVM or inside tests/vmhost/run' \
		--kernel build/guest/vmlinux --initrd "$tmp/initrd.img"
fi
expect_eq "--help exits 0" 0 "$("$vmm" --help >/dev/null; echo $?)"
done_testing
