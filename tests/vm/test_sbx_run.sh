#!/bin/bash
# `sbx run`, typed as a user would, with the locally built busybox image: output, exit codes,
# stdin, env/env-file/workdir/user/hostname flags, --read-only, --memory enforced, --cpus (vCPUs
# and cgroup quota), TERM and INT forwarded, errors with 125, five runs at once, and nothing left
# behind after --rm.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
make --no-print-directory -s build/images/busybox.tar
export SBX_ROOT
SBX_ROOT=$(mktemp -d) # unix sockets: not on the 9p-shared repository
trap 'pkill -9 -f "$SBX_ROOT" 2>/dev/null; rm -rf "$SBX_ROOT"' EXIT
sbx=$BIN/sbx
check "load the demo image" "$sbx" load -i build/images/busybox.tar

out=$(timeout 300 "$sbx" run --rm busybox echo hello from a microVM 2>&1)
expect_eq "run prints the container's output" "hello from a microVM" "$out"
timeout 300 "$sbx" run --rm busybox sh -c 'exit 7' >/dev/null 2>&1
expect_eq "the exit code is the container's" 7 "$?"
out=$(echo piped-through | timeout 300 "$sbx" run -i --rm busybox cat 2>&1)
expect_eq "-i pipes stdin through" piped-through "$out"
out=$(timeout 300 "$sbx" run --rm busybox sh -c 'echo out; echo err >&2' 2>/dev/null)
expect_eq "stdout and stderr stay apart (stdout)" out "$out"
out=$(timeout 300 "$sbx" run --rm busybox sh -c 'echo out; echo err >&2' 2>&1 >/dev/null)
expect_eq "stdout and stderr stay apart (stderr)" err "$out"
out=$(timeout 300 "$sbx" run --rm -e FOO=bar -w /tmp -u 1000:1001 --hostname box7 busybox \
	sh -c 'echo $FOO $(pwd) $(id -u):$(id -g) $(hostname)' 2>&1)
expect_eq "-e, -w, -u and --hostname reach the process" "bar /tmp 1000:1001 box7" "$out"
out=$(timeout 300 "$sbx" run --rm -u nobody busybox sh -c 'echo $(id -u):$(id -g) $HOME' 2>&1)
expect_eq "-u NAME comes from the image's /etc/passwd (uid, gid, HOME)" "65534:65534 /home" "$out"
out=$(timeout 300 "$sbx" run --rm -u nobody:root busybox sh -c 'echo $(id -u):$(id -g)' 2>&1)
expect_eq "-u NAME:GROUP takes the group from /etc/group" "65534:0" "$out"
out=$(timeout 300 "$sbx" run --rm -u 65534 busybox sh -c 'echo $(id -u):$(id -g)' 2>&1)
expect_eq "-u UID found in /etc/passwd gets its gid, as docker does" "65534:65534" "$out"
out=$(timeout 300 "$sbx" run --rm -u ghost busybox true 2>&1)
expect_eq "an unknown user: 125 and the reason" "125" "$?"
expect_match "naming the user" "unable to find user ghost: no matching entries in passwd file" "$out"
out=$(timeout 300 "$sbx" run --rm busybox sh -c 'echo $PATH; id -u; pwd' 2>&1 | tr '\n' ' ')
expect_match "the image config's Env, User and WorkingDir are the defaults" '^/[^ ]*bin[^ ]* 0 / $' "$out"
out=$(timeout 300 "$sbx" run --rm --entrypoint /bin/echo busybox from-entrypoint 2>&1)
expect_eq "--entrypoint replaces the image's" from-entrypoint "$out"
out=$(timeout 300 "$sbx" run --rm --read-only busybox sh -c 'touch /x 2>/dev/null && echo rw || echo ro' 2>&1)
expect_eq "--read-only makes the root read-only" ro "$out"
timeout 300 "$sbx" run --rm --memory 16m busybox sh -c 'a=xxxxxxxx; while :; do a=$a$a; done' >/dev/null 2>&1
expect_eq "--memory is enforced: the hog is OOM-killed (137)" 137 "$?"
out=$(timeout 300 "$sbx" run --rm busybox sh -c 'nproc; cat /sys/fs/cgroup/cpu.max' 2>&1 | tr '\n' ' ')
expect_eq "without --cpus: one vCPU, no CPU quota" "1 max 100000 " "$out"
out=$(timeout 300 "$sbx" run --rm --cpus 2 busybox sh -c 'nproc; cat /sys/fs/cgroup/cpu.max' 2>&1 | tr '\n' ' ')
expect_eq "--cpus 2: two vCPUs and the container's cpu.max is 200000 100000" "2 200000 100000 " "$out"
out=$("$sbx" run --rm --cpus two busybox true 2>&1)
expect_eq "a bad --cpus: 125 and one line" "125 sbx run: --cpus 'two' is not 0.01..64" "$? $out"

