#!/usr/bin/env bash
# `gen-conf --lint` proven by the real daemons (issue 17). Each case runs ntpsec or chronyd on a
# config in a "server" namespace whose public addresses (185.255.0.N, 2a0a:e5c0::N) are reached
# over a veth pair from an "outside" namespace. From there a client asks for the time (mode 3,
# IPv4 and IPv6 apart) and, of ntpd, for its system variables (mode 6 READVAR). What the daemon
# did is asserted first: it is the ground truth, and the case fails when the daemon does
# otherwise. Then the lint of the same file must agree: exit 1 with the finding ids expected when
# the public cannot get the time or mode 6 is open, no failure when the server serves safely.
source "$(dirname "$0")/lib.sh"
require_root
command -v ntpd >/dev/null || { echo "SKIP: ntpsec is not installed (scripts/setup --test)"; exit 77; }

CHRONY_DIR=/var/cache/pooljoin-test/chrony
PROBE="$(cd "$(dirname "$0")" && pwd)/ntp_probe.py"
# How long a probe waits for an answer that does not come: the daemons answer within a
# millisecond over the veth pair, so 1 s is generous and keeps the silent cases short.
PROBE_WAIT=1

# Four upstreams, as the pool asks (no lint.upstream-count); TEST-NET-1 has no route out of a
# server namespace, so they never answer.
NTPD_UPSTREAMS='server 192.0.2.1 iburst
server 192.0.2.2 iburst
server 192.0.2.3 iburst
server 192.0.2.4 iburst'
# In orphan mode ntpsec serves the time at stratum 4 after about 2 s, without any upstream (and
# without touching the clock): what the public gets is a real answer, not an unsynchronised one.
ORPHAN='tos orphan 4 orphanwait 1'
RECOMMENDED='restrict default kod limited nomodify notrap nopeer noquery
restrict -6 default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.1
restrict -6 ::1'
CHRONY_UPSTREAMS='server 192.0.2.1 iburst
server 192.0.2.2 iburst
server 192.0.2.3 iburst
server 192.0.2.4 iburst'

CLOCK_BEFORE=$(clock_discipline)

# server_and_outside N: the server namespace SRV (185.255.0.N and 2a0a:e5c0::N on its loopback)
# and the outside namespace OUT behind a veth pair (lib.sh outside_of: the client's addresses
# are 198.18.N.2 and fd00:18:N::2); V4 and V6 are the server's public addresses.
server_and_outside() {
  make_netns SRV "srv$1"
  ip -n "$SRV" addr add "185.255.0.$1/32" dev lo
  ip -n "$SRV" -6 addr add "2a0a:e5c0::$1/128" dev lo nodad
  outside_of OUT "$SRV" "$1"
  V4=185.255.0.$1
  V6=2a0a:e5c0::$1
}

# probe NETNS KIND:ADDRESS...: ntp_probe.py's lines, from inside NETNS.
probe() {
  local ns=$1
  shift
  ip netns exec "$ns" python3 "$PROBE" -t "$PROBE_WAIT" "$@"
}

# observe: what the outside got from the server, as one line:
#   "v4 time|kod CODE|no, v6 ..., mode6 v4 yes|err|no, v6 ..."
# (a reply's LI and stratum go to SEEN, for the record). With `observe time`, mode 6 is not asked.
observe() {
  local lines v4 v6 m4 m6
  if [ "${1:-}" = time ]; then
    lines=$(probe "$OUT" "time:$V4" "time:$V6")
  else
    lines=$(probe "$OUT" "time:$V4" "time:$V6" "mode6:$V4" "mode6:$V6")
  fi
  SEEN=$(grep -o 'reply [0-9]* [0-9]* [^ ]*' <<<"$lines" | head -1 | awk '{print "LI=" $2 " stratum=" $3 " refid=" $4}')
  v4=$(sed -n 1p <<<"$lines")
  v6=$(sed -n 2p <<<"$lines")
  m4=$(sed -n 3p <<<"$lines")
  m6=$(sed -n 4p <<<"$lines")
  OBSERVED="v4 $(time_word "$v4"), v6 $(time_word "$v6")"
  [ "${1:-}" = time ] || OBSERVED+=", mode6 v4 $(mode6_word "$m4"), v6 $(mode6_word "$m6")"
}
time_word() {
  case $1 in
    *" reply "*) echo time ;;
    *" kod "*) echo "kod ${1##* }" ;;
    *) echo no ;;
  esac
}
mode6_word() {
  case $1 in
    *" answer") echo yes ;;
    *" error") echo err ;;
    *) echo no ;;
  esac
}

