#!/bin/bash
# mk-demo-image.sh OUT.tar: the demo image, built locally from busybox-static (no network), as
# an OCI image layout archive that also carries docker-save's manifest.json, so both
# `sbx load -i` and `ctr images import` read it. Reference: docker.io/library/busybox:latest.
set -euo pipefail
out=${1:?usage: mk-demo-image.sh OUT.tar}
ref_name=docker.io/library/busybox:latest
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

root=$tmp/rootfs
mkdir -p "$root"/{bin,etc,root,tmp,proc,sys,dev,home,var/www,usr/bin,usr/sbin,sbin}
cp /bin/busybox "$root/bin/busybox"
for app in $(/bin/busybox --list-full); do
	[ "$app" = bin/busybox ] && continue
	ln -sf /bin/busybox "$root/$app"
done
cat >"$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home:/bin/false
P
cat >"$root/etc/group" <<'G'
root:x:0:
nobody:x:65534:
G
echo "hello from the kata-lite demo image" >"$root/var/www/index.html"
chmod 1777 "$root/tmp"

blobs=$tmp/oci/blobs/sha256
mkdir -p "$blobs"
# A reproducible layer: sorted names, fixed owner and time.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$root" -cf "$tmp/layer.tar" .
layer_digest=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
layer_size=$(stat -c %s "$tmp/layer.tar")
mv "$tmp/layer.tar" "$blobs/$layer_digest"

printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"kata-lite mk-demo-image.sh"}]}' \
	"$layer_digest" >"$tmp/config.json"
config_digest=$(sha256sum "$tmp/config.json" | cut -d' ' -f1)
config_size=$(stat -c %s "$tmp/config.json")
mv "$tmp/config.json" "$blobs/$config_digest"

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
	"$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$tmp/manifest.json"
manifest_digest=$(sha256sum "$tmp/manifest.json" | cut -d' ' -f1)
manifest_size=$(stat -c %s "$tmp/manifest.json")
mv "$tmp/manifest.json" "$blobs/$manifest_digest"

printf '{"imageLayoutVersion":"1.0.0"}' >"$tmp/oci/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"latest"}}]}' \
	"$manifest_digest" "$manifest_size" "$ref_name" >"$tmp/oci/index.json"
# docker save's view of the same blobs.
printf '[{"Config":"blobs/sha256/%s","RepoTags":["busybox:latest"],"Layers":["blobs/sha256/%s"]}]' \
	"$config_digest" "$layer_digest" >"$tmp/oci/manifest.json"

mkdir -p "$(dirname "$out")"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$tmp/oci" -cf "$out.tmp" .
mv "$out.tmp" "$out"
