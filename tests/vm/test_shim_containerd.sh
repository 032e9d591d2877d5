#!/bin/bash
# containerd-shim-kata-lite-v2 under Debian's containerd 1.6 and ctr, typed as a user would:
# run --rm prints and passes the exit code through; stdin; -t; exec; ps; pause/resume;
# metrics; Update and Checkpoint asked directly; kill then the exit status; events in
# containerd's order; the rootfs image kept with the snapshot; oom; two VMs at once; bind
# mounts; the stream rootfs transfer; a malformed config; a pod of two containers made through
# the CRI annotations shares one VM and one network namespace; afterwards nothing is left.
# Faults (a killed VMM or shim, containerd restarted) are in test_shim_faults.sh.
source "$(dirname "$0")/../lib.sh"
source "$REPO/tests/vm/lib-shim-ctr.sh"

out=$(run --rm "$IMG" t-hi echo hi 2>&1)
expect_eq "ctr run --rm ... echo hi prints hi" hi "$out"
run --rm "$IMG" t-exit sh -c 'exit 7' >/dev/null 2>&1
expect_eq "the exit code passes through" 7 "$?"
out=$(echo piped-in | run --rm "$IMG" t-stdin sh -c 'read x; echo got:$x' 2>&1)
expect_eq "stdin reaches the container" got:piped-in "$out"
out=$(run --rm "$IMG" t-err sh -c 'echo out; echo err >&2' 2>/dev/null)
expect_eq "stdout and stderr stay apart" out "$out"
out=$(script -qec "stty rows 33 cols 101; ctr --address $CTRD_SOCK run -t --rm --runtime $RT $IMG t-tty sh -c 'stty size; test -t 0 && echo tty'" /dev/null | tr -d '\r\0^@')
expect_eq "-t gives a terminal of the caller's size" "33 101 tty" "$(echo $out)"

# a detached task: exec, ps, pause, resume, metrics, kill
check "ctr run -d starts a task" run -d "$IMG" t-bg sh -c 'trap "exit 3" TERM; while :; do sleep 1; done'
wait_for 120 sh -c "[ \"\$(ctr --address $CTRD_SOCK task ls | awk '\$1==\"t-bg\" {print \$3}')\" = RUNNING ]"
expect_eq "task ls says RUNNING" RUNNING "$(status_of t-bg)"
out=$(ctr_ task exec --exec-id e1 t-bg sh -c 'echo exec-$(hostname); exit 5' 2>&1)
rc=$?
expect_eq "task exec runs in the container, exit status passed" "5 exec-t-bg" "$rc $out"
out=$(echo via-exec | ctr_ task exec --exec-id e2 t-bg cat 2>&1)
expect_eq "task exec pipes stdin" via-exec "$out"
pids=$(ctr_ task ps t-bg 2>&1)
expect_line "task ps lists the container's processes" '^[0-9]+ ' "$pids"
check "task pause" ctr_ task pause t-bg
expect_eq "task ls says PAUSED" PAUSED "$(status_of t-bg)"
check "task resume" ctr_ task resume t-bg
expect_eq "task ls says RUNNING again" RUNNING "$(status_of t-bg)"
metrics=$(ctr_ task metrics t-bg 2>&1)
expect_line "task metrics shows the memory in use" 'memory\.usage_in_bytes +[1-9][0-9]*|memory.*[1-9]' "$metrics"
# what ctr 1.6 cannot ask (CRI's UpdateContainerResources, a checkpoint), straight to the shim
sock=$(cat "$CTRD_DIR/state/io.containerd.runtime.v2.task/default/t-bg/address")
out=$("$call" "$sock" Update t-bg '{"memory":{"limit":67108864},"pids":{"limit":100}}')
expect_eq "Update is accepted" ok "$out"
expect_line "and metrics show the new memory limit" "memory.usage_limit +67108864" "$(ctr_ task metrics t-bg 2>&1)"
expect_line "and the pids limit" "pids.limit +100" "$(ctr_ task metrics t-bg 2>&1)"
out=$("$call" "$sock" Update t-bg '{"memory":')
expect_match "malformed resources are refused in one line" '^error: update: resources are not a JSON object: .* \(EINVAL\)$' "$out"
out=$("$call" "$sock" Checkpoint t-bg)
expect_eq "Checkpoint answers Unimplemented" 'error: checkpoint is not supported by kata-lite (ENOSYS)' "$out"
out=$(script -qec "ctr --address $CTRD_SOCK task exec -t --exec-id et t-bg sh -c 'test -t 0 && test -t 1 && echo tty'" /dev/null | tr -d '\r\0^@')
expect_eq "task exec -t gives a terminal" "tty" "$(echo $out)"
check "task kill -s TERM" ctr_ task kill -s TERM t-bg
wait_for 60 sh -c "[ \"\$(ctr --address $CTRD_SOCK task ls | awk '\$1==\"t-bg\" {print \$3}')\" = STOPPED ]"
expect_eq "the task is STOPPED" STOPPED "$(status_of t-bg)"
expect_eq "the TERM trap's exit status is in the exit event" 3 "$(exit_of t-bg)"
check "task delete" ctr_ task delete t-bg
check "container delete" ctr_ container delete t-bg