# lint_agrees FILE DAEMON EXIT "FAIL IDS": `pooljoin --json gen-conf --lint FILE --daemon DAEMON`
# exits EXIT and fails exactly with the ids given (each once or more; sorted, unique). A
# lint.no-service finding names the family that cannot be served (NO_SERVICE_FAMILIES,
# "ipv4", "ipv6" or "ipv4 ipv6", when set). Never lint.upstream-count: the configs have 4.
lint_agrees() {
  local file=$1 daemon=$2 exit=$3 ids=$4 rc=0 got
  "$POOLJOIN" --json gen-conf --lint "$file" --daemon "$daemon" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  echo "  lint: exit $rc; fail: $(jqr '[.findings[] | select(.severity == "fail") | .id] | join(" ")');" \
    "warn: $(jqr '[.findings[] | select(.severity == "warn") | .id] | join(" ")')"
  got=$(jqr '[.findings[] | select(.severity == "fail") | .id] | unique | join(" ")')
  [ "$rc" = "$exit" ] && [ "$got" = "$ids" ] ||
    fail "lint half: the daemon did [$OBSERVED], so the lint must exit $exit failing [$ids]; it exited $rc failing [$got]"
  assert_not_contains "$(jqr '[.findings[].id] | join(" ")')" lint.upstream-count
  local family messages
  messages=$(jqr '[.findings[] | select(.id == "lint.no-service") | .message] | join(" ")' | tr 'A-Z' 'a-z')
  for family in ${NO_SERVICE_FAMILIES:-}; do
    assert_contains "$messages" "$family"
  done
}

# expect_daemon EXPECTED: the ground truth, asserted before any lint.
expect_daemon() {
  echo "  daemon: $OBSERVED${SEEN:+ (reply $SEEN)}"
  [ "$OBSERVED" = "$1" ] || fail "daemon half: expected [$1], the daemon did [$OBSERVED]"
}

# ntpsec_on N LINES: ntpsec on driftfile + the 4 upstreams + LINES, in the server namespace of
# server_and_outside N, without CAP_SYS_TIME (it cannot touch the machine's clock). Returns once
# it answers on loopback (mode 3 from 127.0.0.1; the configs here all leave loopback served),
# at stratum 4 when ORPHAN is among the lines; CONF is the file.
ntpsec_on() {
  local n=$1 dir="$TEST_TMP/ntpsec-$1" i answer="" want='reply [0-3] '
  server_and_outside "$n"
  mkdir -p "$dir"
  CONF=$dir/ntp.conf
  printf 'driftfile %s/drift\n%s\n%s\n' "$dir" "$NTPD_UPSTREAMS" "$2" >"$CONF"
  [[ "$2" == *"tos orphan 4"* ]] && want='reply 0 4 '
  setpriv --bounding-set -sys_time ip netns exec "$SRV" ntpd -n -c "$CONF" -p "$dir/ntpd.pid" -l "$dir/ntpd.log" \
    </dev/null >/dev/null 2>&1 &
  on_exit kill $!
  local start
  start=$(date +%s%N)
  for ((i = 0; i < 60; i++)); do
    answer=$(ip netns exec "$SRV" python3 "$PROBE" -t 0.2 time:127.0.0.1)
    [[ "$answer" == *"$want"* ]] && break
    sleep 0.1
  done
  [[ "$answer" == *"$want"* ]] || fail "ntpd did not answer on loopback within 6+ s ($answer): $(cat "$dir/ntpd.log")"
  echo "  ntpsec ready after $((($(date +%s%N) - start) / 1000000)) ms (loopback: ${answer#time 127.0.0.1 })"
}

