#!/usr/bin/env bash
# `make bench`: load tests of the whole stack, with reports people can read.
#
# Builds bin/pictor and the harness, bin/pictor-bench (./cmd/pictor-bench;
# not part of the pictor binary), fetches the photo corpus, and starts in a
# fresh temporary data directory, on free loopback ports:
#   - the real stack as `make run` starts it: configs from deploy/render.sh,
#     supervisord running Nginx and the sidecar (on a Unix socket);
#   - a peer: a second, separate Nginx with Debian's image_filter module
#     (libgd), resizing the same originals from the corpus directory;
#   - with IMGPROXY_BIN set: a second sidecar with every setting at its
#     default (pictor-defaults: TCP, memory, disk and decode tiers at their
#     defaults, as a new user runs it), and imgproxy, which the harness
#     starts itself (unsigned URLs, quality 80, no ETag, its default
#     workers: 2 × GOMAXPROCS). Without IMGPROXY_BIN the harness skips the
#     imgproxy scenarios and says how to build imgproxy v3.31.4.
# Then it runs the standard scenarios against Nginx (pictor-nginx), straight
# to the sidecar's socket (pictor-direct) and against the peer (imagefilter),
# the imgproxy scenarios against pictor-defaults and imgproxy, runs the
# in-process pipeline on the cold runs' transforms, and writes
#   data/bench/results.json   every figure
#   data/bench/report.html    charts; opens offline
#   docs/performance.md       the tables between <!-- bench:begin --> and
#                             <!-- bench:end --> (never README.md)
# and prints the tables. Every process it starts is stopped on exit.
#
# Settings (environment):
#   BENCH_SECONDS   measured seconds of each hot, mixed and upload run (10)
#   BENCH_ROUNDS    rounds of each cold and srcset run (2; see below)
#   BENCH_OPEN_RATE arrivals per second of the open-loop hot run (2000)
#   BENCH_SCENARIOS harness --scenario values separated by ';', instead of
#                   the standard ones (bin/pictor-bench -h)
#   BENCH_OUT       where results.json and report.html go (data/bench)
#   BENCH_DOC       the document to rewrite (docs/performance.md); empty: none
#   IMGPROXY_BIN    an imgproxy v3.31.4 binary, built outside this repository
#                   (the harness prints how when it is not set)
#   BENCH_IMGPROXY  1: the imgproxy scenarios run after the others (default);
#                   0: not at all; only: nothing else (no image_filter peer,
#                   proxy_cache front or baseline either)
#   BENCH_PEER_SECONDS  measured seconds at most of each imgproxy scenario and
#                   side (20); 4 connections, as issue "Cold transforms ahead
#                   of imgproxy" measured them
#   BENCH_DECODE_CACHE  the sidecar's PICTOR_DECODE_CACHE_BYTES (0). Off, so
#                   that a cold request runs the whole pipeline, decode
#                   included, as the in-process baseline does; on, a cold
#                   variant of an original decoded a moment ago skips its
#                   decode, and "cold" would measure a cache.
#   BENCH_FLOOR     0 skips the libvips floor of the imgproxy scenarios (1):
#                   after them, the harness makes each one's requests again
#                   in its own process with plain libvips calls (harness
#                   --floor, at most 8 s each) and reports Pictor's CPU per
#                   request over that floor; never with BENCH_IMGPROXY=0
#   BENCH_PEER      0 skips the image_filter peer (1)
#   BENCH_BASELINE  0 skips the in-process baseline (1); scripts/soak.sh does
#   BENCH_CACHE_FRONT  0 skips the second Nginx front with the proxy_cache
#                   layer on (render --proxy-cache), pictor-nginx-cache (1)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
secs=${BENCH_SECONDS:-10}
rounds=${BENCH_ROUNDS:-2}
open_rate=${BENCH_OPEN_RATE:-2000}
out=${BENCH_OUT:-data/bench}
doc=${BENCH_DOC-docs/performance.md}
decode_cache=${BENCH_DECODE_CACHE:-0}
imgproxy=${BENCH_IMGPROXY:-1}
peer_secs=${BENCH_PEER_SECONDS:-20}
imgproxy_bin=${IMGPROXY_BIN:-}
floor=${BENCH_FLOOR:-1}
if [ "$imgproxy" = only ]; then
  peer=${BENCH_PEER:-0} baseline=${BENCH_BASELINE:-0} cache_front=${BENCH_CACHE_FRONT:-0}
