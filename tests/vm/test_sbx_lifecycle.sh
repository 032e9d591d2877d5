#!/bin/bash
# Detached sandboxes and the verbs around them, typed as a user would: run -d, ps, exec, logs,
# kill, stop, rm, inspect, names; -t and a live resize; both rootfs transfers; an image pulled from a real
# registry and images loaded from docker-save and OCI-layout archives, each then run; a killed
# monitor takes its VM with it; after rm nothing is left (processes, sockets, mounts, files).
source "$(dirname "$0")/../lib.sh"
source "$REPO/tests/registry.sh"
cd "$REPO"
make --no-print-directory -s build/images/busybox.tar
export SBX_ROOT
SBX_ROOT=$(mktemp -d) # unix sockets: not on the 9p-shared repository
trap 'registry_stop 2>/dev/null; pkill -9 -f "$SBX_ROOT" 2>/dev/null; rm -rf "$SBX_ROOT"' EXIT
sbx=$BIN/sbx
T=300
check "load the demo image" "$sbx" load -i build/images/busybox.tar
state() { "$sbx" inspect "$1" 2>/dev/null | jq -r ".[0].State.$2"; }

# -d: the CLI returns once the container runs; the sandbox lives on without it
id=$(timeout $T "$sbx" run -d --name web busybox \
	sh -c 'echo started; echo to-stderr >&2; trap "echo got-term; exit 3" TERM; while :; do sleep 1; done')
expect_match "run -d prints the container's id" '^[0-9a-f]{12}$' "$id"
expect_eq "inspect says it runs" "running true" "$(state web Status) $(state web Running)"
expect_line "ps lists it by name, Up" "^$id +busybox .* Up .* web$" "$("$sbx" ps)"
expect_eq "ps -q gives the id" "$id" "$("$sbx" ps -q)"
out=$(timeout $T "$sbx" exec web sh -c 'echo in-$(hostname) $(cat /proc/1/cmdline | tr "\0" " ")' 2>&1)
expect_eq "exec runs inside the container (its hostname, its pid 1)" "in-sbx sh -c echo started; echo to-stderr >&2; trap \"echo got-term; exit 3\" TERM; while :; do sleep 1; done" "$out"
timeout $T "$sbx" exec web sh -c 'exit 5'
expect_eq "exec's exit status is the process's" 5 "$?"
out=$(echo through-exec | timeout $T "$sbx" exec -i web cat 2>&1)
expect_eq "exec -i pipes stdin" through-exec "$out"
out=$(timeout $T "$sbx" exec -e X=1 -w /tmp -u 1000 web sh -c 'echo $X $(pwd) $(id -u)' 2>&1)
expect_eq "exec -e -w -u" "1 /tmp 1000" "$out"
out=$(timeout $T "$sbx" exec web sh -c 'echo exec-err >&2' 2>&1 >/dev/null)
expect_eq "exec keeps stderr apart" exec-err "$out"
wait_for 60 sh -c "'$sbx' logs web 2>/dev/null | grep -q started"
expect_eq "logs has the container's stdout" started "$("$sbx" logs web 2>/dev/null)"
expect_eq "logs gives stderr back on stderr" to-stderr "$("$sbx" logs web 2>&1 >/dev/null)"
timeout $T "$sbx" logs -f web >"$SBX_ROOT/follow.out" 2>/dev/null &
follow=$!
out=$(timeout $T "$sbx" run -d --name web busybox true 2>&1)
expect_eq "a name in use: 125" 125 "$?"
expect_eq "and one line naming it" "sbx: the name 'web' is already in use by container $id" "$out"
out=$(timeout $T "$sbx" stop web 2>&1)
expect_eq "stop returns once it has exited" "web exited 3" "$out $(state web Status) $(state web ExitCode)"
wait "$follow"
expect_eq "logs -f follows until the exit" "started got-term" "$(tr '\n' ' ' <"$SBX_ROOT/follow.out" | sed 's/ $//')"
expect_eq "ps no longer lists it" "" "$("$sbx" ps -q)"
expect_line "ps -a does, Exited (3)" "^$id .*Exited \(3\) .* web$" "$("$sbx" ps -a)"
out=$(timeout $T "$sbx" exec web true 2>&1)
expect_eq "exec into a stopped container: 125 and why" "125 sbx: container web is not running" "$? $out"
expect_eq "no VMM left after stop" "" "$(pgrep -f "$SBX_ROOT/sandboxes/$id" || true)"
expect_eq "rm prints the name" web "$("$sbx" rm web 2>&1)"
out=$("$sbx" inspect web 2>&1)
expect_match "inspect of a removed container: 125" "^sbx: no such container: web" "$out"

