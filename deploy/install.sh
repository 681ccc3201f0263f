#!/usr/bin/env bash
# Installs Pictor on a Debian 12 / Ubuntu 24.04 VM, as root, from a
# checkout with a built binary (make build). Safe to run again: every step
# checks what is there, and a second run with nothing changed changes
# nothing; with a new binary or new configs it applies them (the sidecar
# drains, Nginx reloads).
#
#   sudo deploy/install.sh [--bin PATH] [render.sh options, e.g. --listen 8080]
#
# What it sets up:
#   user and group pictor (system, no login); Nginx's workers run as
#     www-data in group pictor
#   /var/lib/pictor      data: originals/, cache/ (pictor, 0750)
#   /var/log/pictor      logs (rotated: supervisord by size, Nginx's by logrotate)
#   /var/cache/pictor    Nginx's temporary files (www-data)
#   /etc/pictor          rendered configs; pictor.env with a generated signing
#                        key and upload token (root, 0600), kept across runs
#   /usr/local/bin/pictor
#   pictor.service       systemd runs supervisord, supervisord runs Nginx and
#                        the sidecar (Debian's own nginx.service is disabled)
#   /etc/logrotate.d/pictor, and file-descriptor limits (LimitNOFILE in the
#   unit, minfds and worker_rlimit_nofile in the configs, limits.d for the user)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$repo/bin/pictor
render_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    *) render_args+=("$1"); shift ;;
  esac
