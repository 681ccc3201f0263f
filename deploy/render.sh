#!/usr/bin/env bash
# Renders Pictor's Nginx and supervisord configuration from the templates in
# nginx/ and supervisor/ into one directory, for one data directory, one set
# of ports and one user.
#
#   deploy/render.sh [--mode local|system] [options]
#
# --mode local (the default; what `make run` and the tests use): everything
#   runs as the current user under ./data: configs in ./data/etc, sockets and
#   pid files in ./data/run, logs in ./data/log; Nginx on 127.0.0.1:8080.
# --mode system (what deploy/install.sh uses): configs in /etc/pictor, data
#   in /var/lib/pictor, logs in /var/log/pictor, sockets in /run/pictor; the
#   sidecar runs as user pictor, Nginx's workers as www-data in group pictor,
#   Nginx on port 80.
#
# Options (defaults follow from the mode and from each other):
#   --data DIR            data directory: originals/, cache/ (./data | /var/lib/pictor)
#   --conf DIR            where the rendered files go (DATA/etc | /etc/pictor)
#   --run DIR             sockets and pid files (DATA/run | /run/pictor)
#   --log DIR             log files (DATA/log | /var/log/pictor)
#   --nginx-tmp DIR       Nginx temporary files (RUN/nginx | /var/cache/pictor/nginx)
#   --listen ADDR         Nginx listen address (127.0.0.1:8080 | 80)
#   --admin ADDR          sidecar admin listener (127.0.0.1:9091)
#   --socket PATH         sidecar Unix socket (RUN/pictor.sock)
#   --bin PATH            pictor binary (./bin/pictor | /usr/local/bin/pictor)
#   --nginx PATH          nginx binary (found on PATH, else /usr/sbin/nginx)
#   --user NAME           user the sidecar runs as (none | pictor)
#   --nginx-user "U G"    Nginx worker user and group (current user when root,
#                         else none | "www-data pictor")
#   --max-upload-mib N    upload limit, Nginx and sidecar alike (50)
#   --drain-timeout S     sidecar drain, seconds; stopwaitsecs is S + 5 (15)
#   --timeout T           sidecar request deadline: seconds, or
#                         milliseconds with "ms" (150ms); Nginx waits
#                         T + 5 s for an answer (10)
#   --header-timeout T    Nginx client_header_timeout (10s)
#   --upload-rate R       uploads per client address (10r/s)
#   --upload-burst N      upload burst per client address (20)
#   --conn-limit N        open connections per client address (256)
#   --upstream ADDR       a sidecar (unix:/path or host:port), repeatable;
#                         default unix:SOCKET. Several give a consistent
#                         hash on $request_uri, all of /files/ on one
#                         (docs/operations.md)
#   --no-files            no X-Accel-Redirect locations (sidecars on other
#                         hosts, whose files this Nginx cannot see)
#   --proxy-cache DIR     turn on the proxy_cache layer, cache in DIR
#   --proxy-cache-size S  its max_size (10g)
#   --nofile N            descriptors for Nginx and supervisord (65536, or
#                         the hard limit when lower, in local mode)
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true # "&" in a value stays "&"

repo=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "render: $*" >&2; exit 2; }

mode=local data='' conf='' run='' log='' ntmp='' listen='' admin=127.0.0.1:9091
socket='' bin='' nginx='' user='' nginx_user='' nginx_user_set=0
max_upload=50 drain=15 timeout=10 header_timeout=10s upload_rate=10r/s upload_burst=20
conn_limit=256 upstreams=() files=1 proxy_cache='' proxy_cache_size=10g nofile=''
while [ $# -gt 0 ]; do
  opt=$1
  case $opt in
    --no-files) files=0; shift; continue ;;
    --help|-h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  esac
  [ $# -ge 2 ] || die "$opt needs a value"
  val=$2
  shift 2
  case $opt in
    --mode) mode=$val ;;
    --data) data=$val ;;
    --conf) conf=$val ;;
    --run) run=$val ;;
    --log) log=$val ;;
    --nginx-tmp) ntmp=$val ;;
    --listen) listen=$val ;;
    --admin) admin=$val ;;
    --socket) socket=$val ;;
    --bin) bin=$val ;;
    --nginx) nginx=$val ;;
    --user) user=$val ;;
    --nginx-user) nginx_user=$val; nginx_user_set=1 ;;
    --max-upload-mib) max_upload=$val ;;
    --drain-timeout) drain=$val ;;
    --timeout) timeout=$val ;;
    --header-timeout) header_timeout=$val ;;
    --upload-rate) upload_rate=$val ;;
    --upload-burst) upload_burst=$val ;;
    --conn-limit) conn_limit=$val ;;
    --upstream) upstreams+=("$val") ;;
    --proxy-cache) proxy_cache=$val ;;
    --proxy-cache-size) proxy_cache_size=$val ;;
    --nofile) nofile=$val ;;
    *) die "unknown option $opt (see --help)" ;;
  esac
