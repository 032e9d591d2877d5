#!/bin/bash
# sbx-agent builds containers inside a real VM (DESIGN §4): rootfs from a block device (overlay
# on a read-only ext4 disk) and from a tar stream; stdio streams on port 1025 (stdout, stderr,
# stdin); exec sees the container's pid namespace and cwd; pause/resume; stats move; signals;
# memory limit -> OOM event and 137; pids.max stops a fork bomb; `kill -9 -1` and an OOM leave
# the agent alive; 10 containers that cannot see each other; -u names (io.kata-lite.user) resolved
# from the image's /etc/passwd and /etc/group; malformed requests refused by name.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
bash tests/probe/agent-rootfs.sh build/test-rootfs
tmp=$(mktemp -d) # unix sockets cannot live on the 9p-shared repository
trap 'pkill -9 -f "$tmp/sb" 2>/dev/null; rm -rf "$tmp"' EXIT
cp -a build/test-rootfs "$tmp/rootfs"
# -u names (io.kata-lite.user) resolve against the image's own files: a user with a member group
cat >>"$tmp/rootfs/etc/passwd" <<'P'
sbxuser:x:1000:1000:sbx user:/home/sbxuser:/bin/sh
P
cat >>"$tmp/rootfs/etc/group" <<'G'
sbxgroup:x:1000:
extra:x:2000:other,sbxuser
G
cp build/tests/vsock-peer "$tmp/rootfs/bin/vsock-peer" # static: tries the host's vsock ports
mke2fs -q -F -t ext4 -O ^has_journal -d "$tmp/rootfs" "$tmp/image.ext4" 32M
printf 'stream-marker\n' >"$tmp/stream-marker"
tar -C build/test-rootfs -cf "$tmp/rootfs.tar" . -C "$tmp" ./stream-marker

