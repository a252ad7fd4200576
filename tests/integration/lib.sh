# SPDX-License-Identifier: Apache-2.0
# Shared by the integration tests: the binary under test, assertions, and cleanup that runs
# even when a test fails. Each test script sources this, defines test_* functions, and calls
# run_tests "$@": every test runs (in a subshell of its own), a failure does not stop the others,
# and each is reported as ok, FAIL or skip. A test skips itself with `skip REASON` (a tool it
# needs is missing); with CI=true that is a failure too, since scripts/setup --test installs
# every tool the suite uses.
set -euo pipefail

# skip_all REASON: the whole script skips (77) because a tool it needs is missing; with CI=true
# it fails instead, since scripts/setup --test installs every tool the suite uses.
skip_all() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL: $* (CI: scripts/setup --test must install it)" >&2
    exit 1
  fi
  echo "SKIP: $*"
  exit 77
}

# jq reads pooljoin's --json in nearly every test.
command -v jq >/dev/null || skip_all "jq is not installed (scripts/setup --test installs it)"
: "${POOLJOIN:?POOLJOIN must name the pooljoin binary under test}"
: "${POOLJOIN_FIXTURES:?POOLJOIN_FIXTURES must name tests/fixtures}"
IMAGES="$POOLJOIN_FIXTURES/images"
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pooljoin-it.XXXXXX")
chmod 755 "$TEST_TMP"
# Registers a command to run when the script exits, whatever the outcome (last in, first out).
# Kept in a file, so that helpers called as $(helper ...) (a subshell) can register theirs too.
on_exit() { printf '%s\n' "$*" >>"$TEST_TMP/.cleanups"; }

_run_cleanups() {
  local rc=$? line
  if [ -f "$TEST_TMP/.cleanups" ]; then
    while IFS= read -r line; do
      eval "$line" >/dev/null 2>&1 || true
    done < <(tac "$TEST_TMP/.cleanups")
  fi
  rm -rf "$TEST_TMP"
  exit "$rc"
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAIL: $*" >&2
  [ -f "$TEST_TMP/out" ] && { echo "--- stdout"; cat "$TEST_TMP/out"; } >&2
  [ -f "$TEST_TMP/err" ] && { echo "--- stderr"; cat "$TEST_TMP/err"; } >&2
  exit 1
}

# pj EXPECTED_EXIT ARGS...: runs pooljoin; stdout in $OUT, stderr in $ERR.
pj() {
  local expected=$1
  shift
  local rc=0
  "$POOLJOIN" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  [ "$rc" = "$expected" ] || fail "pooljoin $* exited $rc, expected $expected"
}

# pj_as USER EXPECTED_EXIT ARGS...: the same, as another user.
pj_as() {
  local user=$1 expected=$2
  shift 2
  local rc=0
  setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups -- "$POOLJOIN" "$@" \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  [ "$rc" = "$expected" ] || fail "pooljoin $* as $user exited $rc, expected $expected"
}

assert_eq() { [ "$1" = "$2" ] || fail "expected [$2], got [$1]${3:+ ($3)}"; }
assert_contains() { [[ "$1" == *"$2"* ]] || fail "expected to find [$2] in [$1]"; }
assert_not_contains() { [[ "$1" != *"$2"* ]] || fail "did not expect [$2] in [$1]"; }
# jqr FILTER: applies a jq filter to $OUT (raw output).
jqr() { jq -r "$1" <<<"$OUT"; }

# skip REASON: this test cannot run here (exit 77 from the test's subshell).
skip() {
  echo "SKIP: $*"
  exit 77
}

require_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root"
    exit 77
  fi
}

# make_netns VAR NAME: creates a network namespace of the test's own (lo up), deleted at exit
# with the files a test put in /etc/netns/NAME (what `ip netns exec` mounts over /etc), and
# stores its name in VAR.
make_netns() {
  local -n _netns_var=$1
  local name="pj-$2-$$"
  ip netns add "$name"
  on_exit ip netns delete "$name"
  on_exit rm -rf "/etc/netns/$name"
  ip -n "$name" link set lo up
  _netns_var=$name
}

