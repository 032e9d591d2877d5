#!/bin/bash
# The guest initrd holds the agent as /init and the directories it mounts on, nothing else: no
# shell or tools for a guest that gets code execution, no bytes the boot reads for nothing.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
make --no-print-directory -s initrd
initrd=build/guest/initrd.img
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
expect_eq "the initrd lists /init and five mount points only" ". dev etc init proc run sys tmp" \
	"$(cpio -it --quiet <"$initrd" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
(cd "$tmp" && cpio -id --quiet init <"$REPO/$initrd")
check "/init is the agent that was built" cmp "$tmp/init" "$BIN/sbx-agent"
size=$(stat -c %s "$initrd")
agent=$(stat -c %s "$BIN/sbx-agent")
expect_eq "its size is the agent's plus the cpio headers (under 4 KiB)" 1 \
	"$((size >= agent && size - agent < 4096))"