# spec FILE CMD [EXTRA_PROCESS_JSON] [EXTRA_LINUX_JSON] [EXTRA_TOP_JSON]: a config.json running
# sh -c CMD
spec() {
	local cmd=${2//\"/\\\"}
	cat >"$1" <<JSON
{"hostname":"box1","root":{"path":"rootfs"},
 "process":{"args":["/bin/sh","-c","$cmd"],"env":["PATH=/bin"],"cwd":"/tmp"${3:+,$3}},
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
  {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","mode=755"]},
  {"destination":"/tmp","type":"tmpfs","source":"tmpfs","options":["nosuid","size=4m"]}],
 "linux":{"namespaces":[{"type":"pid"},{"type":"mount"},{"type":"uts"},{"type":"ipc"},
   {"type":"network"},{"type":"cgroup"}],
  "maskedPaths":["/proc/kcore"]${4:+,$4}}${5:+,$5}}
JSON
}
# proc FILE CMD: an exec's process object
proc() {
	local cmd=${2//\"/\\\"}
	printf '{"args":["/bin/sh","-c","%s"],"env":["PATH=/bin"],"cwd":"/tmp"}\n' "$cmd" >"$1"
}

spec "$tmp/hello.json" 'echo hello from $(hostname); cat /etc/rootfs-marker; test -e /run/sbx && echo agent-visible; echo to-stderr >&2'
spec "$tmp/exit7.json" 'cat /stream-marker; exit 7'
spec "$tmp/stdin.json" 'read x; echo got:$x'
spec "$tmp/sleep.json" 'exec sleep 600'
proc "$tmp/ps.json" 'echo pid=$$ cwd=$(pwd) host=$(hostname); ps -o pid,comm | grep -w 1'
spec "$tmp/echo.json" 'while read x; do echo echo:$x; done'
proc "$tmp/busy.json" 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; echo busy-done'
spec "$tmp/killall.json" 'kill -9 -1; echo survived'
spec "$tmp/oom.json" 'a=xxxxxxxxxxxxxxxx; while :; do a=$a$a; done' '' \
	'"resources":{"memory":{"limit":16777216,"swap":16777216}}'
spec "$tmp/bomb.json" 'sh -c "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40; do sleep 600 & done"; echo forked; exec sleep 600' '' \
	'"resources":{"pids":{"limit":8}}'
for i in 0 1 2 3 4 5 6 7 8 9; do
	spec "$tmp/v$i.json" "touch /tmp/me-v$i /own-v$i; read x; echo files: \$(ls /tmp) \$(ls / | grep own) procs: \$(ls /proc | grep -c '^[0-9]')"
done
spec "$tmp/tty.json" 'read x; stty size; test -t 0 && test -t 1 && test -t 2 && echo all-ttys' '"terminal":true'
# containerd's own default spec (ctr oci spec): its /dev/pts, /dev/shm, /dev/mqueue, /sys, /run
# mounts, capability sets, masked and read-only paths
ctr oci spec | sed 's|"process": {|"process": {"args": ["/bin/sh", "-c", "mount \| grep -cE \x27 on /(dev/pts\|dev/shm\|dev/mqueue\|sys\|run) \x27; grep CapEff /proc/self/status; echo x > /proc/sys/kernel/hostname \|\| echo sysctl-ro"],|' >"$tmp/containerd.json"
spec "$tmp/vsock.json" 'vsock-peer guest-say 1026 READY-from-a-container; echo rc=$?'
spec "$tmp/bad.json" 'true'
# user USER[:GROUP]: the annotation sbx run -u NAME writes; process.user says root
ids="echo u=\$(id -u) g=\$(id -g) G=\$(id -G | tr ' ' ,) home=\$HOME"
user() {
	spec "$tmp/user-$1.json" "$ids" '"user":{"uid":0,"gid":0}' '' \
		"\"annotations\":{\"io.kata-lite.user\":\"$2\"}"
}
user nobody nobody
user sbxuser sbxuser
user explicit sbxuser:extra
user numeric 1000:nogroup
user ghost ghost
user ghostgroup sbxuser:ghosts
printf '{"process": 7' >"$tmp/garbage.json"

script() {
	cat <<-EOF
	sandbox pod1
	create c1 $tmp/hello.json block img ext4
	start c1
	wait c1
	create c2 $tmp/exit7.json stream $tmp/rootfs.tar 64
	start c2
	wait c2
	create --stdin c3 $tmp/stdin.json block img ext4
	start c3
	stdin c3 - ping
	wait c3
	create c4 $tmp/sleep.json block img ext4
	start c4
	exec c4 e1 $tmp/ps.json
	wait c4 e1
	create --stdin c5 $tmp/echo.json block img ext4
	start c5
	pause c5
	stdin c5 - one
	wait-timeout 3000 c5 -
	resume c5
	wait c5
	stats c4
	exec c4 e3 $tmp/busy.json
	wait c4 e3
	stats c4
	ps c4
	signal c4 - 9
	wait c4
	create k1 $tmp/killall.json block img ext4
	start k1
	wait k1
	health
	create s1 $tmp/vsock.json block img ext4
	start s1
	wait s1
	create d1 $tmp/containerd.json block img ext4
	start d1
	wait d1
	create --stdin t1 $tmp/tty.json block img ext4
	start t1
	resize t1 - 33 101
	stdin t1 - go
	wait t1
	create m1 $tmp/oom.json block img ext4
	start m1
	wait m1
	oom
	stats m1
	health
	create p1 $tmp/bomb.json block img ext4
	start p1
	await p1 - forked 60000
	stats p1
	update p1 pids=12 memory=33554432
	stats p1
	signal p1 - 9 all
	wait p1
	remove p1
	create u1 $tmp/user-nobody.json block img ext4
	start u1
	wait u1
	create u2 $tmp/user-sbxuser.json block img ext4
	start u2
	wait u2
	create u3 $tmp/user-explicit.json block img ext4
	start u3
	wait u3
	create u4 $tmp/user-numeric.json stream $tmp/rootfs.tar 64
	start u4
	wait u4
	create u5 $tmp/user-ghost.json block img ext4
	create u5 $tmp/user-ghostgroup.json block img ext4
	create u5 $tmp/user-nobody.json block img ext4
	start u5
	wait u5
	EOF
	for i in 0 1 2 3 4 5 6 7 8 9; do
		echo "create --stdin v$i $tmp/v$i.json block img ext4"
		echo "start v$i"
	done
	echo health
	for i in 0 1 2 3 4 5 6 7 8 9; do echo "stdin v$i - go"; done
	for i in 0 1 2 3 4 5 6 7 8 9; do echo "wait v$i"; done
	for c in c1 c2 c3 c4 c5 k1 s1 d1 t1 m1 u1 u2 u3 u4 u5 v0 v1 v2 v3 v4 v5 v6 v7 v8 v9; do
		echo "remove $c"
	done
	cat <<-EOF
	health
	create ../x $tmp/bad.json block img ext4
	create g1 $tmp/garbage.json block img ext4
	create g2 $tmp/bad.json none
	create g3 $tmp/bad.json block nosuchdisk ext4
	create g4 $tmp/bad.json block img vfat
	create c9 $tmp/bad.json block img ext4
	create c9 $tmp/bad.json block img ext4
	start nosuch
	signal c9 - 99
	resize c9 - 0 80
	update c9 cpu_period=5
	exec c9 e1 $tmp/garbage.json
	exec c9 bad/id $tmp/ps.json
	remove c9
	health
	destroy
	EOF
}
script >"$tmp/script"
out=$(timeout 900 build/tests/agent-driver --disk "$tmp/image.ext4:img:ro" --mem 384 --cpus 2 \
	"$BIN/sbx-vmm" build/guest/vmlinux build/guest/initrd.img "$tmp/sb" <"$tmp/script" 2>&1)
expect_eq "the driver runs to the end" 0 "$?"
line() { grep -E "$1" <<<"$out" | head -n1; }

expect_line "block rootfs: the container runs from the image disk" '^\[c1/\] hello from box1$' "$out"
expect_line "block rootfs: the image's files are there" '^\[c1/\] rootfs-marker$' "$out"
expect_line "stderr arrives on its own stream" '^\[c1/ err\] to-stderr$' "$out"
[[ "$out" == *agent-visible* ]] && not_ok "the agent's files are invisible" || ok "the agent's files are invisible"
expect_match "exit status and exit time" '^exit c1/ status=0 exited_at_age_s=[0-9]+$' "$(line '^exit c1/')"
expect_line "tar-stream rootfs: the streamed tree is the root" '^\[c2/\] stream-marker$' "$out"
expect_match "exit code passes through" 'status=7' "$(line '^exit c2/')"
expect_line "stdin stream reaches the process" '^\[c3/\] got:ping$' "$out"
expect_line "exec joins the container's pid namespace, cwd and hostname" \
	'^\[c4/e1\] pid=[0-9]+ cwd=/tmp host=box1$' "$out"
expect_line "exec sees the container's init as pid 1" '^\[c4/e1\] +1 (sleep|init)$' "$out"
expect_line "pause: a frozen container does not read its stdin or exit" '^still-running c5/$' "$out"
expect_line "resume: it runs again, only after the pause ended" '^\[c5/\] echo:one$' "$(sed -n '/^still-running c5/,$p' <<<"$out")"
expect_match "and exits 0 at the end of its stdin" 'status=0' "$(line '^exit c5/')"
mapfile -t cpu < <(grep -oP '^stats c4 cpu_ns=\K[0-9]+' <<<"$out")
[ "${#cpu[@]}" = 2 ] && [ "${cpu[1]}" -gt "${cpu[0]}" ] && ok "stats: cpu time moves when the container works (${cpu[*]})" ||
	not_ok "stats: cpu time moves when the container works (${cpu[*]})"
expect_line "ListProcesses counts the container's processes" '^ps c4 n=[1-9]' "$out"
expect_match "SIGKILL to init: 137" 'status=137' "$(line '^exit c4/ ')"
expect_line "kill -9 -1 only reaches the container's own processes" '^\[k1/\] survived$' "$out"
expect_line "a container cannot open vsock sockets (the host's ports stay out of reach)" \
	'^\[s1/ err\] vsock-peer: vsock connect: Permission denied$' "$out"
expect_line "and carries on" '^\[s1/\] rc=1$' "$out"
expect_line "containerd's default spec: its five extra mounts are there" '^\[d1/\] 5$' "$out"
expect_line "containerd's default spec: its capability set" '^\[d1/\] CapEff:\s+00000000a80425fb$' "$out"
expect_line "containerd's default spec: /proc/sys is read-only" '^\[d1/\] sysctl-ro$' "$out"
expect_match "containerd's default spec: exit status" 'status=0' "$(line '^exit d1/')"
expect_line "terminal: ResizeTty sets the size the process sees" $'^\\[t1/\\] 33 101\r?$' "$out"
expect_line "terminal: stdin, stdout and stderr are the pty" $'^\\[t1/\\] all-ttys\r?$' "$out"
expect_match "terminal: exit status" 'status=0' "$(line '^exit t1/')"
expect_match "OOM: the memory hog is killed, 137" 'status=137' "$(line '^exit m1/')"
expect_line "OOM: GetOOMEvent names the container" '^oom m1$' "$out"
expect_line "OOM: counted in stats, with the limit" '^stats m1 .*mem_limit=16777216 .*oom_kills=[1-9]' "$out"
expect_eq "the agent answers after kill -9 -1 and the OOM" 2 "$(grep -c '^health uptime' <<<"$(sed -n '/^exit k1/,/^created p1/p' <<<"$out")")"
expect_line "the fork bomb ran into its limit" '^seen \[p1/\] forked$' "$out"
expect_line "the bomb's forks fail beyond the limit" '^\[p1/ err\] .*(can.t fork|Resource temporarily unavailable)' "$out"
# pids.max 8 = the outer shell, the bomb's shell and 6 sleeps; the bomb's shell then dies
expect_line "pids.max stops the fork bomb at the limit" '^stats p1 .*pids=7 pids_limit=8 ' "$out"
expect_line "UpdateContainer changes the limits" '^stats p1 .*mem_limit=33554432 pids=7 pids_limit=12 ' "$out"
expect_match "SignalProcess to all processes (cgroup.kill)" 'status=137' "$(line '^exit p1/')"
expect_line "remove cleans up the container" '^removed p1$' "$out"
expect_line "-u nobody: uid, gid and HOME from the image's passwd, the gid in the groups" \
	'^\[u1/\] u=65534 g=65534 G=65534 home=/$' "$out"
expect_line "-u sbxuser: plus every group of /etc/group that lists it" \
	'^\[u2/\] u=1000 g=1000 G=1000,2000 home=/home/sbxuser$' "$out"
expect_line "-u sbxuser:extra: the named group replaces the gid, no member groups" \
	'^\[u3/\] u=1000 g=2000 G=2000 home=/home/sbxuser$' "$out"
expect_line "-u 1000:nogroup (tar-stream rootfs, no such uid): that uid, the named group" \
	'^\[u4/\] u=1000 g=65534 G=65534 home=/$' "$out"
expect_line "-u with an unknown user: CreateContainer fails naming it" \
	'^CreateContainer: error: (.*: )?unable to find user ghost: no matching entries in passwd file$' "$out"
expect_line "-u with an unknown group: CreateContainer fails naming it" \
	'^CreateContainer: error: (.*: )?unable to find group ghosts: no matching entries in group file$' "$out"
expect_line "a failed -u leaves nothing registered: the id is free again" '^\[u5/\] u=65534 ' "$out"
expect_line "10 containers run at once" 'health uptime_ms=[0-9]+ containers=[1-9][0-9] ' "$(grep -A1 '^started v9' <<<"$out")"
for i in 0 4 9; do
	expect_line "container v$i sees only its own files and processes" \
		"^\[v$i/\] files: me-v$i own-v$i procs: [1-4]$" "$out"
done
n=$(grep -cE '^\[v[0-9]/\] files: me-v[0-9] own-v[0-9] procs' <<<"$out")
expect_eq "all 10 report" 10 "$n"
expect_match "all removed" 'containers=0 ' "$(grep '^health' <<<"$out" | tail -n 2 | head -n 1)"
expect_match "a bad container id is refused by name" "CreateContainer: error: .*container id '../x' is not a valid id" "$out"
expect_match "a malformed spec is refused" 'CreateContainer: error: .*spec: line 1' "$out"
expect_match "a missing rootfs source is refused" 'CreateContainer: error: .*rootfs: no source given' "$out"
expect_match "an unknown disk serial is refused" "CreateContainer: error: .*no disk with serial 'nosuchdisk'" "$out"
expect_match "an unknown fstype is refused" "CreateContainer: error: .*fstype 'vfat' is not ext4 or erofs" "$out"
expect_match "a duplicate id is refused" "CreateContainer: error: .*container 'c9' already exists" "$out"
expect_match "an unknown container is named" "StartContainer: error: .*container 'nosuch' does not exist" "$out"
expect_match "a bad signal is refused" 'SignalProcess: error: .*signal 99 is not 1..64' "$out"
expect_match "a bad tty size is refused" 'ResizeTty: error: .*tty size 80x0' "$out"
expect_match "a bad cpu period is refused" 'UpdateContainer: error: .*cpu_period 5 is not' "$out"
expect_match "a malformed process is refused" 'ExecProcess: error: .*process: line 1' "$out"
expect_match "a bad exec id is refused" "ExecProcess: error: .*exec id 'bad/id' is not a valid id" "$out"
expect_match "the agent is still serving" 'containers=0 ' "$(grep '^health' <<<"$out" | tail -n 1)"
expect_match "DestroySandbox powers off cleanly" 'vmm exit=0$' "$(line '^vmm exit')"
printf "%s\n" "$out" >build/agent-containers.last.log
[ "$_tap_failed" -eq 0 ] || diag "the driver's whole output: build/agent-containers.last.log"
done_testing
