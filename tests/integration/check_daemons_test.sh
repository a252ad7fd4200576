#!/usr/bin/env bash
# `pooljoin check` of a machine running a real ntpsec or chronyd, each in a sandbox of its own
# (network, PID and mount namespaces) whose "public" addresses live on the namespace's loopback.
# pooljoin's view must agree with ntpq's and chronyc's; the security probes must pass on the
# pool's recommended access lines and fail without noquery.
source "$(dirname "$0")/lib.sh"
require_root
command -v ntpd >/dev/null || { echo "SKIP: ntpsec is not installed (scripts/setup --test)"; exit 77; }

CHRONY_DIR=/var/cache/pooljoin-test/chrony
QUICK=(--interval 200ms --timeout 1s)

# The access lines the pool recommends (facts section 1).
RECOMMENDED='restrict default kod limited nomodify notrap nopeer noquery
restrict -6 default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.1
restrict -6 ::1'
ORPHAN='tos orphan 4 orphanwait 1'
# Four upstreams, as the pool asks; TEST-NET-1 has no route out of a sandbox, so nothing leaves it.
UPSTREAMS='server 192.0.2.1 iburst
server 192.0.2.2 iburst
server 192.0.2.3 iburst
server 192.0.2.4 iburst'

# sandbox_with NAME N: a sandbox whose global addresses are 185.255.0.N and 2a0a:e5c0::N, with
# an overlay on /etc: daemons read their configs where the distribution puts them (and `check`
# lints them there), while the machine's own /etc stays as it is.
sandbox_with() {
  local sb
  sb=$(make_sandbox "$1")
  ip -n "$sb" addr add "185.255.0.$2/32" dev lo
  ip -n "$sb" -6 addr add "2a0a:e5c0::$2/128" dev lo nodad
  mkdir -p "$TEST_TMP/etc-$sb/upper" "$TEST_TMP/etc-$sb/work"
  in_sandbox "$sb" mount -t overlay pooljoin-etc \
    -o "lowerdir=/etc,upperdir=$TEST_TMP/etc-$sb/upper,workdir=$TEST_TMP/etc-$sb/work" /etc
  echo "$sb"
}

# write_in SANDBOX PATH: stdin becomes PATH inside the sandbox (on its /etc overlay).
write_in() {
  in_sandbox "$1" mkdir -p "$(dirname "$2")"
  in_sandbox "$1" tee "$2" >/dev/null
}

# start_ntpsec SANDBOX CONFIG_LINES: ntpd in the foreground in the sandbox, answering ntpq.
# Without CAP_SYS_TIME: it cannot touch the machine's clock or its kernel discipline.
start_ntpsec() {
  local sb=$1 dir="$TEST_TMP/ntpsec-$1" i
  mkdir -p "$dir"
  printf 'driftfile %s/drift\n%s\n%s\n' "$dir" "$UPSTREAMS" "$2" | write_in "$sb" /etc/ntpsec/ntp.conf
  in_sandbox "$sb" setpriv --bounding-set -sys_time ntpd -n -c /etc/ntpsec/ntp.conf -p "$dir/ntpd.pid" -l "$dir/ntpd.log" \
    </dev/null >/dev/null 2>&1 &
  for ((i = 0; i < 50; i++)); do
    ntpq_rv "$sb" stratum | grep -q '^[0-9]' && return 0
    sleep 0.1
  done
  fail "ntpd did not answer ntpq: $(cat "$dir/ntpd.log")"
}

# ntpq_rv SANDBOX VARIABLE: the value ntpq shows for a system variable.
ntpq_rv() {
  in_sandbox "$1" ntpq -c "rv 0 $2" 127.0.0.1 2>/dev/null | tr ',' '\n' |
    sed -n "s/^ *$2=\"\{0,1\}\([^\"]*\)\"\{0,1\} *$/\1/p"
}

wait_for_stratum() {
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(ntpq_rv "$1" stratum)" = "$2" ] && return 0
    sleep 0.1
  done
  fail "ntpd did not reach stratum $2 in 10 s"
}

# pj_in SANDBOX EXPECTED_EXIT ARGS...: pj, inside the sandbox (chronyc in PATH).
pj_in() {
  local sb=$1 expected=$2 rc=0
  shift 2
  in_sandbox "$sb" env PATH="$CHRONY_DIR/usr/bin:$PATH" "$POOLJOIN" "$@" \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  [ "$rc" = "$expected" ] || fail "pooljoin $* in $sb exited $rc, expected $expected"
}

