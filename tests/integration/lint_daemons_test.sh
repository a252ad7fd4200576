#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `gen-conf --lint` proven by the real daemons. Each case runs ntpsec or chronyd on a
# config in a "server" namespace whose public addresses (185.255.0.N, 2a0a:e5c0::N) are reached
# over a veth pair from an "outside" namespace. From there a client asks for the time (mode 3,
# IPv4 and IPv6 apart) and, of ntpd, for its system variables (mode 6 READVAR). What the daemon
# did is asserted first: it is the ground truth, and the case fails when the daemon does
# otherwise. Then the lint of the same file must agree: exit 1 with the finding ids expected when
# the public cannot get the time or mode 6 is open, no failure when the server serves safely.
# DAEMONS_ONLY=1 asserts the daemons' half alone (the lint's verdicts are shown, not asserted).
source "$(dirname "$0")/lib.sh"
require_root
command -v ntpd >/dev/null || skip_all "ntpsec is not installed (scripts/setup --test)"

CHRONY_DIR=/var/cache/pooljoin-test/chrony
PROBE="$(cd "$(dirname "$0")" && pwd)/ntp_probe.py"
# The system's python: a version manager's shim in PATH (pyenv) costs a second a run, and the
# cases run python about twenty times.
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
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

CLOCK_BEFORE=$(PATH="${PYTHON%/*}:$PATH" clock_discipline)

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
  ip netns exec "$ns" "$PYTHON" "$PROBE" -t "$PROBE_WAIT" "$@"
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
  # DAEMONS_ONLY=1: the daemons' behaviour alone is asserted (the lint's is only shown).
  if [ "${DAEMONS_ONLY:-}" = 1 ]; then
    [ "$rc" = "$exit" ] && [ "$got" = "$ids" ] || echo "  lint half NOT asserted: expected exit $exit failing [$ids]"
    return 0
  fi
  [ "$rc" = "$exit" ] && [ "$got" = "$ids" ] ||
    fail "lint half: the daemon did [$OBSERVED], so the lint must exit $exit failing [$ids]; it exited $rc failing [$got]"
  assert_not_contains "$(jqr '[.findings[].id] | join(" ")')" lint.upstream-count
  local family messages
  messages=$(jqr '[.findings[] | select(.id == "lint.no-service") | .message] | join(" ")' | tr '[:upper:]' '[:lower:]')
  for family in ${NO_SERVICE_FAMILIES:-}; do
    assert_contains "$messages" "$family"
  done
}

# expect_daemon EXPECTED: the ground truth, asserted before any lint.
expect_daemon() {
  echo "  daemon: $OBSERVED${SEEN:+ (reply $SEEN)}"
  [ "$OBSERVED" = "$1" ] || fail "daemon half: expected [$1], the daemon did [$OBSERVED]"
}

# config N DAEMON LINES: case N's daemon (ntpsec or chrony) and the lines of its config besides
# the upstreams; its test function says `serve N`.
declare -A DAEMON_OF LINES_OF
config() {
  DAEMON_OF[$1]=$2
  LINES_OF[$1]=$3
}

# start_daemon N: case N's server and outside namespaces (server_and_outside N), its config in
# CONF, and its daemon started, without waiting. ntpsec runs without CAP_SYS_TIME, chronyd with
# -x: neither can touch the machine's clock. chronyd's command socket is on UDP loopback only
# (`bindcmdaddress /` closes the Unix one, a path shared with other tests).
start_daemon() {
  local n=$1 dir="$TEST_TMP/case-$1" lock
  # One set of namespaces at a time: `ip netns add` and `ip link add ... netns` running side by
  # side sometimes failed with "Peer netns reference is invalid".
  exec {lock}>"$TEST_TMP/.netns.lock"
  flock "$lock"
  server_and_outside "$n"
  flock -u "$lock"
  mkdir -p "$dir"
  date +%s%N >"$dir/started"
  case ${DAEMON_OF[$n]} in
    ntpsec)
      printf 'driftfile %s/drift\n%s\n%s\n' "$dir" "$NTPD_UPSTREAMS" "${LINES_OF[$n]}" >"$dir/ntp.conf"
      setpriv --bounding-set -sys_time ip netns exec "$SRV" \
        ntpd -n -c "$dir/ntp.conf" -p "$dir/ntpd.pid" -l "$dir/daemon.log" </dev/null >/dev/null 2>&1 &
      ;;
    chrony)
      [ -x "$CHRONY_DIR/usr/sbin/chronyd" ] || return 0
      printf '%s\n%s\nbindcmdaddress /\npidfile %s/chronyd.pid\ndriftfile %s/drift\n' \
        "$CHRONY_UPSTREAMS" "${LINES_OF[$n]}" "$dir" "$dir" >"$dir/chrony.conf"
      ip netns exec "$SRV" "$CHRONY_DIR/usr/sbin/chronyd" -x -d -u root -f "$dir/chrony.conf" \
        </dev/null >"$dir/daemon.log" 2>&1 &
      ;;
  esac
  on_exit kill $!
}