# A network namespace with PID and mount namespaces of its own, and a /run of its own: /proc
# inside shows only the processes started in it (what `detect` reads to see which daemon runs).
# Prints its name; run commands inside with `in_sandbox NAME CMD...`. Everything inside is
# killed at exit.
make_sandbox() {
  local ns
  make_netns ns "$1"
  ip netns exec "$ns" unshare --pid --fork --mount-proc sleep infinity </dev/null >/dev/null 2>&1 &
  local holder=$! init="" i
  for ((i = 0; i < 100; i++)); do
    init=$(awk '{print $1}' "/proc/$holder/task/$holder/children" 2>/dev/null || true)
    [ -n "$init" ] && break
    sleep 0.02
  done
  [ -n "$init" ] || fail "sandbox $ns did not start"
  on_exit kill -9 "$init"  # the namespace's init: its end kills everything inside
  # A /run of its own: what a daemon puts there (chronyd's command socket, which chronyc tries
  # before UDP) is the sandbox's alone, never the machine's or another test's.
  nsenter -t "$init" -m -- mount -t tmpfs -o mode=0755,size=16m pooljoin-run /run
  echo "$init" >"$TEST_TMP/sandbox.$ns"
  echo "$ns"
}

in_sandbox() {
  local ns=$1
  shift
  nsenter -t "$(cat "$TEST_TMP/sandbox.$ns")" -n -p -m -- "$@"
}

# start_responder VAR [--in SANDBOX | --netns NETNS] SPEC...: runs tests/tools/ntp_responder with one --serve
# per SPEC (see its --help), stopped at exit; sets the array VAR to the bound endpoints, in the
# order of the specs ("127.0.0.1:40123", "[::1]:40124").
start_responder() {
  local -n _endpoints=$1
  shift
  local prefix=()
  if [ "${1:-}" = "--in" ]; then
    prefix=(nsenter -t "$(cat "$TEST_TMP/sandbox.$2")" -n -p -m --)
    shift 2
  elif [ "${1:-}" = "--netns" ]; then
    prefix=(ip netns exec "$2")
    shift 2
  fi
  : "${NTP_RESPONDER:?NTP_RESPONDER must name the test responder}"
  local args=() spec
  for spec in "$@"; do args+=(--serve "$spec"); done
  # RESPONDER_LOG=FILE: the responder logs each request it receives there.
  [ -z "${RESPONDER_LOG:-}" ] || args+=(--log "$RESPONDER_LOG")
  local ready
  ready=$(mktemp "$TEST_TMP/responder.XXXXXX")
  "${prefix[@]}" "$NTP_RESPONDER" "${args[@]}" >"$ready" 2>"$ready.err" &
  local pid=$! i
  on_exit kill "$pid"
  for ((i = 0; i < 100; i++)); do
    grep -q '^ready' "$ready" && break
    kill -0 "$pid" 2>/dev/null || fail "ntp_responder exited: $(cat "$ready.err")"
    sleep 0.05
  done
  grep -q '^ready' "$ready" || fail "ntp_responder was not ready within 5 s"
  read -r -a _endpoints <<<"$(sed -n 's/^ready //p' "$ready")"
}

# upstreams_for NETNS INDEX SPEC...: a machine's upstream servers made real, "outside" it: a
# namespace of their own behind a veth pair (NETNS, a make_netns or make_sandbox name, is
# 192.0.2.100/24 on it), where the test responder serves each SPEC
# ("192.0.2.1:123,stratum=2,offset=0.5", "192.0.2.4:123,silent"...). INDEX names the veth.
upstreams_for() {
  local sb=$1 index=$2 out spec endpoints
  shift 2
  make_netns out "up$index"
  ip link add "pjup$index" netns "$sb" type veth peer name "pjupo$index" netns "$out"
  ip -n "$sb" addr add 192.0.2.100/24 dev "pjup$index"
  ip -n "$sb" link set "pjup$index" up
  for spec in "$@"; do
    ip -n "$out" addr add "${spec%%:*}/24" dev "pjupo$index"
  done
  ip -n "$out" link set "pjupo$index" up
  start_responder endpoints --netns "$out" "$@"
}

