#!/bin/bash
# The agent's container library end to end on this host as root: a config.json and the busybox
# rootfs become a container (namespaces, pivot_root, masked path, seccomp, caps, user, rlimit,
# exit status), driven by build/tests/ct-driver.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 77; }
drv=build/tests/ct-driver
bash tests/probe/agent-rootfs.sh build/test-rootfs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/b"
ln -s "$REPO/build/test-rootfs" "$tmp/b/rootfs"

# spec CMD [EXTRA_PROCESS_JSON] [EXTRA_LINUX_JSON]: writes a config.json running sh -c CMD
spec() {
	local cmd=${1//\"/\\\"}
	cat >"$tmp/b/config.json" <<JSON
{"hostname":"box1","root":{"path":"rootfs"},
 "process":{"args":["/bin/sh","-c","$cmd"],"env":["PATH=/bin"],"cwd":"/tmp"${2:+,$2}},
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
  {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","mode=755"]}],
 "linux":{"namespaces":[{"type":"pid"},{"type":"mount"},{"type":"uts"},{"type":"ipc"},
   {"type":"network"},{"type":"cgroup"}],
  "maskedPaths":["/proc/kcore","/etc/rootfs-marker"]${3:+,$3}}}
JSON
}
run() { "$drv" "$tmp/b" 2>&1; }

spec 'echo $$'
expect_eq "container init is pid 1 in its namespace" 1 "$(run)"
spec 'hostname'
expect_eq "own hostname" box1 "$(run)"
spec 'ls /'
expect_match "pivot_root: the busybox rootfs is / " 'bin' "$(run)"
spec 'test -e /work || test -e /usr/lib/x86_64-linux-gnu && echo leak || echo hidden'
expect_eq "host files invisible" hidden "$(run)"
spec 'cat /etc/rootfs-marker; echo "[$?]"'
expect_match "masked path reads empty (bound to /dev/null)" '^\[0\]$' "$(run)"
spec 'echo x > /dev/null && head -c 4 /dev/zero | wc -c && ls /dev/fd/ >/dev/null && echo devok'
expect_match "default /dev nodes and symlinks" 'devok' "$(run)"
spec 'mkdir /tmp/x; echo "rc=$?"' '' \
	'"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}'
expect_match "seccomp rule makes mkdir fail with EPERM" 'Operation not permitted.*rc=1' "$(run)"
spec 'ls -d /tmp/nope 2>/dev/null; mkdir /tmp/y && echo made && rmdir /tmp/y' '' \
	'"seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":1,"op":"SCMP_CMP_EQ"}]}]}'
expect_eq "seccomp argument condition that does not match lets the call through" made "$(run)"
spec 'grep CapEff /proc/self/status' \
	'"capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]}'
expect_match "capabilities dropped to CAP_KILL" 'CapEff:[[:space:]]+0000000000000020' "$(run)"
spec 'grep CapBnd /proc/self/status' '"capabilities":{"bounding":["CAP_KILL"]}'
expect_match "bounding set dropped" 'CapBnd:[[:space:]]+0000000000000020' "$(run)"
spec 'id -u; id -g; id -G' '"user":{"uid":1000,"gid":1001,"additionalGids":[5,6]}'
expect_eq "user switch" "1000 1001 1001 5 6" "$(run | tr '\n' ' ' | sed 's/ $//')"
spec 'grep NoNewPrivs /proc/self/status' '"noNewPrivileges":true'
expect_match "no_new_privs" 'NoNewPrivs:[[:space:]]+1' "$(run)"
spec 'ulimit -n' '"rlimits":[{"type":"RLIMIT_NOFILE","soft":77,"hard":88}]'
expect_eq "rlimit applied" 77 "$(run)"
spec 'exit 7'
run >/dev/null
expect_eq "exit status propagates" 7 "$?"
spec 'sleep 30'
"$drv" "$tmp/b" 1 9 >/dev/null 2>&1
expect_eq "killed by a signal gives 128+signal" 137 "$?"
spec '{ echo 1 > /proc/sys/kernel/ns_last_pid; } 2>/dev/null && echo writable || echo ro' '' \
	'"readonlyPaths":["/proc/sys"]'
expect_eq "read-only path" ro "$(run)"
spec 'true'
sed -i 's|"args":\["/bin/sh","-c","true"\]|"args":["/no/such-binary"]|' "$tmp/b/config.json"
out=$(run); rc=$?
expect_match "start reports an exec failure in one line" 'start: exec /no/such-binary: No such file or directory' "$out"
[ "$rc" -ne 0 ] && ok "and fails" || not_ok "and fails"
spec 'sleep 30'
out=$(CT_EXEC='echo "pid=$$ cwd=$(pwd) host=$(hostname)"; ps -o pid,comm | grep -w 1' "$drv" "$tmp/b" 2>&1)
expect_match "exec: joins the container's pid namespace and cwd" 'pid=[0-9]+ cwd=/tmp host=box1' "$out"
# init's exec closes the start channel a moment before the kernel renames it, so the name may
# still be the agent's
expect_line "exec: sees the container's init as pid 1" '^ +1 (sleep|exe|ct-driver)$' "$out"
expect_match "exec: exit status" 'exec_status=0' "$out"
spec 'true'
sed -i 's|"cwd":"/tmp"|"cwd":"/nonexistent"|' "$tmp/b/config.json"
expect_match "setup error comes back as one line" "^ct-driver: create: chdir '/nonexistent': No such file or directory$" "$(run)"
spec 'true'
sed -i 's|"destination":"/proc"|"destination":"/../proc"|' "$tmp/b/config.json"
expect_match "'..' in a mount destination is rejected" "mounts\[0\]: destination: must be an absolute path without '..'" "$(run)"
# a symlink in the rootfs pointing outside must resolve inside the root
ln -sfn /etc "$tmp/escape"
mkdir -p "$tmp/r2" && cp -a build/test-rootfs/. "$tmp/r2/" && ln -sfn /../../../../tmp/evil "$tmp/r2/link" && mkdir -p "$tmp/r2/tmp/evil"
rm "$tmp/b/rootfs" && ln -s "$tmp/r2" "$tmp/b/rootfs"
spec 'ls -d /tmp/evil/sub && echo inside'
sed -i 's|"mounts":\[|"mounts":[{"destination":"/link/sub","type":"tmpfs","source":"t"},|' "$tmp/b/config.json"
expect_match "mount through an escaping symlink lands inside the rootfs" inside "$(run)"
check "nothing was created outside the rootfs" test ! -e /tmp/evil
done_testing
