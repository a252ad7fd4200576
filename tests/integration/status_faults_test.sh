#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `pooljoin status` when the pool's site misbehaves or the operator interrupts: retries with
# backoff, timeouts, rate limiting with Retry-After, --watch until interrupted. Each case waits
# on purpose, so they live apart from status_test.sh and run in parallel with it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pool_site.sh"

start_site faults
BASE="http://127.0.0.1:$SITE_PORT"

test_server_error_is_retried_then_exit_69() {
  : >"$SITE_LOG"
  pj 69 --api-base "$BASE" status 185.255.0.5
  assert_contains "$ERR" "pooljoin: error: cannot get the pool's score of 185.255.0.5"
  assert_contains "$ERR" "answered HTTP 500 Internal Server Error after 3 attempts"
  assert_contains "$ERR" "| internal error"
  assert_eq "$(site_requests /api/data/ | jq length)" 3
}

test_server_errors_then_the_document_backs_off_1_then_2_s() {
  : >"$SITE_LOG"
  pj 0 --json --api-base "$BASE" status 185.255.0.13
  assert_eq "$(jqr '.addresses[0].score')" "2.9"
  # Two 503s, then the document: three requests, the waits between them doubling.
  local gaps count gap1 gap2
  gaps=$(site_requests /api/data/ | jq -r 'map(.time) | "\(length) \(.[1] - .[0]) \(.[2] - .[1])"')
  read -r count gap1 gap2 <<<"$gaps"
  assert_eq "$count" 3
  awk -v a="$gap1" -v b="$gap2" 'BEGIN { exit !(a >= 0.95 && a < 1.9 && b >= 1.95 && b < 3.5) }' ||
    fail "waited $gap1 s, then $gap2 s"
  assert_eq "$(grep -o 'HTTP 503 Service Unavailable from .*; retrying in [0-9]* s' <<<"$ERR" |
    sed 's/.*; //')" $'retrying in 1 s\nretrying in 2 s'
}

test_slow_answer_times_out_with_retries() {
  : >"$SITE_LOG"
  local start=$SECONDS
  pj 69 --api-timeout 1 --api-base "$BASE" status 185.255.0.8
  assert_contains "$ERR" "timed out (no complete answer within 1 s, after 3 attempts)"
  assert_contains "$ERR" "note: timed out after 1 s from $BASE/scores/185.255.0.8/json"
  assert_eq "$(site_requests /api/data/ | jq length)" 3
  # 3 attempts of 1 s, waits of 1 and 2 s: bounded, well before the 4 s answers would come.
  [ $((SECONDS - start)) -le 9 ] || fail "took $((SECONDS - start)) s"
}

test_rate_limit_honours_retry_after_within_a_cap() {
  : >"$SITE_LOG"
  pj 0 --json --api-base "$BASE" status 185.255.0.9
  assert_eq "$(jqr '.addresses[0].score')" "2.9"
  local times
  times=$(site_requests /api/data/ | jq -r 'map(.time) | "\(length) \(.[1] - .[0])"')
  assert_eq "${times%% *}" 2
  # Retry-After: 2 was honoured (the backoff alone would have waited 1 s).
  awk -v gap="${times#* }" 'BEGIN { exit !(gap >= 1.9 && gap < 4) }' || fail "waited ${times#* } s"
  # A Retry-After beyond the cap is not waited for.
  : >"$SITE_LOG"
  local start=$SECONDS
  pj 69 --api-base "$BASE" status 185.255.0.12
  assert_contains "$ERR" "rate-limiting requests for the score of 185.255.0.12 (HTTP 429; it asks to wait 3600 s)"
  assert_eq "$(site_requests /api/data/ | jq length)" 1
  [ $((SECONDS - start)) -le 2 ] || fail "waited for the rate limit"
}

test_watch_refreshes_until_interrupted() {
  : >"$SITE_LOG"
  "$POOLJOIN" --json --api-base "$BASE" status 185.255.0.2 --watch 5 >"$TEST_TMP/out" 2>"$TEST_TMP/err" &
  local pid=$! i
  on_exit kill "$pid"
  for ((i = 0; i < 150; i++)); do
    [ "$(site_requests /api/data/ | jq length)" -ge 2 ] && break
    sleep 0.1
  done
  sleep 0.3  # the second document is written right after its request is answered
  kill -INT "$pid"
  local rc=0 start=$SECONDS
  wait "$pid" || rc=$?
  assert_eq "$rc" 130
  [ $((SECONDS - start)) -le 1 ] || fail "took $((SECONDS - start)) s to stop"
  # One JSON document per refresh, each the full answer.
  assert_eq "$(jq -s 'length' "$TEST_TMP/out")" 2
  assert_eq "$(jq -s -c 'map(.addresses[0].score)' "$TEST_TMP/out")" "[2.9,2.9]"
  assert_contains "$(cat "$TEST_TMP/err")" "status --watch: stopped"
  # Without an interval: every 60 s.
  "$POOLJOIN" --api-base "$BASE" status 185.255.0.2 --watch >"$TEST_TMP/out" 2>"$TEST_TMP/err" &
  pid=$!
  on_exit kill "$pid"
  for ((i = 0; i < 50; i++)); do
    grep -q "next in" "$TEST_TMP/err" && break
    sleep 0.1
  done
  kill -INT "$pid"
  rc=0
  wait "$pid" || rc=$?
  assert_eq "$rc" 130
  assert_contains "$(cat "$TEST_TMP/err")" "; next in 1m (Ctrl-C stops)"
  assert_contains "$(cat "$TEST_TMP/out")" "185.255.0.2: score 2.9"
}

test_interrupt_stops_a_request_in_flight() {
  "$POOLJOIN" --api-timeout 30 --api-base "$BASE" status 185.255.0.8 >"$TEST_TMP/out" 2>"$TEST_TMP/err" &
  local pid=$!
  on_exit kill "$pid"
  wait_until_catching "$pid"
  # In flight: the site has the request (it answers 185.255.0.8 late).
  for _ in $(seq 200); do
    [ "$(site_requests /api/data/server/scores/185.255.0.8 | jq length)" -gt 0 ] && break
    sleep 0.05
  done
  kill -INT "$pid"
  local rc=0 start=$SECONDS
  wait "$pid" || rc=$?
  assert_eq "$rc" 130
  [ $((SECONDS - start)) -le 2 ] || fail "took $((SECONDS - start)) s to stop"
  assert_contains "$(cat "$TEST_TMP/err")" "interrupted during the request to $BASE/scores/185.255.0.8/json"
}

run_tests "$@"
