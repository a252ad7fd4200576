#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `pooljoin submit` (and `status` without addresses) in a network namespace whose loopback
# carries "public" addresses standing for the server's own: the pre-flight against a stand-in
# for the pool's site, what to enter on the site, the net speed, and the ownership proof, whose
# requests must arrive from each of those addresses.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pool_site.sh"
require_root

make_netns NS submit
ip -n "$NS" addr add 185.255.0.10/32 dev lo  # registered: the site has its score (healthy.json)
ip -n "$NS" addr add 185.255.0.11/32 dev lo
ip -n "$NS" -6 addr add 2a0a:e5c0::10/128 dev lo nodad
# `ip netns exec` puts /etc/netns/NS/hosts in place of /etc/hosts: names of the test's own.
mkdir -p "/etc/netns/$NS"
on_exit rm -rf "/etc/netns/$NS"
cat >"/etc/netns/$NS/hosts" <<'EOF'
127.0.0.1 localhost
::1 localhost
185.255.0.10 ntp-all.example.test
185.255.0.11 ntp-all.example.test
2a0a:e5c0::10 ntp-all.example.test
185.255.0.10 ntp-v4.example.test
EOF

# start_ntpsec NS ORPHAN_LINE: a real ntpsec in the namespace, on the pool's recommended config
# at its Debian path (`ip netns exec` puts /etc/netns/NS/ntpsec in place of /etc/ntpsec, for
# ntpd and pooljoin alike): what `gen-conf` writes, with the drift file in the test's directory.
# Four TEST-NET upstreams: in reach through upstreams_for (then it serves at stratum 3), or
# unreachable (then it stays unsynchronised, stratum 16).
start_ntpsec() {
  local ns=$1 dir="$TEST_TMP/ntpsec-$1" conf
  mkdir -p "$dir" "/etc/netns/$ns/ntpsec"
  conf="/etc/netns/$ns/ntpsec/ntp.conf"
  # Rendered on the machine it is for: gen-conf refuses the machine's own addresses as upstreams,
  # and the host running the tests may have one of TEST-NET-1.
  ip netns exec "$ns" "$POOLJOIN" gen-conf --daemon ntpsec --upstream 192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4 \
    --output - >"$dir/recommended.conf" 2>"$dir/gen-conf.err" || fail "gen-conf: $(cat "$dir/gen-conf.err")"
  sed "s|^driftfile .*|driftfile $dir/drift|" "$dir/recommended.conf" >"$conf"
  grep -qx "driftfile $dir/drift" "$conf" || fail "gen-conf wrote no driftfile line"
  if [ -n "$2" ]; then printf '%s\n' "$2" >>"$conf"; fi
  setpriv --bounding-set -sys_time ip netns exec "$ns" ntpd -n -c /etc/ntpsec/ntp.conf -p "$dir/pid" -l "$dir/log" </dev/null >/dev/null 2>&1 &
  on_exit kill "$!"
}

# wait_stratum NS N: until the namespace's ntpd reports stratum N (10 s at most).
wait_stratum() {
  local i
  for ((i = 0; i < 100; i++)); do
    ip netns exec "$1" ntpq -c "rv 0 stratum" 127.0.0.1 2>/dev/null | grep -q "stratum=$2" && return 0
    sleep 0.1
  done
  fail "ntpd in $1 did not reach stratum $2"
}

# The test probes its own addresses 20 times faster than a monitor, run after run: a kiss RATE
# from `limited` would end a check (as it ends a monitor's), and ntpsec exempts the machine's own
# addresses only once its interface scan has them. They are exempt here from the start.
upstreams_for "$NS" 1 192.0.2.1:123,stratum=2 192.0.2.2:123,stratum=2 192.0.2.3:123,stratum=2 \
  192.0.2.4:123,stratum=2
start_ntpsec "$NS" "restrict 185.255.0.0/16 nomodify notrap nopeer noquery
restrict -6 2a0a:e5c0::/32 nomodify notrap nopeer noquery"
wait_stratum "$NS" 3
wait_for_usable "$NS" 4

# Dual-stack, so that requests from IPv4 and IPv6 addresses both reach it.
start_site site --netns "$NS" --bind ::

