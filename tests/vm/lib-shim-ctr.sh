# Sourced by the shim's ctr-level tests after tests/lib.sh: a private containerd with the demo
# image (lib-containerd.sh) and `ctr events` recorded, plus what those tests ask of it.
#   run ARGS...   ctr run with our runtime
#   exit_of ID    the exit status in ID's /tasks/exit event
#   status_of ID  the task's status in `ctr task ls`
#   gone PID      the process has exited
#   shim_ctr_finish  checks nothing is left (processes, state, containerd's), stops containerd
source "$REPO/tests/vm/lib-containerd.sh"
cd "$REPO"
RT=io.containerd.kata-lite.v2
call=$REPO/build/tests/shim-call
ctrd_start || { not_ok "containerd starts"; done_testing; exit 1; }
IMG=$CTRD_IMAGE
run() { ctr_ run --runtime $RT "$@"; }
# exit_of ID: the exit status in ID's /tasks/exit event (proto3 leaves a 0 out)
exit_of() {
	wait_for 30 grep -q "/tasks/exit {\"container_id\":\"$1\",\"id\":\"$1\"" "$CTRD_DIR/events.log"
	grep "/tasks/exit {\"container_id\":\"$1\",\"id\":\"$1\"" "$CTRD_DIR/events.log" |
		grep -oE '"exit_status":[0-9]+' | cut -d: -f2 | grep . || echo 0
}
status_of() { ctr_ task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }
# gone PID: the process has exited (a zombie not yet reaped counts)
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
CTR_TIMEOUT=1200 ctr_ events >"$CTRD_DIR/events.log" 2>&1 &
events_pid=$!

_no_shim_or_vmm() { ! pgrep -f '^[^ ]*(containerd-shim-kata-lite-v2|sbx-vmm) ' >/dev/null; }
shim_ctr_finish() {
	wait_for 30 _no_shim_or_vmm
	expect_eq "no shim or VMM process is left" "" "$(pgrep -fa 'containerd-shim-kata-lite-v2|sbx-vmm')"
	expect_eq "no kata-lite state is left" "" "$(ls -A /run/kata-lite 2>/dev/null)"
	expect_eq "containerd's state is clean" "" "$(ctrd_leftovers)"
	kill "$events_pid" 2>/dev/null
	ctrd_stop
}
