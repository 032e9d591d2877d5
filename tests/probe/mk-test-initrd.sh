#!/bin/bash
# mk-test-initrd.sh OUT: a busybox initrd for VMM tests. Its /init reports what the guest sees
# (CPUs, memory, virtio devices) and then acts on sbx.test=<action> from the kernel command
# line: ready (default: print the marker and reset) or panic (sysrq crash).
set -euo pipefail
out=${1:?usage: mk-test-initrd.sh OUT}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,proc,sys,dev,mnt}
cp /bin/busybox "$tmp/bin/busybox"
ln -s busybox "$tmp/bin/sh"
cat >"$tmp/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
action=$(sed -n 's/.*sbx\.test=\([a-z]*\).*/\1/p' /proc/cmdline)
echo "cpus=$(grep -c ^processor /proc/cpuinfo)"
echo "memkb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
echo "virtio=$(cat /sys/bus/virtio/devices/*/device 2>/dev/null | sort | tr '\n' ' ')"
case "$action" in
panic) echo c >/proc/sysrq-trigger ;;
esac
echo "sbx-guest-ready"
reboot -f
INIT
chmod 755 "$tmp/init"
mkdir -p "$(dirname "$out")"
(cd "$tmp" && find . | cpio -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
