#!/usr/bin/env bash
# `pooljoin status` against a stand-in for the pool's site on loopback: recorded score
# documents and their figures, charts, malformed answers, redirects, TLS, proxies, validation.
# The slow cases (retries, timeouts, rate limits, --watch) are in status_faults_test.sh.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pool_site.sh"

start_site plain
BASE="http://127.0.0.1:$SITE_PORT"

# fixture_jq FILE FILTER: a jq filter applied to a recorded score document.
fixture_jq() { jq -r "$2" "$SCORES/$1"; }

# Both sides in one order: by time, then monitor (the API answers newest first).
normalise_history='sort_by([.ts, .monitor_id]) | map({ts, offset, step, score, monitor_id, rtt})'
normalise_monitors='sort_by(.id) | map({id, name, type, status, score, avg_rtt, ts})'

test_healthy_server_figures_equal_the_fixture() {
  pj 0 --json --api-base "$BASE" status 185.255.0.1
  assert_eq "$(jqr '.addresses | length')" 1
  assert_eq "$(jqr '.addresses[0] | [keys[]] | join(",")')" \
    "address,history,in_pool,known,monitors,page,score,score_source"
  assert_eq "$(jqr '.addresses[0].address')" "185.255.0.1"
  assert_eq "$(jqr '.addresses[0].known')" "true"
  # The overall score is recentmedian's newest point, raw.
  assert_eq "$(jqr '.addresses[0].score')" \
    "$(fixture_jq healthy.json '(.monitors[] | select(.name == "recentmedian") | .id) as $id |
      [.history[] | select(.monitor_id == $id)] | max_by(.ts) | .score')"
  assert_eq "$(jqr '.addresses[0].score_source')" recentmedian
  assert_eq "$(jqr '.addresses[0].page')" "$BASE/scores/185.255.0.1"
  assert_eq "$(jqr '.addresses[0].in_pool')" "true"
  assert_eq "$(jq -c ".addresses[0].history | $normalise_history" <<<"$OUT")" \
    "$(jq -c ".history | $normalise_history" "$SCORES/healthy.json")"
  assert_eq "$(jq -c ".addresses[0].monitors | $normalise_monitors" <<<"$OUT")" \
    "$(jq -c ".monitors | $normalise_monitors" "$SCORES/healthy.json")"
}

test_human_output_shows_the_fixture_figures() {
  pj 0 --api-base "$BASE" status 185.255.0.1
  assert_contains "$OUT" "185.255.0.1: score 19.6, in the pool's DNS (score >= 10; unless its net speed is 0 or it is being deleted, which the score does not show)"
  assert_contains "$OUT" "page: $BASE/scores/185.255.0.1"
  # One row per real monitor: name, status, score, average RTT, newest offset, as recorded.
  local id name status score rtt offset line
  while IFS=$'\t' read -r id name status score rtt; do
    offset=$(jq -r --argjson id "$id" \
      '[.history[] | select(.monitor_id == $id)] | max_by(.ts) | .offset' "$SCORES/healthy.json")
    line="$name +$status +$(printf '%.1f' "$score") +"
    if [ "$rtt" = null ]; then line+="- +"; else line+="$(printf '%.1f' "$rtt") ms +"; fi
    offset=$(awk -v s="$offset" 'BEGIN { printf "%+.3f", s * 1000 }')
    line+="${offset/+/\\+} ms"  # a literal + in the regular expression
    grep -Eq "^$line\$" <<<"$OUT" || fail "no row [$line]"
  done < <(jq -r '.monitors[] | select(.type == "monitor") | [.id, .name, .status, .score, (.avg_rtt | tostring)] | @tsv' \
    "$SCORES/healthy.json")
  # The computed scores are the headline, not rows.
  assert_not_contains "$OUT" "recentmedian"
  assert_contains "$OUT" "score (12 points over 44 h); the dotted line is 10, the pool's threshold:"
  assert_contains "$OUT" "offset in ms as the monitors measured it (47 points over 44 h):"
}

