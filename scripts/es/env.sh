# Settings shared by the Elasticsearch test-node scripts (sourced, not run).
# Every value can be overridden from the environment.

# 8.x runs on the machine's OpenJDK 17; 9.x would need Java 21 or later.
ES_VERSION="${SKYDIVE_ES_VERSION:-8.19.9}"
# The downloaded zip is kept here across runs (Maven's own cache also keeps a copy).
ES_CACHE="${SKYDIVE_ES_CACHE:-$HOME/.cache/skydive-ts/elasticsearch}"
# The node's installation, data, logs and pid file; owned by ES_USER.
ES_HOME_DIR="${SKYDIVE_ES_HOME:-/tmp/skydive-es}"
ES_PORT="${SKYDIVE_ES_PORT:-9250}"
# Elasticsearch refuses to run as root.
ES_USER="${SKYDIVE_ES_USER:-skydive-es}"
ES_HEAP="${SKYDIVE_ES_HEAP:-512m}"
ES_ZIP="$ES_CACHE/elasticsearch-$ES_VERSION.zip"
ES_DIST="$ES_HOME_DIR/elasticsearch-$ES_VERSION"
ES_PID_FILE="$ES_HOME_DIR/es.pid"
ES_URL="http://127.0.0.1:$ES_PORT"

# The first JDK 17 (or newer) found, unless ES_JAVA_HOME is set.
es_java_home() {
  if [ -n "${ES_JAVA_HOME:-}" ]; then echo "$ES_JAVA_HOME"; return; fi
  local d
  for d in /usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/*17* /usr/lib/jvm/*; do
    [ -x "$d/bin/java" ] && { echo "$d"; return; }
  done
}
