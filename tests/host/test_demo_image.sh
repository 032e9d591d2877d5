#!/bin/bash
# The locally built demo image is a valid OCI layout: blobs match their digests, the index and
# docker-save manifest agree, and its layer applies to a rootfs with a working busybox.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
img=build/images/busybox.tar
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -C "$tmp" -xf "$img"

bad=0
for b in "$tmp"/blobs/sha256/*; do
	[ "$(sha256sum "$b" | cut -d' ' -f1)" = "$(basename "$b")" ] || bad=$((bad + 1))
done
expect_eq "every blob matches its digest" 0 "$bad"
expect_match "the index names the image for containerd" '"io.containerd.image.name":"docker.io/library/busybox:latest"' "$(cat "$tmp/index.json")"
manifest=$(sed -E 's/.*"digest":"sha256:([0-9a-f]+)".*/\1/' "$tmp/index.json")
layer=$(sed -E 's/.*"layers":\[\{[^}]*"digest":"sha256:([0-9a-f]+)".*/\1/' "$tmp/blobs/sha256/$manifest")
expect_match "docker-save manifest points at the same layer" "$layer" "$(cat "$tmp/manifest.json")"

check "the layer applies with sbx-rootfs" "$BIN/sbx-rootfs" apply "$tmp/root" "$tmp/blobs/sha256/$layer"
expect_eq "busybox runs from the applied rootfs" "hi" "$(chroot "$tmp/root" /bin/echo hi 2>&1)"
[ -L "$tmp/root/bin/sh" ] && ok "applets are symlinks" || not_ok "applets are symlinks"

check "an ext4 image of it builds" "$BIN/sbx-rootfs" ext4 "$tmp/root" "$tmp/root.img"
out=$("$BIN/sbx-rootfs" apply "$tmp/x" /nonexistent-layer 2>&1); rc=$?
expect_eq "a missing layer is an error" 1 "$rc"
expect_eq "named in one line" "sbx-rootfs: open layer '/nonexistent-layer': No such file or directory" "$out"
done_testing
