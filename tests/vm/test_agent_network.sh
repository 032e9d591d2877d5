#!/bin/bash
# ConfigureNetwork in a real VM through lib/agent's agent_configure_network. The VMM has no
# virtio-net device yet, so a container sharing the guest's network namespace makes a veth pair
# with a known MAC first; then: a call without interfaces brings lo up and writes the guest's
# resolv.conf, an unknown MAC and a malformed address are refused by name, the veth is found by
# its MAC and renamed, given its MTU, addresses and routes, and the same call repeats cleanly.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
bash tests/probe/agent-rootfs.sh build/test-rootfs
tmp=$(mktemp -d) # unix sockets cannot live on the 9p-shared repository
trap 'pkill -9 -f "$tmp/sb" 2>/dev/null; rm -rf "$tmp"' EXIT
mke2fs -q -F -t ext4 -O ^has_journal -d build/test-rootfs "$tmp/image.ext4" 16M

# spec NAME CMD: a container in the guest's own network namespace, with sysfs and the guest's
# /etc (read-only, at /var) to look at
spec() {
	local cmd=${2//[$'\n\t']/ }
	cat >"$tmp/$1.json" <<JSON
{"root":{"path":"rootfs"},
 "process":{"args":["/bin/sh","-c","${cmd//\"/\\\"}"],"env":["PATH=/bin"],"cwd":"/"},
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
  {"destination":"/sys","type":"sysfs","source":"sysfs"},
  {"destination":"/var","type":"bind","source":"/etc","options":["rbind","ro"]}],
 "linux":{"namespaces":[{"type":"pid"},{"type":"mount"}]}}
JSON
}
mac=02:00:00:00:00:aa
# busybox's ip takes no peer name: the kernel names the peer veth0
spec c0 "echo lo=\$(cat /sys/class/net/lo/flags); ip link add va type veth &&
	ip link set va address $mac && ip link set veth0 up && echo veth-made"
spec c1 'echo lo=$(cat /sys/class/net/lo/flags); cd /sys/class/net/eth0 &&
	echo eth0 mtu=$(cat mtu) mac=$(cat address) state=$(cat operstate);
	ip -o addr show dev eth0; ip route; ip -6 route; sed "s/^/resolv: /" /var/resolv.conf'
spec c2 'echo lo=$(cat /sys/class/net/lo/flags); sed "s/^/resolv: /" /var/resolv.conf'
full="if=$mac,eth0,1400,10.1.2.3/24,fd00::5/64 route=,10.1.2.1, route=192.168.7.0/24,,eth0"
full+=" route=::/0,fd00::1,eth0 dns=10.0.2.3 dns=fd00::3"

out=$(timeout 600 build/tests/agent-driver --disk "$tmp/image.ext4:img:ro" --mem 256 \
	"$BIN/sbx-vmm" build/guest/vmlinux build/guest/initrd.img "$tmp/sb" 2>&1 <<-SCRIPT
	create c0 $tmp/c0.json block img ext4
	start c0
	wait c0
	remove c0
	network dns=10.0.2.3
	create c2 $tmp/c2.json block img ext4
	start c2
	wait c2
	remove c2
	network if=02:00:00:00:00:09,eth1,0
	network if=$mac,eth0,0,10.1.2.3/33
	network $full
	network $full
	create c1 $tmp/c1.json block img ext4
	start c1
	wait c1
	remove c1
	destroy
	SCRIPT
)
rc=$?
expect_eq "the driver runs to the end" 0 "$rc"
expect_line "lo is down before ConfigureNetwork" '^\[c0/\] lo=0x8$' "$out"
expect_line "a container in the guest's namespace made the veth" '^\[c0/\] veth-made$' "$out"
expect_eq "the call without interfaces and the full call, twice, succeed" 3 \
	"$(grep -c '^network configured$' <<<"$out")"
expect_line "an unknown MAC is refused by name (NotFound)" \
	'^ConfigureNetwork: error 2: configure the guest.s network: .*interfaces\[0\]\.mac 02:00:00:00:00:09: no network device has this MAC' "$out"
expect_line "a malformed address is refused by field (InvalidArgument)" \
	"^ConfigureNetwork: error 22: .*interfaces\\[0\\]\\.addresses\\[0\\] '10\\.1\\.2\\.3/33': the prefix" "$out"
expect_eq "a call without interfaces brings lo up and writes resolv.conf" \
	"[c2/] lo=0x9
[c2/] resolv: nameserver 10.0.2.3" "$(grep '^\[c2/\] ' <<<"$out")"
expect_line "lo is up" '^\[c1/\] lo=0x9$' "$out"
expect_line "the device with the MAC is eth0, MTU 1400, up" "^\\[c1/\\] eth0 mtu=1400 mac=$mac state=up\$" "$out"
expect_line "its IPv4 address" '^\[c1/\] .*eth0 +inet 10\.1\.2\.3/24 ' "$out"
expect_line "its IPv6 address" '^\[c1/\] .*eth0 +inet6 fd00::5/64 ' "$out"
expect_line "the IPv4 default route" '^\[c1/\] default via 10\.1\.2\.1 dev eth0' "$out"
expect_line "the on-link route" '^\[c1/\] 192\.168\.7\.0/24 dev eth0 +scope link' "$out"
expect_line "the IPv6 default route" '^\[c1/\] default via fd00::1 dev eth0' "$out"
expect_eq "the guest's resolv.conf has the servers of the last call" \
	"[c1/] resolv: nameserver 10.0.2.3
[c1/] resolv: nameserver fd00::3" "$(grep '^\[c1/\] resolv: ' <<<"$out")"
expect_match "the containers exit 0" 'status=0 .*status=0 .*status=0' "$(grep '^exit c' <<<"$out" | tr '\n' ' ')"
expect_match "and the VM powers off cleanly" 'vmm exit=0$' "$(grep '^vmm exit' <<<"$out")"
[ "$_tap_failed" -eq 0 ] || printf '%s\n' "$out" | tail -n 60 | sed 's/^/# /'
done_testing
