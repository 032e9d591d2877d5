#!/bin/bash
# containerd-shim-kata-lite-v2 under containerd's CRI plugin, called as the kubelet calls it
# (tests/probe/cri.py: RunPodSandbox with runtime handler "kata-lite", CreateContainer,
# StartContainer, ExecSync, ContainerStatus, UpdateContainerResources, StopContainer,
# RemoveContainer, StopPodSandbox, RemovePodSandbox): the pod is one shim and one VM, its
# containers share the VM and its network namespace but not their pid namespaces, the files CRI
# bind-mounts (/etc/hostname, /etc/hosts, /etc/resolv.conf) reach them (hosts the same as
# CRI wrote it), their output lands in CRI's log files, exit codes come back, and after the pod
# is removed nothing is left.
source "$(dirname "$0")/../lib.sh"
source "$REPO/tests/vm/lib-containerd.sh"
cd "$REPO"
CTRD_CRI=1
CTRD_CRI_RUNTIMES='
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata-lite-bad]
  runtime_type = "io.containerd.kata-lite.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata-lite-bad.options]
  ConfigPath = "@CTRD_DIR@/bad-config.json"'
ctrd_start || { not_ok "containerd starts with its CRI plugin"; done_testing; exit 1; }
CTRD_NS=k8s.io
echo '{"vcpus": "many"}' >"$CTRD_DIR/bad-config.json"
IMG=$CTRD_IMAGE
cri() { /usr/bin/python3 "$REPO/tests/probe/cri.py" "$CTRD_SOCK" "$@"; }
state_of() { cri state "$1" 2>&1; }
# shims, vmms: how many of ours run (the pattern is anchored so the test's own sh -c lines
# that name the socket do not count)
shims() { pgrep -fc -- "^[^ ]*containerd-shim-kata-lite-v2 .*-address $CTRD_SOCK"; }
vmms() { pgrep -xc sbx-vmm; }
none_left() { [ "$(shims) $(vmms)" = "0 0" ]; }

expect_match "the CRI plugin answers Version" '^containerd ' "$(cri version 2>&1)"

logs=$CTRD_DIR/pods/p1
mkdir -p "$logs"
pod=$(cri runp p1 kata-lite "$logs" p1-host 2>&1)
expect_match "RunPodSandbox with handler kata-lite makes a pod" '^[0-9a-f]{64}$' "$pod"
expect_eq "the pod is READY" READY "$(cri podstate "$pod" 2>&1)"
expect_eq "one shim and one VM for the pod" "1 1" "$(shims) $(vmms)"

# create POD-CONTAINER-NAME CMD...: a container of the pod p1, its log in $logs/NAME.log
create() {
	local name=$1
	shift
	cri create "$pod" "$name" "$IMG" "$name.log" p1 "$logs" p1-host -- "$@"
}
web=$(create web sh -c 'echo hello from cri; readlink /proc/self/ns/net; exec sleep 1000' 2>&1)
expect_match "CreateContainer" '^[0-9a-f]{64}$' "$web"
check "StartContainer" cri start "$web"
expect_eq "ContainerStatus says RUNNING" "RUNNING 0" "$(state_of "$web")"
check "its output lands in CRI's log file" \
	wait_for 60 grep -q ' stdout F hello from cri$' "$logs/web.log"
out=$(cri exec "$web" 60 -- cat /etc/hostname 2>&1)
expect_eq "ExecSync: CRI's /etc/hostname is the pod's" p1-host "$out"
out=$(cri exec "$web" 60 -- sh -c 'test -s /etc/hosts && test -f /etc/resolv.conf && echo both' 2>&1)
expect_eq "CRI's /etc/hosts and /etc/resolv.conf are there" both "$out"
host_hosts=$CTRD_DIR/root/io.containerd.grpc.v1.cri/sandboxes/$pod/hosts
expect_eq "/etc/hosts is the one CRI wrote for the pod" "$(cat "$host_hosts" 2>&1)" \
	"$(cri exec "$web" 60 -- cat /etc/hosts 2>&1)"
