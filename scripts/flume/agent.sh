#!/usr/bin/env bash
# Real Apache Flume agents for the tests: Flume 1.11.0 (flume-ng-node and what the tests
# configure, its jars from Maven Central with mvn; Java 17), each agent a background JVM
# running org.apache.flume.node.Application on a properties file. Several agents may run
# at once, each under its own NAME (the agent name in the file, `NAME.sources = ...`).
#
#   scripts/flume/agent.sh install          fetch the jars into .flume/lib (once; skipped when there)
#   scripts/flume/agent.sh start NAME CONF  start agent NAME of the file CONF, wait until its sources have started
#   scripts/flume/agent.sh stop NAME        stop it (SIGTERM; SIGKILL after 20 s)
#   scripts/flume/agent.sh status NAME      exit 0 when it runs
#   scripts/flume/agent.sh stop-all         stop every agent under FLUME_HOME
#
# The classpath (.flume/lib, FLUME_LIBS) is flume-ng-node 1.11.0 with its dependencies
# (flume-ng-core: netcat, avro, exec, spooldir, syslog, http sources, avro, file_roll and
# logger sinks, memory channel; flume-ng-node: file channel, hdfs sink), plus
#   org.apache.flume.flume-ng-sources:flume-taildir-source:1.11.0   the TAILDIR source
#   org.apache.flume.flume-ng-sinks:flume-ng-kafka-sink:1.11.0      the Kafka sink (kafka-clients 2.7.2)
#   org.apache.flume.flume-ng-sinks:flume-ng-morphline-solr-sink:1.11.0, its jar alone (no
#     dependencies: no Kite, no Solr), for its UUID interceptor, Flume 1.11 has no other:
#       NAME.sources.SRC.interceptors.i1.type = org.apache.flume.sink.solr.morphline.UUIDInterceptor$Builder
#     (header `id` unless headerName is set; preserveExisting defaults to true)
#   log4j2 2.18.0 (log4j-core, log4j-slf4j-impl, log4j-1.2-api), the binding Flume 1.11 ships with.
# The pom that fetches them is written to a temporary directory; an interrupted fetch
# leaves nothing behind (the jars land in .flume/lib.partial, then are renamed).
#
# An agent's files are in FLUME_HOME/agents/NAME/: pid, agent.log (log4j2, INFO),
# stdout.log (the JVM's own output), log4j2.xml, conf (the path it was started with).
# `start` starts with a fresh agent.log and waits (FLUME_START_TIMEOUT seconds, default 60)
# until the log shows every sink of `NAME.sinks` being started and every source of
# `NAME.sources` started: "Component type: SOURCE, name: SRC started" for the sources that
# have counters (avro, exec, spooldir, taildir, syslog, http...), "Created serverSocket" on
# its port for netcat (which has none), and for the rest (netcatudp, custom ones) a second
# after Flume starts them. If the JVM exits, or Flume drops a component as misconfigured or
# cannot start it (a port in use), it prints the log's tail, stops the agent and exits 1.
# The agent does not poll CONF for changes (--no-reload-conf) unless FLUME_RELOAD_CONF=1.
# Mind that a sink with nothing to do backs off up to 5 s (Flume's SinkRunner, not
# configurable): an event may take that long per hop after a quiet spell.
#
#   FLUME_HOME           where the agents' directories are (default .flume in the project)
#   FLUME_LIBS           the jars (default .flume/lib in the project; shared by every FLUME_HOME)
#   FLUME_HEAP           the agent's -Xmx (default 256m)
#   FLUME_JAVA_OPTS      more JVM options, after the defaults (so they win)
#   FLUME_START_TIMEOUT  seconds start waits (default 60)
#   FLUME_RELOAD_CONF=1  let the agent reload CONF when it changes (Flume's default)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
home="${FLUME_HOME:-$root/.flume}"
libs="${FLUME_LIBS:-$root/.flume/lib}"
version=1.11.0
log4j=2.18.0
heap="${FLUME_HEAP:-256m}"
timeout="${FLUME_START_TIMEOUT:-60}"

# The jars whose presence says the install is done.
installed () {
  local jar
  for jar in flume-ng-node flume-ng-core flume-ng-sdk flume-ng-configuration flume-taildir-source \
             flume-ng-kafka-sink flume-ng-morphline-solr-sink; do
    [ -f "$libs/$jar-$version.jar" ] || return 1
  done
  [ -f "$libs/log4j-core-$log4j.jar" ] && [ -f "$libs/log4j-slf4j-impl-$log4j.jar" ]
}

