#!/bin/bash
# Builds a busybox rootfs directory for container tests: agent-rootfs.sh [DIR]
# (default build/test-rootfs). Static busybox plus its applet links, /etc/passwd, empty mount
# points; idempotent.
set -euo pipefail
dir=${1:-build/test-rootfs}
bb=/bin/busybox
file -L "$bb" 2>/dev/null | grep -q 'static' || { echo "need static /bin/busybox" >&2; exit 1; }
mkdir -p "$dir"/{bin,sbin,etc,proc,sys,dev,tmp,root,usr/bin,usr/sbin,var}
cp -f "$bb" "$dir/bin/busybox"
for a in $("$bb" --list); do
	[ -e "$dir/bin/$a" ] || ln -s busybox "$dir/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' >"$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/etc/group"
echo "rootfs-marker" >"$dir/etc/rootfs-marker"
chmod 1777 "$dir/tmp"
