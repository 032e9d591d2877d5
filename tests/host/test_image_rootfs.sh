#!/bin/bash
# An image's cached rootfs as one tar (sbx run --rootfs-transfer stream) and as ext4, built
# without a VM by the rootfs-convert probe: the demo image, a three-layer image whose whiteouts
# must leave no trace, and xattrs; read back with GNU tar; a second call reuses the cache; a
# corrupt layer leaves nothing behind.
source "$(dirname "$0")/../lib.sh"
source "$REPO/tests/oci-image.sh"
cd "$REPO"
export SBX_ROOT=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$SBX_ROOT" "$work"' EXIT
sbx=$BIN/sbx
conv=$REPO/build/tests/rootfs-convert
if [ ! -x "$conv" ] || [ ! -f build/images/busybox.tar ]; then
	echo "needs make all images"
	exit 77
fi

# entry_order_ok LISTING: every entry's parent directory came before it (what the agent's
# untar needs), from `tar -tf` output.
entry_order_ok() {
	awk '{ n = $0; sub(/^\.\//, "", n); sub(/\/$/, "", n); seen[n] = 1
		p = n; if (sub(/\/[^\/]*$/, "", p) && !(p in seen)) { print "before its parent: " $0; bad = 1 } }
		END { exit bad }' <<<"$1"
}

