#!/usr/bin/env bash
# make bench-queue: builds the Swift side in release mode, starts its own Redis, runs bench/queue/run.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/install-test-deps.sh
./scripts/setup.sh >/dev/null
swift build -c release --product queue-bench 2>&1 | { grep -E "error|Build complete" || true; } | tail -1
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir"
trap 'kill "$(cat "$dir/redis.pid")" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
.venv/bin/python bench/queue/run.py "redis://127.0.0.1:$port" "$(cat "$dir/redis.pid")"