# outside_of VAR NETNS INDEX ADDRESS...: the ADDRESSes (IPv4 and IPv6) made real outside NETNS:
# on the loopback of a namespace of their own behind a veth pair (INDEX names it), each reached
# from NETNS by a host route; stores that namespace's name in VAR, for the servers a test runs
# there. A machine's own addresses are never its upstreams (resolve leaves them out), so the
# servers a test offers it live elsewhere. NETNS gets 198.18.INDEX.1/30 and fd00:18:INDEX::1/64
# on its side of the pair, neither of them global.
outside_of() {
  local -n _outside_var=$1
  local _outside_in=$2 _outside_index=$3 _outside_ns _outside_a
  shift 3
  make_netns _outside_ns "out$_outside_index"
  ip link add "pjo$_outside_index" netns "$_outside_in" type veth peer name "pjoo$_outside_index" netns "$_outside_ns"
  ip -n "$_outside_in" addr add "198.18.$_outside_index.1/30" dev "pjo$_outside_index"
  ip -n "$_outside_ns" addr add "198.18.$_outside_index.2/30" dev "pjoo$_outside_index"
  ip -n "$_outside_in" -6 addr add "fd00:18:$_outside_index::1/64" dev "pjo$_outside_index" nodad
  ip -n "$_outside_ns" -6 addr add "fd00:18:$_outside_index::2/64" dev "pjoo$_outside_index" nodad
  ip -n "$_outside_in" link set "pjo$_outside_index" up
  ip -n "$_outside_ns" link set "pjoo$_outside_index" up
  # Each end knows the other's link-layer address from the start: neighbour discovery would lose
  # the first IPv6 datagram, and a probe gives up on a candidate whose first query goes unanswered.
  local _outside_mac_in _outside_mac_out
  _outside_mac_in=$(ip -n "$_outside_in" -o link show "pjo$_outside_index" | grep -o 'link/ether [^ ]*' | cut -d' ' -f2)
  _outside_mac_out=$(ip -n "$_outside_ns" -o link show "pjoo$_outside_index" | grep -o 'link/ether [^ ]*' | cut -d' ' -f2)
  ip -n "$_outside_in" neigh replace "198.18.$_outside_index.2" lladdr "$_outside_mac_out" dev "pjo$_outside_index" nud permanent
  ip -n "$_outside_in" neigh replace "fd00:18:$_outside_index::2" lladdr "$_outside_mac_out" dev "pjo$_outside_index" nud permanent
  ip -n "$_outside_ns" neigh replace "198.18.$_outside_index.1" lladdr "$_outside_mac_in" dev "pjoo$_outside_index" nud permanent
  ip -n "$_outside_ns" neigh replace "fd00:18:$_outside_index::1" lladdr "$_outside_mac_in" dev "pjoo$_outside_index" nud permanent
  ip -n "$_outside_ns" route add default via "198.18.$_outside_index.1"
  ip -n "$_outside_ns" -6 route add default via "fd00:18:$_outside_index::1"
  for _outside_a in "$@"; do
    if [[ $_outside_a == *:* ]]; then
      ip -n "$_outside_ns" -6 addr add "$_outside_a/128" dev lo nodad
      ip -n "$_outside_in" -6 route add "$_outside_a/128" via "fd00:18:$_outside_index::2"
    else
      ip -n "$_outside_ns" addr add "$_outside_a/32" dev lo
      ip -n "$_outside_in" route add "$_outside_a/32" via "198.18.$_outside_index.2"
    fi
  done
  _outside_var=$_outside_ns
}

# wait_for_usable NETNS COUNT: until ntpq counts COUNT upstreams that answer and pass its
# selection (sys.peer, candidate, outlier...), at most 30 s.
wait_for_usable() {
  local i usable=0
  for ((i = 0; i < 300; i++)); do
    usable=$(ip netns exec "$1" ntpq -c as 127.0.0.1 2>/dev/null |
      grep -Ec 'sys\.peer|candidate|outlier|backup|excess' || true)
    [ "$usable" -ge "$2" ] && return 0
    sleep 0.1
  done
  fail "ntpd had $usable usable upstreams after 30 s, not $2: $(ip netns exec "$1" ntpq -np 127.0.0.1)"
}

# wait_until_catching PID: waits (up to 10 s) until process PID has its SIGINT handler installed.
# A SIGINT sent to a background job before then is lost (bash starts them with SIGINT ignored),
# and under ASan on a busy machine start-up can take longer than any fixed sleep.
wait_until_catching() {
  local pid=$1 i mask
  for ((i = 0; i < 200; i++)); do
    mask=$(awk '/^SigCgt:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$mask" ] && (((16#$mask >> 1) & 1)) && return 0
    sleep 0.05
  done
  fail "process $pid did not install its SIGINT handler within 10 s"
}

run_tests() {
  local filter=${1:-}
  local names
  names=$(declare -F | awk '{print $3}' | grep '^test_' || true)
  local count=0 passed=0 failed=() skipped=() name rc
  for name in $names; do
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
    count=$((count + 1))
    rc=0
    ("$name") || rc=$?
    case $rc in
      0)
        passed=$((passed + 1))
        echo "ok - ${name#test_}"
        ;;
      77)
        skipped+=("${name#test_}")
        echo "skip - ${name#test_}"
        ;;
      *)
        failed+=("${name#test_}")
        echo "not ok - ${name#test_} (exit $rc)"
        ;;
    esac
  done
  [ "$count" -gt 0 ] || fail "no test matched [$filter]"
  echo "# $passed passed, ${#failed[@]} failed, ${#skipped[@]} skipped of $count"
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "# failed: ${failed[*]}" >&2
    exit 1
  fi
  if [ "${#skipped[@]}" -gt 0 ]; then
    if [ "${CI:-}" = true ]; then
      echo "# skipped in CI: ${skipped[*]} (scripts/setup --test must install what they need)" >&2
      exit 1
    fi
    [ "$passed" -gt 0 ] || exit 77
  fi
}

