#!/bin/bash
# mk-test-initrd.sh OUT [HOST-BINARY...]: a busybox initrd for VMM tests. Its /init reports
# what the guest sees (CPUs, memory, virtio devices) and then acts on sbx.test=<action> from the
# kernel command line: ready (default: print the marker and reset), panic (sysrq crash), write
# (a pattern to /dev/vda and an attempt on /dev/vdb, both flushed), or waitdisk (until media
# appears in the empty /dev/vda), or vsock (connect to host port 5000, then serve 8 transfers
# on port 1234 with tests/probe/vsock-peer), or stdin (read a console line and print it back),
# or sayready (send "READY test-init" to host port 1026 as the agent does, then idle), or idle
# (boot-timer milestone 2, then nothing), or netserve (eth0 at sbx.ip=CIDR [sbx.gw=IP], busybox
# httpd on port 80 and iperf3 -s on 5201 when present, print eth0's virtio features and
# "sbx-net-serving", then idle).
# Each HOST-BINARY is copied into /bin with the libraries and loader ldd names (e.g.
# /usr/bin/iperf3 for the network benchmark); without any the initrd stays small.
set -euo pipefail
out=${1:?usage: mk-test-initrd.sh OUT [HOST-BINARY...]}
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,proc,sys,dev,mnt}
cp /bin/busybox "$tmp/bin/busybox"
ln -s busybox "$tmp/bin/sh"
peer=$(dirname "$0")/../../build/tests/vsock-peer
[ -x "$peer" ] && cp "$peer" "$tmp/bin/vsock-peer"
for b in "$@"; do
	cp -L "$b" "$tmp/bin/"
	for lib in $(ldd "$b" | grep -oE '/[^ ]+'); do
		mkdir -p "$tmp$(dirname "$lib")"
		cp -L "$lib" "$tmp$lib"
	done
done
cat >"$tmp/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
action=$(sed -n 's/.*sbx\.test=\([a-z]*\).*/\1/p' /proc/cmdline)
# --boot-timer: milestone 1 when init runs, 2 just before the ready marker
timer=$(sed -n 's/.*sbx\.boot_timer=\(0x[0-9a-f]*\).*/\1/p' /proc/cmdline)
[ -n "$timer" ] && devmem "$timer" 8 1
echo "cpus=$(grep -c ^processor /proc/cpuinfo)"
echo "memkb=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
echo "virtio=$(cat /sys/bus/virtio/devices/*/device 2>/dev/null | sort | tr '\n' ' ')"
mount -t cgroup2 cgroup2 /mnt
echo "controllers=$(cat /mnt/cgroup.controllers)"
echo "ns=$(ls /proc/self/ns | tr '\n' ' ')"
echo "fs=$(grep -oE '\b(ext4|erofs|overlay|tmpfs|devpts|mqueue|cgroup2)$' /proc/filesystems | sort | tr '\n' ' ')"
echo "net=$(ls /sys/class/net | tr '\n' ' ')"
echo "seccomp=$(grep -c ^Seccomp_filters: /proc/self/status)"
for d in vda vdb; do
	[ -e /dev/$d ] || continue
	echo "${d}_size=$(cat /sys/block/$d/size) ${d}_serial=$(cat /sys/block/$d/serial 2>/dev/null)"
	echo "${d}_head=$(head -c 16 /dev/$d)"
done
[ -e /dev/hwrng ] && echo "rng=$(head -c 16 /dev/hwrng | od -An -tx1 | tr -d ' \n')"
case "$action" in
waitdisk)
	i=0
	while [ "$(cat /sys/block/vda/size)" = 0 ] && [ $i -lt 1200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo "inserted_size=$(cat /sys/block/vda/size) inserted_serial=$(cat /sys/block/vda/serial)"
	echo "inserted_head=$(head -c 16 /dev/vda)"
	;;
write)
	echo -n "sbx-pattern-from-the-guest" | dd of=/dev/vda bs=4096 seek=1 conv=fsync 2>/dev/null &&
		echo "vda_write=ok" || echo "vda_write=fail"
	echo -n "must-not-land" | dd of=/dev/vdb bs=4096 seek=1 conv=fsync 2>/dev/null &&
		echo "vdb_write=ok" || echo "vdb_write=fail"
	;;
panic) echo c >/proc/sysrq-trigger ;;
stdin)
	echo "guest-waiting-for-input"
	read -r line
	echo "guest-read=$line"
	;;
idle)
	[ -n "$timer" ] && devmem "$timer" 8 2
	while :; do sleep 3600; done
	;;
sayready)
	# what the agent does for lib/sandbox: READY to host port 1026, then keep running
	vsock-peer guest-say 1026 "READY test-init"
	echo "sbx-guest-said-ready"
	while :; do sleep 3600; done
	;;
vsock)
	vsock-peer guest-connect 5000 1048576
	vsock-peer guest-serve 1234 8
	;;
netserve)
	ip=$(sed -n 's/.*sbx\.ip=\([0-9./]*\).*/\1/p' /proc/cmdline)
	gw=$(sed -n 's/.*sbx\.gw=\([0-9.]*\).*/\1/p' /proc/cmdline)
	ip link set lo up
	ip addr add "$ip" dev eth0 && ip link set eth0 up || echo "netserve: eth0 not configured"
	[ -n "$gw" ] && ip route add default via "$gw"
	echo "eth0_features=$(cat /sys/class/net/eth0/device/features)"
	mkdir -p /www /tmp
	echo hello-from-the-guest >/www/index.html
	httpd -p 80 -h /www
	# one client per iperf3 server, so a test that broke off cannot leave it busy
	command -v iperf3 >/dev/null &&
		(while :; do iperf3 -s -1 >/dev/null 2>&1 </dev/null || sleep 1; done) &
	echo "sbx-net-serving"
	while :; do sleep 3600; done
	;;
esac
[ -n "$timer" ] && devmem "$timer" 8 2
echo "sbx-guest-ready"
reboot -f
INIT
chmod 755 "$tmp/init"
mkdir -p "$(dirname "$out")"
(cd "$tmp" && find . | cpio -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