# pjn EXPECTED_EXIT ARGS...: pooljoin inside the namespace, asking its site; `env` words in the
# PJN_ENV array go first.
PJN_ENV=()
# The pre-flight checks each address as the monitors do; a quicker version of it here, through
# the environment variables every option reads.
QUICK_ENV=(POOLJOIN_SAMPLES=2 POOLJOIN_INTERVAL=100ms POOLJOIN_TIMEOUT=700ms)
pjn() { pj_on "$NS" "$@"; }

# pj_on NETNS EXPECTED_EXIT ARGS...: the same in another namespace, asking the site on
# $SITE_PORT (a test that starts a site of its own shadows it).
pj_on() {
  local ns=$1 expected=$2
  shift 2
  local rc=0
  ip netns exec "$ns" env "${PJN_ENV[@]}" "${QUICK_ENV[@]}" "$POOLJOIN" \
    --api-base "http://127.0.0.1:$SITE_PORT" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  [ "$rc" = "$expected" ] || fail "pooljoin $* in $ns exited $rc, expected $expected"
}

test_a_registered_address_is_a_warning_as_the_site_may_take_it_again() {
  # The score API answers for a deleted server too (up to 30 days), and the site takes such an
  # address again: a warning, not a failure.
  pjn 0 --json submit --hostname ntp-all.example.test
  assert_eq "$(jqr '[keys[]] | join(",")')" "addresses,findings,instructions,opened,status,verification"
  assert_eq "$(jqr .status)" "warn"
  assert_eq "$(jq -c .addresses <<<"$OUT")" '["185.255.0.10","185.255.0.11","2a0a:e5c0::10"]'
  assert_eq "$(jq -c '.findings | map("\(.severity) \(.id)")' <<<"$OUT")" "$(jq -n -c '[
    "ok submit.address.global", "ok submit.address.global", "ok submit.address.global",
    "warn submit.registered", "ok submit.not-registered", "ok submit.not-registered",
    "ok submit.ntp.ok", "ok submit.ntp.ok", "ok submit.ntp.ok",
    "ok submit.outside.scored", "warn submit.outside.not-checked", "warn submit.outside.not-checked",
    "ok submit.lint", "ok submit.check"]')"
  assert_eq "$(jqr '.findings[3].message')" \
    "185.255.0.10 is known to the pool, score 19.6: the site refuses an address it has, unless that server is deleted or scheduled for deletion"
  pjn 0 submit --hostname ntp-all.example.test
  assert_contains "$OUT" "WARN  185.255.0.10 is known to the pool, score 19.6"
  # Reachable from outside: settled by the pool's score for the address it knows, not checked for
  # the others.
  assert_contains "$OUT" "WARN  not checked: that 185.255.0.11 is reachable from outside on UDP 123"
  assert_contains "$OUT" "11 passed, 3 not checked or warned, 0 failed"
}

test_preflight_passes_for_addresses_the_pool_does_not_know() {
  # The real ntpsec serves them at stratum 3 on the pool's recommended config: all passes.
  pjn 0 --json submit --hostname ntp-v4.example.test 185.255.0.11 2a0a:e5c0::10
  # All passes but what the machine cannot see: reachability from outside.
  assert_eq "$(jqr .status)" "warn"
  assert_eq "$(jqr '[.findings[] | select(.severity == "warn") | .id] | join(" ")')" \
    "submit.outside.not-checked submit.outside.not-checked"
  assert_eq "$(jqr '[.findings[] | select(.id == "submit.ntp.ok") | .message] | join("; ")')" \
    "185.255.0.11 answers NTP at stratum 3; 2a0a:e5c0::10 answers NTP at stratum 3"
  assert_eq "$(jqr '[.findings[] | select(.severity == "fail")] | length')" 0
  assert_eq "$(jq -c '[.findings[] | select(.id == "submit.not-registered") | .message]' <<<"$OUT")" \
    '["185.255.0.11 is not in the pool yet","2a0a:e5c0::10 is not in the pool yet"]'
  # The site was asked about exactly these two.
  assert_eq "$(site_requests /api/data/ | jq -c '[.[-2:][] | .path]')" \
    '["/api/data/server/scores/185.255.0.11/json","/api/data/server/scores/2a0a:e5c0::10/json"]'
}

