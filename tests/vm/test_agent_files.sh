#!/bin/bash
# CopyFile in a real VM: host files and a kubelet-like volume (symlinks, a file of several 1 MiB
# chunks, a FIFO) copied into the guest's shared directory /run/sbx/shared, bind-mounted into a
# container at /etc/hosts and /etc/config with their contents, modes and owners; a copy made
# again while the container runs is what it reads next; malformed paths and writes through a
# symlink refused by name.
source "$(dirname "$0")/../lib.sh"
cd "$REPO"
bash tests/probe/agent-rootfs.sh build/test-rootfs
tmp=$(mktemp -d) # unix sockets cannot live on the 9p-shared repository
trap 'pkill -9 -f "$tmp/sb" 2>/dev/null; rm -rf "$tmp"' EXIT
mke2fs -q -F -t ext4 -O ^has_journal -d build/test-rootfs "$tmp/image.ext4" 16M

printf '10.1.2.3 copied-host\n' >"$tmp/hosts"
printf '10.9.9.9 updated-host\n' >"$tmp/hosts2"
mkdir -p "$tmp/vol/..2024_01"
printf 'value-one\n' >"$tmp/vol/..2024_01/key"
head -c 2621440 /dev/urandom >"$tmp/vol/..2024_01/big"
chmod 0640 "$tmp/vol/..2024_01/key"
chown 1000:2000 "$tmp/vol/..2024_01/key"
ln -s ..2024_01 "$tmp/vol/..data"
ln -s ..data/key "$tmp/vol/key"
ln -s ..data/big "$tmp/vol/big"
mkfifo "$tmp/vol/fifo"
chmod 0750 "$tmp/vol"
big_md5=$(md5sum <"$tmp/vol/..2024_01/big" | cut -d' ' -f1)

cmd='cat /etc/hosts; cat /etc/config/key; md5sum /etc/config/big | cut -d" " -f1;'
cmd+=' echo key=$(stat -L -c "%a %u:%g" /etc/config/key) dir=$(stat -c %a /etc/config);'
cmd+=' test -e /etc/config/fifo || echo no-fifo;'
cmd+=' (echo x >>/etc/hosts) 2>/dev/null || echo hosts-read-only;'
cmd+=' echo waiting; read x; cat /etc/hosts'
cat >"$tmp/c1.json" <<JSON
{"hostname":"box1","root":{"path":"rootfs"},
 "process":{"args":["/bin/sh","-c","${cmd//\"/\\\"}"],"env":["PATH=/bin"],"cwd":"/"},
 "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
  {"destination":"/tmp","type":"tmpfs","source":"tmpfs","options":["nosuid","size=4m"]},
  {"destination":"/etc/hosts","type":"bind","source":"/run/sbx/shared/c1/hosts","options":["rbind","ro"]},
  {"destination":"/etc/config","type":"bind","source":"/run/sbx/shared/c1/vol","options":["rbind","ro","nosuid"]}],
 "linux":{"namespaces":[{"type":"pid"},{"type":"mount"},{"type":"uts"},{"type":"ipc"},
   {"type":"network"}]}}
JSON

out=$(timeout 600 build/tests/agent-driver --disk "$tmp/image.ext4:img:ro" --mem 256 \
	"$BIN/sbx-vmm" build/guest/vmlinux build/guest/initrd.img "$tmp/sb" 2>&1 <<-SCRIPT
	copy $tmp/hosts c1/hosts
	copy $tmp/vol c1/vol
	create --stdin c1 $tmp/c1.json block img ext4
	start c1
	await c1 - waiting 60000
	copy $tmp/hosts2 c1/hosts
	stdin c1 - go
	wait c1
	remove c1
	copyraw ../escape 0100644
	copyraw /etc/passwd 0100644
	copyraw c1/dev 020644
	copyraw esc 0120777 /etc
	copy $tmp/hosts esc/passwd
	copy $tmp/hosts c1/hosts/x
	copy $tmp/vol/fifo c1/fifo
	health
	destroy
	SCRIPT
)
rc=$?
expect_eq "the driver runs to the end" 0 "$rc"
expect_line "a file is copied" '^copied c1/hosts$' "$out"
expect_line "a volume tree is copied" '^copied c1/vol$' "$out"
expect_line "the bind-mounted copy is the container's /etc/hosts" '^\[c1/\] 10\.1\.2\.3 copied-host$' "$out"
expect_line "a volume's key is read through its ..data symlinks" '^\[c1/\] value-one$' "$out"
expect_line "a file of three 1 MiB chunks arrives whole" "^\[c1/\] $big_md5\$" "$out"
expect_line "mode, owner and group are kept (file 0640 1000:2000, directory 0750)" \
	'^\[c1/\] key=640 1000:2000 dir=750$' "$out"
expect_line "a FIFO inside a tree is skipped" '^\[c1/\] no-fifo$' "$out"
expect_line "a bind mount with \"ro\" is read-only" '^\[c1/\] hosts-read-only$' "$out"
expect_line "a copy made again while the container runs is what it reads next" \
	'^\[c1/\] 10\.9\.9\.9 updated-host$' "$out"
expect_match "and the container exits 0" 'status=0' "$(grep '^exit c1/' <<<"$out")"
expect_line "'..' is refused by name" "^CopyFile: error: path '\.\./escape' has a '\.\.' name$" "$out"
expect_line "an absolute path is refused" "^CopyFile: error: path '/etc/passwd' is absolute$" "$out"
expect_line "a device node is refused" \
	'^CopyFile: error: mode 020644: file type 020000 is not a directory, regular file or symlink$' "$out"
expect_line "a symlink out of the shared directory can be made" '^copied esc$' "$out"
expect_line "but nothing is ever written through it" \
	"^CopyFile: error: 'esc' exists and is a symlink, not a directory$" "$out"
expect_line "a file is not a directory" \
	"^CopyFile: error: 'c1/hosts' exists and is a regular file, not a directory$" "$out"
expect_line "a FIFO asked for by name is an error on the host" \
	"^CopyFile: error: '$tmp/vol/fifo' is not a regular file, directory or symlink$" "$out"
expect_match "the agent is still serving" 'containers=0 ' "$(grep '^health' <<<"$out" | tail -n 1)"
expect_match "DestroySandbox powers off cleanly" 'vmm exit=0$' "$(grep '^vmm exit' <<<"$out")"
printf "%s\n" "$out" >build/agent-files.last.log
[ "$_tap_failed" -eq 0 ] || diag "the driver's whole output: build/agent-files.last.log"
done_testing
