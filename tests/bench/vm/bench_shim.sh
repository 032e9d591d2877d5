#!/bin/bash
# `ctr run --rm IMAGE ID true` through containerd 1.6 with our shim, next to io.containerd.runc.v2
# on the same private containerd in the same run: time to the first output (`echo x`) and total,
# median of $BENCH_RUNS (10); and the shim's RSS while it serves one pod (a running task).
source "$(dirname "$0")/../../lib.sh"
source "$(dirname "$0")/../lib.sh"
source "$REPO/tests/vm/lib-containerd.sh"
cd "$REPO"
runs=${BENCH_RUNS:-10}
ctrd_start >&2 || { echo "bench_shim: containerd did not start" >&2; exit 1; }

# ms until the first output line, then ms until ctr exits
first_and_total() {
	local start first=
	start=$(date +%s%N)
	while IFS= read -r _; do
		[ -n "$first" ] || first=$((($(date +%s%N) - start) / 1000000))
	done < <(ctr_ run --rm --runtime "$1" "$CTRD_IMAGE" "$2" echo x 2>/dev/null)
	echo "${first:-0} $((($(date +%s%N) - start) / 1000000))"
}

total() {
	local start
	start=$(date +%s%N)
	ctr_ run --rm --runtime "$1" "$CTRD_IMAGE" "$2" true >/dev/null 2>&1
	echo $((($(date +%s%N) - start) / 1000000))
}

declare -A first tot
for rt in io.containerd.runc.v2 io.containerd.kata-lite.v2; do
	total "$rt" warm >/dev/null # snapshot, image unpack, page cache
	first[$rt]=$(for i in $(seq "$runs"); do first_and_total "$rt" "f$i" | cut -d' ' -f1; done | median)
	tot[$rt]=$(for i in $(seq "$runs"); do total "$rt" "t$i"; done | median)
done
k=io.containerd.kata-lite.v2
r=io.containerd.runc.v2
echo "BENCH shim ctr_run_true_total_ms ${tot[$k]} ms ${tot[$r]} runc.v2"
echo "BENCH shim ctr_run_echo_first_output_ms ${first[$k]} ms ${first[$r]} runc.v2"

ctr_ run -d --runtime $k "$CTRD_IMAGE" rss sleep 600 >/dev/null 2>&1
wait_for 120 sh -c "ctr --address $CTRD_SOCK task ls | grep -q 'rss .*RUNNING'"
shim=$(pgrep -f "containerd-shim-kata-lite-v2 .*-id rss ")
vmm=$(ctr_ task ls | awk '$1 == "rss" { print $2 }')
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
echo "BENCH shim shim_rss_per_pod_kib $(rss "$shim") KiB"
echo "BENCH shim vmm_rss_per_pod_kib $(rss "$vmm") KiB"
ctr_ task kill -s KILL rss >/dev/null 2>&1
