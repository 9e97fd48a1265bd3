#!/usr/bin/env bash
# Makes a throw-away TLS server certificate for mfagate's LDAP listener in the
# integration tests: its own CA (EC P-256, 2 days) and a leaf it signed.
# usage: make-test-cert.sh OUTDIR
# Writes OUTDIR/ca.pem         self-signed v3 CA (CA:true, keyCertSign, SKI)
#        OUTDIR/server.pem     leaf CN=mfagate-test, SAN IP:127.0.0.1 + DNS:localhost,
#                              serverAuth, CA:false, AKI/SKI, 2 days
#        OUTDIR/server.key     its key, PKCS#8 PEM ("BEGIN PRIVATE KEY"), mode 0600
# The CA's key is thrown away. Idempotent: does nothing when all three files are
# there and server.pem is still valid for an hour (else makes all three anew).
# Safe to run concurrently for the same OUTDIR (flock). Prints nothing on
# success; fast (a few openssl runs, EC keys). needs: openssl, flock.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then echo "usage: $0 OUTDIR" >&2; exit 2; fi
OUT=$1
for c in openssl flock; do
  command -v "$c" >/dev/null || { echo "$0: $c missing" >&2; exit 1; }
done

ready() {
  [ -f "$OUT/ca.pem" ] && [ -f "$OUT/server.pem" ] && [ -f "$OUT/server.key" ] &&
    openssl x509 -noout -checkend 3600 -in "$OUT/server.pem" >/dev/null 2>&1
}

mkdir -p "$OUT"
# Another run for the same OUTDIR may be writing the files: wait for it (and
# then find them ready); never mix a CA, a leaf and a key of two runs.
exec {lock}>"$OUT/.make-test-cert.lock"
flock "$lock"
if ready; then exit 0; fi

TMP=$(mktemp -d "$OUT/.make-test-cert.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
umask 077

# Quiet unless it fails: then say what failed and what openssl said.
run() {
  local out
  if ! out=$("$@" 2>&1); then
    echo "$0: failed: $*" >&2
    printf '%s\n' "$out" >&2
    exit 1
  fi
}

# Own config: the system openssl.cnf's default extensions must not mix in.
cat >"$TMP/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = mfagate-test
[v3_ca]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

# genpkey writes PKCS#8 ("BEGIN PRIVATE KEY"), which rustls reads; named curve.
for k in ca server; do
  run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -pkeyopt ec_param_enc:named_curve -out "$TMP/$k.key"
done
# Random positive serials (15 bytes: below the 20-octet limit whatever the top bit).
run openssl req -new -x509 -config "$TMP/openssl.cnf" -extensions v3_ca -days 2 -sha256 \
  -set_serial "0x$(openssl rand -hex 15)" -subj "/CN=mfagate-test CA" \
  -key "$TMP/ca.key" -out "$TMP/ca.pem"
run openssl req -new -config "$TMP/openssl.cnf" -subj "/CN=mfagate-test" \
  -key "$TMP/server.key" -out "$TMP/server.csr"
run openssl x509 -req -in "$TMP/server.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" \
  -set_serial "0x$(openssl rand -hex 15)" -days 2 -sha256 \
  -extfile "$TMP/openssl.cnf" -extensions v3_leaf -out "$TMP/server.pem"
run openssl verify -x509_strict -purpose sslserver -CAfile "$TMP/ca.pem" "$TMP/server.pem"

chmod 600 "$TMP/server.key"
chmod 644 "$TMP/ca.pem" "$TMP/server.pem"
# Key first, leaf last: a reader that checks for server.pem finds a complete set.
mv -f "$TMP/server.key" "$OUT/server.key"
mv -f "$TMP/ca.pem" "$OUT/ca.pem"
mv -f "$TMP/server.pem" "$OUT/server.pem"
