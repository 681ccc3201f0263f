#!/usr/bin/env bash
# Installs what building, running and testing Pictor needs on Debian
# bookworm, only when it is missing: libvips (with libheif for AVIF),
# pkg-config, g++ and clang-14 for the GPU kernels, the ICC profiles the
# colour tests read (libgs-common), and the
# real stack that `make run` and the end-to-end tests start: nginx and
# supervisor (and logrotate, for the install script's test), Chromium
# for the bench report's test, Node with npm for the tus client that the
# resumable-upload tests drive, heif-enc (libheif-examples) for the HEIC
# tests and djxl (libjxl-tools) for the JPEG XL one. Extra package names may be given as
# arguments.
set -euo pipefail
need=()
pkg-config --exists 'vips >= 8.14' 2>/dev/null || need+=(libvips-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
# libpng and libjpeg's own headers: the resize engine's decoders and the
# JPEG writer call them directly (libvips-dev pulls both in; said here
# because Pictor's code needs them, not only libvips).
pkg-config --exists libpng 2>/dev/null || need+=(libpng-dev)
[ -f /usr/include/jpeglib.h ] || need+=(libjpeg62-turbo-dev)
command -v gcc >/dev/null || need+=(gcc)
# The GPU kernels: built as C++ on the host for their tests (cgo), and to
# PTX by clang-14 for the check that the committed PTX is current.
command -v g++ >/dev/null || need+=(g++)
command -v clang-14 >/dev/null || need+=(clang-14)
command -v curl >/dev/null || need+=(curl)
# ICC profiles (Adobe RGB, sRGB) the colour-conversion tests read.
[ -f /usr/share/color/icc/ghostscript/a98.icc ] || need+=(libgs-common)
# The fonts text layers (l_text:) render with: DejaVu Sans, Serif and Mono
# (the default), and WenQuanYi Micro Hei for Chinese, Japanese and Korean.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
# The stack: Debian's nginx package is the core build (proxy, gzip,
# limit_req, limit_conn, upstream hash and keepalive are all built in).
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || need+=(nginx)
command -v supervisord >/dev/null || need+=(supervisor)
# deploy/install.sh installs logrotate on a VM; its test runs the script
# here, in a throwaway overlay, and should not need the network for it.
command -v logrotate >/dev/null || need+=(logrotate)
# The bench report's end-to-end test renders the HTML report in headless
# Chromium and checks the charts it painted.
command -v chromium >/dev/null || need+=(chromium)
# The resumable-upload tests run the tus project's own client,
# tus-js-client (pinned in e2e/tusclient/package-lock.json, installed there
# by the tests with npm ci), under Node 18 or later: Debian's nodejs and npm.
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
# HEIC tests make their files with heif-enc from the test fixtures; the
# JPEG XL test decodes Pictor's output with libjxl's own djxl.
command -v heif-enc >/dev/null || need+=(libheif-examples)
command -v djxl >/dev/null || need+=(libjxl-tools)
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
# Installing nginx or supervisor would start Debian's own services (nginx on
# port 80, a system supervisord). Pictor runs its own instances under
# supervisord, so service starts are refused for the length of the install
# with the standard policy-rc.d hook, unless the machine already has one.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# temporary, from pictor scripts/deps.sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