install () {
  if installed; then echo "flume: $(ls "$libs" | wc -l) jars in $libs"; return; fi
  command -v mvn > /dev/null || { echo "flume: mvn is needed to fetch the jars" >&2; exit 1; }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dstream</groupId>
  <artifactId>flume-agent</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <!-- avro-ipc-netty brings netty-buffer and netty-handler 4.1.68, flume-ng-core netty-all 4.1.72
       (whose other modules come as 4.1.72) and zookeeper netty-transport-native-epoll 4.1.45:
       one netty, the newest, for all -->
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>io.netty</groupId>
        <artifactId>netty-bom</artifactId>
        <version>4.1.72.Final</version>
        <type>pom</type>
        <scope>import</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>org.apache.flume</groupId>
      <artifactId>flume-ng-node</artifactId>
      <version>$version</version>
    </dependency>
    <dependency>
      <groupId>org.apache.flume.flume-ng-sources</groupId>
      <artifactId>flume-taildir-source</artifactId>
      <version>$version</version>
    </dependency>
    <dependency>
      <groupId>org.apache.flume.flume-ng-sinks</groupId>
      <artifactId>flume-ng-kafka-sink</artifactId>
      <version>$version</version>
    </dependency>
    <!-- for org.apache.flume.sink.solr.morphline.UUIDInterceptor only: it needs nothing but Flume -->
    <dependency>
      <groupId>org.apache.flume.flume-ng-sinks</groupId>
      <artifactId>flume-ng-morphline-solr-sink</artifactId>
      <version>$version</version>
      <exclusions>
        <exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>$log4j</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$log4j</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-1.2-api</artifactId>
      <version>$log4j</version>
    </dependency>
  </dependencies>
</project>
POM
  echo "flume: fetching Flume $version from Maven Central into $libs"
  rm -rf "$libs.partial"
  mkdir -p "$libs.partial"
  if ! mvn -q -B -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs.partial" > "$work/mvn.log" 2>&1; then
    echo "flume: mvn failed" >&2; tail -30 "$work/mvn.log" >&2; rm -rf "$libs.partial"; exit 1
  fi
  rm -rf "$libs"
  mv "$libs.partial" "$libs"
  installed || { echo "flume: jars missing after the fetch, in $libs" >&2; exit 1; }
  echo "flume: $(ls "$libs" | wc -l) jars in $libs ($(du -sh "$libs" | cut -f1))"
}

name_ok () {
  [[ "${1:-}" =~ ^[A-Za-z0-9_-]+$ ]] || { echo "flume: an agent name is letters, digits, _ and - (got '${1:-}')" >&2; exit 2; }
}

# The pid of agent $1 when it runs (the pid file's process is that agent's JVM), else nothing.
pid_of () {
  local dir="$home/agents/$1" pid
  [ -f "$dir/pid" ] || return 1
  pid="$(cat "$dir/pid")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "org.apache.flume.node.Application .* -n $1\( \|$\)" || return 1
  echo "$pid"
}

# The value of "NAME.KEY = v1 v2" in the properties file $3 (a key on one line).
property () {
  sed -n "s/^[[:space:]]*$1\.$2[[:space:]]*[=:][[:space:]]*//p" "$3" | tail -1 | tr -s ' \t' '  '
}