# chronyd_on N LINES: chronyd -x (never touching the clock) on the 4 upstreams + LINES + its own
# pid and drift files, the command socket on UDP loopback only (`bindcmdaddress /` closes the
# Unix one, a path shared with other tests). Returns once chronyc gets an answer.
chronyd_on() {
  [ -x "$CHRONY_DIR/usr/sbin/chronyd" ] || skip "chronyd not unpacked in $CHRONY_DIR (scripts/setup --test)"
  local n=$1 dir="$TEST_TMP/chronyd-$1" i start
  server_and_outside "$n"
  mkdir -p "$dir"
  CONF=$dir/chrony.conf
  printf '%s\n%s\nbindcmdaddress /\npidfile %s/chronyd.pid\ndriftfile %s/drift\n' \
    "$CHRONY_UPSTREAMS" "$2" "$dir" "$dir" >"$CONF"
  start=$(date +%s%N)
  ip netns exec "$SRV" "$CHRONY_DIR/usr/sbin/chronyd" -x -d -u root -f "$CONF" </dev/null >"$dir/chronyd.log" 2>&1 &
  on_exit kill $!
  for ((i = 0; i < 50; i++)); do
    ip netns exec "$SRV" "$CHRONY_DIR/usr/bin/chronyc" -n tracking >/dev/null 2>&1 && break
    sleep 0.1
  done
  ip netns exec "$SRV" "$CHRONY_DIR/usr/bin/chronyc" -n tracking >/dev/null 2>&1 ||
    fail "chronyd did not answer chronyc within 5 s: $(cat "$dir/chronyd.log")"
  echo "  chronyd ready after $((($(date +%s%N) - start) / 1000000)) ms"
}

# The end of every case: the machine's clock discipline as it was when the script began.
clock_kept() { assert_clock_discipline_kept "$CLOCK_BEFORE"; }

# --- ntpsec 1.2 (the cases are numbered as in issue 17) ---

test_ntpsec_01_the_pools_restrict_lines_serve_the_time_and_close_mode6() {
  ntpsec_on 61 "$ORPHAN
$RECOMMENDED"
  observe
  expect_daemon "v4 time, v6 time, mode6 v4 no, v6 no"
  lint_agrees "$CONF" ntpsec 0 ""
  clock_kept
}

test_ntpsec_02_noserve_by_default_serves_nobody() {
  ntpsec_on 62 "$ORPHAN
restrict default kod limited nomodify noquery noserve
restrict -6 default kod limited nomodify noquery noserve
restrict 127.0.0.1
restrict -6 ::1"
  observe
  expect_daemon "v4 no, v6 no, mode6 v4 no, v6 no"
  NO_SERVICE_FAMILIES="ipv4 ipv6" lint_agrees "$CONF" ntpsec 1 "lint.no-service"
  clock_kept
}

test_ntpsec_03_unrestrict_noquery_opens_mode6() {
  ntpsec_on 63 "$ORPHAN
$RECOMMENDED
unrestrict default noquery
unrestrict -6 default noquery"
  observe
  expect_daemon "v4 time, v6 time, mode6 v4 yes, v6 yes"
  lint_agrees "$CONF" ntpsec 1 "lint.mode6-open"
  clock_kept
}

test_ntpsec_04_restrict_default_without_its_ipv6_line() {
  ntpsec_on 64 "$ORPHAN
restrict default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.1
restrict -6 ::1"
  observe
  expect_daemon "v4 time, v6 time, mode6 v4 no, v6 no"
  lint_agrees "$CONF" ntpsec 0 ""
  clock_kept
}

test_ntpsec_05a_ignore_for_every_ipv4_address() {
  ntpsec_on 65 "$ORPHAN
$RECOMMENDED
restrict 0.0.0.0 mask 0.0.0.0 ignore"
  observe
  expect_daemon "v4 no, v6 time, mode6 v4 no, v6 no"
  NO_SERVICE_FAMILIES=ipv4 lint_agrees "$CONF" ntpsec 1 "lint.no-service"
  clock_kept
}