else
  peer=${BENCH_PEER:-1} baseline=${BENCH_BASELINE:-1} cache_front=${BENCH_CACHE_FRONT:-1}
fi
corpus=$repo/data/bench-corpus

die() { echo "bench: $*" >&2; exit 1; }
step() { echo "bench: $*" >&2; }

if ! [[ $secs =~ ^[1-9][0-9]*$ ]]; then die "BENCH_SECONDS=$secs: want a whole number of seconds"; fi
if ! [[ $rounds =~ ^[1-9][0-9]*$ ]]; then die "BENCH_ROUNDS=$rounds: want a whole number, at least 1"; fi
if ! [[ $open_rate =~ ^[1-9][0-9]*$ ]]; then die "BENCH_OPEN_RATE=$open_rate: want a whole number"; fi
if ! [[ $peer_secs =~ ^[1-9][0-9]*$ ]]; then die "BENCH_PEER_SECONDS=$peer_secs: want a whole number of seconds"; fi
case $imgproxy in 0 | 1 | only) ;; *) die "BENCH_IMGPROXY=$imgproxy: want 1, 0 or only" ;; esac
case $floor in 0 | 1) ;; *) die "BENCH_FLOOR=$floor: want 1 or 0" ;; esac
if [ -n "$imgproxy_bin" ]; then
  [ -x "$imgproxy_bin" ] || die "IMGPROXY_BIN=$imgproxy_bin is not an executable file"
  imgproxy_bin=$(cd "$(dirname "$imgproxy_bin")" && pwd)/$(basename "$imgproxy_bin")
fi
if [ -n "$doc" ]; then
  [ -f "$doc" ] || die "$doc not found (BENCH_DOC; BENCH_DOC= writes no document)"
  if ! grep -q '^<!-- bench:begin -->$' "$doc" || ! grep -q '^<!-- bench:end -->$' "$doc"; then
    die "$doc has no '<!-- bench:begin -->' and '<!-- bench:end -->' lines; add them where the tables go (or set BENCH_DOC= to skip it)"
  fi
fi
nginx=$(command -v nginx || echo /usr/sbin/nginx)
for cmd in go curl python3 supervisord supervisorctl "$nginx"; do
  command -v "$cmd" >/dev/null || die "$cmd not found; scripts/deps.sh installs what make bench needs"
done
module=/usr/lib/nginx/modules/ngx_http_image_filter_module.so
if [ "$peer" = 1 ] && [ ! -f "$module" ]; then
  if [ "$(id -u)" = 0 ]; then
    step "installing libnginx-mod-http-image-filter (the image_filter peer)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnginx-mod-http-image-filter >/dev/null ||
      { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnginx-mod-http-image-filter >/dev/null; } ||
      die "could not install libnginx-mod-http-image-filter; BENCH_PEER=0 runs without the peer"
  else
    die "$module missing: sudo apt-get install libnginx-mod-http-image-filter, or BENCH_PEER=0"
  fi
fi

step "building bin/pictor and the harness, bin/pictor-bench"
version=$(git describe --always --dirty 2>/dev/null || echo dev)
go build -ldflags "-X main.version=$version" -o bin/pictor .
go build -o bin/pictor-bench ./cmd/pictor-bench
bash scripts/fetch-corpus.sh "$corpus" >/dev/null

