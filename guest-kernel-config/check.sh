#!/bin/bash
# Fails, naming each option, when a required option did not survive olddefconfig.
set -euo pipefail
required=${1:?usage: check.sh REQUIRED.txt CONFIG}
config=${2:?usage: check.sh REQUIRED.txt CONFIG}
[ -f "$config" ] || { echo "check.sh: $config missing (run make kernel)" >&2; exit 2; }
missing=0
while IFS= read -r line; do
	case "$line" in ''|'#'*) continue ;; esac
	if ! grep -qxF "$line" "$config"; then
		echo "kernel-check: $line is required but the built config has: $(grep -E "^(# )?${line%%=*}[= ]" "$config" || echo 'nothing')" >&2
		missing=$((missing + 1))
	fi
done <"$required"
if [ "$missing" -ne 0 ]; then
	echo "kernel-check: $missing required option(s) missing from $config" >&2
	exit 1
fi
echo "kernel-check: all $(grep -c '^CONFIG_' "$required") required options present"
