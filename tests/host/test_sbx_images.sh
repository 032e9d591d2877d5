#!/bin/bash
# sbx pull, load, images, rmi as a user types them, against a real registry on loopback.
source "$(dirname "$0")/../lib.sh"
source "$REPO/tests/registry.sh"
cd "$REPO"
export SBX_ROOT=$(mktemp -d)
trap 'registry_stop; rm -rf "$SBX_ROOT"' EXIT
sbx=$BIN/sbx

out=$($sbx load -i build/images/busybox.tar 2>&1); rc=$?
expect_eq "load the demo image (OCI layout + docker manifest)" "0 Loaded image: docker.io/library/busybox:latest" "$rc $out"
expect_match "images lists it" 'docker.io/library/busybox +latest +sha256:' "$($sbx images)"
out=$($sbx load <build/images/busybox.tar 2>&1); rc=$?
expect_eq "load from stdin" "0 Loaded image: docker.io/library/busybox:latest" "$rc $out"
out=$($sbx rmi busybox); rc=$?
expect_eq "rmi removes it" "0 Untagged: docker.io/library/busybox:latest" "$rc $(head -n 1 <<<"$out")"
expect_match "and says which blobs it deleted" $'\nDeleted: sha256:[0-9a-f]{64}' "$out"
expect_eq "and no blob is left" "" "$(ls -A "$SBX_ROOT/images/blobs/sha256")"
out=$($sbx rmi busybox 2>&1); rc=$?
expect_eq "rmi of an unknown image" "125 sbx: no such image: docker.io/library/busybox:latest" "$rc $out"
out=$($sbx load -i /nonexistent.tar 2>&1); rc=$?
expect_eq "load of a missing file" "125 sbx: open '/nonexistent.tar': No such file or directory" "$rc $out"
out=$(echo "garbage" | $sbx load 2>&1); rc=$?
expect_eq "load of garbage fails with 125" 125 "$rc"
expect_match "and names the problem" '^sbx: load stdin: not an image archive' "$out"
out=$($sbx frobnicate 2>&1); rc=$?
expect_eq "unknown command" "125 sbx: unknown command 'frobnicate' (see sbx --help)" "$rc $out"
out=$($sbx pull 'Bad/Name' 2>&1); rc=$?
expect_match "malformed reference" '^125 sbx: invalid reference format' "$rc $out"

# rmi collects what no reference needs, as docker does: two images sharing their lower layer,
# each with cached rootfs images, and a running container (a record whose monitor.lock is held)
# pinning one. gc_blobs TAR: the blobs an image archive's manifest names, one hex a line.
source "$REPO/tests/oci-image.sh"
gc_blobs() {
	local m
	m=$(tar -xOf "$1" ./index.json | jq -r '.manifests[0].digest | sub("sha256:"; "")')
	echo "$m"
	tar -xOf "$1" "./blobs/sha256/$m" | jq -r '.config.digest, .layers[].digest | sub("sha256:"; "")'
}
gc=$(mktemp -d)
mkdir -p "$gc/base/etc" "$gc/a/usr" "$gc/b/usr"
echo base >"$gc/base/etc/base"
echo a >"$gc/a/usr/a"
echo b >"$gc/b/usr/b"
# pax headers would otherwise carry atime, which the first tar of base changes
OCI_TAR_OPTS=--pax-option=delete=atime,delete=ctime oci_image "$gc/a.tar" test/gc-a:v1 "$gc/base" "$gc/a"
OCI_TAR_OPTS=--pax-option=delete=atime,delete=ctime oci_image "$gc/b.tar" test/gc-b:v1 "$gc/base" "$gc/b"
mapfile -t a_blobs < <(gc_blobs "$gc/a.tar") # manifest config shared-layer own-layer
mapfile -t b_blobs < <(gc_blobs "$gc/b.tar")
expect_eq "the two test images share their lower layer" "${a_blobs[2]}" "${b_blobs[2]}"
gsbx() { SBX_ROOT=$gc/root $sbx "$@"; }
gconv() { SBX_ROOT=$gc/root "$REPO/build/tests/rootfs-convert" "$@" >/dev/null; }
gstore=$gc/root/images
hold_lock() { # -s|-x PATH: a background process holding flock on PATH; sets HOLD_PID
	bash -c 'exec 9<"$2" && flock "$1" 9 && exec sleep 600' _ "$1" "$2" &
	HOLD_PID=$!
	wait_for 10 bash -c "! flock -n -x '$2' true"
}
gc_have() { # HEX...: which of these blobs the store has, in order
	local h
	for h in "$@"; do [ -e "$gstore/blobs/sha256/$h" ] && echo "$h"; done
}
gsbx load -i "$gc/a.tar" >/dev/null && gsbx load -i "$gc/b.tar" >/dev/null
check "rootfs caches of both images" gconv ext4 test/gc-a:v1
check "(and a tar cache)" gconv tar test/gc-a:v1
gconv ext4 test/gc-b:v1
pin=$gstore/../sandboxes/0123456789ab
mkdir -p "$pin"
printf '{"Name":"/gc-pin","Image":"sha256:%s"}' "${b_blobs[0]}" >"$pin/record.json"
touch "$pin/monitor.lock"
hold_lock -x "$pin/monitor.lock"
pin_pid=$HOLD_PID
out=$(gsbx rmi test/gc-b:v1 2>&1); rc=$?
expect_eq "rmi of an image a running container uses: one line and 125" \
	"125 sbx: conflict: unable to remove repository reference \"docker.io/test/gc-b:v1\" (must force) - container 0123456789ab is using its referenced image ${b_blobs[0]:0:12}" \
	"$rc $out"