tmp=$(mktemp -d /tmp/pictor-bench.XXXXXX)
sup_pid='' peer_pid='' front_pid='' bench_pid='' defaults_pid=''
cleanup() {
  trap '' INT TERM
  if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -TERM "$bench_pid" 2>/dev/null || true # the harness stops between requests
    for _ in $(seq 1 100); do kill -0 "$bench_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$bench_pid" 2>/dev/null || true
  fi
  for p in "$peer_pid" "$front_pid"; do
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
      kill -QUIT "$p" 2>/dev/null || true # Nginx's graceful stop
      for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      ! kill -0 "$p" 2>/dev/null || kill -KILL -- "-$p" 2>/dev/null || true
    fi
  done
  if [ -n "$defaults_pid" ] && kill -0 "$defaults_pid" 2>/dev/null; then
    kill -TERM "$defaults_pid" 2>/dev/null || true # drains, then exits
    for _ in $(seq 1 400); do kill -0 "$defaults_pid" 2>/dev/null || break; sleep 0.1; done
    ! kill -0 "$defaults_pid" 2>/dev/null || kill -KILL -- "-$defaults_pid" 2>/dev/null || true
  fi
  if [ -n "$sup_pid" ] && kill -0 "$sup_pid" 2>/dev/null; then
    # supervisord stops Nginx (graceful), then drains the sidecar.
    kill -TERM "$sup_pid" 2>/dev/null || true
    for _ in $(seq 1 400); do kill -0 "$sup_pid" 2>/dev/null || break; sleep 0.1; done
    ! kill -0 "$sup_pid" 2>/dev/null || kill -KILL -- "-$sup_pid" 2>/dev/null || true
  fi
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Free loopback ports: bound by the kernel, then released for the servers.
read -r http_port admin_port peer_port front_port defaults_port defaults_admin < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(6)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')

# The stack, as scripts/run.sh and the end-to-end tests start it, with
# uploads allowed at load-test rates (one client address sends them all).
key="k1:$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
data=$tmp/data
conf=$(bash deploy/render.sh --mode local --data "$data" --bin "$repo/bin/pictor" --nginx "$nginx" \
  --listen "127.0.0.1:$http_port" --admin "127.0.0.1:$admin_port" \
  --upload-rate 100000r/s --upload-burst 100000)
socket=$data/run/pictor.sock
step "starting Nginx (127.0.0.1:$http_port) and the sidecar (unix:$socket) under supervisord in $tmp"
PICTOR_SIGNING_KEYS=$key PICTOR_UPLOAD_TOKENS=$token PICTOR_DECODE_CACHE_BYTES=$decode_cache \
  setsid supervisord -n -c "$conf/supervisord.conf" >"$tmp/supervisord.out" 2>&1 &
sup_pid=$!
ready=0
for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$admin_port/healthz" >/dev/null 2>&1 &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/o/$(printf '0%.0s' $(seq 64)).jpg")" = 404 ]; then
    ready=1
    break
  fi
  kill -0 "$sup_pid" 2>/dev/null || break
  sleep 0.1
done
if [ $ready = 0 ]; then
  tail -n 20 "$data/log/supervisord.log" "$data/log/nginx.log" "$data/log/pictor.log" >&2 2>/dev/null || true
  die "the stack did not come up"
fi
ctl=(supervisorctl -c "$conf/supervisord.conf")
pictor_pid=$("${ctl[@]}" pid pictor)
nginx_pid=$("${ctl[@]}" pid nginx)
[[ $pictor_pid =~ ^[0-9]+$ && $nginx_pid =~ ^[0-9]+$ ]] || die "supervisorctl gave no pids: '$pictor_pid' '$nginx_pid'"

