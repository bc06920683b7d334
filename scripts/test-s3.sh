#!/usr/bin/env bash
# Starts a throw-away S3 API (moto's server, from the test requirements) on a free loopback port:
# `scripts/test-s3.sh start DIR` prints its endpoint; `scripts/test-s3.sh stop DIR` stops it.
set -euo pipefail
command=$1
dir=$2
cd "$(dirname "$0")/.."
case "$command" in
  start)
    mkdir -p "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    nohup .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$dir/moto.log" 2>&1 </dev/null &
    echo $! >"$dir/moto.pid"
    for _ in $(seq 100); do
      python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
      sleep 0.2
    done
    echo "http://127.0.0.1:$port"
    ;;
  stop)
    if [ -f "$dir/moto.pid" ]; then kill "$(cat "$dir/moto.pid")" 2>/dev/null || true; fi
    ;;
esac
