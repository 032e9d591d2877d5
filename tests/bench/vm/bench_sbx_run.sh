#!/bin/bash
# `sbx run --rm busybox true` with the image cached, median of 10, split into phases (SBX_TIMING:
# VMM spawn to first KVM_RUN, kernel boot to the agent's start, agent ready, container start,
# container exit, teardown) and end to end as the user sees it; next to a QEMU-microvm boot of
# the same kernel and initrd to the agent's ready marker, in the same run.
source "$(dirname "$0")/../../lib.sh"
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
runs=${BENCH_RUNS:-10}
make --no-print-directory -s build/images/busybox.tar
export SBX_ROOT
SBX_ROOT=$(mktemp -d)
trap 'pkill -9 -f "$SBX_ROOT" 2>/dev/null; rm -rf "$SBX_ROOT"' EXIT
"$BIN/sbx" load -i build/images/busybox.tar >/dev/null
SBX_TIMING=1 "$BIN/sbx" run --rm busybox true 2>/dev/null # converts and caches the image

for _ in $(seq "$runs"); do
	start=$(date +%s%N)
	line=$(SBX_TIMING=1 timeout 300 "$BIN/sbx" run --rm busybox true 2>&1 | grep '^sbx-timing')
	echo "$line wall_ms=$((($(date +%s%N) - start) / 1000000))"
done >"$SBX_ROOT/phases"

phase() { grep -oP "$1=\K[0-9.]+" "$SBX_ROOT/phases" | median; }

# the peer: QEMU microvm, same kernel, initrd and memory, to the agent's ready marker
q=$(for _ in $(seq "$runs"); do qemu_microvm_boot 256; done | median)

for p in vmm_spawn kernel_boot agent_ready container_start container_exit teardown; do
	echo "BENCH sbx run_true_${p}_ms $(phase "${p}_ms") ms"
done
boot=$(awk -v a="$(phase vmm_spawn_ms)" -v b="$(phase kernel_boot_ms)" -v c="$(phase agent_ready_ms)" 'BEGIN { print a + b + c }')
echo "BENCH sbx run_true_boot_to_agent_ready_ms $boot ms ${q:-0} qemu-microvm-boot"
echo "BENCH sbx run_true_total_ms $(phase total_ms) ms ${q:-0} qemu-microvm-boot"
echo "BENCH sbx run_true_wall_ms $(phase wall_ms) ms"
