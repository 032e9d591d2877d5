#!/bin/bash
# tests/run at level 2 in the emulated KVM host: a file that failed while the emulation
# triple-faulted a guest (tests/vmhost/guest-faults marks it "[emulation]") runs once more and
# only that run counts; a guest's own triple fault, a second failure, or a spent budget count
# as failures; every triple fault is named. Fake level-2 files and a fake tracer stand in.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

emu='guest triple fault: vcpu 0 reason shutdown rip 0xffffffff8124b7f7 info1 0x0 info2 0x0 intr_info 0x80000b0e error_code 0x00000018 [emulation]'
own='guest triple fault: vcpu 0 reason shutdown rip 0xffffffff8101f3ba info1 0x0 info2 0x0 intr_info 0x80000403 error_code 0x00000000'

# The fake tracer: "take" hands over what the fake test files left in $dir/fault.
cat >"$tmp/faults" <<'F'
#!/bin/bash
[ "$1" = take ] && { cat "$FAKE_DIR/fault" 2>/dev/null; rm -f "$FAKE_DIR/fault"; }
exit 0
F
chmod +x "$tmp/faults"

# scenario NAME FIRST SECOND: a level-2 dir with one file whose first run prints FIRST and
# later runs SECOND ("pass", "fail", "fail-emu" or "fail-own": a failure with that fault,
# "pass-emu": a pass with one).
scenario() {
	local dir=$tmp/$1
	mkdir -p "$dir/vm"
	cat >"$dir/vm/test_fake.sh" <<T
#!/bin/bash
n=\$(cat "$dir/runs" 2>/dev/null || echo 0)
echo \$((n + 1)) >"$dir/runs"
[ "\$n" -eq 0 ] && what=$2 || what=$3
case \$what in
*-emu) echo '$emu' >"$dir/fault" ;;
*-own) echo '$own' >"$dir/fault" ;;
esac
case \$what in
pass*) echo "ok 1 - fake passes (run \$((n + 1)))" ;;
*) echo "not ok 1 - fake fails (run \$((n + 1)))" ;;
esac
echo 1..1
T
}

runner() { # NAME [ENV...]: tests/run vm-inside over scenario NAME's files
	local dir=$tmp/$1
	shift
	env -u FAILED_LINES_FILE -u VM_DONE_FILE VMHOST_INSIDE=1 VM_TEST_DIR="$dir/vm" \
		GUEST_FAULTS="$tmp/faults" FAKE_DIR="$dir" "$@" tests/run vm-inside 2>&1
}

scenario emu fail-emu pass
out=$(runner emu)
expect_eq "a file that failed in an emulation triple fault runs again, and its second run counts" \
	"1 passed, 0 failed" "$(tail -n 1 <<<"$out")"
expect_eq "it ran twice" 2 "$(cat "$tmp/emu/runs")"
expect_line "the second run is announced, with the reason" \
	'test_fake.sh: 1 failed in a run where the emulation triple-faulted a guest; this run does not count' "$out"
expect_line "the triple fault is named" 'intr_info 0x80000b0e error_code 0x00000018 \[emulation\]' "$out"
expect_line "so is the first run's failure" '^#   first run: not ok 1 - fake fails \(run 1\)' "$out"

scenario own fail-own pass
out=$(runner own)
expect_eq "a guest's own triple fault is a failure: no second run" "0 passed, 1 failed" "$(tail -n 1 <<<"$out")"
expect_eq "it ran once" 1 "$(cat "$tmp/own/runs")"
expect_line "and its triple fault is named" 'test_fake.sh: guest triple fault: .*intr_info 0x80000403' "$out"

scenario twice fail-emu fail-emu
out=$(runner twice)
expect_eq "a file that fails again is a failure" "0 passed, 1 failed" "$(tail -n 1 <<<"$out")"
expect_eq "after one second run, not more" 2 "$(cat "$tmp/twice/runs")"
expect_line "the second run's triple fault is named too" 'test_fake.sh \(second run\): guest triple fault' "$out"

scenario budget fail-emu pass
out=$(runner budget VM_REFAULT_RUNS=0)
expect_eq "with no second runs left the failure counts" "0 passed, 1 failed" "$(tail -n 1 <<<"$out")"

scenario plain fail pass
out=$(runner plain)
expect_eq "a failure without a triple fault counts, without a second run" \
	"0 passed, 1 failed 1" "$(tail -n 1 <<<"$out") $(cat "$tmp/plain/runs")"

scenario passing pass-emu pass
out=$(runner passing)
expect_eq "a file that passes despite a triple fault runs once" "1 passed, 0 failed 1" \
	"$(tail -n 1 <<<"$out") $(cat "$tmp/passing/runs")"
expect_line "and the triple fault is still named" 'test_fake.sh: guest triple fault: .*\[emulation\]' "$out"
done_testing
