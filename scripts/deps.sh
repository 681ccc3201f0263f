#!/usr/bin/env bash
# Installs what building and testing Pictor needs on Debian bookworm, only
# when it is missing: libvips (with libheif for AVIF), pkg-config, and the
# ICC profiles the colour tests read (libgs-common).
set -euo pipefail
need=()
pkg-config --exists 'vips >= 8.14' 2>/dev/null || need+=(libvips-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v gcc >/dev/null || need+=(gcc)
command -v curl >/dev/null || need+=(curl)
# ICC profiles (Adobe RGB, sRGB) the colour-conversion tests read.
[ -f /usr/share/color/icc/ghostscript/a98.icc ] || need+=(libgs-common)
for p in "$@"; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing ${need[*]}; run as root or install them with apt-get" >&2
  exit 1
fi
echo "deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
