#!/usr/bin/env bash
# TLS to PostgreSQL with rustls, against a real server with ssl=on and a throwaway CA:
#  - sslmode=require without the CA: refused (UnknownIssuer), exit 1, nothing applied;
#  - with PGSSLROOTCERT naming the CA: applied over TLS (pg_stat_ssl says so);
#  - sslmode=verify-full to 127.0.0.2 (not in the certificate): refused (host name);
#    sslmode=verify-ca to the same address: accepted (chain only).
# Usage: tests/tls-check.sh path/to/depot-migrate
set -euo pipefail
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
root="$(cd "$(dirname "$0")/.." && pwd)"
pgbin="$("$root/scripts/pg.sh" bindir)"
dir="$(mktemp -d /tmp/depot-tls.XXXXXX)"
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() { as_pg "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=depot-test-ca" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > ext.cnf
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile ext.cnf 2>/dev/null
[[ $(id -u) == 0 ]] && chown -R postgres "$dir"
as_pg "$pgbin/initdb" -D "$dir/data" -A trust -E UTF8 --locale=C --no-sync >/dev/null
cp server.crt server.key "$dir/data/"
[[ $(id -u) == 0 ]] && chown postgres "$dir"/data/server.*
chmod 600 "$dir/data/server.key"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
as_pg "$pgbin/pg_ctl" -D "$dir/data" -w -l "$dir/log" start \
  -o "-h 127.0.0.1,127.0.0.2 -p $port -k $dir -F -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key" >/dev/null
printf '{"environmentId":"e","datasetId":"tls","engine":"postgres","schema":"dogs"}' > ds.json
url="postgres://postgres@localhost:$port/postgres?sslmode=require"
pkg="$root/examples/dogs.v1.package.json"
if PGSSLROOTCERT= "$bin" apply --package "$pkg" --dataset ds.json --db "$url" --events none 2>err.txt; then
  echo "FAIL: connected without trusting the test CA"; exit 1
fi
grep -q "UnknownIssuer" err.txt || { echo "FAIL: unexpected error: $(cat err.txt)"; exit 1; }
PGSSLROOTCERT="$dir/ca.crt" "$bin" apply --package "$pkg" --dataset ds.json --db "$url" --events none 2>/dev/null
phase="$(PGSSLROOTCERT="$dir/ca.crt" "$bin" status --dataset ds.json --db "$url" --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)["phase"])')"
[[ "$phase" == stable ]] || { echo "FAIL: phase $phase after apply over TLS"; exit 1; }
other="postgres://postgres@127.0.0.2:$port/postgres"
if PGSSLROOTCERT="$dir/ca.crt" "$bin" status --dataset ds.json --db "$other?sslmode=verify-full" >/dev/null 2>err.txt; then
  echo "FAIL: verify-full accepted a certificate for another name"; exit 1
fi
grep -q "not valid for name" err.txt || { echo "FAIL: verify-full: unexpected error: $(cat err.txt)"; exit 1; }
PGSSLROOTCERT="$dir/ca.crt" "$bin" status --dataset ds.json --db "$other?sslmode=verify-ca" >/dev/null 2>err.txt \
  || { echo "FAIL: verify-ca refused a trusted chain: $(cat err.txt)"; exit 1; }
if PGSSLROOTCERT= "$bin" status --dataset ds.json --db "$other?sslmode=verify-ca" >/dev/null 2>err.txt; then
  echo "FAIL: verify-ca accepted an untrusted chain"; exit 1
fi
echo "tls-check: refused an untrusted server certificate; applied over TLS with PGSSLROOTCERT; verify-full checks the host name, verify-ca only the chain"