test_chart_is_ascii_off_a_terminal_and_as_wide_as_told() {
  local rc=0
  COLUMNS=72 "$POOLJOIN" --api-base "$BASE" status 185.255.0.1 >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" 0
  OUT=$(cat "$TEST_TMP/out")
  # Not a terminal: plain ASCII, whatever the locale.
  LC_ALL=C grep -q '[^ -~]' "$TEST_TMP/out" && fail "non-ASCII output off a terminal"
  grep -q '^10+-*#' <<<"$OUT" || fail "no ASCII score bar crossing the threshold line"
  local axis
  axis=$(grep -m1 '^ *+---' <<<"$OUT")
  assert_eq "${#axis}" 72 "the axis spans the width"
}

test_chart_uses_blocks_and_braille_on_a_utf8_terminal() {
  local tty_out
  tty_out=$(LANG=C.UTF-8 LC_ALL= script -qec "stty cols 90; $POOLJOIN --api-base $BASE status 185.255.0.1" /dev/null)
  assert_contains "$tty_out" "20┤"
  assert_contains "$tty_out" "█"
  assert_contains "$tty_out" "┈"  # the threshold and zero lines
  LC_ALL=C.UTF-8 grep -qP '[\x{2801}-\x{28FF}]' <<<"$tty_out" || fail "no braille dots in the offset chart"
  local axis
  axis=$(grep -m1 '└' <<<"$tty_out" | tr -d '\r')
  assert_eq "$(printf '%s' "$axis" | wc -m)" 90 "the axis spans the terminal's width"
  # A terminal whose locale is not UTF-8 gets ASCII.
  tty_out=$(LANG=C LC_ALL=C script -qec "$POOLJOIN --api-base $BASE status 185.255.0.1" /dev/null)
  assert_not_contains "$tty_out" "█"
  assert_contains "$tty_out" "20+"
}

test_new_server_with_few_points() {
  pj 0 --json --api-base "$BASE" status 185.255.0.2
  assert_eq "$(jqr '.addresses[0].score')" "2.9"
  assert_eq "$(jqr '.addresses[0].in_pool')" "false"
  assert_eq "$(jqr '.addresses[0].history | length')" "$(fixture_jq new-server.json '.history | length')"
  assert_eq "$(jq -c ".addresses[0].history | $normalise_history" <<<"$OUT")" \
    "$(jq -c ".history | map({rtt: null} + .) | $normalise_history" "$SCORES/new-server.json")"
  # Missing avg_rtt reads as null.
  assert_eq "$(jqr '.addresses[0].monitors[] | select(.id == 24) | .avg_rtt')" "null"
  pj 0 --api-base "$BASE" status 185.255.0.2
  assert_contains "$OUT" "185.255.0.2: score 2.9, not in the pool's DNS (it needs a score of 10)"
  grep -Eq '^brgru1-3m4n5o +candidate +1\.0 +201\.5 ms +-0\.950 ms$' <<<"$OUT" || fail "candidate row"
}

test_null_monitors_offsets_and_ids() {
  pj 0 --json --api-base "$BASE" status 185.255.0.3
  assert_eq "$(jqr '.addresses[0].known')" "true"
  assert_eq "$(jqr '.addresses[0].monitors')" "[]"
  assert_eq "$(jqr '.addresses[0].score')" "-4.2"
  assert_eq "$(jq -c '.addresses[0].history | map(.offset)' <<<"$OUT")" "[null,0.0123,null]"
  assert_eq "$(jq -c '.addresses[0].history | map(.monitor_id)' <<<"$OUT")" "[null,null,null]"
  assert_eq "$(jq -c '.addresses[0].history | map(.rtt)' <<<"$OUT")" "[null,null,null]"
  pj 0 --api-base "$BASE" status 185.255.0.3
  assert_contains "$OUT" "185.255.0.3: score -4.2, not in the pool's DNS"
  assert_contains "$OUT" "the site sent no per-monitor scores"
  assert_contains "$OUT" "offset in ms as the monitors measured it (1 point):"
}

