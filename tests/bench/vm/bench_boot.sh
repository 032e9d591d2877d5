#!/bin/bash
# Boot to the initrd's ready marker: sbx-vmm (when built) next to QEMU's microvm with the same
# vmlinux, initrd, vCPUs and memory, in the same run. Median of 5 each, in ms. The agent prints
# the marker and powers off at once (sbx.ready_poweroff): kernel boot plus agent start.
source "$(dirname "$0")/../../lib.sh"
cd "$REPO"
modprobe vhost_vsock 2>/dev/null
runs=${BENCH_RUNS:-5}

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

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }

qemu_boot() {
	time_to_marker qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,acpi=off \
		-enable-kvm -cpu host -m 128 -smp 1 -kernel build/guest/vmlinux \
		-initrd build/guest/initrd.img -append "console=ttyS0 reboot=t panic=-1 quiet sbx.ready_poweroff" \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot
}

ours_boot() {
	time_to_marker "$BIN/sbx-vmm" --kernel build/guest/vmlinux --initrd build/guest/initrd.img \
		--cpus 1 --mem 128 --cmdline "quiet sbx.ready_poweroff" --console stdout
}

q=$(for _ in $(seq "$runs"); do qemu_boot; done | median)
if [ -x "$BIN/sbx-vmm" ]; then
	o=$(for _ in $(seq "$runs"); do ours_boot; done | median)
	echo "BENCH vmm boot_to_ready_marker_ms ${o:-0} ms ${q:-0} qemu-microvm"
else
	echo "BENCH vmm qemu_microvm_boot_to_ready_marker_ms ${q:-0} ms"
fi
