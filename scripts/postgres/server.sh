#!/usr/bin/env bash
# A real PostgreSQL server for the tests: Debian's PostgreSQL 15 (the postgresql
# package, installed with apt-get when missing; its binaries in
# /usr/lib/postgresql/15/bin, or on PATH), a background postgres on 127.0.0.1. It is
# not the system cluster (apt makes one, "15/main" on 5432, and may start it): this one
# is its own cluster under .postgres/ (data, log, Unix socket), made with initdb at the
# first start, on its own port. Its data is kept across stop and start; durability
# settings (fsync, synchronous_commit, full_page_writes) are PostgreSQL's defaults.
#
#   scripts/postgres/server.sh start    install postgresql if needed, initdb once, start, wait until it answers
#   scripts/postgres/server.sh stop     stop it (pg_ctl stop -m fast)
#   scripts/postgres/server.sh status   exit 0 when it answers
#
# After each start there is a role dstream (password dstream-secret, LOGIN, CREATEDB)
# and a database dstream owned by it, reached over TCP from 127.0.0.1 with the
# password (scram-sha-256):
#   postgres://dstream:dstream-secret@127.0.0.1:15432/dstream
# The superuser is the system user who runs the server, through the socket only (peer).
#
# initdb and postgres refuse to run as root: as root, they run as the system user
# postgres (runuser), and the cluster's directory belongs to postgres. That user must
# be able to reach it: when the project's directory is not traversable by postgres
# (a project under /root, say), the cluster is in /tmp/dstream-postgres-PORT instead
# (said at start). A POSTGRES_HOME that postgres cannot reach is an error.
#
# POSTGRES_PORT (default 15432) and POSTGRES_HOME (default .postgres in the project) may be set.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${POSTGRES_PORT:-15432}"
home="${POSTGRES_HOME:-$root/.postgres}"
case "$home" in /*) ;; *) home="$PWD/$home" ;; esac
fallback="/tmp/dstream-postgres-$port"

# as root, the server's own commands run as postgres
as_server () {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

bin=
find_bin () {
  bin=
  if [ -x /usr/lib/postgresql/15/bin/pg_ctl ]; then bin=/usr/lib/postgresql/15/bin
  elif command -v pg_ctl > /dev/null; then bin="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
  else return 1; fi
  local b; for b in initdb pg_ctl postgres psql pg_isready; do [ -x "$bin/$b" ] || { bin=; return 1; }; done
}
find_bin || true

install () {
  [ -n "$bin" ] && return
  echo "postgres: installing postgresql with apt-get"
  local sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  # one apt-get at a time (scripts/mariadb/server.sh may be installing too, .ci/run starts both at once)
  local apt=($sudo env DEBIAN_FRONTEND=noninteractive flock /tmp/dstream-apt.lock apt-get -o DPkg::Lock::Timeout=300)
  "${apt[@]}" install -y postgresql > /dev/null \
    || { "${apt[@]}" update > /dev/null && "${apt[@]}" install -y postgresql > /dev/null; }
  find_bin || { echo "postgres: no pg_ctl in /usr/lib/postgresql/15/bin nor on PATH after installing postgresql" >&2; exit 1; }
}

# As root, where the cluster is: POSTGRES_HOME or .postgres when postgres can reach it, else the fallback.
place () {
  [ "$(id -u)" -eq 0 ] || return 0
  id postgres > /dev/null 2>&1 || { echo "postgres: no system user postgres to run the server as (it comes with the postgresql package)" >&2; exit 1; }
  local parent; parent="$(dirname "$home")"
  if [ -d "$parent" ] && runuser -u postgres -- test -x "$parent" 2>/dev/null; then return; fi
  if [ -n "${POSTGRES_HOME:-}" ]; then
    echo "postgres: POSTGRES_HOME=$home is not reachable by the system user postgres" >&2; exit 1
  fi
  [ "${1:-}" = quiet ] || echo "postgres: $parent is not traversable by the system user postgres; the cluster is in $fallback"
  home="$fallback"
}

data () { echo "$home/data"; }
# the Unix socket's directory: the cluster's own, unless its path would be too long for a socket (107 bytes)
sockets () { if [ "${#home}" -le 90 ]; then echo "$home"; else echo /tmp; fi; }
# over TCP as the tests connect (asked as dstream, and as the superuser through the socket: no "role does not exist" in the log)
answers () { [ -n "$bin" ] && "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U dstream -d dstream -t 2; }
ours () { [ -n "$bin" ] && [ -S "$(sockets)/.s.PGSQL.$port" ] && as_server "$bin/pg_isready" -q -h "$(sockets)" -p "$port" -d postgres -t 2; }
pid () { head -1 "$(data)/postmaster.pid" 2>/dev/null || echo '?'; }

# The role and the database the tests connect as (again at every start: idempotent).
provision () {
  as_server "$bin/psql" -X -q -h "$(sockets)" -p "$port" -d postgres -v ON_ERROR_STOP=1 > /dev/null <<'SQL'
DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'dstream')
  THEN ALTER ROLE dstream LOGIN CREATEDB PASSWORD 'dstream-secret';
  ELSE CREATE ROLE dstream LOGIN CREATEDB PASSWORD 'dstream-secret';
  END IF;
END $$;
SELECT 'CREATE DATABASE dstream OWNER dstream' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'dstream') \gexec
SQL
}

start () {
  install
  mkdir -p "$(dirname "$home")"
  place
  if ours; then provision; fi
  if answers; then echo "postgres: already answering on 127.0.0.1:$port"; return; fi
  mkdir -p "$home"
  [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$home"
  chmod 700 "$home"
  if [ ! -f "$(data)/PG_VERSION" ]; then
    # made aside, then moved in place: an interrupted first start leaves no half-made cluster
    rm -rf "$(data)" "$home/data.new"
    as_server "$bin/initdb" -D "$home/data.new" -E UTF8 --no-locale \
      --auth-local=peer --auth-host=scram-sha-256 > "$home/initdb.log" 2>&1 \
      || { echo "postgres: initdb failed; see $home/initdb.log" >&2; tail -20 "$home/initdb.log" >&2; exit 1; }
    echo "include_if_exists = 'dstream.conf'" >> "$home/data.new/postgresql.conf"
    mv "$home/data.new" "$(data)"
  fi
  # written at every start, so that POSTGRES_PORT and POSTGRES_HOME are the current ones
  as_server tee "$(data)/dstream.conf" > /dev/null <<CONF
# written by scripts/postgres/server.sh at every start
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$(sockets)'
CONF
  # a postmaster.pid left by a killed server whose pid is gone: postgres would take it for a live one if the pid is reused
  if [ -f "$(data)/postmaster.pid" ] && ! kill -0 "$(pid)" 2>/dev/null; then rm -f "$(data)/postmaster.pid"; fi
  if ! as_server "$bin/pg_ctl" -D "$(data)" -l "$home/server.log" -w -t 30 start > "$home/pg_ctl.log" 2>&1; then
    echo "postgres: did not start on 127.0.0.1:$port; see $home/server.log" >&2
    tail -20 "$home/pg_ctl.log" "$home/server.log" >&2 || true
    stop
    exit 1
  fi
  local deadline=$((SECONDS + 30))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ours; then
      provision
      if answers; then echo "postgres: answering on 127.0.0.1:$port (pid $(pid))"; return; fi
    fi
    sleep 0.5
  done
  echo "postgres: no answer on 127.0.0.1:$port after 30 s; see $home/server.log" >&2
  tail -20 "$home/server.log" >&2 || true
  stop
  exit 1
}

stop () {
  [ -n "$bin" ] && [ -f "$(data)/postmaster.pid" ] || return 0
  as_server "$bin/pg_ctl" -D "$(data)" -m fast -w -t 60 stop > /dev/null 2>&1 \
    || as_server "$bin/pg_ctl" -D "$(data)" -m immediate -w -t 30 stop > /dev/null 2>&1 \
    || true
}

case "${1:-}" in
  start) start ;;
  stop) place quiet; stop ;;
  status)
    place quiet
    if answers; then
      if ours; then echo "postgres: answering on 127.0.0.1:$port (pid $(pid))"; else echo "postgres: answering on 127.0.0.1:$port"; fi
    else echo "postgres: no answer on 127.0.0.1:$port"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
