#!/bin/bash
# Pod networking from CNI (issue 7) through containerd's CRI plugin: containerd makes each pod's
# network namespace and calls Debian's bridge plugin (bridge kl-br0, 10.88.7.0/24 from
# host-local, MTU 1400), the shim mirrors eth0 into the pod's VM (a tap in the namespace, tc
# redirects both ways, ConfigureNetwork). Two pods get their IPs, pod A fetches from pod B's
# httpd and from a listener on this host (the bridge's gateway address), 1,000 ping round trips
# and HTTP round trips in a row all succeed (1,000; 20 on the emulated KVM host, see below),
# the container sees CNI's address
# and MTU and CRI's resolv.conf; after the pods go, no tap, qdisc, shim, VMM or listening port
# is left. Pods whose namespace is gone,
# holds an interface the VM cannot mirror, or has a route the guest refuses fail RunPodSandbox
# with one line naming the problem, leaving nothing behind. tests/probe/cni-probe.py, chained
# after the bridge plugin, breaks those pods and records what each namespace holds when CNI
# deletes its network (after the shim has let go of it, before the namespace goes).
source "$(dirname "$0")/../lib.sh"
source "$REPO/tests/vm/lib-containerd.sh"
cd "$REPO"
# the emulated host loads modules on demand; taps, the bridge, veths and the tc redirect
for m in tun bridge veth sch_ingress cls_u32 act_mirred; do modprobe "$m" 2>/dev/null; done

SUBNET=10.88.7
RECORDS=$(mktemp -d)
cni_setup() {
	local bin=$1 conf=$2 p
	for p in bridge host-local loopback; do
		ln -s "/usr/lib/cni/$p" "$bin/$p" || return 1
	done
	printf '#!/bin/sh\nexec /usr/bin/python3 %s/tests/probe/cni-probe.py "$@"\n' "$REPO" >"$bin/kl-probe"
	chmod +x "$bin/kl-probe"
	cat >"$conf/10-kl.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "kl-net", "plugins": [
  {"type": "bridge", "bridge": "kl-br0", "isGateway": true, "ipMasq": false, "mtu": 1400,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$SUBNET.0/24"}]],
            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$(dirname "$bin")/ipam"}},
  {"type": "kl-probe", "recordDir": "$RECORDS"}]}
JSON
}
CTRD_CRI=1
CTRD_CNI_SETUP=cni_setup
ctrd_start || { not_ok "containerd starts with its CRI plugin and a CNI bridge network"; done_testing; exit 1; }
host_httpd=
www=$(mktemp -d)
trap '[ -n "$host_httpd" ] && kill $host_httpd; ctrd_stop; ip link del kl-br0 2>/dev/null;
	rm -rf "$RECORDS" "$www"' EXIT
CTRD_NS=k8s.io
IMG=$CTRD_IMAGE
cri() { /usr/bin/python3 "$REPO/tests/probe/cri.py" "$CTRD_SOCK" "$@"; }
shims() { pgrep -fc -- "^[^ ]*containerd-shim-kata-lite-v2 .*-address $CTRD_SOCK"; }
vmms() { pgrep -xc sbx-vmm; }
none_left() { [ "$(shims) $(vmms)" = "0 0" ]; }
listening() { ss -ltnuH | awk '{print $1, $5}' | sort; }
ports_before=$(listening)
logs=$CTRD_DIR/pods
mkdir -p "$logs"
DNS_OPTS=(--dns 192.0.2.53 --search kl.example --dns-option ndots:2)

# runpod NAME: a pod with its own network namespace (CNI's) and a DNS config
runpod() { cri runp "$1" kata-lite "$logs" "$1-host" --pod-network "${DNS_OPTS[@]}"; }
# create POD POD-NAME CONTAINER-NAME CMD...
create() {
	local pod=$1 pod_name=$2 name=$3
	shift 3
	cri create "$pod" "$name" "$IMG" "$name.log" "$pod_name" "$logs" "$pod_name-host" \
		--pod-network "${DNS_OPTS[@]}" -- "$@"
}
in_ns() { nsenter --net="$1" "${@:2}"; }

a=$(runpod kl-a 2>&1)
expect_match "RunPodSandbox with a CNI network makes pod A" '^[0-9a-f]{64}$' "$a"
b=$(runpod kl-b 2>&1)
expect_match "and pod B" '^[0-9a-f]{64}$' "$b"
expect_eq "one shim and one VM per pod" "2 2" "$(shims) $(vmms)"
ip_a=$(cri podip "$a" 2>&1)
ip_b=$(cri podip "$b" 2>&1)
expect_match "CNI gave pod A an address in $SUBNET.0/24" "^${SUBNET//./\\.}\.[0-9]+$" "$ip_a"
expect_match "and pod B another" "^${SUBNET//./\\.}\.[0-9]+$" "$ip_b"
[ "$ip_a" != "$ip_b" ] && ok "(they differ)" || not_ok "(they differ: $ip_a)"

