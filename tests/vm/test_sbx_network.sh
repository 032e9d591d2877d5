#!/bin/bash
# `sbx run`'s network, typed as a user would: the default user-mode network (eth0 10.0.2.15/24,
# default route, resolv.conf), outbound NAT to a listener on this host, `-p` publishing a
# container's httpd that curl fetches, a port two sandboxes cannot both publish, --dns,
# --network none (only lo), a tap device with --ip, bad flags named with 125; afterwards no
# VMM, listening port or tap is left.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
make --no-print-directory -s build/images/busybox.tar
export SBX_ROOT
SBX_ROOT=$(mktemp -d) # unix sockets: not on the 9p-shared repository
www=$(mktemp -d)
host_httpd=
trap '[ -n "$host_httpd" ] && kill $host_httpd; pkill -9 -f "$SBX_ROOT" 2>/dev/null;
	ip link del sbxt0 2>/dev/null; rm -rf "$SBX_ROOT" "$www"' EXIT
sbx=$BIN/sbx
run() { timeout 300 "$sbx" run "$@"; }
check "load the demo image" "$sbx" load -i build/images/busybox.tar

# bad flags: one line, 125, no sandbox
for bad in "--network bogus|--network 'bogus' is not user, none or tap:NAME" \
	"-p 99999:80|-p '99999:80': ports are 1 to 65535" \
	"-p 80|-p '80' is not [ADDR:]HOSTPORT:CONTAINERPORT[/udp]" \
	"--network none -p 8080:80|-p needs --network user" \
	"--dns 1.2.3|--dns '1.2.3' is not an IP address" \
	"--ip 10.0.0.2/24|--ip and --gateway need --network tap:NAME"; do
	out=$(run ${bad%%|*} busybox true 2>&1)
	expect_eq "sbx run ${bad%%|*}: 125 and one line naming the problem" \
		"125 sbx run: ${bad#*|}" "$? $out"
done
expect_eq "and no sandbox was left" "" "$("$sbx" ps -aq)"

out=$(run --rm busybox sh -c 'ip -4 -o addr show eth0 | grep -o "inet [0-9./]*"
	ip route | grep ^default | cut -d" " -f1-3; grep nameserver /etc/resolv.conf' 2>&1)
expect_eq "the default user network: eth0, a default route and the DNS forwarder" \
	"inet 10.0.2.15/24 default via 10.0.2.2 nameserver 10.0.2.3" "$(echo $out)"
out=$(run --rm --network none busybox ls /sys/class/net 2>&1)
expect_eq "--network none: only lo" lo "$out"
out=$(run --rm --dns 192.0.2.53 busybox grep nameserver /etc/resolv.conf 2>&1)
expect_eq "--dns sets the container's resolv.conf" "nameserver 192.0.2.53" "$out"

# outbound: a listener on this host is 10.0.2.2 from the guest
echo from-the-host >"$www/index.html"
busybox httpd -f -p 127.0.0.1:18081 -h "$www" &
host_httpd=$!
wait_for 30 curl -sf http://127.0.0.1:18081/
out=$(run --rm busybox wget -qO- http://10.0.2.2:18081/ 2>&1)
expect_eq "a container reaches a listener on the host through the NAT" from-the-host "$out"

# -p: a container's server on a host port
id=$(run -d --name web -p 18080:80 busybox sh -c \
	'mkdir -p /www && echo served-from-the-vm >/www/index.html && exec httpd -f -p 80 -h /www' 2>&1)
expect_match "sbx run -d -p 18080:80 starts" '^[0-9a-f]{12,64}$' "$id"
fetch() { curl -sf --max-time 10 http://127.0.0.1:18080/; }
check "curl reaches the container's httpd through -p" wait_for 120 fetch
expect_eq "and gets its file" served-from-the-vm "$(fetch)"
expect_match "inspect shows the port binding" '"PortBindings": *\[ *"18080:80" *\]' \
	"$("$sbx" inspect web | tr -d '\n')"
out=$(run --rm -p 18080:80 busybox true 2>&1)
rc=$?
expect_eq "a second sandbox cannot publish the same port: 125" 125 "$rc"
expect_match "and says which port" "18080" "$out"
expect_eq "(one line)" 1 "$(wc -l <<<"$out")"
check "rm -f the web sandbox" "$sbx" rm -f web
check "the port is free again" wait_for 30 sh -c '! ss -ltnH "sport = :18080" | grep -q .'

# a tap the user made, the guest addressed with --ip (the emulated host loads tun on demand)
modprobe tun 2>/dev/null
ip tuntap add dev sbxt0 mode tap
ip addr add 10.1.0.1/24 dev sbxt0
ip link set sbxt0 up
out=$(run --rm --network tap:sbxt0 --ip 10.1.0.2/24 --gateway 10.1.0.1 busybox sh -c \
	'ip -4 -o addr show eth0 | grep -o "inet [0-9./]*"; ping -c 1 -W 10 10.1.0.1 >/dev/null && echo reached' 2>&1)
expect_eq "--network tap:NAME --ip: the guest is on the tap and reaches the host" \
	"inet 10.1.0.2/24 reached" "$(echo $out)"
ip link del sbxt0

expect_eq "no sandbox is left" "" "$("$sbx" ps -aq)"
expect_eq "no VMM is left" "" "$(pgrep -f "$SBX_ROOT/sandboxes" || true)"
expect_eq "no tap is left" "" "$(ip -o link show type tun 2>/dev/null)"
done_testing
