# SPDX-License-Identifier: Apache-2.0
# Shared by the status and submit tests: a stand-in for the pool's site (tests/tools/
# pool_api_server.py) serving the recorded score documents of tests/fixtures/scores.
# Source after lib.sh.

# The system's Python: the tests must not depend on whatever python3 comes first in PATH.
PYTHON=/usr/bin/python3
API_SERVER="$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)/pool_api_server.py"
SCORES="$POOLJOIN_FIXTURES/scores"
VERSION=$(cat "$POOLJOIN_FIXTURES/../../VERSION")

# Requests must reach the test site directly, whatever the machine's proxy settings are.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

# start_site NAME [--netns NS] [SERVER ARGS...]: starts a test site on an ephemeral port (on
# 127.0.0.1, or as given with --bind), stopped at exit. Sets SITE_PORT and SITE_LOG (one JSON
# line per request: path, query, client address, user agent, time, proxied).
start_site() {
  local name=$1
  shift
  local prefix=()
  if [ "${1:-}" = --netns ]; then
    prefix=(ip netns exec "$2")
    shift 2
  fi
  local port_file="$TEST_TMP/$name.port"
  SITE_LOG="$TEST_TMP/$name.log"
  : >"$SITE_LOG"
  "${prefix[@]}" "$PYTHON" "$API_SERVER" --fixtures "$SCORES" --port-file "$port_file" \
    --log "$SITE_LOG" "$@" 2>"$TEST_TMP/$name.err" &
  local pid=$!
  on_exit kill "$pid"
  local i
  for ((i = 0; i < 100; i++)); do
    [ -s "$port_file" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -s "$port_file" ] || fail "the test site did not start: $(cat "$TEST_TMP/$name.err")"
  SITE_PORT=$(cat "$port_file")
}

# site_requests PATH_PREFIX: the logged requests whose path starts with PATH_PREFIX, as a JSON array.
site_requests() {
  jq -s --arg p "$1" '[.[] | select(.path | startswith($p))]' "$SITE_LOG"
}
