#!/bin/bash
# The guest kernel, booted by QEMU's microvm machine (a reference VMM, independent of sbx-vmm),
# has what the agent and containers need: virtio-mmio blk/net/rng/vsock, cgroup v2 controllers,
# every namespace, the filesystems, SMP.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
modprobe vhost_vsock 2>/dev/null
work=$REPO/build/test-kernel
mkdir -p "$work"
tests/probe/mk-test-initrd.sh "$work/initrd.img"
truncate -s 8M "$work/disk.img"

for kernel in vmlinux bzImage; do
	out=$(timeout 180 qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,acpi=off -enable-kvm -cpu host \
		-m 256 -smp 2 -kernel "build/guest/$kernel" -initrd "$work/initrd.img" \
		-append "console=ttyS0 reboot=t panic=-1 quiet sbx.test=ready" -nodefaults -no-user-config \
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
	expect_match "$kernel: the disk's size" 'vda_size=16384' "$out"
	expect_match "$kernel: eth0" 'net=.*eth0' "$out"
	expect_match "$kernel: seccomp" 'seccomp=1' "$out"
done
done_testing
