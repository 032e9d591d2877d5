# Sourced by tests that need a real registry: Debian's docker-registry on 127.0.0.1, storage in
# a temp dir, stopped by registry_stop. Sets REGISTRY (host:port) and REGISTRY_DIR.
registry_start() {
	REGISTRY_DIR=$(mktemp -d)
	local port
	for port in $(seq 15000 15050); do
		ss -ltn "sport = :$port" 2>/dev/null | grep -q LISTEN || break
	done
	REGISTRY=127.0.0.1:$port
	cat >"$REGISTRY_DIR/config.yml" <<CFG
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
CFG
	docker-registry serve "$REGISTRY_DIR/config.yml" >"$REGISTRY_DIR/log" 2>&1 &
	REGISTRY_PID=$!
	wait_for 30 curl -sf "http://$REGISTRY/v2/" || {
		echo "# registry did not start: $(tail -n 3 "$REGISTRY_DIR/log")"
		return 1
	}
}

registry_stop() {
	[ -n "${REGISTRY_PID:-}" ] && kill "$REGISTRY_PID" 2>/dev/null && wait "$REGISTRY_PID" 2>/dev/null
	rm -rf "$REGISTRY_DIR"
}

# registry_push ARCHIVE NAME:TAG: pushes an OCI archive with skopeo.
registry_push() {
	skopeo copy --quiet --insecure-policy --dest-tls-verify=false "oci-archive:$1" \
		"docker://$REGISTRY/$2"
}
