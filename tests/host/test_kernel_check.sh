#!/bin/bash
# The built guest kernel has every required option, and kernel-check names one that is missing.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"

check "make kernel-check passes on the built kernel" make -s kernel-check

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -v '^CONFIG_PVH=y' build/guest/config >"$tmp/config"
out=$(guest-kernel-config/check.sh guest-kernel-config/required.txt "$tmp/config" 2>&1); rc=$?
expect_eq "a missing option fails the check" 1 "$rc"
expect_match "the failure names the option" 'CONFIG_PVH=y is required' "$out"

key=$(cat build/guest/kernel.key)
before=$(stat -c %Y build/guest/vmlinux)
out=$(guest-kernel-config/build.sh build/guest 2>&1)
expect_eq "a second build reuses the cached kernel" "" "$out"
expect_eq "the cached kernel is not rewritten" "$before" "$(stat -c %Y build/guest/vmlinux)"
expect_eq "the cache key is stable" "$key" "$(cat build/guest/kernel.key)"

for f in vmlinux bzImage; do
	[ -s "build/guest/$f" ] && ok "$f exists" || not_ok "$f exists"
done
# PVH boot needs the Xen ELF note that carries the 32-bit entry point.
if readelf -n build/guest/vmlinux 2>/dev/null | grep -q 'Xen'; then ok "vmlinux has the PVH note"; else not_ok "vmlinux has the PVH note"; fi
done_testing
