#!/usr/bin/env bash
# `make run`: the whole service in the foreground, as the current user,
# everything under ./data. supervisord runs Nginx on 127.0.0.1:8080 and the
# sidecar on a Unix socket (./data/run/pictor.sock); Nginx sends originals
# itself (X-Accel-Redirect). A signing key and an upload token are generated
# on first start (./data/secrets.env); a sample image is uploaded through
# Nginx and working curl lines are printed. Ctrl-C stops everything: Nginx
# finishes its open requests, then the sidecar drains.
#
# Overrides: PICTOR_BIN, PICTOR_DATA_DIR, PICTOR_HTTP_LISTEN (Nginx),
# PICTOR_ADMIN_LISTEN (the sidecar's health and metrics).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${PICTOR_BIN:-./bin/pictor}
data=${PICTOR_DATA_DIR:-./data}
listen=${PICTOR_HTTP_LISTEN:-127.0.0.1:8080}
admin=${PICTOR_ADMIN_LISTEN:-127.0.0.1:9091}
for cmd in supervisord supervisorctl curl; do
  command -v $cmd >/dev/null || { echo "run: $cmd not found; scripts/deps.sh installs it" >&2; exit 1; }
done
[ -x "$bin" ] || { echo "run: $bin not found; make build makes it" >&2; exit 1; }
mkdir -p "$data"
data=$(cd "$data" && pwd)
case $bin in /*) ;; *) bin=$(pwd)/${bin#./} ;; esac

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
# supervisord's environment is the programs' environment: the secrets (and
# any PICTOR_* tunable set here) reach the sidecar through it.
set -a
# shellcheck disable=SC1090
. "$secrets"
set +a

conf=$(bash deploy/render.sh --mode local --data "$data" --bin "$bin" \
  --listen "$listen" --admin "$admin")
ctl=(supervisorctl -c "$conf/supervisord.conf")
if "${ctl[@]}" pid >/dev/null 2>&1; then
  echo "run: a supervisord for $data is already running; stop it with: ${ctl[*]} shutdown" >&2
  exit 1
fi

# -s: supervisord logs to ./data/log only, so the lines below stay readable.
supervisord -n -s -c "$conf/supervisord.conf" &
pid=$!
stop() {
  trap '' INT TERM
  echo
  echo "stopping: Nginx finishes open requests, then the sidecar drains"
  kill -TERM $pid 2>/dev/null || true
  wait $pid || true
  exit 0
}
trap stop INT TERM

# Ready when the sidecar is healthy and Nginx answers for it.
base="http://$listen"
for i in $(seq 1 200); do
  if curl -fsS "http://$admin/healthz" >/dev/null 2>&1 &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/o/0000000000000000000000000000000000.jpg")" = 404 ]; then
    break
  fi
  if ! kill -0 $pid 2>/dev/null || [ "$i" = 200 ]; then
    echo "run: the stack did not come up; logs in $data/log:" >&2
    tail -n 20 "$data/log/supervisord.log" "$data/log/nginx.log" "$data/log/pictor.log" >&2 2>/dev/null || true
    kill -TERM $pid 2>/dev/null || true
    wait $pid || true
    exit 1
  fi
  sleep 0.1
done

token=${PICTOR_UPLOAD_TOKENS%%,*}
key=$(curl -fsS -H "Authorization: Bearer $token" --data-binary @testdata/sample.jpg \
  -H 'Content-Type: image/jpeg' "$base/upload" | sed -n 's/.*"key":"\([^"]*\)".*/\1/p')
signed=$("$bin" sign "/t/w_400,f_webp/$key")

# The same image as a resumable upload (tus 1.0 at /files/), in two chunks
# with a HEAD between them as a client resuming after a dropped connection
# does; its Pictor-Key is the key above.
tus=(-H "Authorization: Bearer $token" -H 'Tus-Resumable: 1.0.0')
size=$(wc -c <testdata/sample.jpg)
half=$((size / 2))
loc=$(curl -fsS -o /dev/null -D - "${tus[@]}" -X POST -H "Upload-Length: $size" "$base/files/" |
  tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
head -c "$half" testdata/sample.jpg | curl -fsS "${tus[@]}" -X PATCH -H 'Upload-Offset: 0' \
  -H 'Content-Type: application/offset+octet-stream' --data-binary @- "$base$loc"
offset=$(curl -fsS -I "${tus[@]}" "$base$loc" | tr -d '\r' | sed -n 's/^[Uu]pload-[Oo]ffset: //p')
tuskey=$(tail -c +"$((offset + 1))" testdata/sample.jpg | curl -fsS -D - -o /dev/null "${tus[@]}" -X PATCH \
  -H "Upload-Offset: $offset" -H 'Content-Type: application/offset+octet-stream' --data-binary @- "$base$loc" |
  tr -d '\r' | sed -n 's/^[Pp]ictor-[Kk]ey: //p')
if [ "$tuskey" != "$key" ]; then
  echo "run: the resumable upload gave key '$tuskey', the plain upload '$key'" >&2
fi

cat <<MSG

Pictor is running behind Nginx on $base: supervisord keeps Nginx and the
sidecar (unix:$data/run/pictor.sock, admin http://$admin) running.
Configs in $conf, logs in $data/log. Ctrl-C stops everything.

  # upload an image through Nginx (multipart or raw body)
  curl -H 'Authorization: Bearer $token' -F file=@testdata/sample.jpg $base/upload

  # a resumable upload (tus 1.0; tus-js-client, Uppy, TUSKit do this for
  # you, see docs/operations.md): create it, send bytes from the offset HEAD
  # reports (as many PATCHes as it takes), read Pictor-Key from the last one
  loc=\$(curl -s -D - -o /dev/null -X POST -H 'Authorization: Bearer $token' -H 'Tus-Resumable: 1.0.0' \\
    -H "Upload-Length: \$(wc -c <testdata/sample.jpg)" $base/files/ | tr -d '\\r' | sed -n 's/^[Ll]ocation: //p')
  curl -I -H 'Authorization: Bearer $token' -H 'Tus-Resumable: 1.0.0' $base\$loc
  curl -D - -X PATCH -H 'Authorization: Bearer $token' -H 'Tus-Resumable: 1.0.0' -H 'Upload-Offset: 0' \\
    -H 'Content-Type: application/offset+octet-stream' --data-binary @testdata/sample.jpg $base\$loc
  # (at start-up a resumable upload of it in two chunks gave Pictor-Key: ${tuskey:-none})

  # a signed transform: 400 px wide WebP
  curl -o out.webp '$base$signed'

  # the original, sent by Nginx from disk (X-Served-By: nginx-originals)
  curl -D - -o original.jpg $base/o/$key

  # status, and the processes: ${ctl[*]} status

  # sign any other transform
  PICTOR_SIGNING_KEYS='$PICTOR_SIGNING_KEYS' $bin sign '/t/w_800,h_600,c_fill,g_auto,f_auto/$key'

MSG
wait $pid || true
echo "stopped"