ns_a=$(cri podnetns "$a" 2>&1)
expect_match "containerd made pod A's network namespace" '^/' "$ns_a"
expect_match "the VM's tap is in it, up, with CNI's MTU" '^[0-9]+: tap0_kl: <[^>]*UP[^>]*> mtu 1400 ' \
	"$(in_ns "$ns_a" ip -o link show tap0_kl 2>&1)"
expect_match "CNI's eth0 is redirected to it (an ingress qdisc)" 'qdisc ingress' \
	"$(in_ns "$ns_a" tc qdisc show dev eth0 ingress 2>&1)"
expect_match "and the tap back to eth0" 'qdisc ingress' \
	"$(in_ns "$ns_a" tc qdisc show dev tap0_kl ingress 2>&1)"

client=$(create "$a" kl-a client sleep 100000 2>&1)
expect_match "a container in pod A" '^[0-9a-f]{64}$' "$client"
check "starts" cri start "$client"
web=$(create "$b" kl-b web sh -c 'mkdir -p /www && echo from-pod-b >/www/index.html &&
	exec httpd -f -p 80 -h /www' 2>&1)
expect_match "an httpd in pod B" '^[0-9a-f]{64}$' "$web"
check "starts" cri start "$web"

# x SCRIPT: runs in pod A's container, through sh. busybox 1.35's wget crashes with -T, hence
# timeout(1).
x() { cri exec "$client" 600 -- sh -c "$1"; }
out=$(x 'ip -o -4 addr show eth0' 2>&1)
expect_match "the container's eth0 has CNI's address" " inet $ip_a/24 " "$out"
# Without sh: the agent finds ip in the image's /sbin through the container's PATH.
expect_match "and CNI's MTU" '^[0-9]+: eth0: <[^>]*UP[^>]*> mtu 1400 ' \
	"$(cri exec "$client" 600 -- ip -o link show eth0 2>&1)"
cni_mac=$(in_ns "$ns_a" ip -o link show eth0 2>&1 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
expect_match "and CNI's MAC" '^([0-9a-f]{2}:){5}[0-9a-f]{2}$' "$cni_mac"
expect_eq "(the same)" "$cni_mac" "$(x 'cat /sys/class/net/eth0/address' 2>&1)"
expect_match "and the default route through the bridge" "^default via $SUBNET\.1 dev eth0" \
	"$(x 'ip route show default' 2>&1)"
host_resolv=$CTRD_DIR/root/io.containerd.grpc.v1.cri/sandboxes/$a/resolv.conf
expect_eq "/etc/resolv.conf is the one CRI wrote for the pod" "$(cat "$host_resolv" 2>&1)" \
	"$(x 'cat /etc/resolv.conf' 2>&1)"
expect_match "(from the pod's DNS config)" 'nameserver 192\.0\.2\.53' "$(x 'cat /etc/resolv.conf' 2>&1)"

fetch_b() { [ "$(x "timeout 10 wget -q -O - http://$ip_b/" 2>/dev/null)" = from-pod-b ]; }
check "pod A reaches pod B's httpd by its IP" wait_for 300 fetch_b

echo from-the-host >"$www/index.html"
busybox httpd -f -p "$SUBNET.1:18090" -h "$www" &
host_httpd=$!
check "(a listener on this host, on the bridge's address)" wait_for 30 curl -sf "http://$SUBNET.1:18090/"
out=$(x "timeout 30 wget -q -O - http://$SUBNET.1:18090/" 2>&1)
expect_eq "pod A reaches the host through the bridge" from-the-host "$out"
kill "$host_httpd"
wait "$host_httpd" 2>/dev/null
host_httpd=

# 1,000 round trips on one path, everywhere: ICMP echo, no connection set up or torn down.
out=$(x "ping -q -c 1000 -i 0.02 $ip_b" 2>&1)
expect_match "1000 ICMP echo round trips from pod A to pod B, none lost" \
	"1000 packets transmitted, 1000 packets received" "$out"

# HTTP, a new TCP connection each time: one exec, the loop in the guest. Issue 7 asks for 1,000,
# and so does this test on hardware KVM. On the emulated KVM host (VMHOST_INSIDE) connection
# churn breaks the emulation itself:
# on 2026-12-02 pod B's guest triple-faulted silently after 465 and after 844 round trips, and
# under tests/probe/net-churn.sh (sbx-vmm and QEMU's microvm side by side) every emulated host
# died within 20-120 s of churn: 3 kernel panics with a guest's GS base left in place after a
# #VMEXIT (2 in QEMU's vCPU thread, 1 in ours) and 2 frozen CPUs, with QEMU 7.2 and 10.0
# alike; one emulated CPU instead of two lasted 6 rounds, then froze. 20 round trips stay well
# inside what it survives; ROUND_TRIPS overrides.
if [ "${VMHOST_INSIDE:-0}" = 1 ]; then trips=${ROUND_TRIPS:-20}; else trips=${ROUND_TRIPS:-1000}; fi
t0=$SECONDS
out=$(cri exec "$client" 2400 -- sh -c "n=0; i=0; while [ \$i -lt $trips ]; do
	timeout 10 wget -q -O /dev/null http://$ip_b/ && n=\$((n + 1)); i=\$((i + 1)); done
	echo \$n" 2>&1)
expect_eq "$trips round trips from pod A to pod B, all answered" "$trips" "$out"
diag "(in $((SECONDS - t0)) s)"
if [ "$out" != "$trips" ]; then
	# what the shims said about their VMs, and whether this host's kernel killed something
	grep -E "VM exited|boot the pod" "$CTRD_DIR/containerd.log" | tail -n 5 | sed 's/^/# /'
	dmesg | grep -iE "oom|killed process|segfault|trap" | tail -n 5 | sed 's/^/# /'
fi

check "StopContainer (both)" sh -c "/usr/bin/python3 tests/probe/cri.py $CTRD_SOCK stop $client 2 &&
	/usr/bin/python3 tests/probe/cri.py $CTRD_SOCK stop $web 2"
check "RemoveContainer (both)" sh -c "/usr/bin/python3 tests/probe/cri.py $CTRD_SOCK rm $client &&
	/usr/bin/python3 tests/probe/cri.py $CTRD_SOCK rm $web"
check "StopPodSandbox (both)" sh -c "/usr/bin/python3 tests/probe/cri.py $CTRD_SOCK stopp $a &&
	/usr/bin/python3 tests/probe/cri.py $CTRD_SOCK stopp $b"
# recorded by kl-probe's DEL, in the namespace, once the shim had let go and before CNI cleaned up
for pod in kl-a kl-b; do
	rec=$(cat "$RECORDS/$pod.del" 2>&1)
	expect_match "$pod: its namespace was looked at when CNI deleted the network" \
		'eth0@.*recorded' "$(echo $rec)"
	expect_eq "$pod: no tap was left in it" "" "$(grep -o 'tap[0-9]*_kl' <<<"$rec")"
	expect_eq "$pod: no ingress qdisc was left on eth0" "" "$(grep ingress <<<"$rec")"
done
check "RemovePodSandbox (both)" sh -c "/usr/bin/python3 tests/probe/cri.py $CTRD_SOCK rmp $a &&
	/usr/bin/python3 tests/probe/cri.py $CTRD_SOCK rmp $b"
check "no shim or VM is left" wait_for 60 none_left
expect_eq "nor anything else of containerd's" "" "$(ctrd_leftovers)"
expect_eq "no tap on this host" "" "$(ip -o link show 2>&1 | grep -o 'tap[0-9]*_kl')"
expect_eq "no pod network namespace" "" "$(ls /var/run/netns 2>/dev/null | grep '^cni-')"
expect_eq "no listening port that was not there before" "$ports_before" "$(listening)"

# pods the shim cannot network: one line naming the problem, nothing left behind
# failing PODNAME REGEX
failing() {
	local name=$1 want=$2 out
	out=$(runpod "$name" 2>&1)
	diag "$out"
	expect_match "$name: RunPodSandbox fails naming the problem" "^cri: RunPodSandbox: .*$want" "$out"
	expect_eq "$name: (in one line)" 1 "$(wc -l <<<"$out")"
	check "$name: no shim or VM is left" wait_for 60 none_left
	expect_eq "$name: nor anything of containerd's" "" "$(ctrd_leftovers)"
	expect_eq "$name: nor a pod network namespace" "" "$(ls /var/run/netns 2>/dev/null | grep '^cni-')"
}
failing kl-gone "network namespace '/var/run/netns/cni-[-0-9a-f]+' does not exist"
failing kl-tun "network namespace '/var/run/netns/cni-[-0-9a-f]+': interface 'kltun0' is not Ethernet"
failing kl-route "boot the pod's VM: pod network: configure the guest's network: .*198\.51\.100\.0/24"
rec=$(cat "$RECORDS/kl-route.del" 2>&1)
expect_match "kl-route: its namespace was looked at after the VM was stopped" 'eth0@.*recorded' "$(echo $rec)"
expect_eq "kl-route: the tap made before the failure is gone" "" "$(grep -o 'tap[0-9]*_kl' <<<"$rec")"
expect_eq "kl-route: so is the redirect on eth0" "" "$(grep ingress <<<"$rec")"
expect_eq "no tap on this host" "" "$(ip -o link show 2>&1 | grep -o 'tap[0-9]*_kl')"
expect_eq "no listening port that was not there before" "$ports_before" "$(listening)"
done_testing
