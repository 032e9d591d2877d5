#!/bin/bash
# containerd-shim-kata-lite-v2 under Debian's containerd 1.6 when things go wrong: a killed
# VMM turns into a stopped task, also under a `ctr run` waiting in the foreground; Connect and
# Shutdown asked directly; debug_console puts the guest console in containerd's log; a killed
# shim is cleaned up by `ctr task delete`; containerd restarted while a task runs reconnects to
# its shim, and an exit while containerd is down reaches it once it is back; afterwards nothing
# is left.
source "$(dirname "$0")/../lib.sh"
source "$REPO/tests/vm/lib-shim-ctr.sh"

# a killed VMM: the task exits, containerd shows it stopped. Connect and Shutdown straight to
# its shim: Shutdown is a no-op while a task is left, and makes the shim exit after the last
# Delete (spec §3).
check "a task to lose its VM" run -d "$IMG" t-vmm sleep 600
vmm=$(ctr_ task ls | awk '$1 == "t-vmm" { print $2 }')
expect_match "its pid is the VMM's" sbx-vmm "$(tr '\0' ' ' </proc/$vmm/cmdline 2>/dev/null)"
sock=$(cat "$CTRD_DIR/state/io.containerd.runtime.v2.task/default/t-vmm/address")
shim=$(pgrep -f "^[^ ]*containerd-shim-kata-lite-v2 .*-id t-vmm ")
expect_match "(one shim serves it)" '^[0-9]+$' "$shim"
expect_eq "Connect answers the shim's pid and the task's (the VMM's)" "$shim $vmm" \
	"$("$call" "$sock" Connect t-vmm 2>&1)"
expect_eq "Shutdown while the task is there is accepted" ok "$("$call" "$sock" Shutdown t-vmm 2>&1)"
expect_eq "and does nothing: the shim still answers Connect" "$shim $vmm" \
	"$("$call" "$sock" Connect t-vmm 2>&1)"