findings() { jqr "[.findings[] | select(.severity == \"$1\") | .id] | join(\" \")"; }

test_synchronised_ntpsec_agrees_with_ntpq() {
  local sb clock_before
  clock_before=$(clock_discipline)
  sb=$(sandbox_with ntpsec-sync 10)
  start_ntpsec "$sb" "$ORPHAN
$RECOMMENDED"
  wait_for_stratum "$sb" 4
  pj_in "$sb" 0 --json check "${QUICK[@]}"
  # Its one warning: reachability from outside, which a check from the machine cannot see.
  assert_eq "$(jqr .status)" warn
  assert_eq "$(findings warn)" "reach.outside"
  assert_eq "$(jqr .daemon.name)" ntpsec
  assert_eq "$(jqr .daemon.running)" true
  assert_eq "$(jqr .daemon.synchronized)" true
  assert_eq "$(jqr .daemon.stratum)" "$(ntpq_rv "$sb" stratum)"
  assert_eq "$(jqr .daemon.leap)" "$((2#$(ntpq_rv "$sb" leap)))"
  assert_eq "$(jqr .daemon.refid)" "$(ntpq_rv "$sb" refid)"
  # The daemon object has exactly the documented keys (sorted, as emitted), and its offset is a
  # number.
  assert_eq "$(jqr '.daemon | keys | join(",")')" \
    "leap,name,offset_ms,refid,running,stratum,synchronized"
  assert_eq "$(jqr '.daemon.offset_ms | type')" number
  echo "  daemon offset_ms: $(jqr .daemon.offset_ms), ntpq offset: $(ntpq_rv "$sb" offset)"
  echo "  ntpq: leap=$(ntpq_rv "$sb" leap) stratum=$(ntpq_rv "$sb" stratum) refid=$(ntpq_rv "$sb" refid)"
  assert_eq "$(jqr '[.addresses[] | "\(.address)/\(.family)"] | join(" ")')" \
    "185.255.0.10/ipv4 2a0a:e5c0::10/ipv6"
  local a
  for a in 0 1; do
    assert_eq "$(jqr ".addresses[$a].stratum")" 4
    assert_eq "$(jqr ".addresses[$a].leap")" 0
    assert_eq "$(jqr ".addresses[$a].refid")" "$(ntpq_rv "$sb" refid)"
    assert_eq "$(jqr ".addresses[$a].reachable")" true
    assert_eq "$(jqr ".addresses[$a].submittable")" true
    assert_eq "$(jqr ".addresses[$a].predicted_score")" 20
    jq -e ".addresses[$a].offset_ms | fabs < 1" <<<"$OUT" >/dev/null || fail "offset"
  done
  assert_eq "$(findings ok)" \
    "daemon.synchronized address.ok address.ok firewall.open firewall.open security.mode6 security.monlist security.mode6 security.monlist"
  # ntpd ran and synchronised (orphan mode) without touching the kernel's clock discipline.
  echo "  adjtimex before: $clock_before; after: $(clock_discipline)"
  assert_clock_discipline_kept "$clock_before"
}

test_a_default_check_is_the_monitors_three_queries_then_the_security_probes() {
  local sb start elapsed
  sb=$(sandbox_with ntpsec-defaults 11)
  start_ntpsec "$sb" "$ORPHAN
$RECOMMENDED"
  wait_for_stratum "$sb" 4
  start=$(date +%s%N)
  pj_in "$sb" 0 check
  elapsed=$((($(date +%s%N) - start) / 1000000))
  echo "  default check (3 queries 2 s apart, 3 s timeouts): ${elapsed} ms"
  # 2 intervals of 2 s, then the mode 6/7 probes waiting out their 3 s timeout.
  [ "$elapsed" -ge 7000 ] && [ "$elapsed" -lt 9000 ] || fail "took ${elapsed} ms"
  assert_contains "$OUT" "daemon  ntpsec synchronised: stratum 4, leap 0, refid 127.0.0.1"
  # Three queries each; the one with the lowest delay decided.
  grep -Eq '^185\.255\.0\.11 +ok +3 \(#[123]\) +4 ' <<<"$OUT" || fail "no row of 3 queries, stratum 4: $OUT"
  assert_contains "$OUT" "check: 0 failed, 1 warning"
}

