#!/usr/bin/env bash
# Starts a throw-away redis-server on a free loopback port: `scripts/test-redis.sh start DIR [PORT]` prints
# its URL; `scripts/test-redis.sh stop DIR` stops it. Data lives in DIR (AOF on, as production should be).
set -euo pipefail
command=$1
dir=$2
case "$command" in
  start)
    mkdir -p "$dir"
    port=${3:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
    redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --appendonly yes --save "" \
      --maxmemory-policy noeviction --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    for _ in $(seq 50); do
      redis-cli -p "$port" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
    echo "redis://127.0.0.1:$port"
    ;;
  stop)
    if [ -f "$dir/redis.pid" ]; then
      pid=$(cat "$dir/redis.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    ;;
esac