test_preflight_fails_on_an_unsynchronised_server() {
  # Another machine: ntpsec without orphan mode and with no upstream in reach stays at stratum
  # 16, which the site refuses; check says why. Its address has no scenario at the site: 404.
  local ns2 SITE_PORT SITE_LOG  # its own site; the suite's stays as it was
  make_netns ns2 submit-unsync
  ip -n "$ns2" addr add 185.255.0.14/32 dev lo
  start_ntpsec "$ns2" ""
  start_site site2 --netns "$ns2"
  pj_on "$ns2" 1 --json submit
  # The two failures, and the registration rule really checked (the site answered 404): passed.
  assert_eq "$(jq -c '.findings | map("\(.severity) \(.id)")' <<<"$OUT")" "$(jq -n -c '[
    "ok submit.address.global", "ok submit.not-registered", "fail submit.ntp.stratum",
    "warn submit.outside.not-checked", "ok submit.lint", "fail submit.check"]')"
  assert_eq "$(jqr '.findings[] | select(.id == "submit.not-registered") | .message')" \
    "185.255.0.14 is not in the pool yet"
  assert_contains "$(jqr '.findings[] | select(.id == "submit.ntp.stratum") | .message')" "185.255.0.14 answers at stratum 0"
  assert_contains "$(jqr '.findings[] | select(.id == "submit.check") | .message')" "not synchronised"
}

test_preflight_fails_on_a_clock_the_monitors_will_see_500_ms_off() {
  # Another machine: an ntpsec that may not set the clock follows upstreams 500 ms ahead. It says
  # it is synchronised at stratum 3, which the site's own one-query test accepts; the monitors
  # would see it 500 ms off and score it down, and the pre-flight's check says so.
  local ns3 SITE_PORT SITE_LOG  # its own site; the suite's stays as it was
  make_netns ns3 submit-clock
  ip -n "$ns3" addr add 185.255.0.15/32 dev lo
  upstreams_for "$ns3" 3 192.0.2.1:123,stratum=2,offset=0.5 192.0.2.2:123,stratum=2,offset=0.5 \
    192.0.2.3:123,stratum=2,offset=0.5 192.0.2.4:123,stratum=2,offset=0.5
  start_ntpsec "$ns3" "tinker step 0
restrict 185.255.0.0/16 nomodify notrap nopeer noquery"
  wait_stratum "$ns3" 3
  wait_for_usable "$ns3" 3
  start_site site3 --netns "$ns3"
  pj_on "$ns3" 1 --json submit
  # The site would take it (stratum 3 answers), and the pre-flight's check fails it on the clock.
  assert_eq "$(jqr '.findings[] | select(.id == "submit.ntp.ok") | .severity')" ok
  assert_eq "$(jqr '.findings[] | select(.id == "submit.check") | .severity')" fail
  assert_contains "$(jqr '.findings[] | select(.id == "submit.check") | .message')" \
    "first: the time this machine serves is -"
  assert_contains "$(jqr '.findings[] | select(.id == "submit.check") | .message')" \
    "ms from true time: the median of 4 of 4 references (the daemon's upstreams)"
}

test_a_non_global_address_is_refused_by_the_preflight() {
  pjn 1 --json submit 10.20.30.40
  assert_eq "$(jqr '.findings[0].id')" "submit.address.not-global"
  assert_eq "$(jqr '.findings[0].message')" \
    "10.20.30.40 is not a global unicast address (private (RFC 1918)): the site refuses it"
  assert_eq "$(jqr '.instructions.families')" "[]"
}

