#!/usr/bin/env bash
# Make sure a Redis is reachable at $REDIS_URL (default redis://127.0.0.1:6379/0).
#   --install   start a local redis-server, installing it with apt-get when missing (make test)
#   --optional  start one if installed; otherwise warn and go on without Redis (make demo)
set -u
mode=${1:---optional}
PY=${PY:-python3}
url=${REDIS_URL:-redis://127.0.0.1:6379/0}

reachable() {
  "$PY" - "$url" <<'PYEOF' >/dev/null 2>&1
import sys, redis
sys.exit(0 if redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping() else 1)
PYEOF
}

wait_up() {
  for _ in $(seq 1 50); do reachable && return 0; sleep 0.1; done
  return 1
}

if reachable; then echo "redis: reachable at $url"; exit 0; fi
if [ -n "${REDIS_URL:-}" ]; then
  echo "redis: REDIS_URL=$url is not reachable" >&2
  [ "$mode" = "--optional" ] && exit 0 || exit 1
fi
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$mode" = "--install" ]; then
    echo "redis: redis-server missing; installing it with apt-get"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
  else
    echo "redis: no Redis at $url and redis-server is not installed: the demo runs WITHOUT Redis" >&2
    exit 0
  fi
fi
echo "redis: starting a local redis-server on 127.0.0.1:6379"
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
  --dir /tmp --logfile /tmp/liqcascade-redis.log
if wait_up; then echo "redis: up"; exit 0; fi
echo "redis: could not start redis-server (see /tmp/liqcascade-redis.log)" >&2
[ "$mode" = "--optional" ] && exit 0 || exit 1
