#!/usr/bin/env bash
# Fetches real photos for benchmarks from Debian packages without installing
# them: apt-get download, then dpkg -x. The result is cached under
# ./data/bench-corpus; a second run does nothing.
#
#   photo-3840x2400.jpg  ukui-wallpapers: 2004default.jpg (3840×2400 RGB JPEG)
#   photo-3700x2400.png  ukui-wallpapers: calla.png       (3700×2400 RGBA PNG)
set -euo pipefail
dir=${1:-./data/bench-corpus}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ -s "$dir/photo-3840x2400.jpg" ] && [ -s "$dir/photo-3700x2400.png" ]; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# _apt cannot write into a root-only temp dir; downloading as root is fine here.
if ! apt-get download ukui-wallpapers >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  apt-get download ukui-wallpapers >/dev/null 2>&1
fi
dpkg -x ukui-wallpapers_*.deb x
cp x/usr/share/backgrounds/2004default.jpg "$dir/photo-3840x2400.jpg.tmp"
cp x/usr/share/backgrounds/calla.png "$dir/photo-3700x2400.png.tmp"
mv "$dir/photo-3840x2400.jpg.tmp" "$dir/photo-3840x2400.jpg"
mv "$dir/photo-3700x2400.png.tmp" "$dir/photo-3700x2400.png"
echo "bench corpus in $dir"