out=$(gsbx rmi test/gc-a:v1 2>&1); rc=$?
expect_eq "rmi of the other image" "0 Untagged: docker.io/test/gc-a:v1" "$rc $(head -n 1 <<<"$out")"
# (load also stored the archive's index.json and oci-layout: garbage from the start)
deleted=$(tail -n +2 <<<"$out" | sed 's/^Deleted: sha256://')
expect_eq "deletes its manifest, config and own layer" "" \
	"$(printf '%s\n' "${a_blobs[0]}" "${a_blobs[1]}" "${a_blobs[3]}" | grep -vxFf <(echo "$deleted"))"
expect_eq "and no blob of the other image" "" "$(printf '%s\n' "${b_blobs[@]}" | grep -xFf <(echo "$deleted"))"
expect_eq "keeps the shared layer and every blob of the other image" \
	"$(printf '%s\n' "${b_blobs[@]}" | sort)" "$(gc_have "${a_blobs[@]}" "${b_blobs[@]}" | sort -u)"
expect_eq "and of the rootfs caches only the other image's" "${b_blobs[1]}.ext4" "$(ls "$gstore/rootfs")"
out=$(gsbx rmi -f test/gc-b:v1 2>&1); rc=$?
expect_eq "rmi -f of the image the container uses untags it" "0 Untagged: docker.io/test/gc-b:v1" "$rc $out"
expect_eq "but leaves the container its blobs and rootfs" \
	"$(printf '%s\n' "${b_blobs[@]}") ${b_blobs[1]}.ext4" "$(gc_have "${b_blobs[@]}") $(ls "$gstore/rootfs")"
kill "$pin_pid"
wait "$pin_pid" 2>/dev/null
rm -rf "$pin"
gsbx load -i "$gc/a.tar" >/dev/null
hold_lock -s "$gstore"
holder=$HOLD_PID
out=$(gsbx rmi test/gc-a:v1 2>&1); rc=$?
expect_eq "while another sbx has the store open (a pull, say), rmi only untags" \
	"0 Untagged: docker.io/test/gc-a:v1" "$rc $out"
expect_eq "and deletes nothing" "$(printf '%s\n' "${a_blobs[@]}" "${b_blobs[@]}" | sort -u)" \
	"$(gc_have "${a_blobs[@]}" "${b_blobs[@]}" | sort -u)"
kill "$holder"
wait "$holder" 2>/dev/null
gsbx load -i "$gc/a.tar" >/dev/null
gsbx rmi test/gc-a:v1 >/dev/null
expect_eq "once the container is gone, the next rmi empties the store" "" \
	"$(ls -A "$gstore/blobs/sha256" "$gstore/rootfs" "$gstore/refs" | grep -v '^\(/.*:\)\?$')"
rm -rf "$gc"

if ! registry_start; then
	not_ok "docker-registry starts on loopback"
	done_testing
	exit
fi
check "push the demo image with skopeo" registry_push build/images/busybox.tar test/busybox:v1
out=$($sbx pull "$REGISTRY/test/busybox:v1" 2>&1); rc=$?
expect_eq "pull from the local registry succeeds" 0 "$rc"
expect_match "and prints the digest" "Digest: sha256:[0-9a-f]{64}" "$out"
expect_match "progress lines when not a terminal" ': done' "$out"
expect_match "images lists the pulled image" "$REGISTRY/test/busybox +v1" "$($sbx images)"
out=$($sbx pull "$REGISTRY/test/busybox:v1" 2>&1); rc=$?
expect_eq "a second pull reuses the blobs" 0 "$rc"

out=$($sbx pull "$REGISTRY/test/busybox:nope" 2>&1); rc=$?
expect_eq "an unknown tag fails with 125" 125 "$rc"
expect_match "and says not found" 'not found' "$out"
out=$($sbx pull 127.0.0.1:1/x/y:z 2>&1); rc=$?
expect_match "an unreachable registry" '^125 sbx: pull 127.0.0.1:1/x/y:z: registry 127.0.0.1:1 unreachable' "$rc $out"