test_ntpsec_05b_ignore_for_networks_the_public_is_not_in() {
  ntpsec_on 66 "$ORPHAN
$RECOMMENDED
restrict 203.0.113.0 mask 255.255.255.0 ignore
restrict -6 2001:db8:: mask ffff:ffff:: ignore"
  observe
  expect_daemon "v4 time, v6 time, mode6 v4 no, v6 no"
  lint_agrees "$CONF" ntpsec 0 ""
  clock_kept
}

test_ntpsec_05c_ignore_for_the_probes_own_network_only() {
  ntpsec_on 67 "$ORPHAN
$RECOMMENDED
restrict 198.18.0.0 mask 255.254.0.0 ignore
restrict -6 fd00:: mask ff00:: ignore"
  observe
  # The most specific match wins: this client is refused...
  expect_daemon "v4 no, v6 no, mode6 v4 no, v6 no"
  # ... but the internet at large (the linter's representative public address) is served.
  lint_agrees "$CONF" ntpsec 0 ""
  clock_kept
}

test_ntpsec_06a_interface_ignore_wildcard_listen_loopback() {
  ntpsec_on 68 "$ORPHAN
$RECOMMENDED
interface ignore wildcard
interface listen 127.0.0.1"
  observe time
  expect_daemon "v4 no, v6 no"
  lint_agrees "$CONF" ntpsec 1 "lint.listen"
  clock_kept
}

test_ntpsec_06b_interface_ignore_all_listen_loopback() {
  ntpsec_on 69 "$ORPHAN
$RECOMMENDED
interface ignore all
interface listen 127.0.0.1"
  observe time
  expect_daemon "v4 no, v6 no"
  lint_agrees "$CONF" ntpsec 1 "lint.listen"
  clock_kept
}

test_ntpsec_07_no_restrict_line_at_all() {
  ntpsec_on 70 "$ORPHAN"
  observe
  expect_daemon "v4 time, v6 time, mode6 v4 no, v6 no"
  lint_agrees "$CONF" ntpsec 0 ""
  clock_kept
}

# --- chronyd 4.3 ---

test_chrony_08_allow_all_with_ratelimit_serves_the_time() {
  chronyd_on 71 "allow all
ratelimit interval 3 burst 8"
  observe time
  expect_daemon "v4 time, v6 time"
  lint_agrees "$CONF" chrony 0 ""
  clock_kept
}

test_chrony_09_allow_all_then_deny_all_serves_nobody() {
  chronyd_on 72 "allow all
deny all
ratelimit interval 3 burst 8"
  observe time
  expect_daemon "v4 no, v6 no"
  NO_SERVICE_FAMILIES="ipv4 ipv6" lint_agrees "$CONF" chrony 1 "lint.no-service"
  clock_kept
}

test_chrony_10_allow_every_ipv4_address_only() {
  chronyd_on 73 "allow 0.0.0.0/0
ratelimit interval 3 burst 8"
  observe time
  expect_daemon "v4 time, v6 no"
  NO_SERVICE_FAMILIES=ipv6 lint_agrees "$CONF" chrony 1 "lint.no-service"
  clock_kept
}

test_chrony_11_no_allow_serves_nobody() {
  chronyd_on 74 "ratelimit interval 3 burst 8"
  observe time
  expect_daemon "v4 no, v6 no"
  lint_agrees "$CONF" chrony 1 "lint.no-allow"
  clock_kept
}

test_chrony_12_bindaddress_loopback() {
  chronyd_on 75 "allow all
ratelimit interval 3 burst 8
bindaddress 127.0.0.1"
  observe time
  expect_daemon "v4 no, v6 time"
  lint_agrees "$CONF" chrony 1 "lint.listen"
  clock_kept
}

test_chrony_13_port_0_closes_the_ntp_port() {
  chronyd_on 76 "allow all
ratelimit interval 3 burst 8
port 0"
  observe time
  expect_daemon "v4 no, v6 no"
  lint_agrees "$CONF" chrony 1 "lint.listen"
  clock_kept
}

run_tests "$@"