# shellcheck disable=SC2054 # the commas are inside one argument
args=(
  --target "pictor-nginx=http://127.0.0.1:$http_port"
  --target "pictor-direct=unix:$socket"
  --pid "pictor=$pictor_pid" --pid "nginx=$nginx_pid"
  --procs pictor-nginx=pictor,nginx --procs pictor-direct=pictor
)
if [ "$cache_front" = 1 ]; then
  # A second Nginx in front of the same sidecar, rendered with the optional
  # proxy_cache layer (deploy/render.sh --proxy-cache; off by default): a
  # variant Nginx has cached is answered from its cache without asking the
  # sidecar, as a CDN edge would. Only the hot scenario runs on it.
  front=$tmp/front
  mkdir -p "$front/log" "$front/run" "$front/cache"
  fconf=$(bash deploy/render.sh --mode local --data "$data" --conf "$front/etc" --run "$front/run" \
    --log "$front/log" --bin "$repo/bin/pictor" --nginx "$nginx" --listen "127.0.0.1:$front_port" \
    --upstream "unix:$socket" --proxy-cache "$front/cache" --upload-rate 100000r/s --upload-burst 100000)
  setsid "$nginx" -c "$fconf/nginx.conf" &
  front_pid=$!
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$front_port/o/$(printf '0%.0s' $(seq 64)).jpg")" = 404 ] && break
    kill -0 "$front_pid" 2>/dev/null || die "the proxy_cache front exited: $(tail -n 5 "$front/log/nginx-error.log" 2>/dev/null)"
    sleep 0.1
  done
  step "proxy_cache front on 127.0.0.1:$front_port (pid $front_pid)"
  args+=(--target "pictor-nginx-cache=http://127.0.0.1:$front_port"
    --pid "nginx-cache=$front_pid" --procs pictor-nginx-cache=pictor,nginx-cache)
fi
if [ "$peer" = 1 ]; then
  # The peer: Nginx's image_filter (libgd) resizing the corpus files to a
  # width, keeping the aspect ratio, at the same JPEG and WebP quality as
  # Pictor's default (80). It keeps no cache: every request is a resize.
  mkdir -p "$tmp/peer/tmp"
  user_line='# user: the current one'
  [ "$(id -u)" != 0 ] || user_line="user $(id -un) $(id -gn);"
  cat >"$tmp/peer/nginx.conf" <<CONF
load_module $module;
$user_line
daemon off;
master_process on;
worker_processes auto;
pid $tmp/peer/nginx.pid;
error_log $tmp/peer/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/peer/tmp/body;
    proxy_temp_path $tmp/peer/tmp/proxy;
    fastcgi_temp_path $tmp/peer/tmp/fastcgi;
    uwsgi_temp_path $tmp/peer/tmp/uwsgi;
    scgi_temp_path $tmp/peer/tmp/scgi;
    server {
        listen 127.0.0.1:$peer_port;
        location ~ ^/resize/(\d+)/([^/]+)\$ {
            alias $corpus/\$2;
            image_filter resize \$1 -;
            # The largest original is 8.9 MB; the default buffer is 1 MB.
            image_filter_buffer 64M;
            image_filter_jpeg_quality 80;
            image_filter_webp_quality 80;
        }
    }
}
CONF
  "$nginx" -t -q -c "$tmp/peer/nginx.conf" -e stderr || die "the image_filter peer's config does not load"
  setsid "$nginx" -c "$tmp/peer/nginx.conf" -e "$tmp/peer/error.log" &
  peer_pid=$!
  probe="http://127.0.0.1:$peer_port/resize/100/testdata-sample-1200x800.jpg"
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$probe")" = 200 ] && break
    kill -0 "$peer_pid" 2>/dev/null || die "the image_filter peer exited: $(tail -n 5 "$tmp/peer/error.log")"
    sleep 0.1
  done
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$probe")" = 200 ] || die "the image_filter peer does not answer $probe"
  step "image_filter peer on 127.0.0.1:$peer_port (pid $peer_pid)"
  args+=(--template "imagefilter=http://127.0.0.1:$peer_port/resize/{w}/{file}"
    --pid "imagefilter=$peer_pid" --procs imagefilter=imagefilter)
fi

