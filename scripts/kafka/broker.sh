#!/usr/bin/env bash
# A real Apache Kafka broker for the tests: Kafka 3.9.x (kafka_2.13, its jars from
# Maven Central with mvn; Java 17), KRaft mode, one combined broker and controller
# on 127.0.0.1, replication factors of 1. Kafka 4.x breaks kafkajs's consumer
# groups, so this stays on 3.9.x.
#
#   scripts/kafka/broker.sh start    fetch the jars if needed, format, start, wait until it answers
#   scripts/kafka/broker.sh stop     stop it (and forget its data, unless KAFKA_KEEP_DATA=1)
#   scripts/kafka/broker.sh status   exit 0 when it answers
#
# A second, independent broker (the tests start one to stop and restart it) runs with
#   KAFKA_HOME             its data, configuration, logs and pid (default .kafka in the project)
#   KAFKA_PORT             its listener (default 19092)
#   KAFKA_CONTROLLER_PORT  its KRaft controller (default KAFKA_PORT + 1)
#   KAFKA_KEEP_DATA=1      stop keeps the data, and start starts on it when there is some
#                          (a restart of the same broker, topics and offsets and all)
#   KAFKA_SASL_PORT        a SASL_PLAINTEXT listener (default KAFKA_PORT + 2; empty: none)
#   KAFKA_SSL_PORT         an SSL listener (default KAFKA_PORT + 3; empty: none)
# The SASL listener takes PLAIN and SCRAM-SHA-256, both for the user dstream with the
# password dstream-secret. The SSL listener's certificate is self-signed for
# 127.0.0.1, made with Java's keytool at the first start: KAFKA_HOME/tls/ca.pem is
# what a client trusts (NODE_EXTRA_CA_CERTS). They are there for the tests of the
# client side of SASL and TLS; the tests themselves use PLAINTEXT.
# The jars are shared by every broker: .kafka/libs in the project (KAFKA_LIBS), fetched once.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
home="${KAFKA_HOME:-$root/.kafka}"
libs="${KAFKA_LIBS:-$root/.kafka/libs}"
port="${KAFKA_PORT:-19092}"
controller="${KAFKA_CONTROLLER_PORT:-$((port + 1))}"
keep="${KAFKA_KEEP_DATA:-0}"
sasl_port="${KAFKA_SASL_PORT-$((port + 2))}"
ssl_port="${KAFKA_SSL_PORT-$((port + 3))}"

answers () { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

fetch () {
  [ -n "$(ls "$libs"/kafka_2.13-3.9.*.jar 2>/dev/null)" ] && return
  mkdir -p "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$libs"
}

# A self-signed certificate for 127.0.0.1 (the SSL listener's), once: KAFKA_HOME/tls.
certificate () {
  [ -f "$home/tls/ca.pem" ] && return
  mkdir -p "$home/tls"
  rm -f "$home/tls/broker.p12"
  keytool -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 3650 -dname CN=127.0.0.1 -ext SAN=ip:127.0.0.1 \
    -keystore "$home/tls/broker.p12" -storetype PKCS12 -storepass dstream -keypass dstream > /dev/null 2>&1
  keytool -exportcert -rfc -alias broker -keystore "$home/tls/broker.p12" -storepass dstream > "$home/tls/ca.pem.new" 2>/dev/null
  mv "$home/tls/ca.pem.new" "$home/tls/ca.pem"
}

start () {
  if answers; then echo "kafka: already answering on 127.0.0.1:$port"; return; fi
  fetch
  local restart=0
  if [ "$keep" = 1 ] && [ -f "$home/data/meta.properties" ]; then restart=1; else rm -rf "$home/data"; fi
  mkdir -p "$home/data"
  local listeners="PLAINTEXT://127.0.0.1:$port" secure="" scram=()
  if [ -n "$sasl_port" ]; then
    listeners="$listeners,SASL_PLAINTEXT://127.0.0.1:$sasl_port"
    secure="$secure
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_dstream=\"dstream-secret\";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
    # KRaft keeps SCRAM credentials in its metadata: they are written when the storage is formatted
    scram=(--add-scram 'SCRAM-SHA-256=[name=dstream,password=dstream-secret]')
  fi
  if [ -n "$ssl_port" ]; then
    certificate
    listeners="$listeners,SSL://127.0.0.1:$ssl_port"
    secure="$secure
ssl.keystore.type=PKCS12
ssl.keystore.location=$home/tls/broker.p12
ssl.keystore.password=dstream
ssl.key.password=dstream"
  fi
  cat > "$home/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=$listeners,CONTROLLER://127.0.0.1:$controller
advertised.listeners=$listeners
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL
inter.broker.listener.name=PLAINTEXT$secure
log.dirs=$home/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPS
  cat > "$home/log4j.properties" <<PROPS
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$home/broker.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS
  local cp="$libs/*"
  local log4j="-Dlog4j.configuration=file:$home/log4j.properties"
  [ "$restart" = 1 ] || java "$log4j" -cp "$cp" kafka.tools.StorageTool format -t "$(java "$log4j" -cp "$cp" kafka.tools.StorageTool random-uuid)" -c "$home/server.properties" "${scram[@]}" > "$home/format.log"
  nohup java -Xmx512m -Dlog4j.configuration="file:$home/log4j.properties" -cp "$cp" kafka.Kafka "$home/server.properties" > "$home/stdout.log" 2>&1 &
  echo $! > "$home/pid"
  for _ in $(seq 1 120); do
    if answers; then echo "kafka: answering on 127.0.0.1:$port (pid $(cat "$home/pid"))"; return; fi
    if ! kill -0 "$(cat "$home/pid")" 2>/dev/null; then echo "kafka: the broker exited; see $home/stdout.log" >&2; tail -20 "$home/stdout.log" >&2; exit 1; fi
    sleep 0.5
  done
  echo "kafka: no answer on 127.0.0.1:$port after 60 s; see $home/broker.log" >&2
  exit 1
}

stop () {
  if [ -f "$home/pid" ]; then
    local pid; pid="$(cat "$home/pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$home/pid"
  fi
  [ "$keep" = 1 ] || rm -rf "$home/data"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) answers ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
