#!/usr/bin/env bash
# `make run`: starts Pictor on 127.0.0.1:8081 with embedded defaults. Data,
# a generated signing key and upload token live under ./data; a sample image
# is uploaded and working curl lines are printed. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PICTOR_BIN:-./bin/pictor}
data=${PICTOR_DATA_DIR:-./data}
mkdir -p "$data"
secrets="$data/secrets.env"
if [ ! -s "$secrets" ]; then
  umask 077
  {
    echo "PICTOR_SIGNING_KEYS=k1:$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "PICTOR_UPLOAD_TOKENS=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  } >"$secrets.tmp"
  mv "$secrets.tmp" "$secrets"
  umask 022
  echo "generated a signing key and an upload token in $secrets"
fi
set -a
# shellcheck disable=SC1090
. "$secrets"
set +a
export PICTOR_DATA_DIR="$data"
listen=${PICTOR_LISTEN:-127.0.0.1:8081}
admin=${PICTOR_ADMIN_LISTEN:-127.0.0.1:9091}
export PICTOR_LISTEN="$listen" PICTOR_ADMIN_LISTEN="$admin"

"$bin" serve &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM
for _ in $(seq 1 100); do
  curl -fsS "http://$admin/healthz" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { wait $pid; exit 1; }
  sleep 0.1
done

base="http://$listen"
token=${PICTOR_UPLOAD_TOKENS%%,*}
key=$(curl -fsS -H "Authorization: Bearer $token" --data-binary @testdata/sample.jpg \
  -H 'Content-Type: image/jpeg' "$base/upload" | sed -n 's/.*"key":"\([^"]*\)".*/\1/p')
signed=$("$bin" sign "/t/w_400,f_webp/$key")

cat <<MSG

Pictor is running on $base (admin: http://$admin). Ctrl-C stops it.

  # upload an image (multipart or raw body)
  curl -H 'Authorization: Bearer $token' -F file=@testdata/sample.jpg $base/upload

  # a signed transform: 400 px wide WebP
  curl -o out.webp '$base$signed'

  # the original
  curl -o original.jpg $base/o/$key

  # sign any other transform
  PICTOR_SIGNING_KEYS='$PICTOR_SIGNING_KEYS' $bin sign '/t/w_800,h_600,c_fill,g_auto,f_auto/$key'

MSG
wait $pid
