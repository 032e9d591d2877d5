#!/bin/bash
# virtio-net in a real guest, two devices at once: eth0 on the user-mode backend (slirp) and
# eth1 on a tap the VMM creates inside a network namespace the test made. A container that
# shares the VM's network namespace (no "network" in its spec) configures both by hand with
# busybox, fetches from a listener on this host through 10.0.2.2 and pings the tap's host side;
# a published port (fwd=) and the tap's namespace both reach the container's httpd, also after
# clients dropped transfers through it half-way. The tap the VMM created is gone after it
# exits; bad --net specs fail with one line and exit 2.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
bash tests/probe/agent-rootfs.sh build/test-rootfs
tmp=$(mktemp -d /tmp/sbx-net.XXXXXX) # unix sockets cannot live on the 9p-shared repository
ns=sbxnet$$
tap=sbxtap$$
driver_pid=
httpd_pid=
cleanup() {
	exec 3>&- 2>/dev/null
	[ -n "$driver_pid" ] && kill "$driver_pid" 2>/dev/null
	[ -n "$httpd_pid" ] && kill "$httpd_pid" 2>/dev/null
	ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

cp -a build/test-rootfs "$tmp/rootfs"
mke2fs -q -F -t ext4 -O ^has_journal -d "$tmp/rootfs" "$tmp/image.ext4" 32M

# a listener on this host, which the guest reaches as 10.0.2.2
mkdir -p "$tmp/www"
echo hello-from-the-host >"$tmp/www/hello.txt"
hport=$((20000 + RANDOM % 20000))
fport=$((hport + 1))
busybox httpd -f -p "127.0.0.1:$hport" -h "$tmp/www" &
httpd_pid=$!
check "the host listener serves" wait_for 10 curl --noproxy "*" -sf "http://127.0.0.1:$hport/hello.txt"

# the emulated host loads tun only on demand
[ -e /dev/net/tun ] || modprobe tun
ip netns add "$ns"
ip -n "$ns" link set lo up

# bad input: one line on stderr, exit 2, before anything is opened
bad() {
	local out rc
	out=$("$BIN/sbx-vmm" --kernel build/guest/vmlinux --net "$2" 2>&1)
	rc=$?
	expect_eq "$1: exit 2" 2 "$rc"
	expect_eq "$1: one line" 1 "$(wc -l <<<"$out")"
	expect_match "$1: names the problem" "$3" "$out"
}
bad "an unknown backend" bogus "--net 'bogus'"
bad "a multicast MAC" user,mac=01:00:5e:00:00:01 "multicast"
bad "a malformed MAC" user,mac=02:00:00:00:00 "mac '02:00:00:00:00'"
bad "a bad port mapping" user,fwd=80 "port mapping '80'"
bad "fwd on a tap" "tap=$tap,fwd=1:2" "option 'fwd=1:2'"
bad "a missing network namespace" "tap=$tap,netns=$tmp/nosuch" "netns '$tmp/nosuch'"
out=$("$BIN/sbx-vmm" --kernel build/guest/vmlinux --net "user,fwd=127.0.0.1:$hport:80" 2>&1)
rc=$?
expect_eq "a published port already in use: non-zero exit" 1 "$((rc != 0))"
expect_match "and the error names the port" "127\.0\.0\.1:$hport.*in use" "$out"
out=$("$BIN/sbx-vmm" --kernel build/nosuch --net none 2>&1)
expect_match "--net none is accepted (the next error is the kernel's)" "build/nosuch" "$out"

# the container: no network namespace, so eth0 and eth1 are the VM's own
cmd="cat /sys/class/net/eth0/address /sys/class/net/eth1/address | sed s/^/mac:/;
ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ip route add default via 10.0.2.2 &&
ip addr add 10.1.0.2/24 dev eth1 && ip link set eth1 up && echo configured;
i=0; until timeout 20 wget -q -O - http://10.0.2.2:$hport/hello.txt; do i=\$((i+1)); [ \$i -lt 5 ] || break; done;
i=0; until ping -c 1 -W 5 10.1.0.1 >/dev/null; do i=\$((i+1)); [ \$i -lt 5 ] || exit 1; done && echo ping-ok;
mkdir -p /tmp/www && echo hello-from-the-guest >/tmp/www/index.html && echo serving &&
exec httpd -f -p 8080 -h /tmp/www"
cmd=${cmd//\"/\\\"}
cmd=${cmd//$'\n'/ }
cat >"$tmp/net.json" <<JSON
{"hostname":"net1","root":{"path":"rootfs"},
 "process":{"args":["/bin/sh","-c","$cmd"],"env":["PATH=/bin"],"cwd":"/tmp",
  "capabilities":{"bounding":["CAP_NET_ADMIN","CAP_NET_RAW","CAP_NET_BIND_SERVICE"],
   "effective":["CAP_NET_ADMIN","CAP_NET_RAW","CAP_NET_BIND_SERVICE"],
   "permitted":["CAP_NET_ADMIN","CAP_NET_RAW","CAP_NET_BIND_SERVICE"]}},
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
  {"destination":"/sys","type":"sysfs","source":"sysfs","options":["ro"]},
  {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","mode=755"]},
  {"destination":"/tmp","type":"tmpfs","source":"tmpfs","options":["nosuid","size=4m"]}],
 "linux":{"namespaces":[{"type":"pid"},{"type":"mount"},{"type":"uts"},{"type":"ipc"}]}}
JSON

mkfifo "$tmp/cmds"
timeout 900 build/tests/agent-driver --disk "$tmp/image.ext4:img:ro" --mem 256 --cpus 1 \
	--vmm-arg "--net=user,mac=02:5b:00:00:00:01,fwd=127.0.0.1:$fport:8080" \
	--vmm-arg "--net=tap=$tap,mac=02:5b:00:00:00:02,netns=/var/run/netns/$ns" \
	"$BIN/sbx-vmm" build/guest/vmlinux build/guest/initrd.img "$tmp/sb" <"$tmp/cmds" \
	>"$tmp/out" 2>&1 &
driver_pid=$!
exec 3>"$tmp/cmds"
seen() { grep -qE -- "$1" "$tmp/out"; }
booted_or_gone() { seen '^ready ' || ! kill -0 "$driver_pid" 2>/dev/null; }
wait_for 300 booted_or_gone
if ! seen '^ready '; then
	not_ok "the VM boots with two --net devices"
	sed 's/^/#   /' "$tmp/out" "$tmp"/sb/vmm.log 2>/dev/null | tail -n 30
	done_testing
	exit 1
fi
ok "the VM boots with two --net devices"
check "the VMM created the tap inside the namespace" ip -n "$ns" link show "$tap"
ip -n "$ns" addr add 10.1.0.1/24 dev "$tap"
ip -n "$ns" link set "$tap" up
echo "sandbox netpod" >&3
echo "create c1 $tmp/net.json block img ext4" >&3
echo "start c1" >&3
check "the container configured eth0 and eth1" wait_for 120 seen '^\[c1/\] configured$'
expect_line "eth0 has the first --net's MAC" '^\[c1/\] mac:02:5b:00:00:00:01$' "$(cat "$tmp/out")"
expect_line "eth1 has the second --net's MAC" '^\[c1/\] mac:02:5b:00:00:00:02$' "$(cat "$tmp/out")"
check "user backend: the guest fetched from the host's listener via 10.0.2.2" \
	wait_for 120 seen '^\[c1/\] hello-from-the-host$'
check "tap backend: the guest pings the namespace's side (10.1.0.1)" wait_for 60 seen '^\[c1/\] ping-ok$'
check "the container's httpd starts" wait_for 60 seen '^\[c1/\] serving$'
got() { [ "$("$@" 2>/dev/null)" = hello-from-the-guest ]; }
check "fwd=: the published host port reaches the guest's listener" \
	wait_for 60 got curl --noproxy "*" -sf -m 10 "http://127.0.0.1:$fport/index.html"
check "tap backend: the namespace pings the guest (10.1.0.2)" \
	wait_for 60 ip netns exec "$ns" busybox ping -c 1 -W 2 10.1.0.2
check "tap backend: the namespace fetches from the guest's listener" \
	wait_for 60 got ip netns exec "$ns" curl --noproxy "*" -sf -m 10 "http://10.1.0.2:8080/index.html"
# a larger transfer through the tap's offloads (TSO/checksum) and back
head -c 3000000 /dev/urandom >"$tmp/www/big.bin"
sum=$(sha256sum <"$tmp/www/big.bin")
printf '{"args":["/bin/sh","-c","timeout 120 wget -q -O - http://10.0.2.2:%s/big.bin | sha256sum"],"env":["PATH=/bin"],"cwd":"/tmp"}\n' \
	"$hport" >"$tmp/big.json"
echo "exec c1 e1 $tmp/big.json" >&3
check "user backend: 3 MB from the host arrive intact" wait_for 300 seen "^\[c1/e1\] ${sum%% *}"
# through the tap both ways: the guest's TSO/checksum offloads out, the tap's GSO frames in
ip netns exec "$ns" busybox httpd -p 10.1.0.1:8081 -h "$tmp/www" 3>&- # it daemonizes: not our fifo
printf '{"args":["/bin/sh","-c","timeout 120 wget -q -O - http://10.1.0.1:8081/big.bin | sha256sum; timeout 120 wget -q -O /tmp/www/big.bin http://10.1.0.1:8081/big.bin && echo saved"],"env":["PATH=/bin"],"cwd":"/tmp"}\n' \
	>"$tmp/tapbig.json"
echo "exec c1 e2 $tmp/tapbig.json" >&3
check "tap backend: 3 MB from the namespace arrive intact" wait_for 300 seen "^\[c1/e2\] ${sum%% *}"
check "and are saved in the guest" wait_for 300 seen '^\[c1/e2\] saved$'
# clients that drop a published transfer half-way: libslirp's next send() to such a socket
# fails with EPIPE, which must cost the VMM nothing (it used to die of SIGPIPE)
for _ in 1 2 3; do
	curl --noproxy "*" -s -m 60 "http://127.0.0.1:$fport/big.bin" | head -c 1000 >/dev/null
done
check "clients dropping published transfers half-way leave the VMM serving" \
	wait_for 60 got curl --noproxy "*" -sf -m 10 "http://127.0.0.1:$fport/index.html"
fetched() { [ "$(ip netns exec "$ns" curl --noproxy "*" -sf -m 120 http://10.1.0.2:8080/big.bin | sha256sum)" = "$sum" ]; }
check "tap backend: 3 MB from the guest reach the namespace intact" fetched
echo "signal c1 - 9" >&3
echo "wait c1" >&3
echo "destroy" >&3
exec 3>&-
check "the driver ends" wait_for 120 bash -c "! kill -0 $driver_pid 2>/dev/null"
kill "$driver_pid" 2>/dev/null
wait "$driver_pid"
expect_eq "the driver exits 0" 0 "$?"
driver_pid=
out=$(cat "$tmp/out")
expect_line "the VMM exits 0" 'vmm exit=0$' "$out"
check "the tap the VMM created is gone after it exits" \
	wait_for 10 bash -c "! ip -n $ns link show $tap"
[ "$_tap_failed" -eq 0 ] || { echo "# driver output:"; sed 's/^/#   /' "$tmp/out" | tail -n 40; }
done_testing
