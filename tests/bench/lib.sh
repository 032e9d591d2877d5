# Sourced by the benchmarks after tests/lib.sh: what several of them measure the same way.

# median: the middle of the numbers on stdin, one per line.
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }

# time_to_marker CMD...: ms from spawn until "sbx-guest-ready" appears on CMD's output.
time_to_marker() {
	local start line
	start=$(date +%s%N)
	while IFS= read -r line; do
		if [[ "$line" == *sbx-guest-ready* ]]; then
			echo $((($(date +%s%N) - start) / 1000000))
			break
		fi
	done < <(timeout 120 "$@" </dev/null 2>&1)
}

# qemu_microvm_boot MEM_MIB: the peer, QEMU's microvm with the same vmlinux and initrd, one vCPU,
# to the agent's ready marker (sbx.ready_poweroff: it powers off right after).
qemu_microvm_boot() {
	time_to_marker qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,acpi=off \
		-enable-kvm -cpu host -m "$1" -smp 1 -kernel build/guest/vmlinux \
		-initrd build/guest/initrd.img -append "console=ttyS0 reboot=t panic=-1 ${SBX_GUEST_CMDLINE_EXTRA:-} quiet sbx.ready_poweroff" \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot
}