done
say() { echo "install: $*"; }
die() { echo "install: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
[ -x "$bin" ] || die "$bin not found: run make build, or pass --bin PATH"
command -v apt-get >/dev/null || die "this script is for Debian or Ubuntu (apt-get)"

conf=/etc/pictor data=/var/lib/pictor logs=/var/log/pictor ntmp=/var/cache/pictor/nginx
ctl=(supervisorctl -c "$conf/supervisord.conf")
policy=/usr/sbin/policy-rc.d made_policy=0 stage=''
cleanup() {
  [ -z "$stage" ] || rm -rf "$stage"
  [ $made_policy = 0 ] || rm -f "$policy"
}
trap cleanup EXIT
have_systemd=0
[ -d /run/systemd/system ] && have_systemd=1

# --- packages -----------------------------------------------------------
# The runtime libvips (Ubuntu 24.04 renamed it for the 64-bit time_t move).
vips=libvips42
apt-cache show libvips42t64 >/dev/null 2>&1 && vips=libvips42t64
need=()
for p in nginx supervisor "$vips" curl logrotate; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  # Installing nginx starts Debian's nginx.service on port 80; ours runs
  # under supervisord instead. Refuse service starts for the install.
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary, from pictor deploy/install.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if missing=$(ldd "$bin" | grep 'not found'); then
  die "$bin needs libraries this machine lacks (it wants libvips 8.14 or later):
$missing"
fi
if [ $have_systemd = 1 ]; then
  # Nginx runs under our supervisord; Debian's unit would take port 80.
  if systemctl is-enabled --quiet nginx.service 2>/dev/null || systemctl is-active --quiet nginx.service; then
    say "disabling Debian's nginx.service (Nginx runs under supervisord)"
    systemctl disable --now nginx.service
  fi
  # Debian's supervisord only if nothing else uses it.
  if ! compgen -G '/etc/supervisor/conf.d/*.conf' >/dev/null &&
    systemctl is-enabled --quiet supervisor.service 2>/dev/null; then
    say "disabling Debian's unused supervisor.service (Pictor runs its own)"
    systemctl disable --now supervisor.service
  fi
fi

# --- user and directories ---------------------------------------------
if ! getent group pictor >/dev/null; then
  say "creating group pictor"
  groupadd --system pictor
fi
if ! getent passwd pictor >/dev/null; then
  say "creating user pictor"
  useradd --system --gid pictor --home-dir "$data" --no-create-home \
    --shell /usr/sbin/nologin --comment "Pictor image sidecar" pictor
fi
install -d -o pictor -g pictor -m 0750 "$data"
install -d -o root -g adm -m 0750 "$logs"
install -d -o root -g root -m 0755 /var/cache/pictor
install -d -o www-data -g www-data -m 0700 "$ntmp"
install -d -o root -g pictor -m 0750 "$conf"
cat >/etc/security/limits.d/pictor.conf <<'EOF'
# Pictor: descriptors for the sidecar's user outside systemd (a shell as
# pictor); under systemd, LimitNOFILE in pictor.service applies.
pictor soft nofile 65536
pictor hard nofile 65536
EOF

# --- binary -------------------------------------------------------------
changed=0
if ! cmp -s "$bin" /usr/local/bin/pictor; then
  say "installing $bin as /usr/local/bin/pictor"
  install -m 0755 "$bin" /usr/local/bin/pictor.new
  mv -f /usr/local/bin/pictor.new /usr/local/bin/pictor
  changed=1
fi
/usr/local/bin/pictor version >/dev/null || die "/usr/local/bin/pictor does not run"

# --- secrets ------------------------------------------------------------
env=$conf/pictor.env
if [ ! -s "$env" ]; then
  say "generating a signing key and an upload token in $env"
  umask 077
  {
    echo "# Pictor's secrets and tunables; read by systemd (pictor.service)."
    echo "# Several keys rotate: PICTOR_SIGNING_KEYS=k2:new,k1:old (the first signs)."
    echo "PICTOR_SIGNING_KEYS=k1:$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "PICTOR_UPLOAD_TOKENS=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    echo "# PICTOR_MEMORY_CACHE_BYTES=512MiB"
    echo "# PICTOR_DISK_CACHE_BYTES=10GiB"
  } >"$env.tmp"
  mv "$env.tmp" "$env"
  umask 022
fi
chown root:root "$env"
chmod 0600 "$env"

# --- configs ------------------------------------------------------------
# Rendered next to the live ones, compared, and swapped in only if valid.
stage=$(mktemp -d)
bash "$repo/deploy/render.sh" --mode system --conf "$stage" "${render_args[@]}" >/dev/null
chown -R www-data:www-data "$ntmp" # render.sh made its subdirectories as root
# The rendered files name their own directory; make them name the live one.
sed -i "s|$stage|$conf|g" "$stage"/*.conf
for f in "$stage"/*.conf; do
  if ! cmp -s "$f" "$conf/$(basename "$f")"; then
    changed=1
  fi
done
if [ $changed = 1 ] || [ ! -f "$conf/nginx.conf" ]; then
  for f in "$stage"/*.conf; do
    install -m 0644 -o root -g pictor "$f" "$conf/$(basename "$f").new"
  done
  for f in "$stage"/*.conf; do
    mv -f "$conf/$(basename "$f").new" "$conf/$(basename "$f")"
  done
  say "configs written to $conf"
fi
nginx -t -q -c "$conf/nginx.conf" -e stderr || die "nginx -t failed on $conf/nginx.conf"
install -m 0644 "$repo/deploy/logrotate.conf" /etc/logrotate.d/pictor

# --- service ------------------------------------------------------------
if [ $have_systemd = 0 ]; then
  say "no systemd here: start it with"
  say "  set -a; . $env; set +a; supervisord -n -c $conf/supervisord.conf"
  exit 0
fi
unit=/etc/systemd/system/pictor.service
if ! cmp -s "$repo/deploy/pictor.service" "$unit"; then
  install -m 0644 "$repo/deploy/pictor.service" "$unit"
  systemctl daemon-reload
fi
systemctl enable --quiet pictor.service
if ! systemctl is-active --quiet pictor.service; then
  say "starting pictor.service"
  systemctl start pictor.service
elif [ $changed = 1 ]; then
  say "applying: supervisord programs, Nginx reload, sidecar restart (drains)"
  "${ctl[@]}" update >/dev/null
  "${ctl[@]}" signal HUP nginx >/dev/null
  "${ctl[@]}" restart pictor >/dev/null
fi

# --- check --------------------------------------------------------------
listen=$(sed -n 's/^    listen \(.*\);$/\1/p' "$conf/pictor.conf" | head -n1)
case $listen in *:*) url="http://$listen" ;; *) url="http://127.0.0.1:$listen" ;; esac
# A well-formed key nobody uploaded: the sidecar's 404 means both answer.
probe=$url/o/0000000000000000000000000000000000000000000000000000000000000000.jpg
code=''
for _ in $(seq 1 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$probe" || true)
  [ "$code" = 404 ] && break
  sleep 0.2
done
[ "$code" = 404 ] || die "Nginx on $url does not reach the sidecar (last answer $code); see $logs"
say "Pictor is running: $url (status: ${ctl[*]} status)"
