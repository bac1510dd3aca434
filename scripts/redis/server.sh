#!/usr/bin/env bash
# A real Redis server for the tests: Debian's redis-server (7.0 on Debian 12,
# installed with apt-get when missing), a background daemon on 127.0.0.1, no
# persistence (no RDB snapshots, no AOF). It is not the system service apt may
# start on 6379: this one has its own port, pid file and log under .redis/.
#
#   scripts/redis/server.sh start    install redis-server if needed, start, wait until it answers PONG
#   scripts/redis/server.sh stop     shut it down (nothing is saved)
#   scripts/redis/server.sh status   exit 0 when it answers
#
# REDIS_PORT (default 16379) and REDIS_HOME (default .redis in the project) may be set.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
home="${REDIS_HOME:-$root/.redis}"
port="${REDIS_PORT:-16379}"

answers () { [ "$(timeout 2 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; }

install () {
  command -v redis-server > /dev/null && command -v redis-cli > /dev/null && return
  echo "redis: installing redis-server with apt-get"
  local sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y redis-server > /dev/null \
    || { $sudo apt-get update > /dev/null && $sudo apt-get install -y redis-server > /dev/null; }
}

start () {
  install
  if answers; then echo "redis: already answering on 127.0.0.1:$port"; return; fi
  mkdir -p "$home"
  rm -f "$home/pid"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" \
    --save '' --appendonly no --dir "$home" \
    --pidfile "$home/pid" --logfile "$home/server.log"
  local deadline=$((SECONDS + 20))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if answers; then echo "redis: answering on 127.0.0.1:$port (pid $(cat "$home/pid" 2>/dev/null || echo '?'))"; return; fi
    if [ -f "$home/pid" ] && ! kill -0 "$(cat "$home/pid")" 2>/dev/null; then
      echo "redis: the server exited; see $home/server.log" >&2; tail -20 "$home/server.log" >&2 || true; rm -f "$home/pid"; exit 1
    fi
    sleep 0.5
  done
  echo "redis: no answer on 127.0.0.1:$port after 20 s; see $home/server.log" >&2
  tail -20 "$home/server.log" >&2 || true
  exit 1
}

stop () {
  local pid=
  [ -f "$home/pid" ] && pid="$(cat "$home/pid")"
  if command -v redis-cli > /dev/null && answers; then
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave > /dev/null 2>&1 || true
  elif [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
  fi
  if [ -n "$pid" ]; then
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  else
    for _ in $(seq 1 40); do answers || break; sleep 0.5; done
  fi
  rm -f "$home/pid"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    if command -v redis-cli > /dev/null && answers; then echo "redis: answering on 127.0.0.1:$port"
    else echo "redis: no answer on 127.0.0.1:$port"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
