#!/bin/bash
# mkinitrd.sh OUT AGENT: the guest initrd, a newc cpio with busybox-static for debugging and
# the agent as /init.
set -euo pipefail
out=${1:?usage: mkinitrd.sh OUT AGENT}
agent=${2:?usage: mkinitrd.sh OUT AGENT}
[ -x "$agent" ] || { echo "mkinitrd.sh: agent '$agent' is not an executable" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,dev,proc,sys,run,tmp,mnt,sbin,etc}
cp /bin/busybox "$tmp/bin/busybox"
for app in sh mount umount ls cat echo mkdir poweroff reboot sync sleep; do
	ln -s busybox "$tmp/bin/$app"
done
cp "$agent" "$tmp/init"
chmod 755 "$tmp/init"
mkdir -p "$(dirname "$out")"
(cd "$tmp" && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible) >"$out.tmp"
mv "$out.tmp" "$out"
