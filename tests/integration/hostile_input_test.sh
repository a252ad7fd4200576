#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Input that reaches the terminal or a number: text from the pool's site and from
# files printed with its control characters escaped, errors that do not echo a file's lines,
# POOLJOIN_* booleans in their documented spellings only, and extreme numbers.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pool_site.sh"
source "$(dirname "$0")/conf_lib.sh"

ESC=$'\e'
# What the tests play at the terminal: an OSC title change, a screen clear, a carriage return
# that hides what came before, C1 CSI (U+009B), a BEL.
HOSTILE_TEXTS=("${ESC}]0;owned"$'\a' "${ESC}[2J" $'fine\roverwritten' $'\u009b31m' $'a\nb')

# assert_no_controls TEXT: no C0 control but the line break, no DEL, no C1 in TEXT.
assert_no_controls() {
  if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' <<<"$1" || grep -q $'\u0080\|\u009b\|\u0085' <<<"$1"; then
    fail "a control character reached the terminal: $(printf '%q' "$1")"
  fi
}

test_monitor_names_and_statuses_are_escaped() {
  local fixtures="$TEST_TMP/scores"
  mkdir "$fixtures"
  # The healthy document with each monitor's name and status replaced by hostile text.
  jq --arg a "${HOSTILE_TEXTS[0]}" --arg b "${HOSTILE_TEXTS[1]}" --arg c "${HOSTILE_TEXTS[2]}" \
    --arg d "${HOSTILE_TEXTS[3]}" --arg e "${HOSTILE_TEXTS[4]}" '
      [$a, $b, $c, $d, $e] as $t |
      .monitors |= [to_entries[] | .value + {name: ($t[.key % 5] + "-" + (.key | tostring)),
                                             status: $t[(.key + 1) % 5]}]' \
    "$SCORES/healthy.json" >"$fixtures/hostile.json"
  echo '{"185.255.0.1": {"document": "hostile.json"}}' >"$fixtures/scenarios.json"
  start_site hostile --fixtures "$fixtures"
  pj 0 --api-base "http://127.0.0.1:$SITE_PORT" status 185.255.0.1
  assert_no_controls "$OUT"
  assert_no_controls "$ERR"
  assert_contains "$OUT" '\x1b]0;owned\x07'
  assert_contains "$OUT" 'fine\roverwritten'
  assert_contains "$OUT" '\xc2\x9b31m'
  # JSON keeps the text as sent, its C0 controls escaped by JSON itself.
  pj 0 --json --api-base "http://127.0.0.1:$SITE_PORT" status 185.255.0.1
  LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' <<<"$OUT" && fail "a C0 control in the JSON"
  assert_eq "$(jqr '.addresses[0].monitors[0].name')" "$(jq -r '.monitors[0].name' "$fixtures/hostile.json")"
}

test_candidates_file_error_names_the_line_not_its_text() {
  local file="$TEST_TMP/shadow"
  printf 'ntp1.example\n# a comment\nroot:$y$j9T$SECRETHASHSECRETHASH:19000:0:99999:7:::\n' >"$file"
  pj 2 --dry-run --root "$IMAGES/debian-12" resolve --no-probe --no-pool --no-catalogue \
    --candidates-file "$file"
  assert_contains "$ERR" "--candidates-file $file line 3: not a host name or an IP address"
  assert_not_contains "$ERR" "root"
  assert_not_contains "$ERR" "SECRET"
  # A control character in a line is not echoed either, nor one in the file's name.
  local odd="$TEST_TMP/odd${ESC}[2Jname"
  printf '%s\n' "${HOSTILE_TEXTS[@]}" >"$odd"
  pj 2 --dry-run --root "$IMAGES/debian-12" resolve --no-probe --no-pool --no-catalogue \
    --candidates-file "$odd"
  assert_contains "$ERR" 'odd\x1b[2Jname line 1: not a host name or an IP address'
  assert_no_controls "$ERR"
}

