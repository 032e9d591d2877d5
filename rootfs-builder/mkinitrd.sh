#!/bin/bash
# mkinitrd.sh OUT AGENT: the guest initrd, a newc cpio holding the agent as /init and the
# directories it mounts on, nothing else (no shell: a guest that gets code execution finds no
# tools there, and every byte is read at each boot).
set -euo pipefail
out=${1:?usage: mkinitrd.sh OUT AGENT}
agent=${2:?usage: mkinitrd.sh OUT AGENT}
[ -x "$agent" ] || { echo "mkinitrd.sh: agent '$agent' is not an executable" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{dev,proc,sys,run,tmp,etc}
cp "$agent" "$tmp/init"
chmod 755 "$tmp/init"
mkdir -p "$(dirname "$out")"
(cd "$tmp" && find . | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible) >"$out.tmp"
mv "$out.tmp" "$out"
