#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `pooljoin check --server` against the project's test responder on loopback: figures measured
# against a server whose offset is known, each fault a server can show, the JSON shape, usage
# errors and interruption. The real daemons are in check_daemons_test.sh.
source "$(dirname "$0")/lib.sh"

# Quick probes: the monitors' 3 samples, but 100 ms apart with 500 ms timeouts.
QUICK=(--interval 100ms --timeout 500ms)

servers_args() {
  local endpoint
  SERVER_ARGS=()
  for endpoint in "$@"; do SERVER_ARGS+=(--server "$endpoint"); done
}

test_a_300ms_server_is_measured_within_2ms() {
  local eps
  start_responder eps "127.0.0.1:0,offset=0.3,stratum=2,refid=192.0.2.7" "[::1]:0,offset=-0.3"
  servers_args "${eps[@]}"
  pj 1 --json check "${SERVER_ARGS[@]}" "${QUICK[@]}"
  assert_eq "$(jqr '.addresses | length')" 2
  assert_eq "$(jqr '.addresses[0].address')" "127.0.0.1"
  assert_eq "$(jqr '.addresses[1].family')" "ipv6"
  jq -e '.addresses[0].offset_ms | . > 298 and . < 302' <<<"$OUT" >/dev/null ||
    fail "offset $(jqr '.addresses[0].offset_ms') ms is not +300 +- 2 ms"
  jq -e '.addresses[1].offset_ms | . > -302 and . < -298' <<<"$OUT" >/dev/null ||
    fail "offset $(jqr '.addresses[1].offset_ms') ms is not -300 +- 2 ms"
  echo "  measured offsets: $(jqr '[.addresses[].offset_ms] | map(tostring) | join(" ms, ")') ms"
  assert_eq "$(jqr '.addresses[0].stratum')" 2
  assert_eq "$(jqr '.addresses[0].refid')" "192.0.2.7"
  assert_eq "$(jqr '.addresses[0].reachable')" true
  assert_eq "$(jqr '.addresses[0].kod')" null
  # Stratum 2 may be submitted, but 300 ms off, the score settles at 20 * 0.0386 = 0.77.
  assert_eq "$(jqr '.addresses[0].submittable')" true
  assert_eq "$(jqr '.addresses[0].predicted_score')" 0.77
  assert_eq "$(jqr '[.findings[] | select(.id == "address.score" and .severity == "fail")] | length')" 2
  assert_eq "$(jqr .status)" fail
  assert_eq "$(jqr .daemon)" null
}

test_each_fault_is_classified_as_a_finding() {
  local eps
  start_responder eps "127.0.0.1:0,kod=RATE" "127.0.0.1:0,kod=DENY" "[::1]:0,kod=RSTR" \
    "127.0.0.1:0,wrong-origin" "127.0.0.1:0,wrong-mode" "127.0.0.1:0,truncated" \
    "127.0.0.1:0,silent" "127.0.0.1:0,leap=3" "127.0.0.1:0,stratum=7" "127.0.0.1:0,offset=0.05"
  servers_args "${eps[@]}"
  pj 1 --json check "${SERVER_ARGS[@]}" "${QUICK[@]}"
  # One finding id per address, in the order given.
  local ids
  ids=$(jq -r '[.findings[] | select(.id | startswith("address.")) | .id] | join(" ")' <<<"$OUT")
  # Leap 3 at stratum 2: the monitor checks no leap and scores it by its offset; a warning.
  assert_eq "$ids" "address.kod-rate address.kod-deny address.kod-deny address.bad-reply address.bad-reply address.bad-reply address.no-reply address.leap address.ok address.stratum address.ok address.score"
  assert_eq "$(jqr '[.addresses[].kod] | map(. // "-") | join(" ")')" "RATE DENY RSTR - - - - - - -"
  assert_eq "$(jqr '[.addresses[].reachable] | map(tostring) | join(" ")')" \
    "true true true true true true false true true true"
  assert_eq "$(jqr '[.addresses[].predicted_score] | map(tostring) | join(" ")')" \
    "-70 -200 -200 -100 -100 -100 -100 20 20 16.67"
  # The site's add-time check does not look at the leap either.
  assert_eq "$(jqr '[.addresses[].submittable] | map(tostring) | join(" ")')" \
    "false false false false false false false true false true"
  # A kiss ends the check at its reply; the others send all three.
  assert_eq "$(jqr '[.addresses[].queries] | map(tostring) | join(" ")')" "1 1 1 3 3 3 3 3 3 3"
  assert_eq "$(jqr '[.addresses[0:3][].decided_by] | map(tostring) | join(" ")')" "1 1 1"
  local message
  message=$(jqr '.findings[] | select(.id == "address.bad-reply") | .message' | head -1)
  assert_contains "$message" "does not echo our transmit timestamp"
  message=$(jqr '.findings[] | select(.id == "address.score") | .severity')
  assert_eq "$message" "warn"
  assert_eq "$(jqr '.findings[] | select(.id == "address.stratum") | .message')" \
    "${eps[8]}: stratum 7: the pool accepts only servers of stratum 1 to 5"
}