test_the_hostname_is_entered_only_when_it_resolves_to_exactly_our_addresses() {
  pjn 0 --json submit --hostname ntp-all.example.test
  assert_eq "$(jqr .instructions.page)" "https://manage.ntppool.org/manage/servers"
  assert_eq "$(jqr .instructions.use_hostname)" "true"
  assert_eq "$(jq -c '.instructions.families | map([.family, .addresses, .enter])' <<<"$OUT")" \
    '[["ipv4",["185.255.0.10","185.255.0.11"],["ntp-all.example.test"]],["ipv6",["2a0a:e5c0::10"],["ntp-all.example.test"]]]'
  pjn 0 --json submit --hostname ntp-v4.example.test
  assert_eq "$(jqr .instructions.use_hostname)" "false"
  assert_eq "$(jq -c .instructions.hostname <<<"$OUT")" \
    '{"addresses":["185.255.0.10"],"error":null,"name":"ntp-v4.example.test"}'
  assert_eq "$(jq -c '.instructions.families | map(.enter)' <<<"$OUT")" \
    '[["185.255.0.10","185.255.0.11"],["2a0a:e5c0::10"]]'
  pjn 0 submit --hostname ntp-v4.example.test
  assert_contains "$OUT" "IPv4  enter 185.255.0.10, then 185.255.0.11"
  assert_contains "$OUT" "IPv6  enter 2a0a:e5c0::10"
  assert_contains "$OUT" "ntp-v4.example.test resolves to 185.255.0.10, not exactly this machine's addresses"
  pjn 0 --json submit --hostname nowhere.example.test
  assert_eq "$(jqr .instructions.use_hostname)" "false"
  [ "$(jqr .instructions.hostname.error)" != null ] || fail "an unresolvable name must say why"
  pjn 2 submit --hostname 'bad name;rm'
  assert_contains "$ERR" "--hostname"
}

test_net_speed_from_the_virtualisation_and_the_bandwidth() {
  pjn 1 --json --root "$IMAGES/debian-12-ntpsec-openvz" submit --hostname ntp-all.example.test
  assert_eq "$(jq -c '.instructions.net_speed | [.kbit, .label, .machine]' <<<"$OUT")" \
    '[6000,"6 Mbit","container"]'
  assert_contains "$(jqr .instructions.net_speed.reason)" "the guide says about 10 Mbit"
  pjn 1 --json --root "$IMAGES/ubuntu-24.04-chrony-timesyncd" submit --hostname ntp-all.example.test
  assert_eq "$(jq -c '.instructions.net_speed | [.kbit, .machine]' <<<"$OUT")" '[100000,"virtual machine"]'
  assert_eq "$(jq -c '.instructions.net_speed | [.unverified_limit_kbit, .after_verification]' <<<"$OUT")" "[10000,true]"
  pjn 1 --json --root "$IMAGES/ubuntu-24.04-chrony-timesyncd" submit --bandwidth 1000 \
    --hostname ntp-all.example.test
  assert_eq "$(jq -c '.instructions.net_speed | [.kbit, .expected_traffic_kbit]' <<<"$OUT")" '[1000000,40]'
  pjn 1 --root "$IMAGES/debian-12" submit --bandwidth 300 --hostname ntp-all.example.test
  # Above the 10 Mbit an unverified server may have: after the proof, and said so.
  assert_contains "$OUT" "2. Prove that the server is yours: the site names a validation URL for each family;"
  assert_contains "$OUT" "3. Then set the net speed of each new server to 250 Mbit (250000 kbit/s): a physical machine"
  assert_contains "$OUT" "It starts at 10 Mbit, the most an unverified server may have"
  assert_contains "$OUT" "The guide's figure: a server set to 1 Gbit served about 40 kbit/s each way"
  pjn 2 submit --bandwidth 0
  assert_contains "$ERR" "--bandwidth"
}