# An image index (arm64 listed first) pushed with `skopeo copy --all`: pull takes linux/amd64.
# The arm64 manifest is the demo image's with a config saying arm64.
mi=$(mktemp -d)
tar -xf build/images/busybox.tar -C "$mi"
mi_blob() { # JSON: stores it in the layout, prints its digest hex
	local h
	h=$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)
	printf '%s' "$1" >"$mi/blobs/sha256/$h"
	echo "$h"
}
amd_m=$(jq -r '.manifests[0].digest | sub("sha256:"; "")' "$mi/index.json")
amd_c=$(jq -r '.config.digest | sub("sha256:"; "")' "$mi/blobs/sha256/$amd_m")
arm_c=$(mi_blob "$(jq -c '.architecture = "arm64"' "$mi/blobs/sha256/$amd_c")")
arm_m=$(mi_blob "$(jq -c --arg d "sha256:$arm_c" --argjson n "$(stat -c %s "$mi/blobs/sha256/$arm_c")" \
	'.config.digest = $d | .config.size = $n' "$mi/blobs/sha256/$amd_m")")
desc() { # HEX ARCH: an index entry
	printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"}}' \
		"$1" "$(stat -c %s "$mi/blobs/sha256/$1")" "$2"
}
idx=$(mi_blob "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[$(desc "$arm_m" arm64),$(desc "$amd_m" amd64)]}")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"multi"}}]}' \
	"$idx" "$(stat -c %s "$mi/blobs/sha256/$idx")" >"$mi/index.json"
rm -f "$mi/manifest.json"
check "push an image index with skopeo copy --all" skopeo copy --quiet --all --insecure-policy \
	--dest-tls-verify=false "oci:$mi:multi" "docker://$REGISTRY/test/multi:v1"
istore=$(mktemp -d)
out=$(SBX_ROOT=$istore $sbx pull "$REGISTRY/test/multi:v1" 2>&1); rc=$?
# skopeo gzips the layer on the way, so the registry's manifests are not the layout's.
pushed=$(curl -s -H 'Accept: application/vnd.oci.image.index.v1+json' \
	"http://$REGISTRY/v2/test/multi/manifests/v1" | jq -r '.manifests[] | .platform.architecture + " " + .digest')
expect_match "the registry holds an index, arm64 first" $'^arm64 sha256:[0-9a-f]{64}\namd64 sha256:' "$pushed"
expect_eq "pull of an index picks the linux/amd64 manifest" "0 Digest: $(awk '$1 == "amd64" {print $2}' <<<"$pushed")" \
	"$rc $(grep ^Digest <<<"$out")"
expect_eq "and fetches its config, not the arm64 one" "yes no" \
	"$([ -e "$istore/images/blobs/sha256/$amd_c" ] && echo yes || echo no) $([ -e "$istore/images/blobs/sha256/$arm_c" ] && echo yes || echo no)"
rm -rf "$mi" "$istore"

# The anonymous bearer-token flow, through tests/probe/token-registry.py: a front that refuses
# /v2/ requests without a token bound to the repository's pull scope and forwards the rest to the
# registry above, so the content is real. front_start [OPTIONS] sets FRONT and FRONT_LOG.
front_start() {
	FRONT_LOG=$(mktemp)
	local portfile
	portfile=$(mktemp)
	python3 tests/probe/token-registry.py "$REGISTRY" "$FRONT_LOG" "$@" >"$portfile" &
	FRONT_PID=$!
	wait_for 10 test -s "$portfile"
	FRONT=127.0.0.1:$(head -n 1 "$portfile")
	rm -f "$portfile"
}
front_stop() {
	kill "$FRONT_PID" 2>/dev/null
	wait "$FRONT_PID" 2>/dev/null
	rm -f "$FRONT_LOG"
}
front_status() { # URL [CURL ARGS]: the HTTP status the front answers
	curl -s -o /dev/null -w '%{http_code}' "${@:2}" "$1"
}
tstore=$(mktemp -d)
front_start
out=$(SBX_ROOT=$tstore $sbx pull "$FRONT/test/busybox:v1" 2>&1); rc=$?
expect_eq "pull through a bearer-token registry succeeds" 0 "$rc"
expect_match "and lists the image" "$FRONT/test/busybox +v1" "$(SBX_ROOT=$tstore $sbx images)"
expect_eq "the token endpoint was asked once, for the service and the repository's pull scope" \
	"token service=sbx-test-registry scope=repository:test/busybox:pull" "$(grep ^token "$FRONT_LOG")"
expect_eq "only the first request went without a token: it was reused for every blob" \
	"401 GET /v2/test/busybox/manifests/v1 token=absent" "$(grep ^401 "$FRONT_LOG")"