# The standard scenarios, cold-jpeg first so that its RSS is a fresh
# sidecar's. Cold and srcset runs end after whole rounds: a round asks for
# every original's five ladder widths (cold) or one srcset of each original
# (srcset), so every run has the same mix of originals and widths and their
# CPU per variant compares (duration is only a safety bound). Cold runs 2
# connections (the sidecar's 2 workers on 2 cores); cold-jpeg is the RSS
# check at 4. Hot runs 32 connections to Pictor and 4 to the peer, which has
# no cache and resizes on its 2 workers (more would only queue); hot-open is
# hot at a fixed arrival rate, its latency from each request's due time.
nfiles=$(find "$corpus" -maxdepth 1 -type f -regextype egrep -iregex '.*\.(jpe?g|png|webp|gif|avif)' | wc -l)
njpeg=$(find "$corpus" -maxdepth 1 -type f -regextype egrep -iregex '.*\.jpe?g' | wc -l)
r=$rounds
specs=()
if [ -n "${BENCH_SCENARIOS:-}" ]; then
  IFS=';' read -r -a specs <<<"$BENCH_SCENARIOS"
elif [ "$imgproxy" != only ]; then
  specs=(
    "cold:name=cold-jpeg,formats=jpeg,conns=4,max=$((njpeg * 5 * r * 3)),duration=120s,warmup=3s,targets=pictor-nginx+pictor-direct,max-rss=pictor:200MB"
    "cold:conns=2,max=$((nfiles * 5 * r)),duration=180s,targets=pictor-nginx+pictor-direct"
    "srcset:conns=2,max=$((nfiles * r * 2)),duration=120s,targets=pictor-nginx+pictor-direct"
    "hot:conns=32,duration=${secs}s,warmup=2s,targets=pictor-nginx,min-rps=15000"
    "hot:conns=32,duration=${secs}s,warmup=2s,targets=pictor-direct"
    "hot:name=hot-open,rate=$open_rate,conns=64,duration=${secs}s,targets=pictor-nginx"
    "mixed:conns=4,duration=${secs}s,targets=pictor-nginx"
    "upload:conns=4,duration=${secs}s,max=2000,targets=pictor-nginx"
  )
  [ "$cache_front" = 0 ] ||
    specs+=("hot:name=hot-cache,conns=32,duration=${secs}s,warmup=2s,targets=pictor-nginx-cache,min-rps=15000")
  if [ "$peer" = 1 ]; then
    specs+=(
      "cold:name=cold-jpeg,formats=jpeg,conns=4,max=$((njpeg * 5 * r)),duration=120s,targets=imagefilter"
      "cold:conns=2,max=$((nfiles * 5)),duration=120s,targets=imagefilter"
      "hot:conns=4,duration=${secs}s,warm=off,targets=imagefilter"
    )
  fi
fi
# The imgproxy scenarios (issue "Cold transforms ahead of imgproxy"): the
# fresh pictor-defaults sidecar and imgproxy, one after the other, on the
# same requests in the same order, 4 connections, at most BENCH_PEER_SECONDS
# each: distinct JPEG originals (copies of one 3640x2400 photo, different
# bytes) at w_400; distinct RGBA PNG originals at w_400 as WebP; one
# original at 600 widths, each asked for once. Quality 80 on both sides,
# given explicitly. copies= covers 40 (JPEG) and 15 (PNG) req/s; a faster
# server ends its run when they are used up. The checks are the issue's
# targets; max-floor-ratio checks Pictor's CPU per request against the
# libvips floor of the same requests (BENCH_FLOOR).
peer_jpeg=ukui-firstgeneration-3640x2400.jpg
peer_png=photo-3700x2400.png
# The animated scenario (issue 17): distinct copies of a 100-frame
# 480x270 GIF the harness generates (a scrolling colour ramp under a moving
# disc, 25 frames a second), each to a 200 px wide animated WebP; imgproxy
# runs with IMGPROXY_MAX_ANIMATION_FRAMES=200, Pictor's PICTOR_MAX_FRAMES
# default, so both keep every frame. Reported beside the others, with no
# target ratio.
anim_spec="distinct:name=imgproxy-anim-webp,file=generated/anim-100f-480x270.gif,out=webp,width=200,copies=$((peer_secs * 4)),targets=pictor-defaults+imgproxy,conns=4,duration=${peer_secs}s,quality=80"
if [ -z "${BENCH_SCENARIOS:-}" ] && [ "$imgproxy" != 0 ]; then
  both="targets=pictor-defaults+imgproxy,conns=4,duration=${peer_secs}s,quality=80,max-rss-ratio=0.8"
  specs+=(
    "distinct:name=imgproxy-jpeg,file=$peer_jpeg,width=400,copies=$((peer_secs * 40)),min-ratio=1.15,max-floor-ratio=1.05,$both"
    "distinct:name=imgproxy-png-webp,file=$peer_png,out=webp,width=400,copies=$((peer_secs * 15)),min-ratio=1.10,$both"
    "widths:name=imgproxy-widths,file=$peer_jpeg,widths=300-899,min-ratio=3,$both"
    "$anim_spec"
  )
