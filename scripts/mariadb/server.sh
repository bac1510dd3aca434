#!/usr/bin/env bash
# A real MariaDB server for the tests: Debian's mariadb-server (10.11 on Debian 12,
# installed with apt-get when missing), a background mariadbd on 127.0.0.1. It is not
# the system service (apt may start one on 3306, or not at all in a container): this
# one reads no my.cnf (--no-defaults) and has its own data directory, socket, pid file
# and log under .mariadb/, made with mariadb-install-db at the first start. Its data
# is kept across stop and start; durability settings are MariaDB's defaults.
#
#   scripts/mariadb/server.sh start    install mariadb-server if needed, start, wait until it answers
#   scripts/mariadb/server.sh stop     shut it down cleanly (mariadb-admin shutdown), else kill it
#   scripts/mariadb/server.sh status   exit 0 when it answers
#
# After each start there is a database dstream and a user dstream (password
# dstream-secret, from 127.0.0.1 over TCP, or through the socket) with all privileges
# on dstream.* and on every database whose name starts with dstream (`dstream%`.*),
# so that a test may create and drop a database of its own:
#   mysql://dstream:dstream-secret@127.0.0.1:13306/dstream
# The administrator is the system user who ran the first start (root, in CI), through
# the socket only (unix_socket authentication). mariadbd refuses to run as root unless
# told to: it is given --user=root then.
#
# MARIADB_PORT (default 13306) and MARIADB_HOME (default .mariadb in the project) may be set.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
home="${MARIADB_HOME:-$root/.mariadb}"
case "$home" in /*) ;; *) home="$PWD/$home" ;; esac
port="${MARIADB_PORT:-13306}"
me="$(id -un)"
sock="$home/mariadb.sock"
# a Unix socket's path has at most 107 bytes
[ "${#sock}" -le 100 ] || sock="/tmp/dstream-mariadb-$port.sock"

# over TCP as the tests connect (a server without the user dstream refuses 127.0.0.1: no answer)
answers () { timeout 5 mariadb-admin --no-defaults --protocol=tcp -h 127.0.0.1 -P "$port" -u dstream -pdstream-secret --connect-timeout=2 ping > /dev/null 2>&1; }
# through this server's own socket, as its administrator
ours () { [ -S "$sock" ] && timeout 5 mariadb-admin --no-defaults --socket="$sock" -u "$me" --connect-timeout=2 ping > /dev/null 2>&1; }
pid () { cat "$home/pid" 2>/dev/null || echo '?'; }

install () {
  command -v mariadbd > /dev/null && command -v mariadb-install-db > /dev/null \
    && command -v mariadb-admin > /dev/null && command -v mariadb > /dev/null && return
  echo "mariadb: installing mariadb-server with apt-get"
  local sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  # one apt-get at a time (scripts/postgres/server.sh may be installing too, .ci/run starts both at once)
  local apt=($sudo env DEBIAN_FRONTEND=noninteractive flock /tmp/dstream-apt.lock apt-get -o DPkg::Lock::Timeout=300)
  "${apt[@]}" install -y mariadb-server > /dev/null \
    || { "${apt[@]}" update > /dev/null && "${apt[@]}" install -y mariadb-server > /dev/null; }
}

# The database and the user the tests connect as (again at every start: idempotent).
provision () {
  mariadb --no-defaults --socket="$sock" -u "$me" <<'SQL'
CREATE DATABASE IF NOT EXISTS dstream CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
CREATE USER IF NOT EXISTS 'dstream'@'127.0.0.1' IDENTIFIED BY 'dstream-secret';
CREATE USER IF NOT EXISTS 'dstream'@'localhost' IDENTIFIED BY 'dstream-secret';
ALTER USER 'dstream'@'127.0.0.1' IDENTIFIED BY 'dstream-secret';
ALTER USER 'dstream'@'localhost' IDENTIFIED BY 'dstream-secret';
GRANT ALL PRIVILEGES ON `dstream`.* TO 'dstream'@'127.0.0.1', 'dstream'@'localhost';
GRANT ALL PRIVILEGES ON `dstream%`.* TO 'dstream'@'127.0.0.1', 'dstream'@'localhost';
SQL
}

start () {
  install
  if ours; then provision; fi
  if answers; then
    echo "mariadb: already answering on 127.0.0.1:$port"; return
  fi
  mkdir -p "$home"
  if [ ! -d "$home/data/mysql" ]; then
    # made aside, then moved in place: an interrupted first start leaves no half-made data directory
    rm -rf "$home/data" "$home/data.new"
    mariadb-install-db --no-defaults --user="$me" --datadir="$home/data.new" \
      --auth-root-authentication-method=socket --skip-test-db > "$home/install.log" 2>&1 \
      || { echo "mariadb: mariadb-install-db failed; see $home/install.log" >&2; tail -20 "$home/install.log" >&2; exit 1; }
    mv "$home/data.new" "$home/data"
  fi
  rm -f "$home/pid" "$sock"
  nohup mariadbd --no-defaults --user="$me" --datadir="$home/data" \
    --bind-address=127.0.0.1 --port="$port" --socket="$sock" --skip-name-resolve \
    --pid-file="$home/pid" --log-error="$home/server.log" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    > "$home/stdout.log" 2>&1 < /dev/null &
  local launched=$!
  local deadline=$((SECONDS + 30))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ours; then
      provision
      if answers; then echo "mariadb: answering on 127.0.0.1:$port (pid $(pid))"; return; fi
    fi
    if ! kill -0 "$launched" 2>/dev/null; then
      echo "mariadb: the server exited; see $home/server.log" >&2
      tail -20 "$home/server.log" "$home/stdout.log" >&2 || true; rm -f "$home/pid"; exit 1
    fi
    sleep 0.5
  done
  echo "mariadb: no answer on 127.0.0.1:$port after 30 s; see $home/server.log" >&2
  tail -20 "$home/server.log" >&2 || true
  stop
  exit 1
}

stop () {
  local pid=
  [ -f "$home/pid" ] && pid="$(cat "$home/pid")"
  if command -v mariadb-admin > /dev/null && ours; then
    # waits until the server has gone
    timeout 60 mariadb-admin --no-defaults --socket="$sock" -u "$me" shutdown > /dev/null 2>&1 || true
  fi
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$home/pid"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    if command -v mariadb-admin > /dev/null && answers; then
      if ours; then echo "mariadb: answering on 127.0.0.1:$port (pid $(pid))"; else echo "mariadb: answering on 127.0.0.1:$port"; fi
    else echo "mariadb: no answer on 127.0.0.1:$port"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
