#!/bin/bash
# virtio-blk and virtio-rng in a real guest: the guest reads a disk's content, size and serial,
# writes a pattern that the host reads back after the VMM exits (flush), a read-only disk
# refuses writes, and /dev/hwrng delivers entropy.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
initrd=$REPO/build/test-guest/initrd.img
tests/probe/mk-test-initrd.sh "$initrd"
tmp=$(mktemp -d "$REPO/build/blk-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
truncate -s 8M "$tmp/rw.img"
printf 'disk-one-header!' | dd of="$tmp/rw.img" conv=notrunc status=none
truncate -s 4M "$tmp/ro.img"
printf 'read-only-disk!!' | dd of="$tmp/ro.img" conv=notrunc status=none
ro_sum=$(sha256sum <"$tmp/ro.img")

out=$(timeout 120 "$BIN/sbx-vmm" --kernel build/guest/vmlinux --initrd "$initrd" --mem 128 \
	--disk "$tmp/rw.img,serial=disk-one" --disk "$tmp/ro.img,ro,serial=ro-disk" \
	--cmdline "quiet sbx.test=write" 2>&1 | tr -d '\r'); rc=$?
expect_eq "the VMM exits 0" 0 "$rc"
expect_match "the guest sees virtio blk and rng" 'virtio=0x0002 0x0002 0x0004' "$out"
expect_match "vda has the image's size in sectors and its serial" 'vda_size=16384 vda_serial=disk-one' "$out"
expect_match "vda reads the image's bytes" 'vda_head=disk-one-header!' "$out"
expect_match "vdb has its own size and serial" 'vdb_size=8192 vdb_serial=ro-disk' "$out"
expect_match "vdb reads its bytes" 'vdb_head=read-only-disk!!' "$out"
expect_match "the guest's write succeeds" 'vda_write=ok' "$out"
expect_match "a write to the read-only disk fails" 'vdb_write=fail' "$out"
expect_eq "the pattern is in the image after exit" "sbx-pattern-from-the-guest" \
	"$(dd if="$tmp/rw.img" bs=4096 skip=1 count=1 status=none | head -c 26)"
expect_eq "the read-only image is unchanged" "$ro_sum" "$(sha256sum <"$tmp/ro.img")"
expect_match "/dev/hwrng delivers bytes" 'rng=[0-9a-f]{32}' "$out"

out=$("$BIN/sbx-vmm" --kernel build/guest/vmlinux --disk /nonexistent.img 2>&1); rc=$?
expect_eq "a missing disk file: exit 2 and one line" "2 sbx-vmm: disk '/nonexistent.img': No such file or directory" "$rc $out"
out=$("$BIN/sbx-vmm" --kernel build/guest/vmlinux --disk "$tmp/rw.img,frob" 2>&1); rc=$?
expect_eq "a bad disk option: exit 2" 2 "$rc"
done_testing
