#!/usr/bin/env bash
# Stops the node started by start.sh (same SKYDIVE_ES_HOME) and waits until it has exited.
set -euo pipefail
. "$(dirname "$0")/env.sh"
[ -s "$ES_PID_FILE" ] || exit 0
pid="$(cat "$ES_PID_FILE")"
if kill -0 "$pid" 2>/dev/null; then
  kill "$pid"
  for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  # A node that ignores SIGTERM for a minute is stuck; the tests need it gone.
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
fi
rm -f "$ES_PID_FILE"
