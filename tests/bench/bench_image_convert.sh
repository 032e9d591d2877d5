#!/bin/bash
# First-run conversion of a four-layer image of ~100 MiB (busybox base; big files; ~6,600 small
# files; mid-size files, a replaced file and whiteouts over the lower layers) into the cached ext4
# image and the cached tar, each on a fresh copy of the store, median of BENCH_RUNS (3); then the
# cached call. Peer, in the same run: GNU tar extracting the layers (whiteouts applied by rm),
# then `mke2fs -d` with our image's size and options, or `tar -c` (+ fsync, as ours does). Each
# timed step starts after a sync, so no step pays for the previous one's writeback. Times in ms.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/lib.sh"
source "$REPO/tests/oci-image.sh"
cd "$REPO"
runs=${BENCH_RUNS:-3}
conv=$REPO/build/tests/rootfs-convert
ref=docker.io/bench/convert:v1
if [ ! -x "$conv" ] || [ ! -x "$BIN/sbx" ]; then
	echo "bench_image_convert: needs make all" >&2
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# rand_files DIR COUNT BYTES: COUNT files of random bytes, spread over 16 subdirectories.
rand_files() {
	local d
	for d in $(seq -w 0 15); do mkdir -p "$1/$d"; done
	head -c $(($2 * $3)) /dev/urandom | split -b "$3" -a 5 - "$1/f"
	local i=0 f
	for f in "$1"/f*; do
		mv "$f" "$1/$(printf '%02d' $((i % 16)))/"
		i=$((i + 1))
	done
}

