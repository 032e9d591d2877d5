# Sourced by tests and benchmarks that need a multi-layer image: oci_image OUT REF DIR... packs
# each DIR (in order, lowest first) as one uncompressed layer, whiteout files (.wh.NAME,
# .wh..wh..opq) included as they are, into an OCI layout archive that `sbx load -i` reads.
# Layers are reproducible (sorted names, numeric owners, mtimes as on disk). OCI_TAR_OPTS adds
# options to each layer's tar command, e.g. --pax-option=SCHILY.xattr.user.x:=v for xattrs.
oci_image() {
	local out=$1 ref=$2 tmp blobs dir digest size layers="" diff_ids="" sep=""
	shift 2
	tmp=$(mktemp -d)
	blobs=$tmp/oci/blobs/sha256
	mkdir -p "$blobs"
	for dir in "$@"; do
		# shellcheck disable=SC2086
		tar --sort=name --numeric-owner --format=pax ${OCI_TAR_OPTS:-} -C "$dir" \
			-cf "$tmp/layer.tar" . || return 1
		digest=$(sha256sum "$tmp/layer.tar" | cut -d' ' -f1)
		size=$(stat -c %s "$tmp/layer.tar")
		mv "$tmp/layer.tar" "$blobs/$digest"
		layers+="$sep{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:$digest\",\"size\":$size}"
		diff_ids+="$sep\"sha256:$digest\""
		sep=,
	done
	_oci_blob "$tmp" "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$diff_ids]}}"
	local config=$_oci_digest config_size=$_oci_size
	_oci_blob "$tmp" "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:$config\",\"size\":$config_size},\"layers\":[$layers]}"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$tmp/oci/oci-layout"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s"}}]}' \
		"$_oci_digest" "$_oci_size" "$ref" >"$tmp/oci/index.json"
	tar --sort=name --numeric-owner -C "$tmp/oci" -cf "$out" . || return 1
	rm -rf "$tmp"
}

# _oci_blob TMP JSON: stores JSON as a blob; sets _oci_digest and _oci_size.
_oci_blob() {
	printf '%s' "$2" >"$1/blob"
	_oci_digest=$(sha256sum "$1/blob" | cut -d' ' -f1)
	_oci_size=$(stat -c %s "$1/blob")
	mv "$1/blob" "$1/oci/blobs/sha256/$_oci_digest"
}
