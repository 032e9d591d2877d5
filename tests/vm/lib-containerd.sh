# Sourced by tests after tests/lib.sh: a private containerd (its own root, state, sockets and
# config under one tmpfs), our shim first on its PATH, the demo image imported.
#   ctrd_start        start it; sets CTRD_DIR, CTRD_SOCK, CTRD_IMAGE; cleans up on EXIT
#   ctr_ ARGS...      ctr against it (namespace default), killed after $CTR_TIMEOUT (300) s
#   ctrd_leftovers    what a finished test must not leave: tasks, shim sockets, bundles, mounts
#   ctrd_restart      stop containerd alone (its shims keep running) and start it again
#   ctrd_stop         stop it, kill what it left, unmount, remove
# CTRD_CRI=1 before ctrd_start keeps containerd's CRI plugin, with the runtime handler
# "kata-lite" and the demo image as the sandbox image, and imports the image into its namespace
# k8s.io too; CTRD_CRI_RUNTIMES adds config.toml lines (@CTRD_DIR@ is replaced); CTRD_NS names the namespace ctr_ and ctrd_leftovers look at (default).
# CTRD_CNI_SETUP names a function called with the CRI plugin's CNI bin and conf dirs before
# containerd starts (without one, both are empty: pods can only use the node's network).
CTRD_DIR=
CTRD_SOCK=
CTRD_PID=
CTRD_IMAGE=docker.io/library/busybox:latest

ctr_() {
	timeout --foreground "${CTR_TIMEOUT:-300}" ctr --address "$CTRD_SOCK" -n "${CTRD_NS:-default}" "$@"
}