# serve N: case N's daemon, once ready: ntpsec answers a mode 3 query on its loopback (at
# stratum 4 in orphan mode), chronyd answers chronyc; at most 8 s after it started. Sets SRV,
# OUT, V4, V6 and CONF.
serve() {
  local n=$1 dir="$TEST_TMP/case-$1" i ready=false answer="" want='reply '
  SRV="pj-srv$n-$$"
  OUT="pj-out$n-$$"
  V4=185.255.0.$n
  V6=2a0a:e5c0::$n
  case ${DAEMON_OF[$n]} in
    ntpsec)
      CONF=$dir/ntp.conf
      [[ "${LINES_OF[$n]}" == *"$ORPHAN"* ]] && want='reply 0 4 '
      ;;
    chrony)
      [ -x "$CHRONY_DIR/usr/sbin/chronyd" ] || skip "chronyd not unpacked in $CHRONY_DIR (scripts/setup --test)"
      CONF=$dir/chrony.conf
      ;;
  esac
  for ((i = 0; i < 80; i++)); do
    case ${DAEMON_OF[$n]} in
      ntpsec)
        answer=$(ip netns exec "$SRV" "$PYTHON" "$PROBE" -t 0.2 time:127.0.0.1)
        [[ "$answer" == *"$want"* ]] && ready=true
        ;;
      chrony)
        ip netns exec "$SRV" "$CHRONY_DIR/usr/bin/chronyc" -n tracking >/dev/null 2>&1 && ready=true
        ;;
    esac
    $ready && break
    sleep 0.1
  done
  $ready || fail "${DAEMON_OF[$n]} was not ready ($answer): $(cat "$dir/daemon.log")"
  # The daemon read every line: a line it rejects proves nothing about that line.
  ! grep -E 'syntax error|Invalid|Could not' "$dir/daemon.log" >&2 || fail "the daemon rejected a line of its config"
  echo "  ${DAEMON_OF[$n]} answering (started $((($(date +%s%N) - $(cat "$dir/started")) / 1000000)) ms ago);" \
    "UDP 123 bound to: $(ip netns exec "$SRV" ss -Hlun 'sport = :123' | awk '{print $4}' | sed 's/:123$//' | tr '\n' ' ')"
}

# prestart [FILTER]: starts the daemons of the cases run_tests will run, all at once, so that
# their start-up (about 2.5 s for ntpsec in orphan mode) overlaps.
# Each in a background job of its own (its cleanups go to the shared on_exit file).
prestart() {
  local name n jobs=() job
  for name in $(declare -F | awk '{print $3}' | grep '^test_'); do
    [ -n "${1:-}" ] && [[ "$name" != *"$1"* ]] && continue
    n=$(declare -f "$name" | grep -o 'serve [0-9]*' | head -1 | cut -d' ' -f2)
    [ -n "$n" ] || continue
    start_daemon "$n" &
    jobs+=($!)
  done
  for job in "${jobs[@]}"; do
    wait "$job" || fail "a case's namespaces or daemon could not be set up"
  done
}

# The end of every case: the machine's clock discipline as it was when the script began.
clock_kept() { PATH="${PYTHON%/*}:$PATH" assert_clock_discipline_kept "$CLOCK_BEFORE"; }

# --- ntpsec 1.2 (each case numbered in its test's name) ---

config 61 ntpsec "$ORPHAN
$RECOMMENDED"
test_ntpsec_01_the_pools_restrict_lines_serve_the_time_and_close_mode6() {
  serve 61
  observe
  expect_daemon "v4 time, v6 time, mode6 v4 no, v6 no"
  lint_agrees "$CONF" ntpsec 0 ""
  clock_kept
}