test_api_base_trailing_slashes_request_scores() {
  start_site plain
  local base="http://127.0.0.1:$SITE_PORT" suffix
  for suffix in / // ///; do
    : >"$SITE_LOG"
    pj 0 --json --api-base "$base$suffix" status 185.255.0.1
    assert_eq "$(jq -s -c 'map(.target)' "$SITE_LOG")" \
      '["/scores/185.255.0.1/json?monitor=*&limit=500","/api/data/server/scores/185.255.0.1/json?monitor=*&limit=500"]'
    assert_eq "$(jqr '.addresses[0].page')" "$base/scores/185.255.0.1"
  done
}

# pj_env EXPECTED VAR=VALUE ARGS...: pooljoin with one variable set in its environment.
pj_env() {
  local expected=$1 assignment=$2 rc=0
  shift 2
  env "$assignment" "$POOLJOIN" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  [ "$rc" = "$expected" ] || fail "$(printf '%q' "$assignment") pooljoin $* exited $rc, expected $expected"
}

test_env_booleans_take_only_the_documented_spellings() {
  require_root
  local root value before
  root=$(image_with_selection debian-12 booleans)
  mkdir -p "$root/etc/ntpsec"
  echo "old config" >"$root/etc/ntpsec/ntp.conf"
  before=$(md5sum "$root/etc/ntpsec/ntp.conf")
  # CLI11 read 0x1 and -1 as false: a dry run became a write.
  for value in 0x1 -1 2 10 +1 0x0 1.0 y n t f enable disable truee 'yes ' ' 1' $'1\n' "${HOSTILE_TEXTS[@]}"; do
    pj_env 2 "POOLJOIN_DRY_RUN=$value" --root "$root" gen-conf --no-daemon-check
    assert_contains "$ERR" "POOLJOIN_DRY_RUN (--dry-run) is not a boolean"
    assert_no_controls "$ERR"
    assert_eq "$(md5sum "$root/etc/ntpsec/ntp.conf")" "$before" "POOLJOIN_DRY_RUN=$value wrote"
  done
  # Each documented spelling, any case, for a global flag and a subcommand's.
  for value in 1 true TRUE yes Yes on ON; do
    pj_env 0 "POOLJOIN_DRY_RUN=$value" --root "$root" gen-conf --no-daemon-check
    assert_contains "$OUT" "# Written by pooljoin gen-conf"
    assert_eq "$(md5sum "$root/etc/ntpsec/ntp.conf")" "$before" "POOLJOIN_DRY_RUN=$value wrote"
  done
  for value in 0 false FALSE no off Off; do
    pj_env 0 "POOLJOIN_JSON=$value" detect
    [[ "$OUT" != "{"* ]] || fail "POOLJOIN_JSON=$value gave JSON"
  done
  pj_env 2 "POOLJOIN_FORCE=0x1" --dry-run --root "$root" gen-conf --no-daemon-check
  assert_contains "$ERR" "POOLJOIN_FORCE (--force) is not a boolean"
  assert_eq "$(md5sum "$root/etc/ntpsec/ntp.conf")" "$before"
}

test_empty_variables_never_make_a_run_more_dangerous() {
  require_root
  local root before
  root=$(image_with_selection debian-12 empty)
  mkdir -p "$root/etc/ntpsec"
  echo "old config" >"$root/etc/ntpsec/ntp.conf"
  before=$(md5sum "$root/etc/ntpsec/ntp.conf")
  # An empty POOLJOIN_LINT was taken as unset: the lint became a write. The same for a dry run.
  pj_env 2 "POOLJOIN_LINT=" --root "$root" gen-conf --no-daemon-check
  assert_contains "$ERR" "POOLJOIN_LINT (--lint) is set but empty"
  pj_env 2 "POOLJOIN_DRY_RUN=" --root "$root" gen-conf --no-daemon-check
  assert_contains "$ERR" "POOLJOIN_DRY_RUN (--dry-run) is set but empty"
  assert_eq "$(md5sum "$root/etc/ntpsec/ntp.conf")" "$before"
  # Elsewhere an empty variable is unset, as Ansible's empty vars expect: no --yes, no --force.
  pj_env 0 "POOLJOIN_FORCE=" --dry-run --root "$root" gen-conf --no-daemon-check
  pj_env 0 "POOLJOIN_YES=" --dry-run --root "$root" gen-conf --no-daemon-check
  # A variable of another subcommand is not read, empty or not.
  pj_env 0 "POOLJOIN_LINT=" detect
}

