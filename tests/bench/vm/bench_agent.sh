#!/bin/bash
# sbx-agent inside a VM (issue 4): create+start+wait+remove of /bin/true in a container (block
# rootfs), median of 20, next to `runc run` of the same busybox rootfs on this (emulated KVM)
# host, same CPU; the Agent API round trip (Health), median of 200; a 10 MiB image as a tar
# stream vs as a block device, create-to-exit median of 5 each.
source "$(dirname "$0")/../../lib.sh"
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
runs=${BENCH_RUNS:-20}
bash tests/probe/agent-rootfs.sh build/test-rootfs >/dev/null
tmp=$(mktemp -d)
trap 'pkill -9 -f "$tmp/sb" 2>/dev/null; rm -rf "$tmp"' EXIT

mke2fs -q -F -t ext4 -O ^has_journal -d build/test-rootfs "$tmp/small.ext4" 24M
cp -a build/test-rootfs "$tmp/big"
head -c $((10 << 20)) /dev/urandom >"$tmp/big/payload"
mke2fs -q -F -t ext4 -O ^has_journal -d "$tmp/big" "$tmp/big.ext4" 48M
tar -C "$tmp/big" -cf "$tmp/big.tar" .
cat >"$tmp/true.json" <<'JSON'
{"root":{"path":"rootfs"},"process":{"args":["/bin/true"],"env":["PATH=/bin"],"cwd":"/"},
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"}],
 "linux":{"namespaces":[{"type":"pid"},{"type":"mount"},{"type":"uts"},{"type":"ipc"},
   {"type":"network"},{"type":"cgroup"}]}}
JSON

out=$(timeout 900 build/tests/agent-driver --disk "$tmp/small.ext4:img:ro" \
	--disk "$tmp/big.ext4:big:ro" --mem 384 "$BIN/sbx-vmm" build/guest/vmlinux \
	build/guest/initrd.img "$tmp/sb" 2>&1 <<EOF
bench-health 200
bench-true $runs $tmp/true.json img ext4
bench-rootfs 5 $tmp/true.json $tmp/big.tar big ext4
destroy
EOF
)
get() { grep -oP "^bench $1 median=\K[0-9.]+" <<<"$out"; }
health=$(get health_us)
ours=$(get true_block_ms)
stream=$(get rootfs_stream_ms)
block=$(get rootfs_block_ms)
[ -n "$ours" ] || printf '%s\n' "$out" | tail -n 20 >&2

# the peer: runc on this host, same rootfs and namespaces, a fresh container each run
runc_ms=""
if command -v runc >/dev/null; then
	mkdir -p "$tmp/bundle"
	cp -a build/test-rootfs "$tmp/bundle/rootfs"
	(cd "$tmp/bundle" && runc spec)
	sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"\/bin\/true"/' "$tmp/bundle/config.json"
	runc_ms=$(for i in $(seq "$runs"); do
		s=$(date +%s%N)
		runc run --bundle "$tmp/bundle" "bench-$$-$i" </dev/null >/dev/null 2>&1 || echo "runc failed" >&2
		echo $((($(date +%s%N) - s) / 1000000))
	done | median)
fi
echo "BENCH agent container_true_create_start_wait_ms ${ours:-0} ms ${runc_ms:-0} runc-same-host"
echo "BENCH agent rpc_health_roundtrip_us ${health:-0} us"
echo "BENCH agent rootfs_10MiB_tar_stream_ms ${stream:-0} ms ${block:-0} block-rootfs"
