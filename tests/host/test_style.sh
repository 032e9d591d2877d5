#!/bin/bash
# The tree keeps its own rules: clang-format clean, include boundaries (STYLE.md §2), no
# system() and every open() with O_CLOEXEC in our C sources.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"

check "make format-check" make -s format-check
check "make check-deps" make -s check-deps
out=$(git grep -nE '\bsystem\(' -- '*.c' | grep -v '^tests/' || true)
expect_eq "no system() calls" "" "$out"
out=$(git grep -nE '\batoi\(' -- '*.c' || true)
expect_eq "no atoi() calls" "" "$out"
done_testing