test_unknown_address_is_not_in_the_pool_yet() {
  pj 0 --json --api-base "$BASE" status 185.255.0.4
  assert_eq "$(jq -c '.addresses[0]' <<<"$OUT")" \
    "{\"address\":\"185.255.0.4\",\"history\":[],\"in_pool\":false,\"known\":false,\"monitors\":[],\"page\":\"$BASE/scores/185.255.0.4\",\"score\":null,\"score_source\":null}"
  pj 0 --api-base "$BASE" status 185.255.0.4
  assert_contains "$OUT" "185.255.0.4: not in the pool yet"
}

test_just_below_ten_is_out_and_min_score_fails_for_cron() {
  # recentmedian listed as 10.0 (rounded); its newest point is 9.96: not in the pool's DNS.
  pj 0 --json --api-base "$BASE" status 185.255.0.16
  assert_eq "$(jqr '.addresses[0].score')" 9.96
  assert_eq "$(jqr '.addresses[0].in_pool')" false
  pj 0 --api-base "$BASE" status 185.255.0.16
  assert_contains "$OUT" "185.255.0.16: score 9.96, not in the pool's DNS (it needs a score of 10)"
  # --min-score: exit 1 below it (an unknown address has no score: below too), 0 at or above.
  pj 1 --api-base "$BASE" status --min-score 10 185.255.0.16 185.255.0.1
  assert_contains "$ERR" "185.255.0.16: score 9.96 below the minimum of 10"
  assert_not_contains "$ERR" "185.255.0.1:"
  pj 0 --api-base "$BASE" status --min-score 9.9 185.255.0.16
  pj 1 --api-base "$BASE" status --min-score 0 185.255.0.4
  assert_contains "$ERR" "185.255.0.4: no score, below the minimum of 0"
  pj 2 --api-base "$BASE" status --min-score 25 185.255.0.16
  pj 2 --api-base "$BASE" status --min-score 5 --watch 185.255.0.16
}

test_redirect_is_followed_and_requests_say_who_they_are() {
  : >"$SITE_LOG"
  pj 0 --json --api-base "$BASE" status --limit 77 2a0a:e5c0::1
  assert_eq "$(jqr '.addresses[0].score')" "19.6"
  local log
  log=$(jq -s -c 'map({path, query, user_agent})' "$SITE_LOG")
  assert_eq "$log" "$(jq -n -c --arg ua "pooljoin/$VERSION" '[
    {path: "/scores/2a0a:e5c0::1/json", query: "monitor=*&limit=77", user_agent: $ua},
    {path: "/api/data/server/scores/2a0a:e5c0::1/json", query: "monitor=*&limit=77", user_agent: $ua}]')"
}

test_malformed_documents_exit_69_never_crash() {
  pj 69 --api-base "$BASE" status 185.255.0.6
  assert_contains "$ERR" "the pool's site sent a malformed score document for 185.255.0.6 (the score document is not valid JSON: parse error at byte 65)"
  pj 69 --json --api-base "$BASE" status 185.255.0.7
  assert_contains "$ERR" "history[0].score is a string, expected a number"
  # The JSON document still says which address failed.
  assert_eq "$(jqr '.addresses[0].known')" "null"
  assert_contains "$(jqr '.addresses[0].error')" "malformed score document"
}

test_a_refusal_is_not_retried_and_points_at_the_api_base() {
  : >"$SITE_LOG"
  pj 69 --api-base "$BASE" status 185.255.0.15
  assert_contains "$ERR" "pooljoin: error: cannot get the pool's score of 185.255.0.15 ($BASE/api/data/server/scores/185.255.0.15/json?monitor=*&limit=500 answered HTTP 403 Forbidden); check --api-base"
  assert_contains "$ERR" "| forbidden"
  # Another attempt would get the same answer: one request.
  assert_eq "$(site_requests /api/data/ | jq length)" 1
}

