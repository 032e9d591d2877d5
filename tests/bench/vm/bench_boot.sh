#!/bin/bash
# Boot to the initrd's ready marker: sbx-vmm (when built) next to QEMU's microvm with the same
# vmlinux, initrd, vCPUs and memory, in the same run. Median of 5 each, in ms. The agent prints
# the marker and powers off at once (sbx.ready_poweroff): kernel boot plus agent start.
source "$(dirname "$0")/../../lib.sh"
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
modprobe vhost_vsock 2>/dev/null
runs=${BENCH_RUNS:-5}

ours_boot() {
	time_to_marker "$BIN/sbx-vmm" --kernel build/guest/vmlinux --initrd build/guest/initrd.img \
		--cpus 1 --mem 128 --cmdline "quiet sbx.ready_poweroff" --console stdout
}

q=$(for _ in $(seq "$runs"); do qemu_microvm_boot 128; done | median)
if [ -x "$BIN/sbx-vmm" ]; then
	o=$(for _ in $(seq "$runs"); do ours_boot; done | median)
	echo "BENCH vmm boot_to_ready_marker_ms ${o:-0} ms ${q:-0} qemu-microvm"
else
	echo "BENCH vmm qemu_microvm_boot_to_ready_marker_ms ${q:-0} ms"
fi
