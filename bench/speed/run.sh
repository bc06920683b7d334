#!/usr/bin/env bash
# make bench: builds whisperapi as `make run` does (release), installs wrk and faster-whisper-server 0.0.3 (in its own
# virtualenv, .venv-peer), starts a Redis of its own, and runs bench/speed/bench.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/install-test-deps.sh
if ! command -v wrk >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq wrk >/dev/null 2>&1 || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null; }
fi
./scripts/setup.sh release >/dev/null
if [ ! -x .venv-peer/bin/python ] || ! .venv-peer/bin/python -c "import faster_whisper_server" 2>/dev/null; then
  echo "==> faster-whisper-server 0.0.3 in .venv-peer"
  python3 -m venv .venv-peer
  # The same engine versions as ours (requirements/engine.txt), so only the server differs.
  .venv-peer/bin/pip install -q faster-whisper-server==0.0.3 -r requirements/engine.txt
fi
dir=$(mktemp -d)
url=$(./scripts/test-redis.sh start "$dir")
trap './scripts/test-redis.sh stop "$dir"; rm -rf "$dir"' EXIT
.venv/bin/python bench/speed/bench.py "$url"
