# Sourced by shell-level tests: TAP output, assertions that print what they saw, and polling
# with a deadline (never a bare sleep).
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${SBX_BIN:-$REPO/build/bin}
_tap_n=0
_tap_failed=0

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $*"; }
diag() { echo "# $*"; }
# evidence LINE...: a diag line that tests/run also repeats in its closing list of failures
# (a log cut to its last lines, as CI shows it, then still says why)
evidence() { echo "# evidence: $*"; }

# guest_symbol ADDR: the guest kernel function holding ADDR (from the built vmlinux's symbols).
guest_symbol() {
	addr2line -f -e "$REPO/build/guest/vmlinux" "$1" 2>/dev/null | head -n 1
}

# check NAME CMD...: passes when CMD exits 0; on failure shows CMD's output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$name"; else
		not_ok "$name"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
	fi
}

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "expected '$2', got '$3'"; fi
}

# expect_match NAME REGEX ACTUAL
expect_match() {
	if [[ "$3" =~ $2 ]]; then ok "$1"; else not_ok "$1"; diag "expected /$2/, got '$3'"; fi
}

# expect_line NAME REGEX TEXT: passes when some line of TEXT matches the extended REGEX.
expect_line() {
	if grep -qE -- "$2" <<<"$3"; then ok "$1"; else not_ok "$1"; diag "no line matches /$2/"; fi
}

# wait_for SECONDS CMD...: polls CMD until it succeeds or the deadline passes.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# postmortem PID: what a stuck process's threads are doing (name, state, kernel wait, and a
# gdb backtrace when gdb is there) and the kernel's last words, before a test kills it.
postmortem() {
	local pid=$1 t
	[ -d "/proc/$pid" ] || { diag "postmortem: pid $pid is gone"; return 0; }
	for t in /proc/"$pid"/task/*; do
		diag "thread ${t##*/} $(cat "$t/comm") state=$(awk '{print $3}' "$t/stat")" \
			"wchan=$(cat "$t/wchan" 2>/dev/null) $(head -n 3 "$t/stack" 2>/dev/null | tr '\n' ' ')"
	done
	# a VMM with a control socket: where its guest's vCPUs are
	local api
	api=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -A1 -x -- --api | tail -n 1)
	[ -S "$api" ] && timeout 10 "$BIN/sbx-vmmctl" "$api" sample-vcpus | grep '^vcpu ' |
		while read -r _ id what rip _; do
			[ "$what" = rip ] && diag "vcpu $id at $(guest_symbol "$rip") ($rip)" ||
				diag "vcpu $id $what $rip"
		done
	command -v gdb >/dev/null &&
		timeout 60 gdb -q -batch -p "$pid" -ex 'thread apply all bt 8' 2>/dev/null |
		grep -E '^(Thread|#)' | head -n 60 | sed 's/^/# /'
	dmesg 2>/dev/null | tail -n 5 | sed 's/^/# kernel: /'
	return 0
}

done_testing() {
	echo "1..$_tap_n"
	[ "$_tap_failed" -eq 0 ]
}