test_ownership_proof_comes_from_each_address() {
  : >"$SITE_LOG"
  # A proxy in the environment must not carry the proof: the site would see the proxy. (The
  # score lookups on 127.0.0.1 bypass this dead one through no_proxy; the proof's host,
  # localhost, is not in it.)
  PJN_ENV=(http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 no_proxy=127.0.0.1)
  pjn 0 --json submit --hostname ntp-all.example.test \
    --verify-url "http://localhost:$SITE_PORT/verify/tok-123?server=42"
  PJN_ENV=()
  assert_eq "$(jq -c '.verification.results | map([.address, .family, .ok, .status, .local_address])' <<<"$OUT")" \
    '[["185.255.0.10","ipv4",true,200,"185.255.0.10"],["185.255.0.11","ipv4",true,200,"185.255.0.11"],["2a0a:e5c0::10","ipv6",true,200,"2a0a:e5c0::10"]]'
  # A URL with a name serves both families.
  assert_eq "$(jq -c '.verification.urls | [.ipv4, .ipv6]' <<<"$OUT")" \
    "[\"http://localhost:$SITE_PORT/verify/tok-123?server=42\",\"http://localhost:$SITE_PORT/verify/tok-123?server=42\"]"
  # What the site saw: one request per address, from that address, v4 and v6.
  assert_eq "$(site_requests /verify/ | jq -c 'map([.client, .query, .proxied, .user_agent])')" \
    "$(jq -n -c --arg ua "pooljoin/$VERSION" '[["185.255.0.10","server=42",false,$ua],
      ["185.255.0.11","server=42",false,$ua],["2a0a:e5c0::10","server=42",false,$ua]]')"
  # The site's answer is the URL where the operator confirms: shown as such.
  assert_eq "$(jqr '.verification.results[0].confirm_url')" "https://manage.ntppool.test/manage/verify/tok-123/185.255.0.10"
  # Proving ownership expects the addresses to be registered: 185.255.0.10 passes now.
  assert_eq "$(jqr '.findings[] | select(.message | startswith("185.255.0.10 is")) | select(.id == "submit.registered") | .severity')" "ok"
  pjn 0 submit --verify-url "http://localhost:$SITE_PORT/verify/tok-123"
  assert_contains "$OUT" "Ownership proof (one request to its family's validation URL from each address):"
  assert_contains "$OUT" "  IPv6: http://localhost:$SITE_PORT/verify/tok-123"
  grep -Eq '^  2a0a:e5c0::10 +ok +HTTP 200 OK \(sent from 2a0a:e5c0::10\)$' <<<"$OUT" || fail "IPv6 proof line"
  assert_contains "$OUT" "2a0a:e5c0::10: now open https://manage.ntppool.test/manage/verify/tok-123/2a0a:e5c0::10 on the site (logged in) and confirm"
}

test_ownership_proof_has_one_url_per_family() {
  : >"$SITE_LOG"
  # The site names a validation server per family: each is asked from that family's addresses.
  pjn 0 --json submit --hostname ntp-all.example.test \
    --verify-url4 "http://127.0.0.1:$SITE_PORT/verify/four" --verify-url6 "http://[::1]:$SITE_PORT/verify/six"
  assert_eq "$(jq -c '.verification.results | map([.address, .url, .proven])' <<<"$OUT")" \
    "$(jq -n -c --arg p "$SITE_PORT" '[["185.255.0.10","http://127.0.0.1:\($p)/verify/four",true],
      ["185.255.0.11","http://127.0.0.1:\($p)/verify/four",true],["2a0a:e5c0::10","http://[::1]:\($p)/verify/six",true]]')"
  assert_eq "$(site_requests /verify/ | jq -c 'map([.client, .path])')" \
    '[["185.255.0.10","/verify/four"],["185.255.0.11","/verify/four"],["2a0a:e5c0::10","/verify/six"]]'
  # A URL whose host is an IPv4 address proves IPv4 only: IPv6 is not proven, said with what
  # to do, and not a failure of what was proven.
  : >"$SITE_LOG"
  pjn 0 --json submit --hostname ntp-all.example.test --verify-url "http://127.0.0.1:$SITE_PORT/verify/t"
  assert_eq "$(jq -c '.verification.urls | [.ipv4, .ipv6]' <<<"$OUT")" "[\"http://127.0.0.1:$SITE_PORT/verify/t\",null]"
  assert_eq "$(jq -c '.verification.results | map([.address, .proven])' <<<"$OUT")" \
    '[["185.255.0.10",true],["185.255.0.11",true],["2a0a:e5c0::10",null]]'
  assert_contains "$(jqr '.verification.results[2].message')" "not proven: no validation URL for IPv6 (the site names one per family: --verify-url6 URL)"
  assert_eq "$(site_requests /verify/ | jq -c 'map(.client)')" '["185.255.0.10","185.255.0.11"]'
}

