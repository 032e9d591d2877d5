#!/bin/bash
# make install puts the binaries under PREFIX/bin and the guest kernel and initrd under
# PREFIX/share/kata-lite, and the installed shim runs and refuses bad command lines in one line.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
check "make install DESTDIR=... succeeds" make --no-print-directory -s install DESTDIR="$dest" PREFIX=/usr/local
for f in bin/containerd-shim-kata-lite-v2 bin/sbx bin/sbx-vmm bin/sbx-rootfs \
	share/kata-lite/vmlinux share/kata-lite/initrd.img; do
	[ -s "$dest/usr/local/$f" ] && ok "installed $f" || not_ok "installed $f"
done
out=$("$dest/usr/local/bin/containerd-shim-kata-lite-v2" -v 2>&1)
expect_match "the installed shim runs" '^containerd-shim-kata-lite-v2 version [0-9.]+$' "$out"
out=$("$dest/usr/local/bin/containerd-shim-kata-lite-v2" -namespace default -id x bogus 2>&1)
expect_eq "an unknown command is one line and exit 2" "2 unknown command 'bogus' (start or delete)" "$? $out"
out=$("$dest/usr/local/bin/containerd-shim-kata-lite-v2" -namespace default -id x -frob start 2>&1)
expect_eq "an unknown flag is one line and exit 2" "2 flag provided but not defined: -frob" "$? $out"
done_testing