test_unsynchronised_ntpsec_fails_and_agrees_with_ntpq() {
  local sb
  sb=$(sandbox_with ntpsec-unsync 12)
  start_ntpsec "$sb" "$RECOMMENDED"
  pj_in "$sb" 1 --json check "${QUICK[@]}"
  assert_eq "$(jqr .daemon.synchronized)" false
  assert_eq "$(jqr .daemon.stratum)" "$(ntpq_rv "$sb" stratum)"
  assert_eq "$(jqr .daemon.leap)" "$((2#$(ntpq_rv "$sb" leap)))"
  assert_eq "$(jqr .daemon.refid)" "$(ntpq_rv "$sb" refid)"
  echo "  ntpq: leap=$(ntpq_rv "$sb" leap) stratum=$(ntpq_rv "$sb" stratum) refid=$(ntpq_rv "$sb" refid)"
  assert_eq "$(jqr .daemon.stratum)" 16
  assert_eq "$(jqr .daemon.leap)" 3
  # On the wire: LI 3, stratum 0, kiss code INIT.
  assert_eq "$(jqr '[.addresses[] | "\(.leap)/\(.stratum)/\(.kod)/\(.submittable)"] | join(" ")')" \
    "3/0/INIT/false 3/0/INIT/false"
  assert_eq "$(findings fail)" "daemon.unsynchronized address.unsynchronized address.unsynchronized"
}

test_wait_sees_the_transition_to_synchronised() {
  local sb start elapsed
  sb=$(sandbox_with ntpsec-wait 13)
  start=$(date +%s%N)
  # orphanwait holds ntpsec unsynchronised for a few seconds after it starts.
  start_ntpsec "$sb" "tos orphan 4 orphanwait 4
$RECOMMENDED"
  pj_in "$sb" 0 check --wait 30s "${QUICK[@]}"
  elapsed=$((($(date +%s%N) - start) / 1000000))
  echo "  synchronised ${elapsed} ms after ntpd started"
  assert_contains "$ERR" "waiting for synchronisation (0:00 of 0:30): ntpsec not synchronised: stratum 16, leap 3, refid INIT"
  assert_contains "$ERR" "ntpsec synchronised after"
  assert_not_contains "$ERR" $'\r'  # no terminal: plain lines only
  assert_contains "$OUT" "daemon  ntpsec synchronised: stratum 4"
  assert_contains "$OUT" "check: 0 failed, 1 warning"
  [ "$elapsed" -ge 3000 ] || fail "synchronised after ${elapsed} ms: orphanwait was not waited for"
}

test_wait_gives_up_with_a_progress_line_on_a_terminal() {
  local sb rc=0 out
  sb=$(sandbox_with ntpsec-giveup 14)
  start_ntpsec "$sb" "$RECOMMENDED"
  out=$(script -qec "nsenter -t $(cat "$TEST_TMP/sandbox.$sb") -n -p -m -- $POOLJOIN --no-color check --wait 3s ${QUICK[*]}" /dev/null) || rc=$?
  assert_eq "$rc" 1
  assert_contains "$out" $'\r\033[Kwaiting for synchronisation: 0:0'
  assert_contains "$out" "of 0:03; ntpsec not synchronised"
  assert_contains "$out" "still not synchronised after 3"
  assert_contains "$out" "FAIL  ntpsec is not synchronised"
}

test_security_probes_fail_when_mode6_is_open() {
  local sb
  sb=$(sandbox_with ntpsec-open 15)
  # ntpsec 1.2 starts from built-in default restrictions that include noquery: a `restrict
  # default` line without noquery leaves mode 6 closed; only `unrestrict default noquery` opens
  # it (as classic ntpd is open without noquery).
  start_ntpsec "$sb" "$ORPHAN
restrict default kod limited nomodify notrap nopeer
restrict -6 default kod limited nomodify notrap nopeer
unrestrict default noquery
unrestrict -6 default noquery
restrict 127.0.0.1
restrict -6 ::1"
  wait_for_stratum "$sb" 4
  pj_in "$sb" 1 --json check "${QUICK[@]}"
  # The probes find mode 6 answered; the lint names the lines that opened it.
  assert_eq "$(findings fail)" "security.mode6 security.mode6"
  assert_eq "$(findings warn)" "reach.outside lint.restrict-default lint.restrict-default"
  assert_eq "$(jqr '[.findings[] | select(.id == "security.mode6") | .message | split(": ")[0]] | join(" ")')" \
    "185.255.0.15 2a0a:e5c0::15"
  assert_contains "$(jqr '.findings[] | select(.id == "security.mode6") | .fix' | head -1)" \
    "restrict default kod limited nomodify notrap nopeer noquery"
  # ntpsec has no mode 7 at all.
  assert_eq "$(jqr '[.findings[] | select(.id == "security.monlist") | .severity] | unique | join(" ")')" ok
  echo "  $(jqr '.findings[] | select(.id == "security.mode6") | .message' | head -1)"
}

