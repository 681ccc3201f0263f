#!/usr/bin/env bash
# Fetches real photos for benchmarks from Debian packages without installing
# them: apt-get download, then dpkg -x. The result is cached under
# ./data/bench-corpus; a second run does nothing. The repository's test
# images are copied beside them, so that one directory is the whole corpus
# (the bench harness uploads it to Pictor, and a peer serves it as its root).
#
#   photo-3840x2400.jpg                ukui-wallpapers: 2004default.jpg (3840×2400 RGB JPEG)
#   photo-3700x2400.png                ukui-wallpapers: calla.png       (3700×2400 RGBA PNG)
#   ukui-the-mouse-3840x2400.jpg       ukui-wallpapers: the-mouse.jpg   (1.4 MB)
#   ukui-firstgeneration-3640x2400.jpg ukui-wallpapers: firstgeneration.jpg
#   ukui-rhythm-3840x2400.jpg          ukui-wallpapers: rhythm.jpg      (8.9 MB, fine detail)
#   ukui-desert-3640x2400.png          ukui-wallpapers: desert.png      (RGBA, flat: 90 KB)
#   gnome-wood-d-4096x4096.webp        gnome-backgrounds: gnome/wood-d.webp
#   gnome-licorice-l-4096x4096.webp    gnome-backgrounds: gnome/licorice-l.webp
#   testdata-sample-1200x800.jpg       testdata/sample.jpg
#   testdata-alpha-300x200.png         testdata/alpha.png
#
# gnome-backgrounds in bookworm ships WebP and SVG only; Pictor refuses SVG,
# so only WebP is taken from it. The first two names are fixed: other
# benchmarks (transform, e2e, the GPU tests) read them.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-./data/bench-corpus}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# package  path in the package  name in the corpus
files=(
  ukui-wallpapers usr/share/backgrounds/2004default.jpg photo-3840x2400.jpg
  ukui-wallpapers usr/share/backgrounds/calla.png photo-3700x2400.png
  ukui-wallpapers usr/share/backgrounds/the-mouse.jpg ukui-the-mouse-3840x2400.jpg
  ukui-wallpapers usr/share/backgrounds/firstgeneration.jpg ukui-firstgeneration-3640x2400.jpg
  ukui-wallpapers usr/share/backgrounds/rhythm.jpg ukui-rhythm-3840x2400.jpg
  ukui-wallpapers usr/share/backgrounds/desert.png ukui-desert-3640x2400.png
  gnome-backgrounds usr/share/backgrounds/gnome/wood-d.webp gnome-wood-d-4096x4096.webp
  gnome-backgrounds usr/share/backgrounds/gnome/licorice-l.webp gnome-licorice-l-4096x4096.webp
)

# Copies a file into the corpus under its name, atomically.
put() {
  cp "$1" "$dir/$2.tmp"
  mv "$dir/$2.tmp" "$dir/$2"
}

cp_testdata() {
  [ -s "$dir/$2" ] || put "$repo/testdata/$1" "$2"
}
cp_testdata sample.jpg testdata-sample-1200x800.jpg
cp_testdata alpha.png testdata-alpha-300x200.png

missing=()
for ((i = 0; i < ${#files[@]}; i += 3)); do
  [ -s "$dir/${files[i + 2]}" ] || missing+=("${files[i]}")
done
[ ${#missing[@]} -gt 0 ] || exit 0
mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# _apt cannot write into a root-only temp dir; downloading as root is fine here.
if ! apt-get download "${pkgs[@]}" >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  apt-get download "${pkgs[@]}" >/dev/null 2>&1 || {
    echo "fetch-corpus: apt-get download ${pkgs[*]} failed" >&2
    exit 1
  }
fi
for p in "${pkgs[@]}"; do
  dpkg -x "$p"_*.deb "x-$p"
done
for ((i = 0; i < ${#files[@]}; i += 3)); do
  pkg=${files[i]} src=${files[i + 1]} name=${files[i + 2]}
  [ -s "$dir/$name" ] && continue
  [ -f "x-$pkg/$src" ] || { echo "fetch-corpus: $pkg has no $src" >&2; exit 1; }
  put "x-$pkg/$src" "$name"
done
echo "bench corpus in $dir"