# kill: SIGKILL by default, a named signal otherwise
timeout $T "$sbx" run -d --name k1 busybox sleep 1000 >/dev/null
timeout $T "$sbx" run -d --name k2 busybox sh -c 'trap "exit 12" USR1; echo ready; while :; do sleep 1; done' >/dev/null
expect_eq "two sandboxes run at once" 2 "$("$sbx" ps -q | wc -l)"
expect_eq "kill prints the name" k1 "$("$sbx" kill k1 2>&1)"
timeout $T "$sbx" logs -f k1 >/dev/null 2>&1 # returns when it has exited
expect_eq "kill: SIGKILL gives 137" "exited 137" "$(state k1 Status) $(state k1 ExitCode)"
wait_for 60 sh -c "'$sbx' logs k2 | grep -q ready"
"$sbx" kill -s USR1 k2 >/dev/null
timeout $T "$sbx" logs -f k2 >/dev/null 2>&1
expect_eq "kill -s USR1 reaches its trap" 12 "$(state k2 ExitCode)"
timeout $T "$sbx" run -d --name k3 busybox \
	sh -c 'trap "echo got-usr2" USR2; trap "exit 14" HUP; echo ready; while :; do sleep 1; done' >/dev/null
wait_for 60 sh -c "'$sbx' logs k3 | grep -q ready"
expect_eq "kill NAME SIGNAL: prints the name" k3 "$("$sbx" kill k3 USR2 2>&1)"
wait_for 60 sh -c "'$sbx' logs k3 | grep -q got-usr2"
expect_eq "kill NAME USR2 reaches its trap" "ready got-usr2" "$("$sbx" logs k3 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
"$sbx" kill k3 1 >/dev/null
timeout $T "$sbx" logs -f k3 >/dev/null 2>&1
expect_eq "kill NAME 1 (a number) sends SIGHUP to its trap" "exited 14" "$(state k3 Status) $(state k3 ExitCode)"
out=$("$sbx" kill k1 2>&1)
expect_eq "kill of a stopped container: 125" "125 sbx: container k1 is not running" "$? $out"
out=$("$sbx" kill k1 BOGUS 2>&1)
expect_eq "an unknown signal: 125" "125 sbx kill: unknown signal 'BOGUS'" "$? $out"
check "rm of three stopped containers" "$sbx" rm k1 k2 k3

# rm -f of a running one; -d --rm removes itself
timeout $T "$sbx" run -d --name ff busybox sleep 1000 >/dev/null
out=$("$sbx" rm ff 2>&1)
expect_eq "rm of a running container needs -f" "125 sbx: container ff is running: stop it first or use rm -f" "$? $out"
expect_eq "rm -f kills and removes it" ff "$("$sbx" rm -f ff 2>&1)"
out=$("$sbx" run --name f busybox true 2>&1)
expect_eq "a bad name: 125 and why" "125 sbx: invalid container name 'f': only [a-zA-Z0-9][a-zA-Z0-9_.-]+" "$? $out"
timeout $T "$sbx" run -d --rm --name auto busybox true >/dev/null
wait_for 120 sh -c "! '$sbx' inspect auto >/dev/null 2>&1"
expect_eq "-d --rm: the record is gone after the exit" "" "$("$sbx" ps -aq)"
out=$(timeout $T "$sbx" run -i -d --name held busybox sh -c 'read x; echo never')
wait_for 30 sh -c "'$sbx' ps | grep -q held"
expect_eq "-d -i keeps stdin open: sh still waits on read" running "$(state held Status)"

# a monitor killed with -9 takes its VM with it
mon=$(state held Pid)
vmm=$(state held VmmPid)
kill -9 "$mon"
wait_for 60 sh -c "! kill -0 $vmm 2>/dev/null"
expect_eq "the VMM dies with its monitor" gone "$(kill -0 "$vmm" 2>/dev/null && echo alive || echo gone)"
expect_line "ps -a shows it exited" "Exited .* held$" "$("$sbx" ps -a)"
check "rm cleans it up" "$sbx" rm held

# -t: a pty inside, the terminal's size passed on
if command -v script >/dev/null; then
	out=$(TERM=xterm timeout $T script -qec "stty rows 33 cols 101; '$sbx' run -t --rm busybox sh -c 'stty size; test -t 0 && test -t 1 && echo tty'" /dev/null | tr -d '\r' | tr '\n' ' ')
	expect_eq "-t: a pty of the caller's size" "33 101 tty " "$out"
	timeout $T "$sbx" run -d --name tt busybox sleep 1000 >/dev/null
	out=$(TERM=xterm timeout $T script -qec "stty rows 20 cols 70; '$sbx' exec -t tt sh -c 'stty size; test -t 0 && echo tty'" /dev/null | tr -d '\r' | tr '\n' ' ')
	expect_eq "exec -t: a pty of the caller's size" "20 70 tty " "$out"
	"$sbx" rm -f tt >/dev/null
