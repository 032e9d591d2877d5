#!/bin/bash
# sbx pull, load, images, rmi as a user types them, against a real registry on loopback.
source "$(dirname "$0")/../lib.sh"
source "$REPO/tests/registry.sh"
cd "$REPO"
export SBX_ROOT=$(mktemp -d)
trap 'registry_stop; rm -rf "$SBX_ROOT"' EXIT
sbx=$BIN/sbx

out=$($sbx load -i build/images/busybox.tar 2>&1); rc=$?
expect_eq "load the demo image (OCI layout + docker manifest)" "0 Loaded image: docker.io/library/busybox:latest" "$rc $out"
expect_match "images lists it" 'docker.io/library/busybox +latest +sha256:' "$($sbx images)"
out=$($sbx load <build/images/busybox.tar 2>&1); rc=$?
expect_eq "load from stdin" "0 Loaded image: docker.io/library/busybox:latest" "$rc $out"
expect_eq "rmi removes it" "Untagged: docker.io/library/busybox:latest" "$($sbx rmi busybox)"
out=$($sbx rmi busybox 2>&1); rc=$?
expect_eq "rmi of an unknown image" "125 sbx: no such image: docker.io/library/busybox:latest" "$rc $out"
out=$($sbx load -i /nonexistent.tar 2>&1); rc=$?
expect_eq "load of a missing file" "125 sbx: open '/nonexistent.tar': No such file or directory" "$rc $out"
out=$(echo "garbage" | $sbx load 2>&1); rc=$?
expect_eq "load of garbage fails with 125" 125 "$rc"
expect_match "and names the problem" '^sbx: load stdin: not an image archive' "$out"
out=$($sbx frobnicate 2>&1); rc=$?
expect_eq "unknown command" "125 sbx: unknown command 'frobnicate' (see sbx --help)" "$rc $out"
out=$($sbx pull 'Bad/Name' 2>&1); rc=$?
expect_match "malformed reference" '^125 sbx: invalid reference format' "$rc $out"

if ! registry_start; then
	not_ok "docker-registry starts on loopback"
	done_testing
	exit
fi
check "push the demo image with skopeo" registry_push build/images/busybox.tar test/busybox:v1
out=$($sbx pull "$REGISTRY/test/busybox:v1" 2>&1); rc=$?
expect_eq "pull from the local registry succeeds" 0 "$rc"
expect_match "and prints the digest" "Digest: sha256:[0-9a-f]{64}" "$out"
expect_match "progress lines when not a terminal" ': done' "$out"
expect_match "images lists the pulled image" "$REGISTRY/test/busybox +v1" "$($sbx images)"
out=$($sbx pull "$REGISTRY/test/busybox:v1" 2>&1); rc=$?
expect_eq "a second pull reuses the blobs" 0 "$rc"

out=$($sbx pull "$REGISTRY/test/busybox:nope" 2>&1); rc=$?
expect_eq "an unknown tag fails with 125" 125 "$rc"
expect_match "and says not found" 'not found' "$out"
out=$($sbx pull 127.0.0.1:1/x/y:z 2>&1); rc=$?
expect_match "an unreachable registry" '^125 sbx: pull 127.0.0.1:1/x/y:z: registry 127.0.0.1:1 unreachable' "$rc $out"

# Corrupt the layer inside the registry's storage: the pull must refuse it and set no reference.
layer=$(find "$REGISTRY_DIR/data" -path '*/blobs/sha256/*/data' -size +1M | head -n 1)
if [ -n "$layer" ]; then
	printf 'X' | dd of="$layer" bs=1 seek=100 conv=notrunc status=none
	export SBX_ROOT=$(mktemp -d)
	out=$($sbx pull "$REGISTRY/test/busybox:v1" 2>&1); rc=$?
	expect_eq "a corrupted blob fails the pull" 125 "$rc"
	expect_match "with a digest mismatch" 'digest mismatch' "$out"
	expect_eq "and no reference is left" "" "$($sbx images | tail -n +2)"
	expect_eq "and no temp file is left" "" "$(ls "$SBX_ROOT/images/tmp")"
	rm -rf "$SBX_ROOT"
else
	not_ok "found the layer blob in the registry storage"
fi

# A full disk: one line naming it, 125, and a store that stays consistent (no reference, no
# temp file, no half-built rootfs image).
full=$(mktemp -d)
if mount -t tmpfs -o size=600k tmpfs "$full"; then
	out=$(SBX_ROOT=$full $sbx load -i build/images/busybox.tar 2>&1); rc=$?
	expect_match "load onto a full disk: 125 and why" '^125 sbx: load .*No space left on device$' "$rc $out"
	expect_eq "no reference and no temp file is left" "" "$(ls -A "$full/images/refs"; ls -A "$full/images/tmp")"
	umount "$full"
	mount -t tmpfs -o size=2800k tmpfs "$full" # room for the image, not for its rootfs
	SBX_ROOT=$full $sbx load -i build/images/busybox.tar >/dev/null 2>&1
	out=$(SBX_ROOT=$full SBX_VMM=/bin/true $sbx run --rm busybox true 2>&1); rc=$?
	expect_match "a rootfs conversion onto a full disk: 125 and why" '^125 sbx: layer .*No space left on device$' "$rc $out"
	expect_eq "no half-built rootfs is left" "" "$(ls -A "$full/images/rootfs")"
	expect_match "the image itself is still there" 'busybox' "$(SBX_ROOT=$full $sbx images)"
	umount "$full"
else
	not_ok "mount a small tmpfs for the disk-full case (needs root)"
fi
rmdir "$full"
done_testing