fi
if [ -n "$imgproxy_bin" ] && [[ " ${specs[*]} " == *pictor-defaults* ]]; then
  # A second sidecar with every PICTOR_ setting at its default but the
  # ones it must be told (where to listen and keep data, the secrets), and
  # the allocator settings supervisord gives the sidecar under make run.
  # Its own data directory and process: the imgproxy scenarios see a fresh
  # server, as the imgproxy beside it is.
  mapfile -t unset_pictor < <(compgen -e | grep '^PICTOR_' | sed 's/^/--unset=/')
  env "${unset_pictor[@]}" PICTOR_LISTEN="127.0.0.1:$defaults_port" PICTOR_ADMIN_LISTEN="127.0.0.1:$defaults_admin" \
    PICTOR_DATA_DIR="$tmp/defaults" PICTOR_SIGNING_KEYS="$key" PICTOR_UPLOAD_TOKENS="$token" \
    MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576 \
    setsid "$repo/bin/pictor" serve >"$tmp/defaults.log" 2>&1 &
  defaults_pid=$!
  for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$defaults_admin/healthz" >/dev/null 2>&1 && break
    kill -0 "$defaults_pid" 2>/dev/null || die "the pictor-defaults sidecar exited: $(tail -n 5 "$tmp/defaults.log")"
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:$defaults_admin/healthz" >/dev/null 2>&1 || die "the pictor-defaults sidecar did not come up"
  step "pictor-defaults sidecar on 127.0.0.1:$defaults_port (pid $defaults_pid), every setting at its default"
  floor_note=''
  if [ "$floor" = 1 ] && [ "$imgproxy" != 0 ]; then
    args+=(--floor --floor-time 8s)
    floor_note=" The libvips floor is each of these scenarios' requests (the same bytes, widths, output format and quality 80) made again in the harness process after the runs, as a plain libvips user makes them, through the project's binding \`transform/vips\` but not its pipeline: \`vips.Load\` with shrink-on-load (JPEG by the largest of 1, 2, 4, 8 that keeps the target's size, WebP by scale, PNG and GIF none; an animated GIF's frames as one tall image) and sequential access, reading the bytes in place, \`ToSRGB\`, \`Resize\` (vips_resize, Lanczos3, premultiplied with alpha) and \`Save\` at quality 80, $(nproc) at a time (the sidecar's workers), for at most 8 s or as many requests as Pictor had; its CPU per request is the harness process's CPU time (getrusage, every thread) over the requests made, under the sidecar's \`MALLOC_\` settings."
  fi
  args+=(--target "pictor-defaults=http://127.0.0.1:$defaults_port"
    --pid "pictor-defaults=$defaults_pid" --procs pictor-defaults=pictor-defaults
    --imgproxy "$imgproxy_bin"
    --note "imgproxy scenarios: pictor-defaults is a second sidecar, \`bin/pictor serve\` on TCP with every \`PICTOR_\` setting at its default (memory, disk and decoded-original tiers included) but the listeners, data directory and secrets, and supervisord's \`MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576\`; imgproxy $("$imgproxy_bin" version 2>/dev/null) is started by the harness with \`IMGPROXY_LOCAL_FILESYSTEM_ROOT\` at the corpus, unsigned URLs (\`/insecure/rs:fit:W:0/q:80/plain/local:///FILE@EXT\`), \`IMGPROXY_QUALITY=80\`, \`IMGPROXY_MAX_ANIMATION_FRAMES=200\` (Pictor's frame limit, for the animated scenario), no ETag or Last-Modified, \`MALLOC_ARENA_MAX=2\` (its Docker image's) and its default workers, 2 × GOMAXPROCS = $((2 * $(nproc))). Both are reached directly on loopback TCP, one after the other, with the same requests in the same order; each request of a distinct run is an original neither has seen (a copy of the photo with its own JPEG comment or PNG tEXt chunk, uploaded to Pictor, written under the corpus directory for imgproxy).$floor_note"
  )