cri exec "$web" 60 -- sh -c 'echo to-stderr >&2; exit 4' >/dev/null 2>&1
expect_eq "ExecSync passes the exit code" 4 "$?"

job=$(create job sh -c 'cat /proc/sys/kernel/random/boot_id; readlink /proc/self/ns/net; echo $$ $(readlink /proc/self/ns/pid); exit 3' 2>&1)
check "a second container of the pod starts" cri start "$job"
check "it exits" wait_for 120 sh -c "[ \"\$(/usr/bin/python3 tests/probe/cri.py $CTRD_SOCK state $job | cut -d' ' -f1)\" = EXITED ]"
expect_eq "ContainerStatus has its exit code" "EXITED 3" "$(state_of "$job")"
check "its output is logged" wait_for 30 grep -q ' stdout F 1 pid:' "$logs/job.log"
job_out=$(sed -n 's/^[^ ]* stdout F //p' "$logs/job.log")
boot_web=$(cri exec "$web" 60 -- cat /proc/sys/kernel/random/boot_id 2>&1)
expect_eq "both containers run in the same VM" "$boot_web" "$(sed -n 1p <<<"$job_out")"
net_web=$(sed -n 's/^[^ ]* stdout F \(net:.*\)/\1/p' "$logs/web.log")
expect_match "and share its network namespace" "^net:\[[0-9]+\]$" "$net_web"
expect_eq "(the same one)" "$net_web" "$(sed -n 2p <<<"$job_out")"
pid_web=$(cri exec "$web" 60 -- readlink /proc/self/ns/pid 2>&1)
job_pid=$(sed -n 3p <<<"$job_out")
expect_match "but each has its own pid namespace (it was pid 1 in its own)" "^1 pid:\[[0-9]+\]$" "$job_pid"
expect_match "(not the other's)" "^pid:\[[0-9]+\]$" "$pid_web"
[ "$pid_web" != "${job_pid#1 }" ] && ok "(they differ)" || not_ok "(they differ: $pid_web)"
expect_eq "still one shim and one VM" "1 1" "$(shims) $(vmms)"

check "UpdateContainerResources sets a memory limit" cri update "$web" 67108864
out=$(cri exec "$web" 60 -- cat /sys/fs/cgroup/memory.max 2>&1)
expect_eq "the container's cgroup has it" 67108864 "$out"

# sleep is the container's pid 1 and has no TERM handler: StopContainer kills it after 2 s
check "StopContainer" cri stop "$web" 2
expect_eq "ContainerStatus says EXITED, killed" "EXITED 137" "$(state_of "$web")"
check "RemoveContainer (both)" sh -c "/usr/bin/python3 tests/probe/cri.py $CTRD_SOCK rm $web &&
	/usr/bin/python3 tests/probe/cri.py $CTRD_SOCK rm $job"
check "StopPodSandbox" cri stopp "$pod"
expect_eq "the pod is NOTREADY" NOTREADY "$(cri podstate "$pod" 2>&1)"
check "RemovePodSandbox" cri rmp "$pod"
check "the shim and the VM are gone" wait_for 60 none_left
expect_eq "nothing is left" "" "$(ctrd_leftovers)"
out=$(cri rmp "$pod" 2>&1)
expect_eq "RemovePodSandbox again is fine (idempotent)" "" "$out"

# the handler kata-lite-bad names a malformed config (runtime options ConfigPath)
bad=$(cri runp p2 kata-lite-bad "$logs" p2-host 2>&1)
expect_match "a malformed config fails RunPodSandbox with the file and the problem" \
	"^cri: RunPodSandbox: .*$CTRD_DIR/bad-config.json: .*vcpus" "$bad"
check "and leaves no shim or VM" wait_for 60 none_left
expect_eq "nor anything else" "" "$(ctrd_leftovers)"
done_testing
