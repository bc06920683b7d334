#!/usr/bin/env bash
# bench/multipart/run.sh [MB]: our multipart parser and multipart-kit's on the same upload (500 MB by default),
# three runs each, alternating; prints time and peak memory per run.
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release 2>&1 | { grep -E "error|Build complete" || true; } | tail -1
binary="$(swift build -c release --show-bin-path)/MultipartBench"
for _ in 1 2 3; do
  "$binary" ours "${1:-500}"
  "$binary" multipart-kit "${1:-500}"
done
# A hostile part header that never ends (200 MB): ours refuses it at 16 KB; how much does each hold?
"$binary" header-flood-ours 200
"$binary" header-flood-multipart-kit 200