manifest_url="http://$FRONT/v2/test/busybox/manifests/v1"
expect_eq "the front refuses a request without a token" 401 "$(front_status "$manifest_url")"
expect_match "with a bearer challenge naming realm, service and scope" \
	"Bearer realm=\"http://$FRONT/token\",service=\"sbx-test-registry\",scope=\"repository:test/busybox:pull\"" \
	"$(curl -s -D - -o /dev/null "$manifest_url")"
expect_eq "and one with a made-up token" 401 \
	"$(front_status "$manifest_url" -H 'Authorization: Bearer made-up')"
other=$(curl -s "http://$FRONT/token?service=sbx-test-registry&scope=repository:other/repo:pull" | jq -r .token)
expect_eq "and one with a token for another repository" 401 \
	"$(front_status "$manifest_url" -H "Authorization: Bearer $other")"
expect_eq "the token endpoint refuses a wrong scope" 400 \
	"$(front_status "http://$FRONT/token?service=sbx-test-registry&scope=repository:test/busybox:push")"
front_stop

rm -rf "$tstore" && tstore=$(mktemp -d)
front_start --token-uses 2
out=$(SBX_ROOT=$tstore $sbx pull "$FRONT/test/busybox:v1" 2>&1); rc=$?
expect_eq "a token that expires mid-pull is fetched again" 0 "$rc"
expect_eq "(twice in all)" 2 "$(grep -c ^token "$FRONT_LOG")"
front_stop

rm -rf "$tstore" && tstore=$(mktemp -d)
front_start --token-status 503
out=$(SBX_ROOT=$tstore $sbx pull "$FRONT/test/busybox:v1" 2>&1); rc=$?
expect_match "a failing token endpoint: one line and 125" \
	"^125 sbx: pull $FRONT/test/busybox:v1: token server http://$FRONT/token answered 503\$" "$rc $out"
expect_eq "and no reference is set" "" "$(SBX_ROOT=$tstore $sbx images | tail -n +2)"
front_stop

front_start --bad-token
out=$(SBX_ROOT=$tstore $sbx pull "$FRONT/test/busybox:v1" 2>&1); rc=$?
expect_match "a token the registry refuses: one line and 125" \
	"^125 sbx: pull $FRONT/test/busybox:v1: registry $FRONT denied access to test/busybox \(401\)\$" \
	"$rc $out"
expect_eq "after asking the token endpoint once, not in a loop" 1 "$(grep -c ^token "$FRONT_LOG")"
front_stop
rm -rf "$tstore"

# Corrupt the layer inside the registry's storage: the pull must refuse it and set no reference.
layer=$(find "$REGISTRY_DIR/data" -path '*/blobs/sha256/*/data' -size +1M | head -n 1)
if [ -n "$layer" ]; then
	printf 'X' | dd of="$layer" bs=1 seek=100 conv=notrunc status=none
	export SBX_ROOT=$(mktemp -d)
	out=$($sbx pull "$REGISTRY/test/busybox:v1" 2>&1); rc=$?
	expect_eq "a corrupted blob fails the pull" 125 "$rc"
	expect_match "with a digest mismatch" 'digest mismatch' "$out"
	expect_eq "and no reference is left" "" "$($sbx images | tail -n +2)"
	expect_eq "and no temp file is left" "" "$(ls "$SBX_ROOT/images/tmp")"
	rm -rf "$SBX_ROOT"
else
	not_ok "found the layer blob in the registry storage"
fi

# A full disk: one line naming it, 125, and a store that stays consistent (no reference, no
# temp file, no half-built rootfs image).
full=$(mktemp -d)
if mount -t tmpfs -o size=600k tmpfs "$full"; then
	out=$(SBX_ROOT=$full $sbx load -i build/images/busybox.tar 2>&1); rc=$?
	expect_match "load onto a full disk: 125 and why" '^125 sbx: load .*No space left on device$' "$rc $out"
	expect_eq "no reference and no temp file is left" "" "$(ls -A "$full/images/refs"; ls -A "$full/images/tmp")"
	umount "$full"
	mount -t tmpfs -o size=2800k tmpfs "$full" # room for the image, not for its rootfs
	SBX_ROOT=$full $sbx load -i build/images/busybox.tar >/dev/null 2>&1
	out=$(SBX_ROOT=$full SBX_VMM=/bin/true $sbx run --rm busybox true 2>&1); rc=$?
	expect_match "a rootfs conversion onto a full disk: 125 and why" '^125 sbx: layer .*No space left on device$' "$rc $out"
	expect_eq "no half-built rootfs is left" "" "$(ls -A "$full/images/rootfs")"
	expect_match "the image itself is still there" 'busybox' "$(SBX_ROOT=$full $sbx images)"
	umount "$full"
else
	not_ok "mount a small tmpfs for the disk-full case (needs root)"
fi
rmdir "$full"
done_testing
