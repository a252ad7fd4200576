#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
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

# prom_samples FILE: the file as a real parser reads it (python3-prometheus-client's
# text_string_to_metric_families), as JSON: [{family, type, help, name, labels, value}]. Fails
# on text it refuses, a family twice, or a family without HELP and TYPE.
prom_samples() {
  "$PYTHON" - "$1" <<'PY'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
with open(sys.argv[1], encoding="utf-8") as f:
    text = f.read()
seen, out = set(), []
for family in text_string_to_metric_families(text):
    if family.name in seen:
        sys.exit(f"{family.name}: its samples are not together")
    seen.add(family.name)
    if family.type != "gauge" or not family.documentation:
        sys.exit(f"{family.name}: no TYPE gauge or no HELP ({family.type!r}, {family.documentation!r})")
    for s in family.samples:
        out.append({"family": family.name, "help": family.documentation, "name": s.name,
                    "labels": s.labels, "value": s.value})
json.dump(out, sys.stdout)
PY
}

require_prometheus_parser() {
  "$PYTHON" -c 'import prometheus_client.parser' 2>/dev/null ||
    skip "no prometheus_client for $PYTHON (Debian package python3-prometheus-client)"
}

# only_files DIR NAME...: DIR holds these files and nothing else (no temporary file left).
only_files() {
  local dir=$1
  shift
  assert_eq "$(cd "$dir" && ls -A | sort | paste -sd' ')" "$(printf '%s\n' "$@" | sort | paste -sd' ')" \
    "the files in $dir"
}

test_prometheus_file_holds_the_fixture_figures_for_a_real_parser() {
  require_prometheus_parser
  mkdir "$TEST_TMP/textfile0"
  local file="$TEST_TMP/textfile0/pooljoin.prom"
  pj 0 --api-base "$BASE" status --prometheus "$file" 185.255.0.1 185.255.0.16 185.255.0.4
  # The usual report still goes to stdout; the file is written whole, with no temporary beside.
  assert_contains "$OUT" "185.255.0.1: score 19.6, in the pool's DNS"
  only_files "$TEST_TMP/textfile0" pooljoin.prom
  assert_eq "$(stat -c %a "$file")" 644
  local samples
  samples=$(prom_samples "$file") || fail "the parser refused the file: $(cat "$file")"
  OUT=$samples
  # value NAME ADDRESS [MONITOR [STATUS]]: the one sample of that name and labels.
  value() {
    jq -r --arg n "$1" --arg a "$2" --arg m "${3:-}" --arg s "${4:-}" '
      [.[] | select(.name == $n and .labels.address == $a and
                    ($m == "" or .labels.monitor == $m) and ($s == "" or .labels.status == $s))] |
      if length == 1 then .[0].value else "\(length) samples" end' <<<"$OUT"
  }
  assert_eq "$(value pooljoin_status_up 185.255.0.1)" 1
  assert_eq "$(value pooljoin_known 185.255.0.1)" 1
  assert_eq "$(value pooljoin_score 185.255.0.1)" 19.6
  assert_eq "$(value pooljoin_in_dns 185.255.0.1)" 1
  assert_eq "$(value pooljoin_last_point_timestamp_seconds 185.255.0.1)" \
    "$(fixture_jq healthy.json '[.history[].ts] | max')"
  # Each real monitor of the fixture: its score, its newest offset, its status set to 1.
  local id name status score offset
  while IFS=$'\t' read -r id name status score; do
    assert_eq "$(value pooljoin_monitor_score 185.255.0.1 "$name")" "$(jq -n "$score")" "$name"
    offset=$(fixture_jq healthy.json "[.history[] | select(.monitor_id == $id)] | max_by(.ts) | .offset")
    assert_eq "$(value pooljoin_monitor_offset_seconds 185.255.0.1 "$name")" "$offset" "$name"
    assert_eq "$(value pooljoin_monitor_status 185.255.0.1 "$name" "$status")" 1 "$name"
    assert_eq "$(jq --arg m "$name" '[.[] | select(.name == "pooljoin_monitor_status" and
      .labels.address == "185.255.0.1" and .labels.monitor == $m and .value == 1)] | length' <<<"$OUT")" 1
  done < <(fixture_jq healthy.json '.monitors[] | select(.type == "monitor") | [.id, .name, .status, .score] | @tsv')
  assert_eq "$(jq '[.[] | select(.name == "pooljoin_monitor_score" and .labels.address == "185.255.0.1")] | length' <<<"$OUT")" \
    "$(fixture_jq healthy.json '[.monitors[] | select(.type == "monitor")] | length')"
  # 9.96, raw: out of the DNS. Unknown to the pool: answered (up), not known, no score.
  assert_eq "$(value pooljoin_score 185.255.0.16)" 9.96
  assert_eq "$(value pooljoin_in_dns 185.255.0.16)" 0
  assert_eq "$(value pooljoin_status_up 185.255.0.4)" 1
  assert_eq "$(value pooljoin_known 185.255.0.4)" 0
  assert_eq "$(value pooljoin_score 185.255.0.4)" "0 samples"
  # Every name is pooljoin_'s; the file's own time is now.
  assert_eq "$(jq -r '[.[].name | select(startswith("pooljoin_") | not)] | length' <<<"$OUT")" 0
  local written now
  written=$(jq -r '.[] | select(.name == "pooljoin_status_timestamp_seconds") | .value | floor' <<<"$OUT")
  now=$(date +%s)
  [ $((now - written)) -ge 0 ] && [ $((now - written)) -lt 60 ] || fail "written at $written, now $now"
}