test_ntpsec_keeps_mode6_closed_without_noquery_in_its_restrict_lines() {
  local sb
  sb=$(sandbox_with ntpsec-noq 18)
  start_ntpsec "$sb" "$ORPHAN
restrict default kod limited nomodify notrap nopeer
restrict -6 default kod limited nomodify notrap nopeer
restrict 127.0.0.1
restrict -6 ::1"
  wait_for_stratum "$sb" 4
  pj_in "$sb" 0 --json check "${QUICK[@]}"
  assert_eq "$(jqr '[.findings[] | select(.id == "security.mode6") | .severity] | join(" ")')" "ok ok"
  # The lint agrees: a warning (the pool's line names noquery), not a failure.
  assert_eq "$(findings warn)" "reach.outside lint.restrict-default lint.restrict-default"
}

test_chronyd_agrees_with_chronyc() {
  [ -x "$CHRONY_DIR/usr/sbin/chronyd" ] || { echo "  chronyd not unpacked (scripts/setup --test): skipped"; return 0; }
  local sb dir
  sb=$(sandbox_with chronyd 16)
  dir="$TEST_TMP/chronyd"
  mkdir -p "$dir"
  # `bindcmdaddress /` closes the Unix command socket (a path shared with other tests): chronyc
  # talks to chronyd over UDP on the sandbox's own loopback instead.
  printf 'local stratum 3\nallow all\nratelimit interval 3 burst 8\nbindcmdaddress /\npidfile %s/chronyd.pid\ndriftfile %s/drift\n' \
    "$dir" "$dir" | write_in "$sb" /etc/chrony/chrony.conf
  in_sandbox "$sb" "$CHRONY_DIR/usr/sbin/chronyd" -x -d -u root -f /etc/chrony/chrony.conf \
    </dev/null >"$dir/chronyd.log" 2>&1 &
  local i tracking=""
  for ((i = 0; i < 50; i++)); do
    tracking=$(in_sandbox "$sb" "$CHRONY_DIR/usr/bin/chronyc" -c -n tracking 2>/dev/null || true)
    [[ "$tracking" == *,Normal ]] && break
    sleep 0.1
  done
  [[ "$tracking" == *,Normal ]] || fail "chronyd did not synchronise: $(cat "$dir/chronyd.log")"
  # chronyd serves time from its LOCAL clock here, which the pool forbids: the lint says so.
  pj_in "$sb" 1 --json check "${QUICK[@]}"
  echo "  chronyc -c tracking: $tracking"
  assert_eq "$(jqr .daemon.name)" chrony
  assert_eq "$(jqr .daemon.synchronized)" true
  assert_eq "$(jqr .daemon.stratum)" "$(cut -d, -f3 <<<"$tracking")"
  assert_eq "$(jqr .daemon.refid)" "127.127.1.1"  # 7F7F0101, chrony's local reference
  assert_eq "$(jqr '[.addresses[] | "\(.stratum)/\(.leap)/\(.submittable)"] | join(" ")')" \
    "3/0/true 3/0/true"
  assert_eq "$(jqr .status)" fail
  assert_eq "$(findings ok)" \
    "daemon.synchronized address.ok address.ok firewall.open firewall.open security.mode6 security.monlist security.mode6 security.monlist"
  assert_eq "$(findings fail)" "lint.local-clock lint.upstream-count"
  assert_contains "$(jqr '.findings[] | select(.id == "lint.local-clock") | .message')" "/etc/chrony/chrony.conf: line 1:"
}

test_no_daemon_running_is_a_failure_and_port_123_is_closed() {
  local sb
  sb=$(sandbox_with nodaemon 17)
  # ntpsec is installed but not running: its (pool-grade) config is linted, and passes.
  printf 'driftfile /var/lib/ntpsec/ntp.drift\n%s\n%s\n' "$UPSTREAMS" "$RECOMMENDED" | write_in "$sb" /etc/ntpsec/ntp.conf
  pj_in "$sb" 1 --json check "${QUICK[@]}"
  assert_eq "$(jqr .daemon.running)" false
  assert_eq "$(jqr .daemon.synchronized)" false
  assert_eq "$(jqr .daemon.stratum)" null
  assert_eq "$(findings fail)" "daemon.not-running address.refused address.refused"
  assert_eq "$(jqr '[.addresses[].reachable] | map(tostring) | join(" ")')" "false false"
}

run_tests "$@"