test_ownership_proof_reports_each_failure() {
  : >"$SITE_LOG"
  pjn 1 --json submit --verify-url "http://localhost:$SITE_PORT/verify/t" 185.255.0.11 185.255.0.99
  assert_eq "$(jq -c '.verification.results | map([.address, .ok, .status])' <<<"$OUT")" \
    '[["185.255.0.11",true,200],["185.255.0.99",false,null]]'
  assert_contains "$(jqr '.verification.results[1].message')" "cannot send from 185.255.0.99"
  assert_eq "$(jqr .status)" "fail"
  assert_eq "$(site_requests /verify/ | jq -c 'map(.client)')" '["185.255.0.11"]'
  # The site refusing the proof is a failure too, with its answer.
  pjn 1 --json submit --verify-url "http://localhost:$SITE_PORT/not-a-token" 185.255.0.11
  assert_eq "$(jq -c '.verification.results | map([.ok, .status, .message])' <<<"$OUT")" \
    '[[false,404,"HTTP 404 Not Found"]]'
  pjn 2 submit --verify-url ftp://manage.ntppool.org/x
  assert_contains "$ERR" "--verify-url"
  pjn 2 submit --verify-url "https://manage.ntppool.org/a b"
}

test_dry_run_sends_no_proof() {
  : >"$SITE_LOG"
  pjn 0 --dry-run --json submit --verify-url "http://localhost:$SITE_PORT/verify/t" 185.255.0.11
  assert_eq "$(jqr .verification)" "null"
  assert_contains "$ERR" "dry run: would request http://localhost:$SITE_PORT/verify/t from 185.255.0.11"
  assert_eq "$(site_requests /verify/ | jq length)" 0
}

test_open_uses_xdg_open_only_on_a_desktop() {
  mkdir -p "$TEST_TMP/bin"
  cat >"$TEST_TMP/bin/xdg-open" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >"$TEST_TMP/opened"
EOF
  chmod 755 "$TEST_TMP/bin/xdg-open"
  PJN_ENV=(-u WAYLAND_DISPLAY DISPLAY=:99 "PATH=$TEST_TMP/bin:$PATH")
  pjn 0 --json submit --open 185.255.0.11
  assert_eq "$(jqr .opened)" "true"
  assert_eq "$(cat "$TEST_TMP/opened")" "https://manage.ntppool.org/manage/servers"
  rm -f "$TEST_TMP/opened"
  PJN_ENV=(-u DISPLAY -u WAYLAND_DISPLAY "PATH=$TEST_TMP/bin:$PATH")
  pjn 0 --json submit --open 185.255.0.11
  PJN_ENV=()
  assert_eq "$(jqr .opened)" "false"
  assert_contains "$ERR" "no desktop here (DISPLAY and WAYLAND_DISPLAY unset, or no xdg-open)"
  [ ! -e "$TEST_TMP/opened" ] || fail "xdg-open ran without a desktop"
}

test_status_defaults_to_the_machines_global_addresses() {
  pjn 0 --json status
  assert_eq "$(jq -c '.addresses | map([.address, .known, .score])' <<<"$OUT")" \
    '[["185.255.0.10",true,19.6],["185.255.0.11",false,null],["2a0a:e5c0::10",false,null]]'
}

test_a_machine_without_global_addresses() {
  local bare
  make_netns bare bare
  ip -n "$bare" addr add 10.9.8.7/32 dev lo
  local rc=0
  ip netns exec "$bare" "$POOLJOIN" status >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" 2
  assert_contains "$(cat "$TEST_TMP/err")" \
    "no address to look up (this machine has only private addresses (behind NAT, the pool sees the public one)); name the public address: pooljoin status ADDRESS"
  rc=0
  ip netns exec "$bare" "$POOLJOIN" --json submit >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  assert_eq "$rc" 1
  assert_eq "$(jqr '.findings[0].id')" "submit.address.none"
  assert_eq "$(jqr '.findings[0].message')" "no global address on this machine, only private ones (behind NAT?)"
}

run_tests "$@"