# The image, built once per version of this script.
make_image() {
	local g=$work/gen app
	mkdir -p "$g"/l1/{bin,etc,tmp,usr/bin,usr/sbin,sbin} "$g"/l2/usr/lib "$g"/l3/usr/share \
		"$g"/l4/{usr/lib,opt/app,usr/share/00}
	cp /bin/busybox "$g/l1/bin/busybox"
	for app in $(/bin/busybox --list-full); do
		[ "$app" = bin/busybox ] || ln -sf /bin/busybox "$g/l1/$app"
	done
	echo "root:x:0:0:root:/root:/bin/sh" >"$g/l1/etc/passwd"
	chmod 1777 "$g/l1/tmp"
	for i in 1 2 3 4; do head -c 10M /dev/urandom >"$g/l2/usr/lib/big$i.so"; done
	for i in $(seq 8); do head -c 1M /dev/urandom >"$g/l2/usr/lib/mid$i.so"; done
	ln "$g/l2/usr/lib/mid1.so" "$g/l2/usr/lib/mid1.so.1"
	rand_files "$g/l3/usr/share/s1k" 4096 1024
	rand_files "$g/l3/usr/share/s4k" 2048 4096
	rand_files "$g/l3/usr/share/s16k" 512 16384
	rand_files "$g/l4/opt/app" 120 262144
	head -c 1M /dev/urandom >"$g/l4/usr/lib/mid2.so" # replaces the lower one
	mkdir -p "$g/l4/usr/share/s1k"
	touch "$g/l4/usr/lib/.wh.mid8.so" "$g/l4/usr/share/s1k/.wh.00"
	touch "$g"/l4/usr/share/00/.wh.keep # a whiteout of nothing
	oci_image "$1.tmp" "$ref" "$g/l1" "$g/l2" "$g/l3" "$g/l4" && mv "$1.tmp" "$1"
	rm -rf "$g"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# peer_extract DIR LAYER...: GNU tar applies the layers in order; whiteouts by rm.
peer_extract() {
	local dir=$1 l w
	shift
	mkdir -p "$dir"
	for l in "$@"; do
		tar --numeric-owner -xvpf "$l" -C "$dir" | grep '\(^\|/\)\.wh\.' | while read -r w; do
			rm -rf "${dir:?}/$(dirname "$w")/$(basename "$w" | sed 's/^\.wh\.//')" "${dir:?}/$w"
		done
	done
}

mkdir -p build/bench
img=build/bench/image-convert-$(cat "$0" tests/oci-image.sh | sha256sum | cut -c1-12).tar
if [ ! -f "$img" ]; then
	echo "bench_image_convert: building $img" >&2
	rm -f build/bench/image-convert-*.tar
	make_image "$REPO/$img" || exit 0
fi
SBX_ROOT=$work/master "$BIN/sbx" load -i "$img" >/dev/null || exit 0
# The layer blobs in order, for the peer: from the manifest the store holds.
md=$(cat "$work/master/images/refs/"* | head -n 1)
layers=$(grep -o '"digest":"sha256:[0-9a-f]*"' "$work/master/images/blobs/sha256/${md#sha256:}" |
	tail -n +2 | sed 's/.*sha256:\([0-9a-f]*\)"/\1/; s|^|'"$work/master/images/blobs/sha256/"'|')

ext4_ms=() tar_ms=() ext4c=() tarc=() pext4=() ptar=() tree_mib=""
for i in $(seq "$runs"); do
	root=$work/run$i
	cp -a "$work/master" "$root"
	sync
	t=$(now_ms)
	read -r path built _ < <(SBX_ROOT=$root "$conv" ext4 "$ref")
	ext4_ms+=($(($(now_ms) - t)))
	[ "$built" = 1 ] || echo "bench_image_convert: ext4 was not a first run" >&2
	size=$(stat -c %s "$path")
	read -r _ _ ms < <(SBX_ROOT=$root "$conv" ext4 "$ref")
	ext4c+=("$ms")
	sync
	t=$(now_ms)
	SBX_ROOT=$root "$conv" tar "$ref" >/dev/null
	tar_ms+=($(($(now_ms) - t)))
	read -r _ _ ms < <(SBX_ROOT=$root "$conv" tar "$ref")
	tarc+=("$ms")

	sync
	t=$(now_ms)
	# shellcheck disable=SC2086
	peer_extract "$work/peer" $layers
	x=$(($(now_ms) - t))
	sync
	t=$(now_ms)
	mke2fs -q -F -t ext4 -b 4096 -O ^has_journal,^resize_inode -E root_owner=0:0 -m 0 \
		-d "$work/peer" "$work/peer.ext4" "$((size / 1024))k" >/dev/null ||
		echo "bench_image_convert: the peer's mke2fs failed" >&2
	pext4+=($((x + $(now_ms) - t)))
	[ -n "$tree_mib" ] || tree_mib=$(($(du -sb --apparent-size "$work/peer" | cut -f1) >> 20))
	sync
	t=$(now_ms)
	tar --numeric-owner -C "$work/peer" -cf "$work/peer.tar" . && sync "$work/peer.tar"
	ptar+=($((x + $(now_ms) - t)))
	echo "bench_image_convert: run $i: ext4 ${ext4_ms[-1]} ms (peer ${pext4[-1]}), tar ${tar_ms[-1]} ms (peer ${ptar[-1]}); extract alone $x ms" >&2
	rm -rf "$work/peer" "$work/peer.ext4" "$work/peer.tar" "$root"
done
m() { printf '%s\n' "$@" | median; }
echo "bench_image_convert: image archive $(($(stat -c %s "$img") >> 20)) MiB, flattened tree $tree_mib MiB" >&2
echo "BENCH image first_convert_100MiB_to_ext4_ms $(m "${ext4_ms[@]}") ms $(m "${pext4[@]}") gnu-tar+mke2fs"
echo "BENCH image first_convert_100MiB_to_tar_ms $(m "${tar_ms[@]}") ms $(m "${ptar[@]}") gnu-tar-x+tar-c"
echo "BENCH image cached_convert_to_ext4_ms $(m "${ext4c[@]}") ms"
echo "BENCH image cached_convert_to_tar_ms $(m "${tarc[@]}") ms"
