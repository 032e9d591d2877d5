#!/bin/bash
# Builds the guest kernel (vmlinux with PVH, bzImage) from Debian's linux-source-6.1 and the
# fragments beside this script. The result is cached per user, keyed by a hash of the inputs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR}
src_tar=/usr/src/linux-source-6.1.tar.xz
[ -f "$src_tar" ] || { echo "build.sh: $src_tar missing (run make deps)" >&2; exit 2; }

src_version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$( (echo "$src_version"; cat "$here"/*.config "$here/build.sh") | sha256sum | cut -c1-16)
cache=${KATA_LITE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kata-lite}
result=$cache/guest-kernel/$key

if [ ! -f "$result/vmlinux" ]; then
	mkdir -p "$cache/guest-kernel"
	# One build at a time per user: two clones share the object directory.
	exec 9>"$cache/guest-kernel/.lock"
	flock 9
fi
if [ ! -f "$result/vmlinux" ]; then
	srcdir=$cache/linux-src/$src_version/linux-source-6.1
	if [ ! -f "$srcdir/Makefile" ]; then
		echo "  KERNEL  unpacking linux-source-6.1 $src_version"
		rm -rf "$cache/linux-src/$src_version.tmp"
		mkdir -p "$cache/linux-src/$src_version.tmp"
		tar -C "$cache/linux-src/$src_version.tmp" -xf "$src_tar"
		rm -rf "$cache/linux-src/$src_version"
		mv "$cache/linux-src/$src_version.tmp" "$cache/linux-src/$src_version"
	fi
	obj=$cache/guest-kernel/obj-$src_version
	log=$cache/guest-kernel/build.log
	mkdir -p "$obj"
	echo "  KERNEL  building $key (a few minutes; log: $log)"
	kmake() { make -C "$srcdir" O="$obj" ARCH=x86_64 "$@" >>"$log" 2>&1; }
	: >"$log"
	if ! { kmake tinyconfig &&
		"$srcdir/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$here"/*.config >>"$log" 2>&1 &&
		kmake olddefconfig &&
		kmake -j"$(nproc)" vmlinux bzImage; }; then
		tail -n 30 "$log" >&2
		echo "build.sh: guest kernel build failed (log: $log)" >&2
		exit 1
	fi
	rm -rf "$result.tmp"
	mkdir -p "$result.tmp"
	cp "$obj/vmlinux" "$obj/arch/x86/boot/bzImage" "$result.tmp/"
	cp "$obj/.config" "$result.tmp/config"
	rm -rf "$result"
	mv "$result.tmp" "$result"
fi

mkdir -p "$out"
for f in vmlinux bzImage config; do
	if ! cmp -s "$result/$f" "$out/$f"; then
		cp "$result/$f" "$out/$f.tmp"
		mv -f "$out/$f.tmp" "$out/$f"
	fi
done
echo "$key" >"$out/kernel.key"