test_prometheus_file_is_written_when_a_lookup_fails_with_up_0() {
  require_prometheus_parser
  mkdir "$TEST_TMP/textfile1"
  local file="$TEST_TMP/textfile1/pooljoin.prom"
  echo "previous" >"$file"
  pj 69 --api-base "$BASE" status --prometheus "$file" 185.255.0.1 185.255.0.6
  assert_contains "$ERR" "malformed score document for 185.255.0.6"
  only_files "$TEST_TMP/textfile1" pooljoin.prom
  OUT=$(prom_samples "$file") || fail "the parser refused the file: $(cat "$file")"
  assert_eq "$(jq -c '[.[] | select(.labels.address == "185.255.0.6") | [.name, .value]]' <<<"$OUT")" \
    '[["pooljoin_status_up",0]]'
  assert_eq "$(jq -r '.[] | select(.name == "pooljoin_score") | .value' <<<"$OUT")" 19.6
  # Every lookup failed: still a valid file, with up 0 only.
  pj 69 --api-base "$BASE" status --prometheus "$file" 185.255.0.15
  OUT=$(prom_samples "$file") || fail "the parser refused the file: $(cat "$file")"
  assert_eq "$(jq -c 'map(.name) | unique' <<<"$OUT")" '["pooljoin_status_timestamp_seconds","pooljoin_status_up"]'
  only_files "$TEST_TMP/textfile1" pooljoin.prom
}