# noserve drops the query without a word, `kod` or not: no reply at all, not a kiss.
config 62 ntpsec "$ORPHAN
restrict default kod limited nomodify noquery noserve
restrict -6 default kod limited nomodify noquery noserve
restrict 127.0.0.1
restrict -6 ::1"
test_ntpsec_02_noserve_by_default_serves_nobody() {
  serve 62
  observe
  expect_daemon "v4 no, v6 no, mode6 v4 no, v6 no"
  NO_SERVICE_FAMILIES="ipv4 ipv6" lint_agrees "$CONF" ntpsec 1 "lint.no-service"
  clock_kept
}

# ntpsec 1.2's built-in restrictions include noquery (see case 07): only unrestrict opens mode 6.
config 63 ntpsec "$ORPHAN
$RECOMMENDED
unrestrict default noquery
unrestrict -6 default noquery"
test_ntpsec_03_unrestrict_noquery_opens_mode6() {
  serve 63
  observe
  expect_daemon "v4 time, v6 time, mode6 v4 yes, v6 yes"
  lint_agrees "$CONF" ntpsec 1 "lint.mode6-open"
  clock_kept
}

# `restrict default` without -4/-6 covers both families in ntpsec 1.2 (as in classic ntpd since
# 4.2.6): IPv6 gets the time and mode 6 stays closed there too.
config 64 ntpsec "$ORPHAN
restrict default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.1
restrict -6 ::1"
test_ntpsec_04_restrict_default_without_its_ipv6_line() {
  serve 64
  observe
  expect_daemon "v4 time, v6 time, mode6 v4 no, v6 no"
  lint_agrees "$CONF" ntpsec 0 ""
  clock_kept
}

# 0.0.0.0 mask 0.0.0.0 is IPv4's default entry: the ignore adds to it. (ntpsec takes `-6` only
# before `default`: `restrict -6 ADDRESS mask ...` is a syntax error and the line is dropped.)
config 65 ntpsec "$ORPHAN
$RECOMMENDED
restrict 0.0.0.0 mask 0.0.0.0 ignore"
test_ntpsec_05a_ignore_for_every_ipv4_address() {
  serve 65
  observe
  expect_daemon "v4 no, v6 time, mode6 v4 no, v6 no"
  NO_SERVICE_FAMILIES=ipv4 lint_agrees "$CONF" ntpsec 1 "lint.no-service"
  clock_kept
}

config 66 ntpsec "$ORPHAN
$RECOMMENDED
restrict 203.0.113.0 mask 255.255.255.0 ignore
restrict 2001:db8:: mask ffff:ffff:: ignore"
test_ntpsec_05b_ignore_for_networks_the_public_is_not_in() {
  serve 66
  observe
  expect_daemon "v4 time, v6 time, mode6 v4 no, v6 no"
  lint_agrees "$CONF" ntpsec 0 ""
  clock_kept
}

config 67 ntpsec "$ORPHAN
$RECOMMENDED
restrict 198.18.0.0 mask 255.254.0.0 ignore
restrict fd00:: mask ff00:: ignore"
test_ntpsec_05c_ignore_for_the_probes_own_network_only() {
  serve 67
  observe
  # The most specific match wins: this client is refused...
  expect_daemon "v4 no, v6 no, mode6 v4 no, v6 no"
  # ... but the internet at large (the linter's representative public address) is served.
  lint_agrees "$CONF" ntpsec 0 ""
  clock_kept
}

# ntpsec binds 127.0.0.1 and ::1 only: nothing listens on the public addresses.
config 68 ntpsec "$ORPHAN
$RECOMMENDED
interface ignore wildcard
interface listen 127.0.0.1"
test_ntpsec_06a_interface_ignore_wildcard_listen_loopback() {
  serve 68
  observe time
  expect_daemon "v4 no, v6 no"
  lint_agrees "$CONF" ntpsec 1 "lint.listen"
  clock_kept
}

# ntpsec binds 127.0.0.1, ::1 and the wildcards 0.0.0.0 and [::]; what arrives on a wildcard
# socket is not answered, so the public addresses still get nothing.
config 69 ntpsec "$ORPHAN
$RECOMMENDED
interface ignore all
interface listen 127.0.0.1"
test_ntpsec_06b_interface_ignore_all_listen_loopback() {
  serve 69
  observe time
  expect_daemon "v4 no, v6 no"
  lint_agrees "$CONF" ntpsec 1 "lint.listen"
  clock_kept
}