else
	not_ok "script(1) is installed (util-linux)"
fi

# -t: a size change after the start reaches the container (SIGWINCH -> ResizeTty). sbx runs in
# a detached tmux pane whose window is then resized; the container traps WINCH.
if command -v tmux >/dev/null; then
	tm=(tmux -S "$SBX_ROOT/tmux.sock" -f /dev/null)
	pane_has() { "${tm[@]}" capture-pane -p -t rz 2>/dev/null | grep -q -- "$1"; }
	no_session() { ! "${tm[@]}" has-session -t rz 2>/dev/null; }
	inner='trap '\''echo size $(stty size)'\'' WINCH; echo ready $(stty size); while :; do sleep 1; done'
	"${tm[@]}" new-session -d -s rz -x 80 -y 24 "$(printf '%q ' "$sbx" run -t --rm --name rz busybox sh -c "$inner")"
	wait_for $T pane_has '^ready'
	"${tm[@]}" resize-window -t rz -x 90 -y 30
	wait_for 120 pane_has '^size 30 90'
	expect_line "-t: a resize after the start reaches the container's pty" '^ready 24 80 .*size 30 90' \
		"$("${tm[@]}" capture-pane -p -t rz 2>&1 | tr -d '\r' | grep . | tr '\n' ' ')"
	"$sbx" kill rz >/dev/null 2>&1
	wait_for 120 no_session
	"${tm[@]}" kill-server 2>/dev/null
	rm -f "$SBX_ROOT/tmux.sock"
else
	not_ok "tmux is installed (tools/install-deps)"
fi

# both rootfs transfers
out=$(timeout $T "$sbx" run --rm busybox awk '$2 == "/" {print $3}' /proc/mounts 2>&1)
expect_eq "block transfer: the root is an overlay on the image's disk" overlay "$out"
out=$(timeout $T "$sbx" run --rm --rootfs-transfer stream busybox sh -c 'awk "\$2 == \"/\" {print \$3}" /proc/mounts; ls /bin/busybox' 2>&1 | tr '\n' ' ')
expect_eq "stream transfer: the image unpacked into the guest's memory" "tmpfs /bin/busybox " "$out"
out=$("$sbx" run --rootfs-transfer carrier busybox true 2>&1)
expect_eq "an unknown transfer: 125" "125 sbx run: --rootfs-transfer 'carrier' is not block or stream" "$? $out"

# docker-save and OCI-layout archives, loaded then run
skopeo copy --quiet --insecure-policy oci-archive:build/images/busybox.tar \
	"docker-archive:$SBX_ROOT/dsave.tar:saved/busybox:v2" >/dev/null 2>&1
skopeo copy --quiet --insecure-policy oci-archive:build/images/busybox.tar \
	"oci-archive:$SBX_ROOT/oci.tar:oci/busybox:v3" >/dev/null 2>&1
check "load a docker-save archive" "$sbx" load -i "$SBX_ROOT/dsave.tar"
out=$(timeout $T "$sbx" run --rm saved/busybox:v2 echo from-docker-save 2>&1)
expect_eq "and run it" from-docker-save "$out"
check "load an OCI-layout archive" "$sbx" load -i "$SBX_ROOT/oci.tar"
out=$("$sbx" images)
expect_match "images lists the OCI one" "oci/busybox +v3" "$out"
ref=$(echo "$out" | awk '$2 == "v3" {print $1 ":" $2}')
out=$(timeout $T "$sbx" run --rm "$ref" echo from-oci-layout 2>&1)
expect_eq "and run it" from-oci-layout "$out"

# pulled from a real registry, then run
if registry_start; then
	check "push the demo image to the local registry" registry_push build/images/busybox.tar test/busybox:v1
	check "sbx pull from it" "$sbx" pull "$REGISTRY/test/busybox:v1"
	out=$(timeout $T "$sbx" run --rm "$REGISTRY/test/busybox:v1" echo pulled-and-ran 2>&1)
	expect_eq "run the pulled image" pulled-and-ran "$out"
	registry_stop
else
	not_ok "docker-registry starts on loopback"
fi

# nothing left: processes, sockets, mounts, files besides the images
expect_eq "ps -a is empty" "" "$("$sbx" ps -aq)"
expect_eq "no sandbox directories" "" "$(ls -A "$SBX_ROOT/sandboxes")"
expect_eq "no names" "" "$(ls -A "$SBX_ROOT/names")"
expect_eq "no process mentions \$SBX_ROOT" "" "$(pgrep -af "$SBX_ROOT" | grep -v -e pgrep -e "$0" || true)"
expect_eq "no sockets" "" "$(find "$SBX_ROOT" -type s)"
expect_eq "no mounts" "" "$(grep -F "$SBX_ROOT" /proc/mounts || true)"
done_testing
