#!/bin/bash
# virtio-net (issue 7): iperf3 TCP throughput both ways over a tap and over user-mode networking,
# and the request rate of busybox httpd in the guest (wrk), sbx-vmm next to QEMU's microvm with
# virtio-net-device on the same kind of backend (a vnet_hdr tap with vhost=off; libslirp), same
# kernel, test initrd (sbx.test=netserve: iperf3 -s and httpd), 1 vCPU, 256 MiB. The host is
# always the client (iperf3 -R: the guest sends); on user mode it connects through published
# ports, the path of sbx run -p. Both VMs run at once and the runs alternate, so drift on a busy
# host hits both. Median of BENCH_RUNS (3) runs of BENCH_NET_SECONDS (5). Extras without a
# peer: QEMU with vhost-net when the host has it, and `sbx run -d -p` serving httpd. A
# measurement that fails prints 0 and says why on stderr.
source "$(dirname "$0")/../../lib.sh"
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
runs=${BENCH_RUNS:-3}
secs=${BENCH_NET_SECONDS:-5}
initrd=$REPO/build/test-guest/initrd-net.img
tests/probe/mk-test-initrd.sh "$initrd" "$(command -v iperf3)"
make --no-print-directory -s build/images/busybox.tar
tmp=$(mktemp -d /tmp/sbx-bench-net.XXXXXX) # unix sockets cannot live on the 9p-shared repo
export SBX_ROOT=$tmp/sbx
mkdir -p "$SBX_ROOT"
taps=(sbxbn$$a sbxbn$$b)
pids=() names=()