test_prometheus_write_that_fails_leaves_the_old_file_and_no_temporary() {
  mkdir "$TEST_TMP/textfile2"
  local file="$TEST_TMP/textfile2/pooljoin.prom"
  # A link at FILE is refused without --follow-symlinks (exit 73), the link kept.
  echo "kept" >"$TEST_TMP/elsewhere"
  ln -s "$TEST_TMP/elsewhere" "$file"
  pj 73 --api-base "$BASE" status --prometheus "$file" 185.255.0.1
  assert_contains "$ERR" "it is a symbolic link"
  assert_eq "$(cat "$TEST_TMP/elsewhere")" kept
  only_files "$TEST_TMP/textfile2" pooljoin.prom
  rm "$file"
  # A file that cannot be replaced (immutable: renaming over it fails after the temporary file
  # is written): the old file intact, the temporary gone.
  echo "previous" >"$file"
  if chattr +i "$file" 2>/dev/null; then
    on_exit chattr -i "$file"
    pj 73 --api-base "$BASE" status --prometheus "$file" 185.255.0.1
    assert_contains "$ERR" "cannot write $file"
    chattr -i "$file"
    assert_eq "$(cat "$file")" previous
    only_files "$TEST_TMP/textfile2" pooljoin.prom
  else
    echo "  (no chattr +i here: the rename failure is not tried)"
  fi
  # The directory must exist; a directory is not a file: usage errors, nothing written.
  pj 2 --api-base "$BASE" status --prometheus "$TEST_TMP/missing/pooljoin.prom" 185.255.0.1
  assert_contains "$ERR" "--prometheus"
  pj 2 --api-base "$BASE" status --prometheus "$TEST_TMP/textfile2" 185.255.0.1
  assert_contains "$ERR" "is a directory"
  [ ! -e "$TEST_TMP/missing" ] || fail "the missing directory was created"
}

test_prometheus_leaves_json_as_it_is_and_a_dry_run_writes_nothing() {
  local file="$TEST_TMP/pooljoin.prom"
  pj 0 --json --api-base "$BASE" status 185.255.0.1 185.255.0.2
  local plain=$OUT
  pj 0 --json --api-base "$BASE" status --prometheus "$file" 185.255.0.1 185.255.0.2
  assert_eq "$OUT" "$plain"
  [ -s "$file" ] || fail "no file written"
  # A dry run writes nothing.
  pj 0 --dry-run --api-base "$BASE" status --prometheus "$TEST_TMP/dry.prom" 185.255.0.1
  assert_contains "$ERR" "dry run: $TEST_TMP/dry.prom not written"
  [ ! -e "$TEST_TMP/dry.prom" ] || fail "a dry run wrote the file"
  # A name the collector does not read is written, with a warning.
  pj 0 --api-base "$BASE" status --prometheus "$TEST_TMP/pooljoin.txt" 185.255.0.1
  assert_contains "$ERR" "reads only files whose names end in .prom"
  [ -s "$TEST_TMP/pooljoin.txt" ] || fail "no file written"
}

