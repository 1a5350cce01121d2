#!/usr/bin/env bash
# Downloads Elasticsearch's integ-test distribution (a runnable node without a bundled JDK)
# from Maven Central into the cache, once.
set -euo pipefail
. "$(dirname "$0")/env.sh"
if [ -s "$ES_ZIP" ]; then echo "$ES_ZIP"; exit 0; fi
command -v mvn >/dev/null || { echo "es/fetch: mvn is not installed (apt-get install maven)" >&2; exit 1; }
mkdir -p "$ES_CACHE"
mvn -B -q dependency:copy \
  -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
  -DoutputDirectory="$ES_CACHE" >&2
[ -s "$ES_ZIP" ] || { echo "es/fetch: $ES_ZIP was not written" >&2; exit 1; }
echo "$ES_ZIP"
