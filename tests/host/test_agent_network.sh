#!/bin/bash
# ConfigureNetwork's apply step (guest-agent/rpc/network.c, guest-agent/netlink.c) against this
# host's real kernel, in a private network namespace with a veth pair: names, MTU, v4 and v6
# addresses, default and on-link routes, resolv.conf, a repeated call, an unknown MAC and kernel
# errors named, and a refused request changing nothing. Driven by build/tests/net-driver.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root"; exit 77; }
drv=$REPO/build/tests/net-driver
[ -x "$drv" ] || { echo "not ok 1 - $drv is not built"; exit 1; }
# Everything below runs in a network namespace of its own, never the host's.
if [ "${SBX_NET_TEST_NS:-}" != 1 ]; then
	exec env SBX_NET_TEST_NS=1 unshare --net bash "$0" "$@"
fi
[ "$(readlink /proc/self/ns/net)" != "$(readlink /proc/1/ns/net)" ] ||
	{ echo "not ok 1 - not in a private network namespace"; exit 1; }
ip link add va type veth peer name vb ||
	{ echo "1..0 # SKIP veth links cannot be made here"; exit 77; }
# the peer up, so va has carrier like a virtio-net device with its tap attached
ip link set vb up
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
resolv=$tmp/resolv.conf

mac_of() { ip -j link show "$1" | jq -r '.[0].address'; }
mac_a=$(mac_of va)
mac_b=$(mac_of vb)
drive() { "$drv" -R "$resolv" "$@" 2>&1; }
want=(-i "$mac_a,eth0,1400,10.1.2.3/24,fd00::5/64" -r ",10.1.2.1," -r "192.168.7.0/24,,eth0"
	-r "::/0,fd00::1,eth0" -r "10.50.0.0/16,10.1.2.254," -d 1.1.1.1 -d 2001:4860::8888)

# state: the facts the checks compare, one per line
state() {
	ip -j link show eth0 | jq -r '.[0] | "name=\(.ifname) mac=\(.address) mtu=\(.mtu) up=\(.flags | index("UP") != null)"'
	ip -j addr show eth0 | jq -r '.[0].addr_info[] | select(.scope == "global") | "addr=\(.local)/\(.prefixlen)"' | sort
	ip -j link show lo | jq -r '.[0] | "lo up=\(.flags | index("UP") != null)"'
	ip -j route show table main | jq -r '.[] | "route4 \(.dst) gw=\(.gateway // "-") dev=\(.dev) scope=\(.scope // "global")"' | sort
	ip -j -6 route show default | jq -r '.[] | "route6 \(.dst) gw=\(.gateway // "-") dev=\(.dev)"'
}

out=$(drive "${want[@]}")
expect_eq "ConfigureNetwork applies" "" "$out"
s1=$(state)
expect_line "va found by MAC, renamed eth0, MTU 1400, up" "^name=eth0 mac=$mac_a mtu=1400 up=true$" "$s1"
expect_line "IPv4 address with its prefix" '^addr=10\.1\.2\.3/24$' "$s1"
expect_line "IPv6 address with its prefix" '^addr=fd00::5/64$' "$s1"
expect_eq "exactly the two addresses asked for" 2 "$(grep -c '^addr=' <<<"$s1")"
expect_line "lo brought up" '^lo up=true$' "$s1"
expect_line "IPv4 default route via the gateway" '^route4 default gw=10\.1\.2\.1 dev=eth0 scope=global$' "$s1"
expect_line "on-link route on the named device" '^route4 192\.168\.7\.0/24 gw=- dev=eth0 scope=link$' "$s1"
expect_line "route whose device the kernel finds from the gateway" '^route4 10\.50\.0\.0/16 gw=10\.1\.2\.254 dev=eth0' "$s1"
expect_line "IPv6 default route" '^route6 default gw=fd00::1 dev=eth0$' "$s1"
expect_eq "resolv.conf has the servers" "nameserver 1.1.1.1
nameserver 2001:4860::8888" "$(cat "$resolv")"

out=$(drive "${want[@]}")
expect_eq "the same call again succeeds" "" "$out"
expect_eq "and leaves the same state" "$s1" "$(state)"

# the second device keeps its name when asked for it, and its MTU with mtu 0
out=$(drive -i "$mac_b,vb,0" -i "$mac_a,eth0,0")
expect_eq "interfaces with no addresses or MTU apply" "" "$out"
expect_eq "mtu 0 leaves the MTU alone" 1400 "$(ip -j link show eth0 | jq '.[0].mtu')"
expect_eq "a call without dns leaves resolv.conf alone" 2 "$(grep -c nameserver "$resolv")"

out=$(drive -i "$mac_a,eth9,0" -i "02:00:00:00:00:09,eth1,0")
expect_match "an unknown MAC is refused by name" \
	'^error 2: interfaces\[1\]\.mac 02:00:00:00:00:09: no network device has this MAC$' "$out"
expect_eq "and the known interface was not renamed" eth0 "$(ip -j link show dev eth0 | jq -r '.[0].ifname')"

out=$(drive -i "$mac_a,eth9,0,10.9.9.9/24" -r "10.0.0.0/8,,nosuch0")
expect_match "a route device that does not exist is refused by name" \
	"^error 2: routes\\[0\\]\\.device 'nosuch0': no such interface" "$out"
expect_eq "and nothing was changed" "$s1" "$(state)"

out=$(drive -i "$mac_a,eth0,0,10.1.2.300/24")
expect_match "a malformed address is refused by field" \
	"^error 22: interfaces\\[0\\]\\.addresses\\[0\\] '10\\.1\\.2\\.300/24' is not an IPv4" "$out"

out=$(drive -r "10.60.0.0/16,172.31.0.1,")
expect_match "an unreachable gateway fails with the route and the kernel's error" \
	'^error 101: routes\[0\]: add route to 10\.60\.0\.0/16 via 172\.31\.0\.1.*Network is unreachable$' "$out"

out=$(drive -i "$mac_a,eth0,0,10.1.2.3/24,10.1.2.3/24")
expect_eq "an address already present counts as added" "" "$out"

# a rename onto a name another device has is the kernel's EEXIST, named
out=$(drive -i "$mac_b,eth0,0")
expect_match "a rename onto a taken name names both" \
	"^error 17: interface 'vb' \\($mac_b\\): rename to 'eth0'.*File exists$" "$out"

done_testing
