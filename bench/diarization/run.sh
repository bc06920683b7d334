#!/usr/bin/env bash
# make bench-diarization: the server as `make test` builds it (the engine, in Python, does the work being measured),
# the diarization model (make setup-diarization), then bench/diarization/bench.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/install-test-deps.sh
./scripts/setup.sh >/dev/null
./scripts/setup-diarization.sh
.venv/bin/python bench/diarization/bench.py
