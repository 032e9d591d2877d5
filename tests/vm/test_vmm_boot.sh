#!/bin/bash
# sbx-vmm boots the project's guest kernel in both formats, with 1 and 4 vCPUs and 128 and
# 1024 MiB, to the initrd's ready marker; a guest panic and a reset get their own exit codes.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
initrd=$REPO/build/test-guest/initrd.img
tests/probe/mk-test-initrd.sh "$initrd"
vmm=$BIN/sbx-vmm

boot() { # KERNEL CPUS MEM [CMDLINE]
	timeout 120 "$vmm" --kernel "build/guest/$1" --initrd "$initrd" --cpus "$2" --mem "$3" \
		--cmdline "quiet ${4:-}" 2>&1
}

for kernel in vmlinux bzImage; do
	for shape in "1 128" "4 1024"; do
		set -- $shape
		start=$(date +%s%N)
		out=$(boot "$kernel" "$1" "$2"); rc=$?
		ms=$((($(date +%s%N) - start) / 1000000))
		expect_eq "$kernel, $1 vCPU, $2 MiB: a reset exits 0" 0 "$rc"
		expect_match "$kernel, $1 vCPU, $2 MiB: reaches the ready marker" 'sbx-guest-ready' "$out"
		expect_match "$kernel, $1 vCPU, $2 MiB: the guest sees $1 CPUs" "cpus=$1\b" "$out"
		memkb=$(sed -n 's/^memkb=//p' <<<"$out" | tr -d '\r')
		# MemTotal excludes the kernel's own reservations: expect 75-100 % of what we gave.
		if [ -n "$memkb" ] && [ "$memkb" -gt $(($2 * 1024 * 3 / 4)) ] && [ "$memkb" -le $(($2 * 1024)) ]; then
			ok "$kernel, $1 vCPU, $2 MiB: the guest sees the memory ($memkb kB)"
		else
			not_ok "$kernel, $1 vCPU, $2 MiB: the guest sees the memory (got '$memkb' kB)"
		fi
		diag "$kernel $1 vCPU $2 MiB: ${ms} ms to exit"
	done
done

out=$(boot vmlinux 1 128 sbx.test=panic); rc=$?
expect_eq "a guest kernel panic exits 3" 3 "$rc"
expect_match "the panic is on the console" 'Kernel panic' "$out"

out=$(boot vmlinux 1 128 "init=/nonexistent rdinit=/nonexistent"); rc=$?
expect_eq "no init: the kernel panics and the VMM exits 3" 3 "$rc"

# reboot=t resets by triple fault on purpose: an empty IDT, then int3 (#BP, #GP, #DF, shutdown).
[ "${VMHOST_INSIDE:-0}" = 1 ] && tests/vmhost/guest-faults take >/dev/null
out=$(boot vmlinux 1 128 "reboot=t"); rc=$?
expect_eq "a guest triple fault exits 4" 4 "$rc"
expect_match "and the VMM names the vCPU" 'triple fault on vCPU 0' "$out"
if [ "${VMHOST_INSIDE:-0}" = 1 ]; then
	# the trace tests/run consults before it runs a file again (tests/vmhost/guest-faults)
	faults=$(tests/vmhost/guest-faults take)
	expect_match "the emulated host's KVM trace names the triple fault, in the kernel's reboot" \
		'guest triple fault: vcpu 0 reason shutdown rip 0x[0-9a-f]+ .*\(in [a-z_]*(restart|reboot)' "$faults"
	expect_match "as a guest's own: the int3 in delivery, not the emulation's signature" \
		'intr_info 0x80000403 error_code 0x00000000 \(in [a-z_]+\)$' "$faults"
fi

console=$(mktemp)
timeout 120 "$vmm" --kernel build/guest/vmlinux --initrd "$initrd" --cmdline quiet \
	--console "file:$console" >/dev/null 2>&1
expect_match "--console file: gets the guest's output" 'sbx-guest-ready' "$(cat "$console")"
rm -f "$console"
out=$(timeout 120 "$vmm" --kernel build/guest/vmlinux --initrd "$initrd" --cmdline quiet \
	--console none 2>&1); rc=$?
expect_eq "--console none prints nothing and still exits 0" "0 " "$rc $out"

# SIGTERM to the VMM stops the guest with exit 5. The guest idles in a shell that never exits.
"$vmm" --kernel build/guest/vmlinux --initrd "$initrd" --cmdline "quiet rdinit=/bin/sh" \
	--console none </dev/null >/dev/null 2>&1 &
pid=$!
wait_for 30 sh -c "grep -q vcpu0 /proc/$pid/task/*/comm 2>/dev/null"
kill -TERM "$pid"
wait "$pid"
expect_eq "SIGTERM stops the VM with exit 5" 5 "$?"

# console input: a line longer than the UART's 64-byte FIFO, typed on the VMM's stdin once the
# guest reads (bytes sent while the guest's 8250 driver starts are dropped, as on real UARTs)
line=$(printf 'typed-on-the-host-%.0s' $(seq 12))
fifo=$(mktemp -u /tmp/sbx-stdin.XXXXXX)
mkfifo "$fifo"
timeout 120 "$BIN/sbx-vmm" --kernel build/guest/vmlinux --initrd "$initrd" \
	--cmdline "quiet sbx.test=stdin" <"$fifo" >"$fifo.out" 2>&1 &
pid=$!
exec 7>"$fifo"
wait_for 100 grep -q guest-waiting-for-input "$fifo.out"
echo "$line" >&7
exec 7>&-
wait "$pid"
expect_match "the guest reads a console line from the VMM's stdin" "guest-read=$line\$" \
	"$(tr -d '\r' <"$fifo.out" | grep guest-read=)"
rm -f "$fifo" "$fifo.out"
done_testing