ctrd_start() {
	make --no-print-directory -s build/images/busybox.tar || return 1
	CTRD_DIR=$(mktemp -d /tmp/ctrd.XXXXXX) || return 1
	# overlayfs needs an upper dir on a filesystem like tmpfs (not the emulated host's overlay)
	mount -t tmpfs -o mode=0711 ctrd "$CTRD_DIR" || return 1
	CTRD_SOCK=$CTRD_DIR/containerd.sock
	CTRD_SOCKETS_BEFORE=$(ls /run/containerd/s 2>/dev/null)
	trap ctrd_stop EXIT
	local cri='"io.containerd.grpc.v1.cri",' cri_config= more=${CTRD_CRI_RUNTIMES:-}
	if [ "${CTRD_CRI:-0}" = 1 ]; then
		# No CNI configuration unless CTRD_CNI_SETUP makes one: pods run in the node's
		# network namespace.
		cri=
		mkdir -p "$CTRD_DIR/cni/bin" "$CTRD_DIR/cni/conf"
		if [ -n "${CTRD_CNI_SETUP:-}" ]; then
			"$CTRD_CNI_SETUP" "$CTRD_DIR/cni/bin" "$CTRD_DIR/cni/conf" || return 1
		fi
		cri_config="
[plugins.\"io.containerd.grpc.v1.cri\"]
  sandbox_image = \"$CTRD_IMAGE\"
  disable_apparmor = true
  stream_server_address = \"127.0.0.1\"
  stream_server_port = \"0\"
[plugins.\"io.containerd.grpc.v1.cri\".cni]
  bin_dir = \"$CTRD_DIR/cni/bin\"
  conf_dir = \"$CTRD_DIR/cni/conf\"
[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]
  runtime_type = \"io.containerd.runc.v2\"
[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.kata-lite]
  runtime_type = \"io.containerd.kata-lite.v2\"
${more//@CTRD_DIR@/$CTRD_DIR}"
	fi
	cat >"$CTRD_DIR/config.toml" <<TOML
version = 2
root = "$CTRD_DIR/root"
state = "$CTRD_DIR/state"
disabled_plugins = [$cri "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[debug]
  level = "info"
$cri_config
TOML
	ctrd_run || return 1
	ctr_ images import build/images/busybox.tar >/dev/null || return 1
	if [ "${CTRD_CRI:-0}" = 1 ]; then
		if ! ctr_ plugins ls | grep -qE '^io\.containerd\.grpc\.v1 +cri .* ok *$'; then
			diag "containerd's CRI plugin did not load:"
			grep 'failed to load plugin io.containerd.grpc.v1.cri' "$CTRD_DIR/containerd.log" | sed 's/^/# /'
			return 1
		fi
		CTRD_NS=k8s.io ctr_ images import build/images/busybox.tar >/dev/null || return 1
	fi
	ctr_ images ls -q | grep -qx "$CTRD_IMAGE"
}

ctrd_run() {
	PATH="$BIN:$PATH" containerd --config "$CTRD_DIR/config.toml" >>"$CTRD_DIR/containerd.log" 2>&1 &
	CTRD_PID=$!
	if ! wait_for 120 ctr --address "$CTRD_SOCK" version; then
		diag "containerd did not answer within 120 s:"
		tail -n 20 "$CTRD_DIR/containerd.log" | sed 's/^/# /'
		return 1
	fi
}

ctrd_restart() {
	kill "$CTRD_PID" && wait "$CTRD_PID" 2>/dev/null
	ctrd_run
}

ctrd_leftovers() {
	ctr_ task ls -q 2>/dev/null | sed 's/^/task: /'
	find "$CTRD_DIR/state/io.containerd.runtime.v2.task" -mindepth 2 -maxdepth 2 2>/dev/null |
		sed 's/^/bundle: /'
	grep -F " $CTRD_DIR/state" /proc/mounts | awk '{print "mount: " $2}'
	comm -13 <(echo "$CTRD_SOCKETS_BEFORE") <(ls /run/containerd/s 2>/dev/null) |
		sed 's/^/shim socket: /'
}

# _ctrd_no_shims: no shim of this containerd runs (anchored at the program, so that a sh -c whose
# command line names the socket does not count).
_ctrd_no_shims() { ! pgrep -f -- "^[^ ]*containerd-shim[^ ]* .*-address $CTRD_SOCK" >/dev/null; }

# _ctrd_keep_log: after a failed check, containerd's log (the shims' stderr is in it) outlives
# the tmpfs under build/tmp/logs, and its warnings and errors are shown.
_ctrd_keep_log() {
	[ "$_tap_failed" -gt 0 ] && [ -s "$CTRD_DIR/containerd.log" ] || return 0
	local keep=$REPO/build/tmp/logs/$(basename "$0" .sh)-containerd.$$.log
	mkdir -p "${keep%/*}" && cp "$CTRD_DIR/containerd.log" "$keep"
	diag "containerd's log is kept in $keep"
	# the shims' own warnings and errors first (lib/base/log.c writes "level=L comp=shim");
	# containerd's routine "cleaning up after shim disconnected" would crowd them out
	{ grep -E 'level=(warn|error) comp=shim' "$keep"
	  grep -E 'level=(error|fatal)|panic' "$keep" | grep -v 'comp=shim'; } | head -n 8 |
		sed -E 's/^time=[^ ]* //; s/^time="[^"]*" //' | cut -c1-240 |
		while IFS= read -r line; do evidence "$line"; done
	# a shim that lost a call to the guest sampled where its vCPUs were: name the functions
	grep -oE 'vcpu[0-9]+ rip 0x[0-9a-f]+' "$keep" | sort -u | head -n 4 |
		while read -r vcpu _ rip; do
			evidence "$vcpu was at $(guest_symbol "$rip") ($rip)"
		done
}

ctrd_stop() {
	[ -n "$CTRD_DIR" ] || return 0
	[ -n "$CTRD_PID" ] && kill "$CTRD_PID" 2>/dev/null && wait "$CTRD_PID" 2>/dev/null
	_ctrd_keep_log
	pkill -9 -f -- "-address $CTRD_SOCK" 2>/dev/null
	# the shims' VMMs die with them (PR_SET_PDEATHSIG); wait so their mounts can go
	wait_for 30 _ctrd_no_shims
	grep -F " $CTRD_DIR/" /proc/mounts | awk '{print $2}' | sort -r |
		while read -r m; do umount -l "$m"; done
	umount -l "$CTRD_DIR" 2>/dev/null
	rm -rf "$CTRD_DIR"
	CTRD_DIR=
}