fi
for s in "${specs[@]}"; do args+=(--scenario "$s"); done
[ "$baseline" = 0 ] || args+=(--baseline --baseline-time 30s)
args+=(
  --key "$key" --token "$token" --corpus "$corpus"
  --json "$out/results.json" --html "$out/report.html"
  --command "${imgproxy_bin:+IMGPROXY_BIN=$imgproxy_bin }$([ "$imgproxy" = 1 ] || echo "BENCH_IMGPROXY=$imgproxy ")make bench"
  --note "Set-up: \`scripts/bench.sh\` starts the stack as \`make run\` does (supervisord, Nginx, the sidecar on a Unix socket; configs from \`deploy/render.sh\`) in a fresh data directory, with every setting at its default except \`PICTOR_DECODE_CACHE_BYTES=$decode_cache\` (so that a cold request decodes its original, as the in-process baseline does) and uploads through Nginx allowed at load-test rates. pictor-direct is the same sidecar reached on its socket; pictor-nginx-cache is a second Nginx in front of it with the optional proxy_cache layer on (\`render.sh --proxy-cache\`), so hot variants are answered by Nginx from its cache; imagefilter is a separate Nginx with Debian's \`image_filter\` module (libgd), JPEG and WebP quality 80, no cache. The load generator runs on the same machine."
  --note "Scenarios: the corpus is $nfiles originals ($njpeg JPEG, the rest PNG and WebP, 300 px to 4096 px wide; \`scripts/fetch-corpus.sh\`). cold asks for widths never asked for before, five per original (sixths of its width up to 2304 px, less a varying offset, at a varying quality); srcset asks for the same five widths in one request (\`/srcset/\`); cold and srcset runs stop after whole rounds over the corpus, so their mix of originals and widths is the same. hot draws Zipf(1.1) from 10 widths (up to 640 px) of every original, all in the memory tier first; mixed is 90% hot, 10% cold; upload posts originals made unique per request. The baseline is the cold runs' transforms made again in the harness process through \`transform.Processor\`, 2 at a time."
  --note "Load average when the run began: $(cut -d' ' -f1-3 /proc/loadavg). These 2 cores are shared with other work: compare figures within one run, not across runs."
)
[ -z "$doc" ] || args+=(--doc "$doc")
mkdir -p "$out"
step "running ${#specs[@]} scenarios"
# In the background, so that a signal to this script runs the trap at once
# rather than after the harness has finished.
# The harness's in-process baseline runs with the sidecar's allocator
# settings (supervisor/supervisord.conf.tmpl), so the ratio compares the
# same libvips work under the same malloc.
MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576 bin/pictor-bench "${args[@]}" &
bench_pid=$!
wait "$bench_pid"
step "wrote $out/results.json and $out/report.html${doc:+, and the tables in $doc}"