test_source_date_epoch_beyond_the_year_9999_is_refused() {
  local root
  root=$(image_with_selection debian-12 epoch)
  pj_env 0 SOURCE_DATE_EPOCH=253402300799 --root "$root" gen-conf --output -
  assert_contains "$OUT" "9999-12-31T23:59:59Z"
  # Past the nanoseconds of a time_point (the year 2262), which once wrapped to 1677.
  pj_env 0 SOURCE_DATE_EPOCH=9223372037 --root "$root" gen-conf --output -
  assert_contains "$OUT" "2262-04-11T23:47:17Z"
  local value
  for value in 253402300800 999999999999; do
    pj_env 2 "SOURCE_DATE_EPOCH=$value" --root "$root" gen-conf --output -
    assert_contains "$ERR" "SOURCE_DATE_EPOCH is beyond the year 9999"
  done
}

# A config's upstream names answered by a real DNS server (dnsmasq) with loopback, the LOCAL
# clock's address, unspecified and broadcast: each is judged as the address the daemon gets.
test_lint_refuses_upstream_names_that_resolve_to_loopback() {
  require_root
  command -v dnsmasq >/dev/null || skip "no dnsmasq"
  local ns name
  make_netns ns hostilelint
  mkdir -p "/etc/netns/$ns"
  on_exit rm -rf "/etc/netns/$ns"
  echo "nameserver 127.0.0.1" >"/etc/netns/$ns/resolv.conf"
  ip netns exec "$ns" dnsmasq --keep-in-foreground --port=53 --listen-address=127.0.0.1 \
    --bind-interfaces --conf-file=/dev/null --no-resolv --no-hosts --local=/#/ \
    --address=/good.test/192.0.2.9 --address=/loop.test/127.0.0.1 \
    --address=/other-loop.test/127.1.2.3 --address=/local-clock.test/127.127.1.0 \
    --address=/zero.test/0.0.0.0 --address=/broadcast.test/255.255.255.255 \
    --address=/six.test/::1 --pid-file="$TEST_TMP/lint-dnsmasq.pid" &
  local dnsmasq=$!
  on_exit kill "$dnsmasq"
  for _ in $(seq 50); do
    ip netns exec "$ns" dig +short +time=1 @127.0.0.1 good.test 2>/dev/null | grep -q 192.0.2.9 && break
    sleep 0.1
  done
  for name in loop.test other-loop.test local-clock.test zero.test broadcast.test six.test; do
    printf 'server 192.0.2.1 iburst\nserver 192.0.2.2 iburst\nserver 192.0.2.3 iburst\nserver good.test iburst\nserver %s iburst\n' \
      "$name" >"$TEST_TMP/$name.conf"
    local rc=0
    ip netns exec "$ns" "$POOLJOIN" --json gen-conf --lint "$TEST_TMP/$name.conf" --daemon ntpsec \
      >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
    OUT=$(cat "$TEST_TMP/out")
    assert_eq "$rc" 1 "$name"
    assert_eq "$(jqr '[.findings[] | select(.id == "lint.upstream-invalid") | .line] | join(",")')" 5 "$name"
    assert_contains "$(jqr '.findings[] | select(.id == "lint.upstream-invalid") | .message')" \
      "$name resolves to"
    # good.test counts; the name that resolves to this machine does not.
    assert_eq "$(jqr .upstreams)" 4 "$name"
  done
}

run_tests "$@"
