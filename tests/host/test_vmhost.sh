#!/bin/bash
# tests/vmhost/run: exit status carried back, output streamed, bad input and hangs reported.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
run=tests/vmhost/run

out=$($run sh -c 'echo out-line; echo err-line >&2; exit 7' 2>&1); rc=$?
expect_eq "the command's exit status comes back" 7 "$rc"
expect_match "stdout is streamed" 'out-line' "$out"
expect_match "stderr is streamed" 'err-line' "$out"

out=$($run no-such-command-xyz 2>&1); rc=$?
expect_eq "an unknown command fails with 125" 125 "$rc"
expect_eq "and says so in one line" "vmhost: command not found: no-such-command-xyz" "$out"

out=$($run 2>&1); rc=$?
expect_eq "no command is a usage error" 125 "$rc"

if [ "$("$BIN/kvm-probe")" != hardware ] || [ "${VMHOST_FORCE:-0}" = 1 ]; then
	# Other emulated hosts (a second checkout's tests) may be running: only a QEMU that appeared
	# during this run and is still there is ours, left behind.
	qemus_before=" $(pgrep -d ' ' -f 'qemu-system-x86_64.*mount_tag=hostroot') "
	start=$SECONDS
	out=$(VMHOST_TIMEOUT=20 $run sleep 1000 2>&1); rc=$?
	expect_eq "a hung guest is killed at the deadline" 125 "$rc"
	expect_match "and the deadline is named" 'did not finish within 20s' "$out"
	[ $((SECONDS - start)) -lt 60 ] && ok "the kill is prompt" || not_ok "the kill is prompt"
	left=
	for pid in $(pgrep -f 'qemu-system-x86_64.*mount_tag=hostroot'); do
		[[ "$qemus_before" == *" $pid "* ]] || left+=" $pid"
	done
	expect_eq "no QEMU left behind" "" "$left"

	# Files written inside under the repository come back; the rest of / stays untouched.
	marker=build/vmhost-marker.$$
	$run sh -c "echo inside >$marker; touch /etc/vmhost-should-not-leak" >/dev/null 2>&1
	expect_eq "writes under the repository come back" inside "$(cat "$marker" 2>/dev/null)"
	[ -e /etc/vmhost-should-not-leak ] && not_ok "the host root stays read-only" || ok "the host root stays read-only"
	rm -f "$marker"

	# An emulated host that dies under the command (here: a kernel panic the first time) is
	# started again once; with no retries left the failure is reported.
	crash="if [ -e $marker ]; then echo second-run; exit 3; fi; : >$marker; echo c >/proc/sysrq-trigger"
	out=$($run sh -c "$crash" 2>&1); rc=$?
	expect_eq "a command on an emulated host that died runs again: its status comes back" 3 "$rc"
	expect_match "the restart is announced" 'starting it again, attempt 2 of 3' "$out"
	expect_match "the second run's output is streamed" 'second-run' "$out"
	rm -f "$marker"
	out=$(VMHOST_RETRIES=0 $run sh -c "$crash" 2>&1); rc=$?
	expect_eq "with no retries a dead emulated host fails with 125" 125 "$rc"
	expect_match "and says why" 'stopped without reporting the status' "$out"
	rm -f "$marker"
	start=$SECONDS
	out=$(VMHOST_RETRIES=0 VMHOST_BOOT_TIMEOUT=1 $run true 2>&1); rc=$?
	expect_eq "an emulated host that does not start the command in time fails" 125 "$rc"
	expect_match "and the boot deadline is named" 'did not start true within 1s' "$out"
	[ $((SECONDS - start)) -lt 30 ] && ok "the boot deadline is prompt" || not_ok "the boot deadline is prompt"

	# A frozen emulated CPU (simulated: its heartbeat writer stopped) kills the emulated host.
	start=$SECONDS
	out=$(VMHOST_RETRIES=0 VMHOST_STALL_TIMEOUT=10 $run sh -c 'pkill -STOP -f "heartbeat.1"; sleep 1000' 2>&1)
	rc=$?
	expect_eq "an emulated CPU without a heartbeat fails the run" 125 "$rc"
	expect_match "and is named" 'emulated CPU 1 made no progress for 10s' "$out"
	[ $((SECONDS - start)) -lt 60 ] && ok "the stall is caught promptly" || not_ok "the stall is caught promptly"
fi
done_testing
