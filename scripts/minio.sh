#!/usr/bin/env bash
# Installs the MinIO server the S3 store's tests start (internal/miniotest),
# only when it is missing: `go install` of a pinned version into
# $GOPATH/bin, which persists between runs. It builds from the Go module
# proxy, about 8 minutes on 2 cores, once per machine. PICTOR_MINIO_BIN, or
# a minio already on PATH, is used instead when present.
set -euo pipefail
version=v0.0.0-20260212201848-7aac2a2c5b7c
go=${GO:-go}
if [ -n "${PICTOR_MINIO_BIN:-}" ]; then
  [ -x "$PICTOR_MINIO_BIN" ] && exit 0
  echo "minio: PICTOR_MINIO_BIN=$PICTOR_MINIO_BIN is not executable" >&2
  exit 1
fi
command -v minio >/dev/null && exit 0
bin="$("$go" env GOPATH | cut -d: -f1)/bin/minio"
[ -x "$bin" ] && exit 0
echo "minio: building github.com/minio/minio@$version into $bin (about 8 minutes, once)"
# Built outside the module so that its dependencies touch nothing here.
cd "$(mktemp -d)"
GOFLAGS=-mod=mod "$go" install "github.com/minio/minio@$version"
[ -x "$bin" ] || { echo "minio: $bin missing after go install" >&2; exit 1; }
