#!/bin/bash
# In-process virtio-blk model vs raw file I/O (built by make bench).
source "$(dirname "$0")/../lib.sh"
"$REPO/build/bench/blk-model" "$(mktemp -d)"