# --env-file, docker's rules: comments, blank lines and leading blanks skipped, a bare NAME
# taken from sbx's environment (or left out); -e wins over the file wherever it stands
envf=$SBX_ROOT/env.list
printf '# A=comment\nA=from-file\n\n  B=two words\nFROM_SBX\nNOT_SET_ANYWHERE\nC=from-file\n' >"$envf"
out=$(FROM_SBX=inherited timeout 300 "$sbx" run --rm -e A=flag-before --env-file "$envf" -e C=flag-after \
	busybox sh -c 'echo "$A|$B|$FROM_SBX|${NOT_SET_ANYWHERE-unset}|$C"; env | grep -c -e "^A=" -e "^C=" -e "#"' 2>&1 | tr '\n' ' ')
expect_eq "--env-file: its variables reach the process, -e overrides them, each name once" \
	"flag-before|two words|inherited|unset|flag-after 2 " "$out"
out=$("$sbx" run --rm --env-file "$SBX_ROOT/no-such.env" busybox true 2>&1)
expect_eq "a missing --env-file: 125 and one line naming it" \
	"125 sbx run: env file '$SBX_ROOT/no-such.env': No such file or directory" "$? $out"

# a signal to sbx reaches the container: it traps TERM and exits 42
fifo=$SBX_ROOT/fifo
mkfifo "$fifo"
"$sbx" run --rm busybox sh -c 'trap "exit 42" TERM; echo up; while :; do sleep 1; done' >"$fifo" 2>&1 &
pid=$!
read -r -t 120 line <"$fifo" || kill -9 "$pid" # no sleep: the first line says it runs
kill -TERM "$pid"
wait "$pid"
expect_eq "SIGTERM to sbx reaches the container (its trap exits 42)" "42 up" "$? $line"
"$sbx" run --rm busybox sh -c 'trap "exit 43" INT; echo up; while :; do sleep 1; done' >"$fifo" 2>&1 &
pid=$!
read -r -t 120 line <"$fifo" || kill -9 "$pid"
kill -INT "$pid"
wait "$pid"
expect_eq "SIGINT to sbx reaches the container (its trap exits 43)" "43 up" "$? $line"

# the VM dies under a running container: sbx fails with a line that says what became of the VM
"$sbx" run --rm busybox sh -c 'echo up; while :; do sleep 1; done' >"$SBX_ROOT/lost" 2>&1 &
pid=$!
if wait_for 120 grep -q '^up' "$SBX_ROOT/lost"; then
	pkill -9 -f "sbx-vmm.*$SBX_ROOT"
	wait "$pid"
	rc=$?
	expect_match "a VM killed under the container: sbx fails ($rc) naming the VMM's end" \
		'^[1-9][0-9]* sbx: WaitProcess: .* \(the VMM exited with status 137: ' \
		"$rc $(grep -v '^up' "$SBX_ROOT/lost")"
else
	not_ok "a VM killed under the container: the container never said up"
	kill -9 "$pid"
fi

# five at once
for i in 1 2 3 4 5; do
	timeout 300 "$sbx" run --rm busybox sh -c "echo run-$i" >"$SBX_ROOT/par$i" 2>&1 &
done
wait
out=$(cat "$SBX_ROOT"/par{1,2,3,4,5} | sort | tr '\n' ' ')
expect_eq "five concurrent runs" "run-1 run-2 run-3 run-4 run-5 " "$out"

out=$("$sbx" run --rm nosuchimage true 2>&1)
expect_eq "an unknown image: 125" 125 "$?"
expect_match "and a line naming it" '^sbx: no such image: .*nosuchimage' "$out"
out=$("$sbx" run --bogus busybox true 2>&1)
expect_eq "an unknown flag: 125" 125 "$?"
expect_match "and a line naming it" "unknown or incomplete flag '--bogus'" "$out"
out=$("$sbx" run --memory lots busybox true 2>&1)
expect_match "a bad --memory is refused" "\-\-memory 'lots' is not a size" "$out"

expect_eq "nothing left under \$SBX_ROOT/sandboxes" "" "$(ls -A "$SBX_ROOT/sandboxes")"
expect_eq "no VMM left running" "" "$(pgrep -f "$SBX_ROOT/sandboxes" || true)"
done_testing