# events, in the order containerd expects them
wait_for 30 grep -q '/tasks/delete.*t-bg' "$CTRD_DIR/events.log"
topics=$(grep -E 't-bg' "$CTRD_DIR/events.log" | grep -oE '/tasks/[a-z-]+' | tr '\n' ' ')
expect_eq "events of t-bg in order" "/tasks/create /tasks/start /tasks/exec-added /tasks/exec-started /tasks/exit /tasks/exec-added /tasks/exec-started /tasks/exit /tasks/paused /tasks/resumed /tasks/exec-added /tasks/exec-started /tasks/exit /tasks/exit /tasks/delete " "$topics"

# the block rootfs image lives beside the container's snapshot: a new task on the container
# reuses it, and it goes with the container
check "ctr run -d of a container to restart" run -d "$IMG" t-img sleep 1000
wait_for 120 sh -c "[ \"\$(ctr --address $CTRD_SOCK task ls | awk '\$1==\"t-img\" {print \$3}')\" = RUNNING ]"
upper=$(ctr_ snapshots mounts "$CTRD_DIR/m" t-img 2>&1 | grep -o 'upperdir=[^,]*' | cut -d= -f2)
img=${upper%/fs}/kata-lite-rootfs.ext4
expect_eq "the rootfs image is kept beside the container's snapshot" yes \
	"$([ -n "$upper" ] && [ -s "$img" ] && echo yes)"
ino=$(stat -c %i "$img" 2>&1)
ctr_ task kill -s KILL t-img >/dev/null 2>&1
wait_for 60 sh -c "[ \"\$(ctr --address $CTRD_SOCK task ls | awk '\$1==\"t-img\" {print \$3}')\" = STOPPED ]"
check "its task deleted" ctr_ task delete t-img
check "a second task on the same container starts" ctr_ task start -d t-img
wait_for 120 sh -c "[ \"\$(ctr --address $CTRD_SOCK task ls | awk '\$1==\"t-img\" {print \$3}')\" = RUNNING ]"
expect_eq "and runs from the same image, not a rebuilt one" "RUNNING $ino" \
	"$(status_of t-img) $(stat -c %i "$img" 2>&1)"
ctr_ task kill -s KILL t-img >/dev/null 2>&1
wait_for 60 sh -c "[ \"\$(ctr --address $CTRD_SOCK task ls | awk '\$1==\"t-img\" {print \$3}')\" = STOPPED ]"
ctr_ task delete t-img >/dev/null 2>&1
check "container delete" ctr_ container delete t-img
# containerd's garbage collector removes the snapshot, a moment after the container
wait_for 60 sh -c "[ ! -e '$img' ]"
expect_eq "the image went with the snapshot" gone "$([ -e "$img" ] || echo gone)"

out=$(run --rm --memory-limit 33554432 "$IMG" t-oom sh -c 'a=xxxxxxxxxxxxxxxx; while :; do a=$a$a; done' 2>&1)
expect_eq "a container over its memory limit is killed: 137" 137 "$(exit_of t-oom)"
wait_for 30 grep -q '/tasks/oom {"container_id":"t-oom"}' "$CTRD_DIR/events.log"
expect_line "and an oom event is published" '/tasks/oom \{"container_id":"t-oom"\}' "$(cat "$CTRD_DIR/events.log")"