# stop_vms: TERM, then KILL what is left after 10 s; a VM that was already gone (its numbers
# are then suspect) is named on stderr with its exit status.
stop_vms() {
	local i rc deadline=$((SECONDS + 10))
	for i in "${!pids[@]}"; do
		if ! kill -0 "${pids[$i]}" 2>/dev/null; then
			wait "${pids[$i]}"
			rc=$?
			echo "bench_net: ${names[$i]} exited during the measurements (status $rc)" >&2
			tail -n 5 "$tmp/${names[$i]}.log" >&2 2>/dev/null
		fi
		kill "${pids[$i]}" 2>/dev/null
	done
	for i in "${!pids[@]}"; do
		while kill -0 "${pids[$i]}" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
			sleep 0.1
		done
		kill -9 "${pids[$i]}" 2>/dev/null
		wait "${pids[$i]}" 2>/dev/null
	done
	pids=() names=()
}
cleanup() {
	stop_vms
	[ -x "$BIN/sbx" ] && [ -d "$SBX_ROOT" ] && timeout 60 "$BIN/sbx" rm -f netbench >/dev/null 2>&1
	pkill -9 -f "$SBX_ROOT" 2>/dev/null
	for t in "${taps[@]}"; do ip link del "$t" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

# ours NAME NETSPEC IP/PREFIX GW: sbx-vmm serving on eth0 (console in $tmp/NAME.console).
ours() {
	timeout 1800 "$BIN/sbx-vmm" --kernel build/guest/vmlinux --initrd "$initrd" --cpus 1 \
		--mem 256 --console "file:$tmp/$1.console" --net "$2" \
		--cmdline "quiet sbx.test=netserve sbx.ip=$3 sbx.gw=$4" </dev/null >"$tmp/$1.log" 2>&1 &
	pids+=($!) names+=("$1")
}

# qemu NAME NETDEV IP/PREFIX GW: the peer, QEMU's microvm as in qemu_microvm_boot, netdev id n0.
# Its virtio-mmio is legacy (0.9.5) unless told otherwise; modern, as ours, for like with like
# (the guest then negotiates the same offloads from both on a tap, none on user).
qemu() {
	timeout 1800 qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=off,acpi=off \
		-global virtio-mmio.force-legacy=false -enable-kvm -cpu host -m 256 -smp 1 \
		-kernel build/guest/vmlinux -initrd "$initrd" \
		-append "console=ttyS0 reboot=t panic=-1 ${SBX_GUEST_CMDLINE_EXTRA:-} quiet sbx.test=netserve sbx.ip=$3 sbx.gw=$4" \
		-nodefaults -no-user-config -display none -serial "file:$tmp/$1.console" -no-reboot \
		-netdev "$2" -device virtio-net-device,netdev=n0,mac=02:5b:00:00:00:02 \
		</dev/null >"$tmp/$1.log" 2>&1 &
	pids+=($!) names+=("$1")
}

# serving NAME...: each guest printed its marker (or says why not, once, on stderr).
serving() {
	local n ok=0 deadline=$((SECONDS + 300))
	for n in "$@"; do
		until grep -q sbx-net-serving "$tmp/$n.console" 2>/dev/null; do
			if [ "$SECONDS" -ge "$deadline" ]; then
				echo "bench_net: $n did not start serving; its console and log:" >&2
				tail -n 15 "$tmp/$n.console" "$tmp/$n.log" >&2 2>/dev/null
				ok=1
				break
			fi
			sleep 0.2
		done
	done
	return $ok
}

# mbps ADDR PORT [IPERF3-ARGS]: one iperf3 run's received Mbit/s. The guest restarts its
# one-shot server between tests, so a refused connection is tried again.
mbps() {
	local out err
	for _ in 1 2 3 4 5; do
		out=$(timeout $((secs + 60)) iperf3 -c "$1" -p "$2" -t "$secs" -O 1 -J \
			--connect-timeout 10000 "${@:3}" 2>"$tmp/iperf3.err")
		err=$(jq -r '.error // empty' <<<"$out" 2>/dev/null)
		[[ "$err" == *refused* || "$err" == *busy* ]] || break
		sleep 1
	done
	jq -er '.end.sum_received.bits_per_second / 1e6 * 10 | floor / 10' <<<"$out" 2>/dev/null ||
		echo "bench_net: iperf3 -c $1 -p $2 ${*:3}: ${err:-$(tail -n 1 "$tmp/iperf3.err")}" >&2
}

# rps URL: requests per second wrk gets from URL with 4 connections.
rps() {
	local out
	out=$(timeout $((secs + 60)) wrk -t1 -c4 -d"${secs}s" --timeout 10s "$1" 2>&1)
	grep -E 'Socket errors|Non-2xx' <<<"$out" | sed "s|^|bench_net: wrk $1: |" >&2
	awk '/^Requests\/sec:/ {print $2}' <<<"$out" | grep . ||
		echo "bench_net: wrk $1: $(tail -n 1 <<<"$out")" >&2
}

# measure NAME UNIT FN-AND-ARGS-OURS -- FN-AND-ARGS-PEER: runs both alternately $runs times,
# prints the BENCH line with the medians (0 when every run failed) and every run on stderr,
# to show how noisy the host was.
measure() {
	local name=$1 unit=$2 a=() b=() o=() p=() v
	shift 2
	while [ "$1" != -- ]; do a+=("$1") && shift; done
	shift
	b=("$@")
	for _ in $(seq "$runs"); do
		v=$("${a[@]}") && [ -n "$v" ] && o+=("$v")
		if [ ${#b[@]} -gt 0 ]; then v=$("${b[@]}") && [ -n "$v" ] && p+=("$v"); fi
	done
	echo "bench_net: $name runs: ${b[*]:+ours }${o[*]:-none}${b[*]:+; qemu-microvm ${p[*]:-none}}" >&2
	v=$( ((${#o[@]})) && printf '%s\n' "${o[@]}" | median)
	if [ ${#b[@]} -eq 0 ]; then
		echo "BENCH net $name ${v:-0} $unit"
		return
	fi
	echo "BENCH net $name ${v:-0} $unit $( ((${#p[@]})) && printf '%s\n' "${p[@]}" | median ||
		echo 0) qemu-microvm"
}

# ---- tap: each VM on its own tap with the host at .1, the guest at .2
[ -e /dev/net/tun ] || modprobe tun
for i in 0 1; do
	ip tuntap add dev "${taps[$i]}" mode tap &&
		ip addr add "10.0.$((3 + i)).1/24" dev "${taps[$i]}" &&
		ip link set "${taps[$i]}" up
done
ours ours-tap "tap=${taps[0]},mac=02:5b:00:00:00:01" 10.0.3.2/24 10.0.3.1
qemu qemu-tap "tap,id=n0,ifname=${taps[1]},script=no,downscript=no,vhost=off" 10.0.4.2/24 10.0.4.1
serving ours-tap qemu-tap
measure tap_guest_to_host_mbps Mbit/s mbps 10.0.3.2 5201 -R -- mbps 10.0.4.2 5201 -R
measure tap_host_to_guest_mbps Mbit/s mbps 10.0.3.2 5201 -- mbps 10.0.4.2 5201
measure tap_http_requests_per_s req/s rps http://10.0.3.2/index.html -- \
	rps http://10.0.4.2/index.html
stop_vms

# ---- user mode: the guest's iperf3 and httpd published on host ports (sbx run -p's path)
port=$((20000 + RANDOM % 20000)) # ours: port, port+1; QEMU: port+2, port+3; sbx: port+4
lo=127.0.0.1
ours ours-user "user,mac=02:5b:00:00:00:01,fwd=$lo:$port:5201,fwd=$lo:$((port + 1)):80" \
	10.0.2.15/24 10.0.2.2
qemu qemu-user "user,id=n0,hostfwd=tcp:$lo:$((port + 2))-:5201,hostfwd=tcp:$lo:$((port + 3))-:80" \
	10.0.2.15/24 10.0.2.2
serving ours-user qemu-user
measure user_guest_to_host_mbps Mbit/s mbps $lo "$port" -R -- mbps $lo $((port + 2)) -R
measure user_host_to_guest_mbps Mbit/s mbps $lo "$port" -- mbps $lo $((port + 2))
measure user_fwd_http_requests_per_s req/s rps "http://$lo:$((port + 1))/index.html" -- \
	rps "http://$lo:$((port + 3))/index.html"
stop_vms

# ---- extra: QEMU with vhost-net (the kernel moves the packets; sbx-vmm has no such path)
modprobe vhost_net 2>/dev/null
if [ -c /dev/vhost-net ]; then
	qemu qemu-vhost "tap,id=n0,ifname=${taps[1]},script=no,downscript=no,vhost=on" \
		10.0.4.2/24 10.0.4.1
	if serving qemu-vhost; then
		measure qemu_vhost_tap_guest_to_host_mbps Mbit/s mbps 10.0.4.2 5201 -R --
		measure qemu_vhost_tap_host_to_guest_mbps Mbit/s mbps 10.0.4.2 5201 --
	fi
	stop_vms
else
	echo "bench_net: no /dev/vhost-net here; no vhost line" >&2
fi

# ---- extra: what a user of sbx sees, `sbx run -d -p` publishing the container's httpd
if [ -x "$BIN/sbx" ] && "$BIN/sbx" load -i build/images/busybox.tar >/dev/null; then
	sport=$((port + 4))
	timeout 300 "$BIN/sbx" run -d --name netbench -p "$sport:80" busybox sh -c \
		'mkdir -p /www && echo served-from-the-vm >/www/index.html && exec httpd -f -p 80 -h /www' \
		>/dev/null 2>"$tmp/sbx.err"
	if wait_for 120 curl --noproxy "*" -sf --max-time 10 "http://$lo:$sport/"; then
		measure sbx_run_p_http_requests_per_s req/s rps "http://$lo:$sport/index.html" --
		[ -n "$("$BIN/sbx" ps -q)" ] ||
			echo "bench_net: the sbx sandbox exited during the measurements" >&2
	else
		echo "bench_net: sbx run -d -p did not serve: $(tail -n 3 "$tmp/sbx.err")" >&2
		echo "BENCH net sbx_run_p_http_requests_per_s 0 req/s"
	fi
	timeout 60 "$BIN/sbx" rm -f netbench >/dev/null 2>&1
fi