# The pool monitor's rules (ntppool/monitor with beevik/ntp), each against a responder that
# scripts its answers query by query: the step, the score it converges to, the queries sent (as
# the responder counted them) and which one decided.
test_the_monitors_rules_decide_the_predicted_score() {
  local eps rows=(
    # spec                                    step  converged queries decided
    "127.0.0.1:0,script=-;kod=RATE"           -3.5  -70       2       2  # good once, then RATE
    "127.0.0.1:0,script=-;-;stratum=16"       -4    -80       3       3  # unsynchronised at last
    "127.0.0.1:0,script=-;stratum=12"         -4    -80       2       2  # above 10 ends the check
    "127.0.0.1:0,script=stratum=0+refid="     -4    -80       1       1  # stratum 0, no kiss code
    "127.0.0.1:0,stale-first"                 -5    -100      3       1  # first datagram decides
    "127.0.0.1:0,kod=RATE,transmit0"          -5    -100      3       1  # a kiss with transmit 0
    "127.0.0.1:0,rec-after-xmt"               -5    -100      3       1  # receive after transmit
    "127.0.0.1:0,script=transmit0;-"          1     20        3       -  # invalid, then good
    "127.0.0.1:0,leap=3"                      1     20        3       -  # leap is not checked
    "127.0.0.1:0,offset=5,stratum=9"          -4    -80       3       -  # offset > 3 s, capped
  )
  local specs=() i
  for ((i = 0; i < ${#rows[@]}; i += 5)); do specs+=("${rows[i]}"); done
  RESPONDER_LOG="$TEST_TMP/queries" start_responder eps "${specs[@]}"
  servers_args "${eps[@]}"
  pj 1 --json check "${SERVER_ARGS[@]}" "${QUICK[@]}"
  local n
  for ((n = 0; n < ${#specs[@]}; n++)); do
    local spec=${rows[n * 5]} step=${rows[n * 5 + 1]} converged=${rows[n * 5 + 2]}
    local queries=${rows[n * 5 + 3]} decided=${rows[n * 5 + 4]}
    local a=".addresses[$n]"
    assert_eq "$(jqr "$a.score_step")" "$step" "$spec: step"
    assert_eq "$(jqr "$a.predicted_score")" "$converged" "$spec: converged score"
    assert_eq "$(jqr "$a.queries")" "$queries" "$spec: queries sent"
    assert_eq "$(grep -c "^${eps[n]} mode=3 " "$TEST_TMP/queries")" "$queries" "$spec: queries received"
    [ "$decided" = - ] || assert_eq "$(jqr "$a.decided_by")" "$decided" "$spec: deciding query"
  done
  # The cap of a clock beyond 3 s, which stratum 9 does not take away (stratum 11 would).
  assert_eq "$(jqr '.addresses[9].score_reason')" "offset above 3 s"
  assert_contains "$(jqr '.findings[] | select(.id == "address.kod-rate") | .message')" \
    "the reply to query 2 of the check: it ends the check and decides it"
  assert_contains "$(jqr '.findings[] | select(.id == "address.leap") | .message')" \
    "${eps[8]}: answers stratum 2 with leap indicator 3"
  assert_eq "$(jqr '.findings[] | select(.id == "address.leap") | .severity')" warn
}

test_each_fault_says_what_the_server_did_and_exits_1() {
  local eps
  start_responder eps "127.0.0.1:0,kod=RATE" "127.0.0.1:0,kod=DENY" "127.0.0.1:0,wrong-origin" \
    "127.0.0.1:0,wrong-mode" "127.0.0.1:0,truncated" "127.0.0.1:0,silent" "127.0.0.1:0,oversized"
  servers_args "${eps[@]}"
  pj 1 check "${SERVER_ARGS[@]}" "${QUICK[@]}"
  local port=${eps[5]##*:}
  assert_contains "$OUT" "FAIL  ${eps[0]}: answers with kiss-o'-death RATE: the monitors' 3 queries 2 s apart are rate-limited (score step -3.5 per check)"
  assert_contains "$OUT" "FAIL  ${eps[1]}: answers with kiss-o'-death DENY (access denied by remote server): the monitors score -10 per check and the server is dropped"
  assert_contains "$OUT" "FAIL  ${eps[2]}: reply that does not echo our transmit timestamp (spoofed or stale)"
  assert_contains "$OUT" "FAIL  ${eps[3]}: reply that is not a server (mode 4) reply (mode 3)"
  assert_contains "$OUT" "FAIL  ${eps[4]}: reply shorter than an NTP header (40 bytes)"
  assert_contains "$OUT" "FAIL  ${eps[5]}: no reply on UDP $port (3 queries, none answered)"
  # An oversized reply is a header with extension fields or a MAC after it: a valid answer.
  assert_contains "$OUT" "${eps[6]}  ok "
  assert_not_contains "$OUT" "FAIL  ${eps[6]}"
  assert_contains "$OUT" "check: 6 failed, 0 warnings"
}

test_mode6_and_monlist_answers_fail_with_the_fix() {
  local eps
  start_responder eps "127.0.0.1:0,mode6,monlist" "127.0.0.1:0"
  servers_args "${eps[@]}"
  pj 1 --json check "${SERVER_ARGS[@]}" "${QUICK[@]}"
  assert_eq "$(jqr '[.findings[] | select(.id | startswith("security.")) | "\(.id)=\(.severity)"] | join(" ")')" \
    "security.mode6=fail security.monlist=fail security.mode6=ok security.monlist=ok"
  assert_contains "$(jqr '.findings[] | select(.id == "security.mode6" and .severity == "fail") | .fix')" \
    "restrict default kod limited nomodify notrap nopeer noquery"
  assert_contains "$(jqr '.findings[] | select(.id == "security.monlist" and .severity == "fail") | .message')" \
    "CVE-2013-5211"
}

test_json_has_exactly_the_documented_keys() {
  local eps
  start_responder eps "127.0.0.1:0"
  pj 0 --json check --server "${eps[0]}" "${QUICK[@]}"
  assert_eq "$(jqr '[keys[]] | join(",")')" "addresses,clock,daemon,findings,status"
  assert_eq "$(jqr .clock)" null  # --server without --reference: the clock is not measured
  assert_eq "$(jqr '.addresses[0] | [keys[]] | join(",")')" \
    "address,decided_by,delay_ms,family,jitter_ms,kod,leap,offset_ms,predicted_score,queries,reachable,refid,score_reason,score_step,seen_offset_ms,stratum,submittable"
  assert_eq "$(jqr .addresses[0].seen_offset_ms)" null
  assert_eq "$(jqr '.findings[0] | [keys[]] | join(",")')" "fix,id,message,severity"
  assert_eq "$(jqr .status)" ok
  assert_eq "$(jqr '.addresses[0].predicted_score')" 20
}

test_human_output_is_a_table_and_findings() {
  local eps
  start_responder eps "127.0.0.1:0,offset=0.002" "127.0.0.1:0,silent"
  servers_args "${eps[@]}"
  pj 1 check "${SERVER_ARGS[@]}" "${QUICK[@]}"
  local header
  header=$(head -1 <<<"$OUT")
  assert_eq "$(tr -s ' ' <<<"$header")" "address reply queries stratum offset delay jitter leap refid score submit"
  assert_contains "$OUT" "${eps[1]}  no-reply"
  assert_contains "$OUT" "FAIL  ${eps[1]}: no reply on UDP"
  assert_contains "$OUT" "check: 1 failed, 0 warnings"
  assert_not_contains "$OUT" "ok    ${eps[0]}:"  # ok findings only with -v
  pj 1 -v check "${SERVER_ARGS[@]}" "${QUICK[@]}"
  assert_contains "$OUT" "ok    ${eps[0]}: stratum 2, offset +"
}

test_usage_errors_name_the_option() {
  pj 2 check --wait 5x
  assert_contains "$ERR" "--wait"
  pj 2 check --server "bad host"
  assert_contains "$ERR" "--server"
  pj 2 check --server 192.0.2.1:99999
  assert_contains "$ERR" "--server"
  pj 2 check --wait 1m --server 192.0.2.1
  assert_contains "$ERR" "--wait waits for this machine's daemon"
  pj 2 check --samples 0
  assert_contains "$ERR" "--samples"
  pj 2 check --root "$IMAGES/debian-12"
  assert_contains "$ERR" "check probes the running system"
  POOLJOIN_WAIT=soon "$POOLJOIN" check >"$TEST_TMP/out" 2>"$TEST_TMP/err" && fail "accepted POOLJOIN_WAIT=soon"
  assert_contains "$(cat "$TEST_TMP/err")" "--wait"
}

test_interrupt_stops_the_probe_with_130() {
  local eps rc=0 start elapsed
  start_responder eps "127.0.0.1:0,silent"
  "$POOLJOIN" check --server "${eps[0]}" --timeout 20s >"$TEST_TMP/out" 2>"$TEST_TMP/err" &
  local pid=$!
  wait_until_catching "$pid"
  sleep 0.3
  start=$(date +%s%N)
  kill -INT "$pid"
  wait "$pid" || rc=$?
  elapsed=$((($(date +%s%N) - start) / 1000000))
  assert_eq "$rc" 130
  assert_contains "$(cat "$TEST_TMP/err")" "interrupted while probing NTP servers"
  [ "$elapsed" -lt 2000 ] || fail "took ${elapsed} ms to stop"
}

run_tests "$@"