# two VMs at once; a bind mount; the stream transfer
echo host-file-content >"$CTRD_DIR/hostfile"
check "two detached tasks" run -d --mount "type=bind,src=$CTRD_DIR/hostfile,dst=/etc/hostfile,options=rbind:ro" "$IMG" t-a sleep 600
check "and a second one" run -d "$IMG" t-b sleep 600
a=$(ctr_ task exec --exec-id b1 t-a cat /proc/sys/kernel/random/boot_id 2>&1)
b=$(ctr_ task exec --exec-id b2 t-b cat /proc/sys/kernel/random/boot_id 2>&1)
expect_match "each task has a VM of its own" '^[0-9a-f-]{36}$' "$a"
[ "$a" != "$b" ] && ok "different VMs" || { not_ok "different VMs"; diag "$a = $b"; }
out=$(ctr_ task exec --exec-id f1 t-a cat /etc/hostfile 2>&1)
expect_eq "a bind-mounted host file reaches the container" host-file-content "$out"
for t in t-a t-b; do
	ctr_ task kill -s KILL $t >/dev/null 2>&1
done
wait_for 60 sh -c "ctr --address $CTRD_SOCK task ls | grep -q 't-a .*STOPPED' && ctr --address $CTRD_SOCK task ls | grep -q 't-b .*STOPPED'"
expect_eq "kill -s KILL: 137" 137 "$(exit_of t-a)"
ctr_ task delete t-a >/dev/null 2>&1
ctr_ task delete t-b >/dev/null 2>&1
ctr_ container delete t-a t-b >/dev/null 2>&1

printf '{"rootfs_transfer": "stream"}\n' >"$CTRD_DIR/stream.json"
out=$(run --rm --runtime-config-path "$CTRD_DIR/stream.json" "$IMG" t-stream sh -c 'grep " / " /proc/mounts | cut -d" " -f3' 2>&1)
expect_eq "rootfs_transfer stream: the root is a tmpfs" tmpfs "$out"
out=$(run --rm "$IMG" t-block sh -c 'grep " / " /proc/mounts | cut -d" " -f3' 2>&1)
expect_eq "the default block transfer: the root is an overlay" overlay "$out"
printf '{"vcpus": "two"}\n' >"$CTRD_DIR/bad.json"
out=$(run --rm --runtime-config-path "$CTRD_DIR/bad.json" "$IMG" t-bad true 2>&1)
expect_match "a malformed config fails, naming the file and the problem" "$CTRD_DIR/bad.json: \"vcpus\" must be a whole number" "$out"
ctr_ container delete t-bad >/dev/null 2>&1


# a pod: the sandbox (pause) container makes the VM, two containers join it
pod=(--annotation io.kubernetes.cri.sandbox-id=pod1)
check "the pod's sandbox task" run -d "${pod[@]}" --annotation io.kubernetes.cri.container-type=sandbox "$IMG" pod1 /pause
for c in c1 c2; do
	check "pod container $c" run -d "${pod[@]}" --annotation io.kubernetes.cri.container-type=container "$IMG" $c sleep 600
done
expect_eq "one shim serves the pod" 1 "$(pgrep -fc 'containerd-shim-kata-lite-v2 .*-id (pod1|c1|c2) ')"
b1=$(ctr_ task exec --exec-id x c1 cat /proc/sys/kernel/random/boot_id 2>&1)
b2=$(ctr_ task exec --exec-id x c2 cat /proc/sys/kernel/random/boot_id 2>&1)
expect_eq "both containers run in the one VM" "$b1" "$b2"
n1=$(ctr_ task exec --exec-id n c1 readlink /proc/self/ns/net 2>&1)
n2=$(ctr_ task exec --exec-id n c2 readlink /proc/self/ns/net 2>&1)
expect_match "and share one network namespace" '^net:\[[0-9]+\]$' "$n1"
expect_eq "the same one" "$n1" "$n2"
p1=$(ctr_ task exec --exec-id p c1 readlink /proc/self/ns/pid 2>&1)
p2=$(ctr_ task exec --exec-id p c2 readlink /proc/self/ns/pid 2>&1)
[ "$p1" != "$p2" ] && ok "each has its own pid namespace" || { not_ok "each has its own pid namespace"; diag "$p1"; }
for c in c1 c2 pod1; do
	ctr_ task kill -s KILL $c >/dev/null 2>&1
	wait_for 60 sh -c "[ \"\$(ctr --address $CTRD_SOCK task ls | awk '\$1==\"$c\" {print \$3}')\" = STOPPED ]"
	ctr_ task delete $c >/dev/null 2>&1
	ctr_ container delete $c >/dev/null 2>&1
done
expect_eq "the pod's tasks are gone" "" "$(ctr_ task ls -q)"

shim_ctr_finish
done_testing
