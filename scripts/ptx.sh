#!/usr/bin/env bash
# Regenerates transform/device/kernels/resize.ptx from resize.cu with
# Debian's clang-14 and fails if it differs from the committed file, so the
# embedded PTX is always the one the .cu source produces. Installs clang-14
# (Debian bookworm, main) when it is missing and we are root.
#   scripts/ptx.sh           check (CI, make test)
#   scripts/ptx.sh -w        rewrite the committed PTX after editing resize.cu
set -euo pipefail
cd "$(dirname "$0")/.."
dir=transform/device/kernels
clang=${CLANG:-clang-14}
if ! command -v "$clang" >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "ptx: $clang missing; install Debian's clang-14 (apt-get install clang-14)" >&2
    exit 1
  fi
  echo "ptx: installing clang-14"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang-14 >/dev/null
fi
# sm_80 PTX: the driver JIT-compiles it for the GPU it runs on (sm_80 and
# newer). No CUDA headers or libraries: the kernels use clang builtins.
# -ffp-contract=off: libvips' arithmetic has no fused multiply-adds.
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$clang" -x cuda --cuda-device-only --cuda-gpu-arch=sm_80 -nocudainc -nocudalib \
  -O3 -ffp-contract=off -S "$dir/resize.cu" -o "$tmp"
if [ "${1:-}" = -w ]; then
  cp "$tmp" "$dir/resize.ptx"
  echo "ptx: wrote $dir/resize.ptx"
  exit 0
fi
if ! cmp -s "$tmp" "$dir/resize.ptx"; then
  echo "ptx: $dir/resize.ptx is not what $clang makes of resize.cu; run scripts/ptx.sh -w" >&2
  diff -u "$dir/resize.ptx" "$tmp" | head -40 >&2 || true
  exit 1
fi
echo "ptx: $dir/resize.ptx up to date"
