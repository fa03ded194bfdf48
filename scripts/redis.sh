#!/usr/bin/env bash
# A throwaway Redis on loopback for the tests: installs Debian's package if needed, then `start` prints the
# OUTREACH_REDIS_URL of a running server (no persistence). `stop` stops it.
set -euo pipefail
PORT=${OUTREACH_REDIS_PORT:-63799}
DIR=${OUTREACH_REDIS_DIR:-/tmp/outreach-redis-$PORT}
say() { printf '[redis] %s\n' "$*" >&2; }

case "${1:-start}" in
  start)
    if ! command -v redis-server >/dev/null; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing Redis from Debian packages"
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
      fi
      command -v redis-server >/dev/null || { say "Redis is not installed (apt-get install redis-server)"; exit 1; }
    fi
    mkdir -p "$DIR"
    if ! redis-cli -p "$PORT" ping >/dev/null 2>&1; then
      redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --dir "$DIR" --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" >/dev/null
      for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
      redis-cli -p "$PORT" ping >/dev/null || { say "Redis did not start (see $DIR/redis.log)"; exit 1; }
    fi
    echo "redis://127.0.0.1:$PORT/0"
    ;;
  stop)
    redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
