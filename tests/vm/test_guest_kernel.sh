#!/bin/bash
# The guest kernel, booted by QEMU's microvm machine (a reference VMM, independent of sbx-vmm),
# has what the agent and containers need: virtio-mmio blk/net/rng/vsock, cgroup v2 controllers,
# every namespace, the filesystems, SMP.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
modprobe vhost_vsock 2>/dev/null
work=$REPO/build/test-kernel
rm -rf "$work"
mkdir -p "$work/root"/{bin,proc,sys,dev,mnt}
cp /bin/busybox "$work/root/bin/busybox"
ln -s busybox "$work/root/bin/sh"
cat >"$work/root/init" <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t cgroup2 cgroup2 /mnt
echo "cpus=$(grep -c ^processor /proc/cpuinfo)"
echo "virtio=$(cat /sys/bus/virtio/devices/*/device | sort | tr '\n' ' ')"
echo "controllers=$(cat /mnt/cgroup.controllers)"
echo "ns=$(ls /proc/self/ns | tr '\n' ' ')"
echo "fs=$(grep -oE '\b(ext4|erofs|overlay|tmpfs|devpts|mqueue|cgroup2)$' /proc/filesystems | sort | tr '\n' ' ')"
echo "blk=$(cat /sys/block/vda/size 2>/dev/null)"
echo "net=$(ls /sys/class/net | tr '\n' ' ')"
echo "seccomp=$(grep -c ^Seccomp_filters: /proc/self/status)"
echo "sbx-guest-ready"
reboot -f
INIT
chmod 755 "$work/root/init"
(cd "$work/root" && find . | cpio -o -H newc --quiet) >"$work/initrd.img"
truncate -s 8M "$work/disk.img"

for kernel in vmlinux bzImage; do
	out=$(timeout 180 qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,acpi=off -enable-kvm -cpu host \
		-m 256 -smp 2 -kernel "build/guest/$kernel" -initrd "$work/initrd.img" \
		-append "console=ttyS0 reboot=t panic=-1 quiet" -nodefaults -no-user-config \
		-display none -serial stdio -no-reboot \
		-drive id=d0,file="$work/disk.img",format=raw,if=none -device virtio-blk-device,drive=d0 \
		-netdev user,id=n0,restrict=on -device virtio-net-device,netdev=n0 \
		-device virtio-rng-device -device vhost-vsock-device,guest-cid=7 </dev/null 2>&1)
	rc=$?
	expect_eq "$kernel boots in QEMU microvm to init and powers off" 0 "$rc"
	expect_match "$kernel: init ran" 'sbx-guest-ready' "$out"
	expect_match "$kernel: 2 CPUs" 'cpus=2' "$out"
	# virtio ids: 1 net, 2 blk, 4 rng, 19 vsock
	expect_match "$kernel: virtio net, blk, rng, vsock" 'virtio=0x0001 0x0002 0x0004 0x0013' "$out"
	expect_match "$kernel: cgroup v2 controllers" 'controllers=.*cpuset.*cpu.*io.*memory.*pids' "$out"
	expect_match "$kernel: namespaces" 'ns=cgroup ipc mnt net pid.*time.*user uts' "$out"
	expect_match "$kernel: filesystems" 'fs=cgroup2 devpts erofs ext4 mqueue overlay tmpfs' "$out"
	expect_match "$kernel: the disk's size" 'blk=16384' "$out"
	expect_match "$kernel: eth0" 'net=.*eth0' "$out"
	expect_match "$kernel: seccomp" 'seccomp=1' "$out"
done
done_testing
