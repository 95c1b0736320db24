# Shell functions over the lab CA in the workspace (stack/pki), with the openssl CLI: sourced by
# solve.sh and by the fake fixes, which share the certificate work and differ in the rest.
pki="$BREAKFIX_WORKSPACE/stack/pki"
stack="$BREAKFIX_WORKSPACE/stack"

# reissue NAME ISSUER SAN: a fresh key and a 90-day certificate for service NAME from CA ISSUER,
# usable as server and client, with the subjectAltName SAN (e.g. DNS:x.mesh.test,URI:spiffe://mesh.test/x).
# Writes NAME.key, NAME.leaf.crt and NAME.crt (the leaf then its issuer: what a server sends).
reissue() {
  local name=$1 issuer=$2 san=$3 work
  work=$(mktemp -d)
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$name/O=breakfix lab" \
    -keyout "$work/key" -out "$work/csr" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$san" >"$work/ext"
  openssl x509 -req -in "$work/csr" -CA "$pki/$issuer.leaf.crt" -CAkey "$pki/$issuer.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 90 -sha256 -extfile "$work/ext" -out "$work/crt" 2>/dev/null
  install -m 600 "$work/key" "$pki/$name.key"
  cp "$work/crt" "$pki/$name.leaf.crt"
  cat "$work/crt" "$pki/$issuer.leaf.crt" >"$pki/$name.crt"
  rm -rf "$work"
}

# the trust bundle every sidecar verifies against gets the new issuing CA beside the old one
trust_new_issuer() {
  grep -qF "$(sed -n 2p "$pki/issuing-2026.leaf.crt")" "$pki/trust.crt" || cat "$pki/issuing-2026.leaf.crt" >>"$pki/trust.crt"
}

reload_all() {
  local service
  for service in ledger payments orders; do
    docker exec "$BREAKFIX_PREFIX-$service" nginx -s reload >/dev/null
  done
}