# ---- the demo image -------------------------------------------------------------------------
$sbx load -i build/images/busybox.tar >/dev/null
read -r tarball built _ < <($conv tar busybox 2>&1)
expect_eq "the first call builds the tar" 1 "$built"
expect_match "cached as <store>/rootfs/<config hex>.tar" "^$SBX_ROOT/images/rootfs/[0-9a-f]{64}\.tar$" "$tarball"
list=$(tar -tvf "$tarball" 2>&1); rc=$?
expect_eq "GNU tar reads it" 0 "$rc"
expect_line "bin/busybox is an executable regular file" '^-rwxr-xr-x 0/0 +[0-9]+ .* bin/busybox$' "$list"
expect_line "bin/sh is a symlink to /bin/busybox" '^lrwxrwxrwx 0/0 .* bin/sh -> /bin/busybox$' "$list"
expect_line "/tmp keeps its sticky bit" '^drwxrwxrwt 0/0 .* tmp/$' "$list"
tar -C "$work" -xf build/images/busybox.tar
names() { sed 's,^\./,,; s,/$,,' | grep -v '^\.\?$' | sort; }
want=$(for b in "$work"/blobs/sha256/*; do tar -tf "$b" 2>/dev/null; done | names)
expect_eq "the same names as the image's layer" "$want" "$(tar -tf "$tarball" | names)"
check "directories come before their contents" entry_order_ok "$(tar -tf "$tarball")"
mtime=$(stat -c '%i %Y' "$tarball")
read -r again built _ < <($conv tar busybox 2>&1)
expect_eq "a second call reuses the cache" "$tarball 0" "$again $built"
expect_eq "and leaves the file alone" "$mtime" "$(stat -c '%i %Y' "$tarball")"
read -r img built _ < <($conv ext4 busybox 2>&1)
expect_eq "the ext4 image is cached beside it" "${tarball%.tar}.ext4 1" "$img $built"

# ---- three layers with whiteouts, an opaque directory, links and special files ---------------
l1=$work/l1 l2=$work/l2 l3=$work/l3
long=$(printf 'd%.0s' $(seq 60))/$(printf 'e%.0s' $(seq 60))/long-name-$(printf 'f%.0s' $(seq 40))
mkdir -p "$l1"/{etc,usr/bin,data/sub,opq/sub,removed/deep,dev,"$(dirname "$long")"} "$l2"/{data,opq,etc} "$l3"/data/sub
echo root >"$l1/etc/passwd"
printf '#!/bin/sh\necho tool\n' >"$l1/usr/bin/tool"
chmod 0755 "$l1/usr/bin/tool"
ln "$l1/usr/bin/tool" "$l1/usr/bin/tool-alias"
cp "$l1/usr/bin/tool" "$l1/usr/bin/su" && chmod 4755 "$l1/usr/bin/su"
echo secret >"$l1/etc/shadow" && chmod 0640 "$l1/etc/shadow" && chown 1000:42 "$l1/etc/shadow"
ln -s ../usr/bin/tool "$l1/etc/alt"
echo gone >"$l1/data/gone.txt"
echo keep >"$l1/data/keep.txt"
echo x >"$l1/data/sub/x"
echo old >"$l1/opq/old1"
echo old >"$l1/opq/sub/old2"
echo old >"$l1/removed/deep/file"
echo long >"$l1/$long"
mknod "$l1/dev/null" c 1 3 && chmod 0666 "$l1/dev/null"
mkfifo "$l1/data/fifo"
touch "$l2/data/.wh.gone.txt" "$l2/.wh.removed" "$l2/opq/.wh..wh..opq"
echo new >"$l2/opq/new"
echo "root:x:0:0::/root:/bin/sh" >"$l2/etc/passwd"
echo y >"$l3/data/sub/y"
oci_image "$work/layered.tar" docker.io/test/layered:v1 "$l1" "$l2" "$l3"
$sbx load -i "$work/layered.tar" >/dev/null
read -r tarball built _ < <($conv tar test/layered:v1 2>&1)
expect_eq "the layered image's tar is built" 1 "$built"
list=$(tar -tvf "$tarball" 2>&1)
names=$(tar -tf "$tarball" | names)
expect_eq "no whiteout file is left" "" "$(grep '\.wh\.' <<<"$names")"
expect_eq "a whited-out file is absent" "" "$(grep -x 'data/gone.txt' <<<"$names")"
expect_eq "a whited-out directory is absent, with its contents" "" "$(grep '^removed' <<<"$names")"
expect_eq "an opaque directory holds only the upper layer's files" "opq opq/new" \
	"$(grep '^opq' <<<"$names" | tr '\n' ' ' | sed 's/ $//')"
expect_line "files of every layer are there" '^data/sub/y$' "$names"
expect_line "untouched lower files are there" '^data/keep.txt$' "$names"
expect_line "the second name of a hard link links to the first" \
	'^hrwxr-xr-x 0/0 +0 .* usr/bin/tool-alias link to usr/bin/tool$' "$list"
expect_line "a relative symlink" '^lrwxrwxrwx 0/0 .* etc/alt -> \.\./usr/bin/tool$' "$list"
expect_line "setuid mode" '^-rwsr-xr-x 0/0 .* usr/bin/su$' "$list"
expect_line "owner and mode" '^-rw-r----- 1000/42 +7 .* etc/shadow$' "$list"
expect_line "a character device" '^crw-rw-rw- 0/0 +1,3 .* dev/null$' "$list"
expect_line "a fifo" '^prw-r--r-- 0/0 .* data/fifo$' "$list"
expect_line "a name longer than ustar's 255 bytes" "^$long\$" "$names"
check "directories come before their contents" entry_order_ok "$(tar -tf "$tarball")"
mkdir "$work/x"
tar -C "$work/x" -xf "$tarball"
expect_eq "the upper layer's content wins" "root:x:0:0::/root:/bin/sh" "$(cat "$work/x/etc/passwd")"
expect_eq "hard links extract as one inode" "$(stat -c %i "$work/x/usr/bin/tool")" \
	"$(stat -c %i "$work/x/usr/bin/tool-alias")"
mtime=$(stat -c '%i %Y' "$tarball")
read -r again built _ < <($conv tar test/layered:v1 2>&1)
expect_eq "a second call reuses the cache" "$tarball 0 $mtime" "$again $built $(stat -c '%i %Y' "$tarball")"
expect_eq "no scratch tree or temp file is left" "" \
	"$(find "$SBX_ROOT/images/rootfs" -mindepth 1 ! -name '*.tar' ! -name '*.ext4')"

# ---- xattrs (a layer whose every entry carries user.sbx=yes) ------------------------------------
mkdir -p "$work/lx/d" && echo hi >"$work/lx/d/f"
OCI_TAR_OPTS=--pax-option=SCHILY.xattr.user.sbx:=yes oci_image "$work/xattr.tar" docker.io/test/xattr:v1 "$work/lx"
$sbx load -i "$work/xattr.tar" >/dev/null
read -r tarball built _ < <($conv tar test/xattr:v1 2>&1)
list=$(tar --xattrs --xattrs-include='*' -tvvf "$tarball" 2>&1)
# d/ and d/f: layers never set the root's own metadata, so ./ has none.
expect_eq "xattrs of files and directories are kept, once each, without tar warnings" \
	"2 0" "$(grep -c '^  x: 3 user.sbx$' <<<"$list") $(grep -c '^tar:' <<<"$list")"

# ---- a corrupt layer: an error, and nothing half-built is visible ----------------------------
manifest=$(tar -xOf "$work/layered.tar" ./index.json | grep -o 'sha256:[0-9a-f]*' | head -n 1)
l=$(grep -o 'sha256:[0-9a-f]*' "$SBX_ROOT/images/blobs/sha256/${manifest#sha256:}" | sed -n 2p)
printf 'garbage!' | dd of="$SBX_ROOT/images/blobs/sha256/${l#sha256:}" bs=1 seek=0 conv=notrunc status=none
rm -f "$SBX_ROOT"/images/rootfs/*
out=$($conv tar test/layered:v1 2>&1); rc=$?
expect_eq "a corrupt layer fails the build" 1 "$rc"
expect_match "and says which layer" "layer ${l:0:19}" "$out"
expect_eq "and leaves nothing in the cache" "" "$(ls "$SBX_ROOT/images/rootfs")"
done_testing
