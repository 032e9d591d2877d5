#!/bin/bash
# mkinitrd.sh OUT [AGENT]: the guest initrd, a newc cpio with busybox-static for debugging and
# the agent as /init. Without an agent yet, /init is a shell that reports ready and powers off.
set -euo pipefail
out=${1:?usage: mkinitrd.sh OUT [AGENT]}
agent=${2:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,dev,proc,sys,run,tmp,mnt,sbin,etc}
cp /bin/busybox "$tmp/bin/busybox"
for app in sh mount umount ls cat echo mkdir poweroff reboot sync sleep; do
	ln -s busybox "$tmp/bin/$app"
done
if [ -n "$agent" ]; then
	cp "$agent" "$tmp/init"
else
	cat >"$tmp/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "sbx-guest-ready"
exec reboot -f
INIT
fi
chmod 755 "$tmp/init"
mkdir -p "$(dirname "$out")"
(cd "$tmp" && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible) >"$out.tmp"
mv "$out.tmp" "$out"