start () {
  local name="${1:-}" conf="${2:-}"
  name_ok "$name"
  [ -n "$conf" ] && [ -f "$conf" ] || { echo "flume: no configuration file '$conf'" >&2; exit 2; }
  conf="$(cd "$(dirname "$conf")" && pwd)/$(basename "$conf")"
  installed || { echo "flume: no jars in $libs (run $0 install)" >&2; exit 1; }
  command -v java > /dev/null || { echo "flume: java is needed" >&2; exit 1; }
  local dir="$home/agents/$name" pid
  if pid="$(pid_of "$name")"; then
    if [ "$(cat "$dir/conf" 2>/dev/null)" = "$conf" ]; then echo "flume: agent $name already running (pid $pid)"; return; fi
    echo "flume: agent $name already runs (pid $pid) on $(cat "$dir/conf" 2>/dev/null); stop it first" >&2; exit 1
  fi
  local sources sinks
  sources="$(property "$name" sources "$conf")"
  sinks="$(property "$name" sinks "$conf")"
  [ -n "$sources" ] || { echo "flume: $conf has no '$name.sources = ...'" >&2; exit 2; }
  mkdir -p "$dir"
  rm -f "$dir/pid" "$dir/agent.log" "$dir/stdout.log"
  echo "$conf" > "$dir/conf"
  cat > "$dir/log4j2.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="ERROR">
  <Appenders>
    <File name="file" fileName="$dir/agent.log" append="true">
      <PatternLayout pattern="%d{ISO8601} %-5p [%t] (%C.%M:%L) - %m%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Logger name="org.apache.flume.lifecycle" level="info"/>
    <Logger name="org.jboss" level="warn"/>
    <Logger name="org.apache.avro.ipc.netty.NettyTransceiver" level="warn"/>
    <Logger name="org.apache.hadoop" level="info"/>
    <Logger name="org.apache.kafka" level="warn"/>
    <Root level="info"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
XML
  local t0 reload=--no-reload-conf; t0=$(date +%s%N)
  [ "${FLUME_RELOAD_CONF:-0}" = 1 ] && reload=
  # shellcheck disable=SC2086 # FLUME_JAVA_OPTS is words
  (cd "$dir" && exec nohup java -Xmx"$heap" -XX:+UseSerialGC \
    -Dlog4j.configurationFile="$dir/log4j2.xml" -Dflume.log.dir="$dir" \
    ${FLUME_JAVA_OPTS:-} -cp "$libs/*" org.apache.flume.node.Application -f "$conf" -n "$name" $reload \
    > "$dir/stdout.log" 2>&1 < /dev/null) &
  pid=$!
  echo "$pid" > "$dir/pid"
  local deadline=$((SECONDS + timeout)) missing c type port
  declare -A seen=()
  while :; do
    missing=""
    for c in $sources; do
      # sources with a counter group log it; the netcat source logs its socket; the rest
      # (netcatudp, stress, custom ones) are taken as started a second after Flume starts them
      grep -qF "Component type: SOURCE, name: $c started" "$dir/agent.log" 2>/dev/null && continue
      type="$(property "$name" "sources.$c.type" "$conf")"
      port="$(property "$name" "sources.$c.port" "$conf")"
      if [ "$type" = netcat ] || [ "$type" = org.apache.flume.source.NetcatSource ]; then
        grep -qE "Created serverSocket:.*:$port\]" "$dir/agent.log" 2>/dev/null && continue
      elif grep -qF "Starting Source $c" "$dir/agent.log" 2>/dev/null; then
        [ -n "${seen[$c]:-}" ] || seen[$c]=$(date +%s%N)
        [ $(( ($(date +%s%N) - seen[$c]) / 1000000 )) -ge 1000 ] && continue
      fi
      missing="$missing source $c"
    done
    for c in $sinks; do grep -qF "Starting Sink $c" "$dir/agent.log" 2>/dev/null || missing="$missing sink $c"; done
    if [ -z "$missing" ]; then
      echo "flume: agent $name started in $(( ($(date +%s%N) - t0) / 1000000 )) ms (pid $pid, log $dir/agent.log)"; return
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "flume: agent $name exited; see $dir/agent.log and $dir/stdout.log" >&2
      tail -20 "$dir/stdout.log" >&2 2>/dev/null || true; tail -30 "$dir/agent.log" >&2 2>/dev/null || true
      rm -f "$dir/pid"; exit 1
    fi
    if grep -qE 'has been removed due to an error|Failed to start agent|Unable to start|Could not configure' "$dir/agent.log" 2>/dev/null; then
      echo "flume: agent $name is misconfigured; stopping it (see $dir/agent.log)" >&2
      grep -E ' (ERROR|WARN) ' "$dir/agent.log" | tail -20 >&2 || true
      stop "$name" > /dev/null; exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "flume: agent $name: not started after $timeout s (waiting for$missing); stopping it (see $dir/agent.log)" >&2
      tail -30 "$dir/agent.log" >&2 || true
      stop "$name" > /dev/null; exit 1
    fi
    sleep 0.2
  done
}

stop () {
  local name="${1:-}" pid
  name_ok "$name"
  if pid="$(pid_of "$name")"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then echo "flume: agent $name did not stop in 20 s; killing it" >&2; kill -9 "$pid" 2>/dev/null || true; fi
    echo "flume: agent $name stopped"
  fi
  rm -f "$home/agents/$name/pid"
}

status () {
  local name="${1:-}" pid
  name_ok "$name"
  if pid="$(pid_of "$name")"; then echo "flume: agent $name running (pid $pid)"; else echo "flume: agent $name not running"; return 1; fi
}

stop_all () {
  local pidfile
  for pidfile in "$home"/agents/*/pid; do
    [ -f "$pidfile" ] || continue
    stop "$(basename "$(dirname "$pidfile")")"
  done
}

case "${1:-}" in
  install) install ;;
  start) start "${2:-}" "${3:-}" ;;
  stop) stop "${2:-}" ;;
  status) status "${2:-}" ;;
  stop-all) stop_all ;;
  *) echo "usage: $0 install | start NAME CONF | stop NAME | status NAME | stop-all" >&2; exit 2 ;;
esac
