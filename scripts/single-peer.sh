#!/usr/bin/env bash
# One original, one request at a time, Pictor and imgproxy alternating:
# wall time, process CPU per request and peak RSS of each. For large
# sources, where a load test would only measure the queue:
#
#   IMGPROXY_BIN=/path/to/imgproxy bash scripts/single-peer.sh testdata/large/rgba16-6400.png [ROUNDS]
#
# Every Pictor cache is off and each round asks for another width, so each
# request decodes the original; both sides encode WebP at quality 80.
set -euo pipefail
file=${1:?usage: single-peer.sh FILE [ROUNDS]}
rounds=${2:-4}
imgproxy=${IMGPROXY_BIN:?set IMGPROXY_BIN to an imgproxy v3.31.4 binary}
cd "$(dirname "$0")/.."
go build -o bin/pictor .
work=$(mktemp -d)
trap 'kill $pid $ip 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/data" "$work/root"
ext=${file##*.}
cp "$file" "$work/root/src.$ext"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pp=$(port) ap=$(port) ipp=$(port)
token=single-peer-token-0123456789
env PICTOR_DECODE_CACHE_BYTES=0 PICTOR_MEMORY_CACHE_BYTES=0 PICTOR_DISK_CACHE_BYTES=0 \
  PICTOR_DATA_DIR="$work/data" PICTOR_UPLOAD_TOKENS=$token PICTOR_LISTEN=127.0.0.1:$pp \
  PICTOR_ADMIN_LISTEN=127.0.0.1:$ap PICTOR_LOG_LEVEL=warn PICTOR_GPU=off \
  MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576 bin/pictor >"$work/pictor.log" 2>&1 &
pid=$!
env -i PATH="$PATH" IMGPROXY_BIND=127.0.0.1:$ipp IMGPROXY_LOCAL_FILESYSTEM_ROOT="$work/root" \
  IMGPROXY_QUALITY=80 IMGPROXY_MAX_SRC_RESOLUTION=50 IMGPROXY_LOG_LEVEL=error MALLOC_ARENA_MAX=2 \
  "$imgproxy" >"$work/imgproxy.log" 2>&1 &
ip=$!
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$ap/healthz" >/dev/null && curl -sf "http://127.0.0.1:$ipp/health" >/dev/null && break
  sleep 0.2
done
key=$(curl -sf -H "Authorization: Bearer $token" --data-binary @"$file" "http://127.0.0.1:$pp/upload" |
  sed 's/.*"key":"\([^"]*\)".*/\1/')
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
tick=$(getconf CLK_TCK)
for i in $(seq "$rounds"); do
  w=$((200 + i))
  c0=$(cpu $pid); t=$(curl -s -o /dev/null -w "%{http_code} %{time_total}" "http://127.0.0.1:$pp/t/w_$w,f_webp,q_80/$key"); c1=$(cpu $pid)
  echo "pictor   w=$w $t s, cpu $(((c1 - c0) * 1000 / tick)) ms"
  c0=$(cpu $ip); t=$(curl -s -o /dev/null -w "%{http_code} %{time_total}" "http://127.0.0.1:$ipp/insecure/rs:fit:$w:0/f:webp/q:80/plain/local:///src.$ext"); c1=$(cpu $ip)
  echo "imgproxy w=$w $t s, cpu $(((c1 - c0) * 1000 / tick)) ms"
done
echo "peak RSS: pictor $(awk '/VmHWM/{print $2/1024}' /proc/$pid/status) MiB, imgproxy $(awk '/VmHWM/{print $2/1024}' /proc/$ip/status) MiB"