done

abs() { # absolute path, without requiring it to exist
  case $1 in
    /*) printf '%s' "$1" ;;
    *) printf '%s/%s' "$(pwd)" "${1#./}" ;;
  esac
}

case $mode in
  local)
    data=$(abs "${data:-./data}")
    conf=$(abs "${conf:-$data/etc}")
    run=$(abs "${run:-$data/run}")
    log=$(abs "${log:-$data/log}")
    ntmp=$(abs "${ntmp:-$run/nginx}")
    listen=${listen:-127.0.0.1:8080}
    bin=$(abs "${bin:-$repo/bin/pictor}")
    if [ $nginx_user_set = 0 ] && [ "$(id -u)" = 0 ]; then
      # Nginx started by root would run its workers as nobody, who can
      # neither connect to the socket nor read ./data.
      nginx_user="$(id -un) $(id -gn)"
    fi
    if [ -z "$nofile" ]; then
      hard=$(ulimit -Hn)
      nofile=65536
      if [ "$hard" != unlimited ] && [ "$hard" -lt $nofile ]; then nofile=$hard; fi
    fi
    ;;
  system)
    data=${data:-/var/lib/pictor}
    conf=${conf:-/etc/pictor}
    run=${run:-/run/pictor}
    log=${log:-/var/log/pictor}
    ntmp=${ntmp:-/var/cache/pictor/nginx}
    listen=${listen:-80}
    bin=${bin:-/usr/local/bin/pictor}
    user=${user:-pictor}
    [ $nginx_user_set = 1 ] || nginx_user="www-data $user"
    nofile=${nofile:-65536}
    ;;
  *) die "--mode $mode: want local or system" ;;
esac
socket=${socket:-$run/pictor.sock}
nginx=${nginx:-$(command -v nginx || echo /usr/sbin/nginx)}
[ ${#upstreams[@]} -gt 0 ] || upstreams=("unix:$socket")

# Values land in Nginx and supervisord syntax unquoted: refuse what would
# break either (whitespace, quotes, ; { } # and supervisord's %).
for v in "$data" "$conf" "$run" "$log" "$ntmp" "$listen" "$admin" "$socket" "$bin" \
  "$nginx" "$user" "$proxy_cache" "${upstreams[@]}"; do
  case $v in
    *[[:space:]\"\'\;\{\}\#%\\]*) die "unsafe character in '$v'" ;;
  esac
done
# The deadline in a unit both Go (PICTOR_TIMEOUT) and Nginx read; whole
# seconds above it for proxy_read_timeout. Milliseconds are for tests that
# need a deadline to pass quickly.
[[ $timeout =~ ^([0-9]{1,9})(ms|s)?$ ]] || die "--timeout $timeout: want seconds or e.g. 150ms"
if [ "${BASH_REMATCH[2]}" = ms ]; then
  timeout_ms=$((10#${BASH_REMATCH[1]}))
  timeout_dur=${timeout_ms}ms
else
  timeout_ms=$((10#${BASH_REMATCH[1]} * 1000))
  timeout_dur=$((10#${BASH_REMATCH[1]}))s
fi
[ "$timeout_ms" -gt 0 ] || die "--timeout $timeout: want more than 0"
read_timeout=$(((timeout_ms + 999) / 1000 + 5))
for n in "$max_upload" "$drain" "$upload_burst" "$conn_limit" "$nofile"; do
  if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -eq 0 ]; then die "'$n' is not a positive integer"; fi
done
[[ $header_timeout =~ ^[0-9]+(ms|s|m)?$ ]] || die "--header-timeout $header_timeout: want e.g. 10s"
[[ $upload_rate =~ ^[0-9]+r/[sm]$ ]] || die "--upload-rate $upload_rate: want e.g. 10r/s"
# sun_path is 108 bytes on Linux, including the terminating NUL.
[ ${#socket} -lt 108 ] || die "socket path $socket is longer than 107 bytes; use --socket or --run"
[ "$nofile" -ge 1024 ] || die "--nofile $nofile: want at least 1024"

upstream_servers=''
if [ ${#upstreams[@]} -gt 1 ]; then
  upstream_servers+=$'    # Several sidecars: each variant URL always goes to the same one, so it\n'
  upstream_servers+=$'    # is made and cached once; adding or removing one moves only its share.\n'
  upstream_servers+=$'    # The key is the URI, except that all of /files/ goes to one sidecar\n'
  upstream_servers+=$'    # (map in pictor.conf): a resumable upload\'s parts are on its disk.\n'
  upstream_servers+=$'    hash $pictor_upstream_key consistent;\n'
fi
for u in "${upstreams[@]}"; do
  if [ ${#upstreams[@]} -gt 1 ]; then
    upstream_servers+="    server $u max_fails=2 fail_timeout=5s;"$'\n'
  else
    upstream_servers+="    server $u;"$'\n'
  fi
done

cache_zone='# proxy_cache layer: off (render --proxy-cache DIR turns it on)'
cache_location='        # proxy_cache layer: off'
if [ -n "$proxy_cache" ]; then
  proxy_cache=$(abs "$proxy_cache")
  cache_zone="include $conf/pictor-cache-zone.conf;"
  cache_location="        include $conf/pictor-cache.conf;"
fi
files_locations="    include $conf/pictor-files.conf;"
[ $files = 1 ] || files_locations='    # no X-Accel-Redirect locations (--no-files): the sidecars are elsewhere'

nginx_user_line='# user: the current user (Nginx is not started by root)'
[ -z "$nginx_user" ] || nginx_user_line="user $nginx_user;"
# supervisord warns when it runs as root without saying so; in system mode
# it must be root, to start Nginx on port 80 and the sidecar as --user.
supervisord_user_line='; user: whoever starts it'
if [ "$mode" = system ] || [ "$(id -u)" = 0 ]; then supervisord_user_line=user=root; fi
pictor_user_line='; user: the one that runs supervisord'
[ -z "$user" ] || pictor_user_line="user=$user"

# Each placeholder and its value, in pairs.
pairs=(
  MODE "$mode"  CONF_DIR "$conf"  DATA_DIR "$data"  RUN_DIR "$run"  LOG_DIR "$log"
  NGINX_TMP "$ntmp"  LISTEN "$listen"  ADMIN_LISTEN "$admin"  SOCKET "$socket"
  BIN "$bin"  NGINX "$nginx"  ACCEL_PREFIX /_pictor/
  NGINX_USER "$nginx_user_line"  PICTOR_USER "$pictor_user_line"
  SUPERVISORD_USER "$supervisord_user_line"
  MAX_UPLOAD "${max_upload}m"  MAX_UPLOAD_MIB "$max_upload"
  DRAIN_TIMEOUT "$drain"  STOP_WAIT "$((drain + 5))"
  TIMEOUT "$timeout_dur"  READ_TIMEOUT "$read_timeout"  HEADER_TIMEOUT "$header_timeout"
  UPLOAD_RATE "$upload_rate"  UPLOAD_BURST "$upload_burst"  CONN_LIMIT "$conn_limit"
  UPSTREAM_SERVERS "${upstream_servers%$'\n'}"  FILES_LOCATIONS "$files_locations"
  PROXY_CACHE_ZONE "$cache_zone"  PROXY_CACHE_LOCATION "$cache_location"
  PROXY_CACHE_DIR "$proxy_cache"  PROXY_CACHE_SIZE "$proxy_cache_size"
  NOFILE "$nofile"  WORKER_CONNECTIONS "$((nofile / 3))"
)

render() { # template output
  local text i
  text=$(<"$1")
  for ((i = 0; i < ${#pairs[@]}; i += 2)); do
    text=${text//@${pairs[i]}@/${pairs[i + 1]}}
  done
  if [[ $text =~ @[A-Z_]+@ ]]; then
    die "$1: ${BASH_REMATCH[0]} was not filled in"
  fi
  printf '%s\n' "$text" >"$2.tmp"
  mv "$2.tmp" "$2"
}

mkdir -p "$conf" "$run" "$log" "$ntmp"/client_body "$ntmp"/proxy "$ntmp"/fastcgi "$ntmp"/uwsgi "$ntmp"/scgi
[ -z "$proxy_cache" ] || mkdir -p "$proxy_cache"
for t in "$repo"/nginx/*.conf.tmpl; do
  render "$t" "$conf/$(basename "$t" .tmpl)"
done
render "$repo/supervisor/supervisord.conf.tmpl" "$conf/supervisord.conf"
echo "$conf"
