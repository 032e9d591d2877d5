#!/bin/bash
# The agent's container cgroup v2 support where cgroup2 has the controllers (this host is
# cgroup v1, so it runs in the emulated KVM host): limits written, pids.max stops a fork bomb,
# memory limit -> OOM kill counted and 137, pause/resume via cgroup.freeze, stats move.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
drv=build/tests/ct-driver
cg=/sys/fs/cgroup
[ "$(stat -fc %T $cg)" = cgroup2fs ] || { echo "1..0 # SKIP no cgroup2 at $cg"; exit 77; }
bash tests/probe/agent-rootfs.sh build/test-rootfs
tmp=$(mktemp -d)
parent=$cg/sbx-ct-test
trap 'rmdir $parent/* $parent 2>/dev/null; rm -rf "$tmp"' EXIT
for c in cpu memory pids; do echo "+$c" >$cg/cgroup.subtree_control 2>/dev/null; done
mkdir -p $parent "$tmp/b"
ln -s "$REPO/build/test-rootfs" "$tmp/b/rootfs"
spec() {
	local cmd=${1//\"/\\\"}
	cat >"$tmp/b/config.json" <<JSON
{"root":{"path":"rootfs"},"process":{"args":["/bin/sh","-c","$cmd"],"env":["PATH=/bin"],"cwd":"/"},
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
  {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","mode=755"]}],
 "linux":{"namespaces":[{"type":"pid"},{"type":"mount"},{"type":"cgroup"}],
  "resources":{"memory":{"limit":33554432,"reservation":8388608},"pids":{"limit":16},
   "cpu":{"shares":1024,"quota":50000,"period":100000}}}}
JSON
}
export CT_CGROUP_PARENT=$parent CT_CG_SHOW=1
spec 'cat /proc/self/cgroup'
out=$("$drv" "$tmp/b" 2>&1)
expect_match "memory.max written" 'memory.max=33554432' "$out"
expect_match "memory.low written" 'memory.low=8388608' "$out"
expect_match "pids.max written" 'pids.max=16' "$out"
expect_match "cpu.max written" 'cpu.max=50000 100000' "$out"
expect_match "cgroup namespace rooted at the container's group" '0::/$' "$(echo "$out" | grep '^0::')"
spec 'i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done; kill -9 -1'
out=$("$drv" "$tmp/b" 2>&1)
expect_match "pids.max stops a fork bomb" "can't fork|Resource temporarily" "$out"
spec 'x=a; while true; do x=$x$x; done'
out=$("$drv" "$tmp/b" 2>&1); rc=$?
expect_eq "memory limit: OOM kill gives 137" 137 "$rc"
expect_match "memory.events oom_kill counted" 'oom_kills=[1-9]' "$out"
spec 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo done'
out=$(CT_CG_PAUSE=1 "$drv" "$tmp/b" 2>&1)
expect_match "pause: cgroup frozen" 'frozen=1' "$out"
expect_match "resume: container finishes" 'thawed.*done' "$(echo $out)"
expect_match "stats: cpu usage moved" 'cpu_usec=[1-9]' "$out"
check "groups removed" test -z "$(ls -d $parent/ct-* 2>/dev/null)"
done_testing
