#!/usr/bin/env bash
# Starts a single Elasticsearch node on loopback as an unprivileged user, waits until it is
# healthy, and prints its URL. Data persists in $SKYDIVE_ES_HOME between a stop and a start
# (the fault test relies on that); remove the directory for a fresh node.
set -euo pipefail
. "$(dirname "$0")/env.sh"
here="$(cd "$(dirname "$0")" && pwd)"

if [ -s "$ES_PID_FILE" ] && kill -0 "$(cat "$ES_PID_FILE")" 2>/dev/null; then
  echo "es/start: already running (pid $(cat "$ES_PID_FILE"))" >&2; echo "$ES_URL"; exit 0
fi
"$here/fetch.sh" >/dev/null
java_home="$(es_java_home)"
[ -n "$java_home" ] || { echo "es/start: no JDK under /usr/lib/jvm (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then
  id "$ES_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$ES_USER"
  run_as=(runuser -u "$ES_USER" --)
else
  # Already unprivileged: run as ourselves.
  run_as=()
fi

mkdir -p "$ES_HOME_DIR"
if [ ! -x "$ES_DIST/bin/elasticsearch" ]; then
  unzip -q -o "$ES_ZIP" -d "$ES_HOME_DIR"
fi
mkdir -p "$ES_HOME_DIR/data" "$ES_HOME_DIR/logs"
[ "$(id -u)" -eq 0 ] && chown -R "$ES_USER" "$ES_HOME_DIR"

extra=()
# The setting exists only when the security module does; ES refuses unknown settings.
[ -d "$ES_DIST/modules/x-pack-security" ] && extra+=(-E xpack.security.enabled=false)

"${run_as[@]}" env ES_JAVA_HOME="$java_home" ES_JAVA_OPTS="-Xms$ES_HEAP -Xmx$ES_HEAP" \
  "$ES_DIST/bin/elasticsearch" -d -p "$ES_PID_FILE" \
  -E discovery.type=single-node -E network.host=127.0.0.1 -E http.port="$ES_PORT" \
  -E transport.port=0 -E cluster.name="skydive-test-$ES_PORT" \
  -E path.data="$ES_HOME_DIR/data" -E path.logs="$ES_HOME_DIR/logs" \
  -E cluster.routing.allocation.disk.threshold_enabled=false "${extra[@]}" >"$ES_HOME_DIR/start.out" 2>&1

for _ in $(seq 180); do
  if curl -sf "$ES_URL/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; then
    echo "$ES_URL"; exit 0
  fi
  sleep 1
done
echo "es/start: no healthy node at $ES_URL after 180 s; last log lines:" >&2
tail -n 30 "$ES_HOME_DIR/logs/"*.log >&2 2>/dev/null || true
exit 1