test_the_examples_command_lines_run() {
  local examples="$POOLJOIN_FIXTURES/../../docs/examples" line words
  mkdir "$TEST_TMP/examples"
  # The systemd unit's command and the cron line's, with this build, the test site, a directory
  # of the test's own instead of /var/lib/prometheus/node-exporter, and an address.
  for line in "$(sed -n 's/^ExecStart=//p' "$examples/pooljoin-prometheus.service")" \
    "$(grep -o 'pooljoin --quiet status.*\.prom' "$examples/pooljoin-prometheus.cron")"; do
    line=${line#/usr/bin/}
    read -ra words <<<"${line//\/var\/lib\/prometheus\/node-exporter/$TEST_TMP/examples}"
    assert_eq "${words[0]:-}" pooljoin "the example's command: [$line]"
    pj 0 --api-base "$BASE" "${words[@]:1}" 185.255.0.1
    [ -s "$TEST_TMP/examples/pooljoin.prom" ] || fail "[$line] wrote no file"
    rm "$TEST_TMP/examples/pooljoin.prom"
  done
  # The Nagios command, its macros filled in.
  line=$(sed -n 's/^ *command_line *//p' "$examples/nagios-command.cfg")
  line=${line//\$ARG1\$/10}
  line=${line//\$ARG2\$/15}
  read -ra words <<<"${line//\$HOSTADDRESS\$/185.255.0.1}"
  assert_eq "${words[0]:-}" /usr/bin/pooljoin "the example's command: [$line]"
  pj 0 --api-base "$BASE" "${words[@]:1}"
  assert_eq "$OUT" "POOLJOIN OK - 185.255.0.1: score 19.6 | 'score_185.255.0.1'=19.6;15:;10:;-100;20"
}

# The plugin line: "POOLJOIN STATE - summary | perfdata", one line, each perfdata item
# 'label'=value[UOM];[warn];[crit];[min];[max] (the Monitoring Plugins guidelines).
NAGIOS_LINE="^POOLJOIN (OK|WARNING|CRITICAL|UNKNOWN) - [^|]+ \| ('[^'=]+'=([-0-9.]+|U)[a-zA-Z%]*(;[-0-9.:~@]*){4})( '[^'=]+'=([-0-9.]+|U)[a-zA-Z%]*(;[-0-9.:~@]*){4})*\$"

# nagios EXPECTED_EXIT STATE ARGS...: status --nagios; one line in the plugin's form, that state.
nagios() {
  local expected=$1 state=$2
  shift 2
  pj "$expected" --api-base "$BASE" status --nagios "$@"
  assert_eq "$(wc -l <"$TEST_TMP/out")" 1 "one line"
  grep -Eq "$NAGIOS_LINE" <<<"$OUT" || fail "not a plugin line: [$OUT]"
  assert_contains "$OUT" "POOLJOIN $state - "
  assert_eq "$ERR" "" "nothing on stderr"
}

test_nagios_exit_codes_follow_the_plugin_convention() {
  nagios 0 OK 185.255.0.1
  assert_eq "$OUT" "POOLJOIN OK - 185.255.0.1: score 19.6 | 'score_185.255.0.1'=19.6;;10:;-100;20"
  nagios 0 OK 185.255.0.1 2a0a:e5c0::1
  assert_contains "$OUT" "'score_2a0a:e5c0::1'=19.6;;10:;-100;20"
  # 9.96 is below the pool's 10 (the default critical threshold).
  nagios 2 CRITICAL 185.255.0.16 185.255.0.1
  assert_contains "$OUT" "POOLJOIN CRITICAL - 185.255.0.16: score 9.96 (below 10), 185.255.0.1: score 19.6 |"
  nagios 0 OK --min-score 9.9 185.255.0.16
  nagios 1 WARNING --warn-score 19.7 185.255.0.1
  assert_contains "$OUT" "'score_185.255.0.1'=19.6;19.7:;10:;-100;20"
  # Not in the pool: no score, critical.
  nagios 2 CRITICAL 185.255.0.4
  assert_contains "$OUT" "185.255.0.4: not in the pool"
  assert_contains "$OUT" "'score_185.255.0.4'=U;"
  # The site failed: unknown, with the reason in the line (and not on stderr).
  nagios 3 UNKNOWN 185.255.0.1 185.255.0.15
  assert_contains "$OUT" "POOLJOIN UNKNOWN - 185.255.0.15: no answer from the pool's site ("
  assert_contains "$OUT" "answered HTTP 403 Forbidden"
  nagios 3 UNKNOWN 185.255.0.6
  # A critical address outranks an unknown one.
  nagios 2 CRITICAL 185.255.0.6 185.255.0.16
}

# nagios_service_status STATUS_DAT HOST: Nagios's own record of the last check of HOST's "NTP
# Pool score" (status.dat), "state|plugin output|perfdata", once checked; nothing before.
nagios_service_status() {
  awk -v want="$2" '
    /^servicestatus \{/ { inblock = 1; host = ""; desc = ""; state = ""; out = ""; perf = ""; checked = 0; next }
    inblock && /^\t}/ {
      if (host == want && desc == "NTP Pool score" && checked + 0) print state "|" out "|" perf
      inblock = 0; next
    }
    inblock {
      line = $0; sub(/^\t/, "", line)
      eq = index(line, "="); key = substr(line, 1, eq - 1); value = substr(line, eq + 1)
      if (key == "host_name") host = value
      else if (key == "service_description") desc = value
      else if (key == "current_state") state = value
      else if (key == "plugin_output") out = value
      else if (key == "performance_data") perf = value
      else if (key == "has_been_checked") checked = value
    }' "$1" 2>/dev/null
}

# A real Nagios (Debian's nagios4) reads docs/examples/nagios-command.cfg as it is (its own
# pre-flight check), runs the check, and records the state, output and perfdata it parsed.
test_nagios_core_runs_the_example_and_parses_the_line() {
  command -v nagios4 >/dev/null || skip "no nagios4 (Debian package nagios4-core)"
  local dir="$TEST_TMP/nagios" examples="$POOLJOIN_FIXTURES/../../docs/examples" i status
  mkdir -p "$dir/checkresults"
  cat >"$dir/nagios.cfg" <<EOF
log_file=$dir/nagios.log
cfg_file=$dir/objects.cfg
cfg_file=$dir/example.cfg
object_cache_file=$dir/objects.cache
precached_object_file=$dir/objects.precache
status_file=$dir/status.dat
query_socket=$dir/nagios.qh
status_update_interval=1
nagios_user=root
nagios_group=root
check_external_commands=1
command_file=$dir/nagios.cmd
lock_file=$dir/nagios.pid
temp_file=$dir/nagios.tmp
temp_path=$dir
check_result_path=$dir/checkresults
retain_state_information=0
use_syslog=0
enable_notifications=0
execute_host_checks=0
illegal_macro_output_chars=\`~\$&|'"<>
EOF
  # What a site's configuration has besides the example: a time period, a contact, the host the
  # example's service names, the generic-service template it uses, and two services of the test's
  # own (a score below 10, and an address the site refuses).
  cat >"$dir/objects.cfg" <<'EOF'
define timeperiod {
    timeperiod_name 24x7
    alias           always
    sunday          00:00-24:00
    monday          00:00-24:00
    tuesday         00:00-24:00
    wednesday       00:00-24:00
    thursday        00:00-24:00
    friday          00:00-24:00
    saturday        00:00-24:00
}
define command {
    command_name    nothing
    command_line    /bin/true
}
define contact {
    contact_name                    nobody
    host_notifications_enabled      0
    service_notifications_enabled   0
    host_notification_period        24x7
    service_notification_period     24x7
    host_notification_options       n
    service_notification_options    n
    host_notification_commands      nothing
    service_notification_commands   nothing
}
define host {
    name                ntp-host
    check_command       nothing
    max_check_attempts  1
    check_period        24x7
    contacts            nobody
    register            0
}
define host {
    use                 ntp-host
    host_name           ntp1.example.org
    address             185.255.0.1
}
define host {
    use                 ntp-host
    host_name           ntp2.example.org
    address             185.255.0.16
}
define host {
    use                 ntp-host
    host_name           ntp3.example.org
    address             185.255.0.15
}
define service {
    name                    generic-service
    check_period            24x7
    max_check_attempts      1
    retry_interval          1
    notification_period     24x7
    contacts                nobody
    register                0
}
define service {
    use                     generic-service
    host_name               ntp2.example.org,ntp3.example.org
    service_description     NTP Pool score
    check_command           check_pooljoin!10!15
    check_interval          15
}
EOF
  # The example as it is, but for the binary under test and the stand-in site.
  sed "s|/usr/bin/pooljoin |$POOLJOIN --api-base $BASE |" "$examples/nagios-command.cfg" >"$dir/example.cfg"
  grep -q -- "--api-base $BASE" "$dir/example.cfg" || fail "the example has no /usr/bin/pooljoin command line"
  nagios4 -v "$dir/nagios.cfg" >"$TEST_TMP/out" 2>&1 || fail "nagios4's pre-flight check refused the example: $(cat "$TEST_TMP/out")"
  grep -q '^Total Errors: *0$' "$TEST_TMP/out" || fail "nagios4 -v: $(cat "$TEST_TMP/out")"
  grep -q '^Total Warnings: *0$' "$TEST_TMP/out" || fail "nagios4 -v: $(cat "$TEST_TMP/out")"

  nagios4 "$dir/nagios.cfg" >"$dir/stdout" 2>&1 &
  local pid=$!
  # Nagios writes into $dir as it stops: the directory is removed only once it has.
  on_exit "kill $pid; for _ in \$(seq 50); do kill -0 $pid || break; sleep 0.1; done"
  # The command file is Nagios's FIFO: each service is checked now, not within its 15 minutes.
  for i in $(seq 100); do [ -p "$dir/nagios.cmd" ] && break; sleep 0.1; done
  [ -p "$dir/nagios.cmd" ] || fail "nagios4 made no command file within 10 s: $(cat "$dir/stdout")"
  for host in ntp1 ntp2 ntp3; do
    printf '[%s] SCHEDULE_FORCED_SVC_CHECK;%s.example.org;NTP Pool score;%s\n' \
      "$(date +%s)" "$host" "$(date +%s)" >"$dir/nagios.cmd"
  done
  for host in ntp1 ntp2 ntp3; do
    status=""
    for i in $(seq 300); do
      status=$(nagios_service_status "$dir/status.dat" "$host.example.org")
      [ -n "$status" ] && break
      sleep 0.1
    done
    [ -n "$status" ] || fail "nagios4 recorded no check of $host within 30 s: $(cat "$dir/nagios.log")"
    eval "status_$host=\$status"
  done
  # 0 OK, 2 CRITICAL (9.96 is below the pool's 10), 3 UNKNOWN (the site answered 403): the
  # output and the perfdata are split where the plugin guidelines say.
  assert_eq "$status_ntp1" "0|POOLJOIN OK - 185.255.0.1: score 19.6|'score_185.255.0.1'=19.6;15:;10:;-100;20"
  assert_eq "$status_ntp2" "2|POOLJOIN CRITICAL - 185.255.0.16: score 9.96 (below 10)|'score_185.255.0.16'=9.96;15:;10:;-100;20"
  [[ "$status_ntp3" == "3|POOLJOIN UNKNOWN - 185.255.0.15: no answer from the pool's site ("*"|'score_185.255.0.15'=U;15:;10:;-100;20" ]] ||
    fail "ntp3: [$status_ntp3]"
}

test_nagios_is_refused_with_json_watch_or_prometheus() {
  pj 2 --json --api-base "$BASE" status --nagios 185.255.0.1
  assert_contains "$ERR" "pooljoin: error: status: --nagios cannot be combined with --json"
  pj 2 --api-base "$BASE" status 185.255.0.1 --nagios --watch
  assert_contains "$ERR" "status: --nagios cannot be combined with --watch"
  pj 2 --api-base "$BASE" status 185.255.0.1 --nagios --watch 5m
  assert_contains "$ERR" "--nagios cannot be combined with --watch"
  pj 2 --api-base "$BASE" status --nagios --prometheus "$TEST_TMP/x.prom" 185.255.0.1
  assert_contains "$ERR" "--nagios cannot be combined with --prometheus"
  pj 2 --api-base "$BASE" status --prometheus "$TEST_TMP/x.prom" 185.255.0.1 --watch
  assert_contains "$ERR" "--prometheus cannot be combined with --watch"
  pj 2 --api-base "$BASE" status --warn-score 15 185.255.0.1
  assert_contains "$ERR" "--warn-score requires --nagios"
  pj 2 --api-base "$BASE" status --nagios --warn-score 5 185.255.0.1
  assert_contains "$ERR" "--warn-score 5 is below the critical --min-score 10"
  # From the environment too.
  local rc=0
  POOLJOIN_NAGIOS=1 POOLJOIN_JSON=1 "$POOLJOIN" --api-base "$BASE" status 185.255.0.1 \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" 2
  assert_contains "$(cat "$TEST_TMP/err")" "--nagios cannot be combined with --json"
  [ ! -e "$TEST_TMP/x.prom" ] || fail "a refused run wrote the file"
}

run_tests "$@"