test_other_addresses_are_shown_when_one_fails() {
  pj 69 --json --api-base "$BASE" status 185.255.0.1 185.255.0.6 185.255.0.4
  assert_eq "$(jq -c '.addresses | map([.address, .known])' <<<"$OUT")" \
    '[["185.255.0.1",true],["185.255.0.6",null],["185.255.0.4",false]]'
}

test_self_signed_certificate_is_refused() {
  local SITE_PORT SITE_LOG  # this test's own site; the others keep theirs
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$TEST_TMP/key.pem" -out "$TEST_TMP/cert.pem" 2>/dev/null
  start_site tls --tls-cert "$TEST_TMP/cert.pem" --tls-key "$TEST_TMP/key.pem"
  pj 69 --api-base "https://127.0.0.1:$SITE_PORT" status 185.255.0.1
  assert_contains "$ERR" "TLS certificate verification failed for 127.0.0.1 (SSL certificate problem: self-signed certificate)"
  assert_contains "$ERR" "pooljoin always verifies certificates"
  assert_eq "$(site_requests / | jq length)" 0
  # The same server once its CA is trusted: the refusal was about trust, and TLS works.
  pj 0 --json --ca-file "$TEST_TMP/cert.pem" --api-base "https://localhost:$SITE_PORT" status 185.255.0.1
  assert_eq "$(jqr '.addresses[0].score')" "19.6"
  # No option turns verification off.
  pj 0 --help
  assert_not_contains "$OUT" "insecure"
  assert_not_contains "$OUT" "no-verify"
}

test_proxy_from_the_environment_is_used() {
  : >"$SITE_LOG"
  local rc=0
  http_proxy="$BASE" "$POOLJOIN" --json --api-base http://pool.example.invalid status 185.255.0.2 \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  assert_eq "$rc" 0
  assert_eq "$(jqr '.addresses[0].score')" "2.9"
  assert_eq "$(jq -s -c 'map([.proxied, .absolute])' "$SITE_LOG")" \
    '[[true,"http://pool.example.invalid/scores/185.255.0.2/json?monitor=*&limit=500"],[true,"http://pool.example.invalid/api/data/server/scores/185.255.0.2/json?monitor=*&limit=500"]]'
}

test_api_base_is_validated() {
  pj 2 --api-base ftp://www.ntppool.org status 185.255.0.1
  assert_contains "$ERR" "--api-base"
  assert_contains "$ERR" "the scheme 'ftp' is not http or https"
  pj 2 --api-base "https://www.ntppool.org/?x=1" status 185.255.0.1
  assert_contains "$ERR" "a query (?...) is not allowed in a base URL"
  pj 2 --api-base "https://user:pw@www.ntppool.org" status 185.255.0.1
  assert_contains "$ERR" "user information (user@host) is not allowed"
  pj 2 --api-base "https://www.ntppool.org/a b" status 185.255.0.1
  pj 2 --api-base "www.ntppool.org" status 185.255.0.1
  local rc=0
  POOLJOIN_API_BASE=javascript:alert "$POOLJOIN" status 185.255.0.1 >/dev/null 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" 2
  # A trailing slash is normalised away: no "//scores".
  : >"$SITE_LOG"
  pj 0 --api-base "$BASE/" status 185.255.0.4
  assert_eq "$(jq -s -r '.[0].path' "$SITE_LOG")" "/scores/185.255.0.4/json"
}

test_bad_arguments_are_usage_errors() {
  pj 2 --api-base "$BASE" status not-an-address
  assert_contains "$ERR" "status: 'not-an-address' is not an IP address"
  pj 2 --api-base "$BASE" status --watch 185.255.0.1
  assert_contains "$ERR" "'185.255.0.1' is not an interval (60, 30s, 5m, 1h); give addresses before --watch"
  pj 2 --api-base "$BASE" status --watch=1 185.255.0.1
  assert_contains "$ERR" "the interval must be from 5s to 24h"
  pj 2 --api-base "$BASE" status --limit 0 185.255.0.1
  pj 2 --api-base "$BASE" status --limit 10001 185.255.0.1
}

run_tests "$@"