expect_eq "(the task still runs)" RUNNING "$(status_of t-vmm)"
kill -9 "$vmm"
wait_for 60 sh -c "[ \"\$(ctr --address $CTRD_SOCK task ls | awk '\$1==\"t-vmm\" {print \$3}')\" = STOPPED ]"
expect_eq "kill -9 of the VMM: the task is STOPPED" STOPPED "$(status_of t-vmm)"
expect_eq "with a non-zero status" 255 "$(exit_of t-vmm)"
expect_eq "Delete straight to the shim answers that status" 255 "$("$call" "$sock" Delete t-vmm 2>&1)"
"$call" "$sock" Shutdown t-vmm >/dev/null 2>&1 # it may exit before it answers (spec §3)
check "Shutdown after the last Delete: the shim exits" wait_for 30 gone "$shim"
expect_eq "and its socket is gone" gone "$([ -e "${sock#unix://}" ] && echo there || echo gone)"
check "containerd drops the task when its shim goes" \
	wait_for 30 sh -c "! ctr --address $CTRD_SOCK task ls | grep -q '^t-vmm '"
ctr_ container delete t-vmm >/dev/null 2>&1

# ctr run waiting in the foreground (Wait in flight) when the VMM dies: ctr returns non-zero
# and --rm removes the task. With debug_console the guest console reaches the shim's log, which
# containerd copies into its own.
printf '{"debug_console": true}\n' >"$CTRD_DIR/debug.json"
run --rm --runtime-config-path "$CTRD_DIR/debug.json" "$IMG" t-fg sleep 1000 >/dev/null 2>&1 &
fg=$!
wait_for 120 sh -c "[ \"\$(ctr --address $CTRD_SOCK task ls | awk '\$1==\"t-fg\" {print \$3}')\" = RUNNING ]"
expect_eq "a foreground ctr run is RUNNING" RUNNING "$(status_of t-fg)"
check "debug_console: the guest kernel's lines are in containerd's log" \
	wait_for 60 grep -q 'msg="guest console: .*Linux version' "$CTRD_DIR/containerd.log"
vmm=$(ctr_ task ls | awk '$1 == "t-fg" { print $2 }')
kill -9 "$vmm"
if wait_for 60 gone "$fg"; then
	wait "$fg"
	rc=$?
	[ "$rc" -ne 0 ] && ok "kill -9 of its VMM: ctr run returns, non-zero ($rc)" ||
		not_ok "kill -9 of its VMM: ctr run returns, non-zero (it returned 0)"
else
	not_ok "kill -9 of its VMM: ctr run returns, non-zero (still waiting after 60 s)"
	kill "$fg"
fi
check "and the task is gone" wait_for 30 sh -c "! ctr --address $CTRD_SOCK task ls | grep -q '^t-fg '"
ctr_ container delete t-fg >/dev/null 2>&1

# a killed shim: ctr task delete still cleans up
check "a task to lose its shim" run -d "$IMG" t-shim sleep 600
shim=$(pgrep -f "containerd-shim-kata-lite-v2 .*-id t-shim ")
vmm=$(ctr_ task ls | awk '$1 == "t-shim" { print $2 }')
kill -9 $shim
wait_for 60 sh -c "! kill -0 $vmm 2>/dev/null"
expect_eq "kill -9 of the shim takes its VMM along" gone "$(kill -0 "$vmm" 2>/dev/null && echo alive || echo gone)"
ctr_ task delete t-shim >/dev/null 2>&1
wait_for 30 sh -c "! ctr --address $CTRD_SOCK task ls | grep -q t-shim"
expect_eq "ctr task delete removes the task" "" "$(ctr_ task ls | awk '$1 == "t-shim"')"
ctr_ container delete t-shim >/dev/null 2>&1

# containerd restarts while a task runs: it reconnects to the shim
check "a task that outlives containerd" run -d "$IMG" t-restart sleep 600
wait_for 120 sh -c "ctr --address $CTRD_SOCK task ls | grep -q 't-restart .*RUNNING'"
# not through check: its subshell would keep the new containerd pid from ctrd_stop
if ctrd_restart; then ok "containerd restarts"; else not_ok "containerd restarts"; fi
CTR_TIMEOUT=1200 ctr_ events >>"$CTRD_DIR/events.log" 2>&1 &
events_pid=$!
wait_for 60 sh -c "ctr --address $CTRD_SOCK task ls | grep -q 't-restart .*RUNNING'"
expect_eq "after the restart the task still runs" RUNNING "$(status_of t-restart)"
out=$(ctr_ task exec --exec-id r1 t-restart echo still-here 2>&1)
expect_eq "and exec reaches it through the same shim" still-here "$out"
# The task exits while containerd is down for longer than runc's ~3 s of event retries: the
# exit event waits in the shim's queue and reaches containerd once it is back. The restarted
# containerd logs at debug level, where it logs each event it is forwarded.
kill "$CTRD_PID" && wait "$CTRD_PID" 2>/dev/null
kill "$events_pid" 2>/dev/null
sock=$(cat "$CTRD_DIR/state/io.containerd.runtime.v2.task/default/t-restart/address")
expect_eq "containerd down: Kill straight to the shim" ok "$("$call" "$sock" Kill t-restart 9 2>&1)"
expect_eq "the task exits: 137 (Wait straight to the shim)" 137 "$("$call" "$sock" Wait t-restart 2>&1)"
sleep 5 # containerd stays down 5 s more: the outage under test, not a synchronisation
sed -i 's/^  level = "info"$/  level = "debug"/' "$CTRD_DIR/config.toml"
lines=$(wc -l <"$CTRD_DIR/containerd.log")
if ctrd_run; then ok "containerd starts again"; else not_ok "containerd starts again"; fi
CTR_TIMEOUT=1200 ctr_ events >>"$CTRD_DIR/events.log" 2>&1 &
events_pid=$!
check "the exit event queued while it was down reaches it" wait_for 90 sh -c \
	"tail -n +$((lines + 1)) $CTRD_DIR/containerd.log | grep -q 'msg=\"event forwarded\".*topic=/tasks/exit'"
wait_for 60 sh -c "ctr --address $CTRD_SOCK task ls | grep -q 't-restart .*STOPPED'"
expect_eq "containerd shows the task STOPPED" STOPPED "$(status_of t-restart)"
expect_match "and deleting it reports its status" "task t-restart exit with non-zero exit code 137" \
	"$(ctr_ task delete t-restart 2>&1)"
ctr_ container delete t-restart >/dev/null 2>&1

shim_ctr_finish
done_testing