# Once there are `interface` lines, ntpsec opens no address that none of them matches: a
# `listen` for loopback alone, an `ignore wildcard` alone or an `ignore ipv6` alone leave it
# serving loopback only (127.0.0.1 and ::1 bound, and the wildcards, which do not answer).
config 77 ntpsec "$ORPHAN
$RECOMMENDED
interface listen 127.0.0.1"
test_ntpsec_06c_interface_listen_loopback_alone() {
  serve 77
  observe time
  expect_daemon "v4 no, v6 no"
  lint_agrees "$CONF" ntpsec 1 "lint.listen"
  clock_kept
}

config 78 ntpsec "$ORPHAN
$RECOMMENDED
interface ignore wildcard"
test_ntpsec_06d_interface_ignore_wildcard_alone() {
  serve 78
  observe time
  expect_daemon "v4 no, v6 no"
  lint_agrees "$CONF" ntpsec 1 "lint.listen"
  clock_kept
}

config 79 ntpsec "$ORPHAN
$RECOMMENDED
interface ignore ipv6"
test_ntpsec_06e_interface_ignore_ipv6_closes_ipv4_too() {
  serve 79
  observe time
  expect_daemon "v4 no, v6 no"
  lint_agrees "$CONF" ntpsec 1 "lint.listen"
  clock_kept
}

# No restrict line at all: ntpsec 1.2 serves the time and keeps mode 6 closed to the outside (its
# built-in default restriction includes noquery), so a missing noquery is no failure on ntpsec.
config 70 ntpsec "$ORPHAN"
test_ntpsec_07_no_restrict_line_at_all() {
  serve 70
  observe
  expect_daemon "v4 time, v6 time, mode6 v4 no, v6 no"
  lint_agrees "$CONF" ntpsec 0 ""
  clock_kept
}

# --- chronyd 4.3 ---
# Its upstreams never answer, so it is unsynchronised, yet it answers client requests: mode 4,
# LI 3, stratum 0, refid 0 (no kiss code). That counts as "gets the time" here (the port is open
# and the client allowed); no `local` line is needed, which the pool forbids (lint.local-clock).

config 71 chrony "allow all
ratelimit interval 3 burst 8"
test_chrony_08_allow_all_with_ratelimit_serves_the_time() {
  serve 71
  observe time
  expect_daemon "v4 time, v6 time"
  lint_agrees "$CONF" chrony 0 ""
  clock_kept
}

# With nothing left allowed, chronyd does not even open UDP 123.
config 72 chrony "allow all
deny all
ratelimit interval 3 burst 8"
test_chrony_09_allow_all_then_deny_all_serves_nobody() {
  serve 72
  observe time
  expect_daemon "v4 no, v6 no"
  NO_SERVICE_FAMILIES="ipv4 ipv6" lint_agrees "$CONF" chrony 1 "lint.no-service"
  clock_kept
}

# chronyd opens only an IPv4 server socket (0.0.0.0): IPv6 gets nothing.
config 73 chrony "allow 0.0.0.0/0
ratelimit interval 3 burst 8"
test_chrony_10_allow_every_ipv4_address_only() {
  serve 73
  observe time
  expect_daemon "v4 time, v6 no"
  NO_SERVICE_FAMILIES=ipv6 lint_agrees "$CONF" chrony 1 "lint.no-service"
  clock_kept
}

# No allow: UDP 123 stays closed.
config 74 chrony "ratelimit interval 3 burst 8"
test_chrony_11_no_allow_serves_nobody() {
  serve 74
  observe time
  expect_daemon "v4 no, v6 no"
  lint_agrees "$CONF" chrony 1 "lint.no-allow"
  clock_kept
}

# bindaddress 127.0.0.1 binds IPv4 to loopback only; IPv6 stays on [::] and is served.
config 75 chrony "allow all
ratelimit interval 3 burst 8
bindaddress 127.0.0.1"
test_chrony_12_bindaddress_loopback() {
  serve 75
  observe time
  expect_daemon "v4 no, v6 time"
  lint_agrees "$CONF" chrony 1 "lint.listen"
  clock_kept
}

# port 0: no server socket at all.
config 76 chrony "allow all
ratelimit interval 3 burst 8
port 0"
test_chrony_13_port_0_closes_the_ntp_port() {
  serve 76
  observe time
  expect_daemon "v4 no, v6 no"
  lint_agrees "$CONF" chrony 1 "lint.listen"
  clock_kept
}

prestart "${1:-}"
run_tests "$@"