# clock_discipline: the kernel's clock-discipline state, read with adjtimex(2) modes=0 (which
# changes nothing): "offset=N freq=N status=N constant=N tick=N maxerror=N". Tests running a
# real ntpd compare it before and after: all but maxerror must not move (maxerror only grows by
# itself).
clock_discipline() {
  python3 - <<'PY'
import ctypes
class Timeval(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("usec", ctypes.c_long)]
class Timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long),
                ("tolerance", ctypes.c_long), ("time", Timeval), ("tick", ctypes.c_long),
                ("rest", ctypes.c_byte * 256)]
t = Timex()
if ctypes.CDLL(None, use_errno=True).adjtimex(ctypes.byref(t)) < 0:
    raise SystemExit("adjtimex failed: errno %d" % ctypes.get_errno())
print("offset=%d freq=%d status=%d constant=%d tick=%d maxerror=%d"
      % (t.offset, t.freq, t.status, t.constant, t.tick, t.maxerror))
PY
}

# assert_clock_discipline_kept BEFORE: the state now against BEFORE (from clock_discipline).
# An NTP daemon that could write the kernel's discipline would leave its mark on offset, freq and
# constant (ntpd's PLL sets the time constant from its poll and feeds it offsets; chronyd sets the
# frequency) or on the status bits it drives (PLL, FLL, PPS, INS/DEL): those must not move.
# STA_UNSYNC and maxerror also move without any daemon: the kernel sets UNSYNC and resets maxerror
# to 16 s on every clock step, and the machine's own agent (CI's Firecracker VMs correct the clock
# after a pause, seen once as UNSYNC cleared and maxerror reset mid-test, 2026-12-03) clears them.
# Those are reported, not failed; the proof that a daemon of the test could not write the clock
# is its refused call, which the tests assert separately.
assert_clock_discipline_kept() {
  local now field
  now=$(clock_discipline)
  for field in offset freq constant tick; do
    assert_eq "$(clock_field "$now" $field)" "$(clock_field "$1" $field)" "kernel clock discipline changed: $field ($1 -> $now)"
  done
  local before_status now_status
  before_status=$(clock_field "$1" status) now_status=$(clock_field "$now" status)
  # STA_UNSYNC is 0x0040.
  assert_eq "$((now_status & ~0x40))" "$((before_status & ~0x40))" "kernel clock status changed beyond STA_UNSYNC ($1 -> $now)"
  [ "$now_status" = "$before_status" ] ||
    echo "  note: kernel STA_UNSYNC changed ($before_status -> $now_status): a clock step or the machine's agent, not a daemon of this test (offset, freq and constant unchanged)"
  [ "$(clock_field "$now" maxerror)" -ge "$(clock_field "$1" maxerror)" ] ||
    echo "  note: kernel maxerror was reset ($(clock_field "$1" maxerror) -> $(clock_field "$now" maxerror)): a clock step or the machine's agent"
}

# clock_field STATE NAME: one field of a clock_discipline line.
clock_field() { sed -n "s/.*\b$2=\(-\?[0-9]*\).*/\1/p" <<<"$1"; }

# The zone the join tests resolve (--country de): its servers' addresses, outside the machine's
# namespace, and de_zone_hosts FILE, the dnsmasq hosts file that names them.
DE_ZONE_ADDRESSES="185.255.40.1 185.255.41.1 185.255.42.1 185.255.43.1 185.255.44.1 185.255.50.1"
de_zone_hosts() {
  cat >"$1" <<'HOSTS'
185.255.40.1 0.de.pool.ntp.org
185.255.41.1 1.de.pool.ntp.org
185.255.42.1 2.de.pool.ntp.org
185.255.43.1 3.de.pool.ntp.org
185.255.44.1 3.de.pool.ntp.org
185.255.50.1 0.europe.pool.ntp.org
HOSTS
}
