#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `pooljoin check` of a machine running a real ntpsec or chronyd, each in a sandbox of its own
# (network, PID and mount namespaces) whose "public" addresses live on the namespace's loopback.
# pooljoin's view must agree with ntpq's and chronyc's; the security probes must pass on the
# pool's recommended access lines and fail without noquery.
source "$(dirname "$0")/lib.sh"
require_root
command -v ntpd >/dev/null || skip_all "ntpsec is not installed (scripts/setup --test)"

CHRONY_DIR=/var/cache/pooljoin-test/chrony
QUICK=(--interval 200ms --timeout 1s)

# The access lines the pool recommends (https://www.ntppool.org/join/configuration.html).
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

# The four upstreams of UPSTREAMS, answering at stratum 2 with the machine's own time.
GOOD_UPSTREAMS=(192.0.2.1:123,stratum=2 192.0.2.2:123,stratum=2 192.0.2.3:123,stratum=2 192.0.2.4:123,stratum=2)

test_synchronised_ntpsec_agrees_with_ntpq() {
  local sb clock_before
  clock_before=$(clock_discipline)
  sb=$(sandbox_with ntpsec-sync 10)
  upstreams_for "$sb" 10 "${GOOD_UPSTREAMS[@]}"
  start_ntpsec "$sb" "$RECOMMENDED"
  wait_for_stratum "$sb" 3
  wait_for_usable "$sb" 4
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
    "leap,name,offset_ms,refid,running,stratum,synchronized,upstreams"
  assert_eq "$(jqr '.daemon.offset_ms | type')" number
  # Its upstreams as ntpq lists them; the clock measured against them.
  assert_eq "$(jqr '[.daemon.upstreams[] | "\(.address)/\(.stratum)/\(.usable)"] | join(" ")')" \
    "192.0.2.1/2/true 192.0.2.2/2/true 192.0.2.3/2/true 192.0.2.4/2/true"
  assert_eq "$(jqr '[.daemon.upstreams[] | select(.state == "selected")] | length')" 1
  assert_eq "$(jqr .clock.source)" "the daemon's upstreams"
  assert_eq "$(jqr '[.clock.references[] | select(.counted)] | length')" 4
  jq -e '.clock.reference_offset_ms | fabs < 1' <<<"$OUT" >/dev/null || fail "reference offset"
  echo "  ntpq -p: $(in_sandbox "$sb" ntpq -np 127.0.0.1 | tail -4 | cut -c1-70 | tr '\n' '|')"
  echo "  daemon offset_ms: $(jqr .daemon.offset_ms), ntpq offset: $(ntpq_rv "$sb" offset)"
  echo "  ntpq: leap=$(ntpq_rv "$sb" leap) stratum=$(ntpq_rv "$sb" stratum) refid=$(ntpq_rv "$sb" refid)"
  assert_eq "$(jqr '[.addresses[] | "\(.address)/\(.family)"] | join(" ")')" \
    "185.255.0.10/ipv4 2a0a:e5c0::10/ipv6"
  local a
  for a in 0 1; do
    assert_eq "$(jqr ".addresses[$a].stratum")" 3
    assert_eq "$(jqr ".addresses[$a].leap")" 0
    assert_eq "$(jqr ".addresses[$a].refid")" "$(ntpq_rv "$sb" refid)"
    assert_eq "$(jqr ".addresses[$a].reachable")" true
    assert_eq "$(jqr ".addresses[$a].submittable")" true
    assert_eq "$(jqr ".addresses[$a].predicted_score")" 20
    jq -e ".addresses[$a].offset_ms | fabs < 1" <<<"$OUT" >/dev/null || fail "offset"
    jq -e ".addresses[$a].seen_offset_ms | fabs < 1" <<<"$OUT" >/dev/null || fail "seen offset"
  done
  assert_eq "$(findings ok)" \
    "daemon.synchronized upstreams clock.offset address.ok address.ok firewall.open firewall.open security.mode6 security.monlist security.mode6 security.monlist"
  # ntpd ran and synchronised without touching the kernel's clock discipline.
  echo "  adjtimex before: $clock_before; after: $(clock_discipline)"
  assert_clock_discipline_kept "$clock_before"
}

test_a_default_check_is_the_monitors_three_queries_then_the_security_probes() {
  local sb start elapsed
  sb=$(sandbox_with ntpsec-defaults 11)
  upstreams_for "$sb" 11 "${GOOD_UPSTREAMS[@]}"
  start_ntpsec "$sb" "$RECOMMENDED"
  wait_for_stratum "$sb" 3
  wait_for_usable "$sb" 4
  start=$(date +%s%N)
  pj_in "$sb" 0 check
  elapsed=$((($(date +%s%N) - start) / 1000000))
  echo "  default check (3 queries 2 s apart, 3 s timeouts): ${elapsed} ms"
  # 2 intervals of 2 s, then the mode 6/7 probes, which ntpsec leaves unanswered: their wait is
  # bounded by the round trips measured (here far below 1 ms, so the 0.5 s floor), not the 3 s
  # timeout. The references go in the same round: no time of their own.
  [ "$elapsed" -ge 4000 ] && [ "$elapsed" -lt 5500 ] || fail "took ${elapsed} ms"
  assert_contains "$OUT" "daemon  ntpsec synchronised: stratum 3, leap 0, refid 192.0.2."
  # Its upstreams, as ntpq -p shows them.
  grep -Eq '^192\.0\.2\.1 +(selected|candidate|outlier) +2 ' <<<"$OUT" || fail "no upstream row: $OUT"
  # Three queries each; the one with the lowest delay decided.
  grep -Eq '^185\.255\.0\.11 +ok +3 \(#[123]\) +3 ' <<<"$OUT" || fail "no row of 3 queries, stratum 3: $OUT"
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
  # Why: none of its upstreams answers (TEST-NET-1 has no route out of the sandbox).
  assert_eq "$(findings fail)" "daemon.unsynchronized upstreams.unreachable address.unsynchronized address.unsynchronized"
  assert_contains "$(jqr '.findings[] | select(.id == "upstreams.unreachable") | .message')" \
    "none of ntpsec's 4 upstreams is usable: 192.0.2.1 (unreachable, reach 0)"
}

test_wait_sees_the_transition_to_synchronised() {
  local sb start elapsed
  sb=$(sandbox_with ntpsec-wait 13)
  upstreams_for "$sb" 13 "${GOOD_UPSTREAMS[@]}"
  start=$(date +%s%N)
  # ntpsec takes a few polls of its upstreams (iburst) before it synchronises.
  start_ntpsec "$sb" "$RECOMMENDED"
  pj_in "$sb" 0 check --wait 30s "${QUICK[@]}"
  elapsed=$((($(date +%s%N) - start) / 1000000))
  echo "  synchronised ${elapsed} ms after ntpd started"
  # Each line says how far it has got with each upstream.
  assert_contains "$ERR" "waiting for synchronisation (0:00 of 0:30): ntpsec not synchronised: stratum 16, leap 3, refid INIT, offset +0.000 ms; 0 of 4 upstreams reached (reach 0 0 0 0)"
  grep -Eq 'of 4 upstreams reached \(reach [1-7]' <<<"$ERR" || fail "no progress per upstream: $ERR"
  assert_contains "$ERR" "ntpsec synchronised after"
  assert_not_contains "$ERR" $'\r'  # no terminal: plain lines only
  assert_contains "$OUT" "daemon  ntpsec synchronised: stratum 3"
  [ "$elapsed" -ge 3000 ] || fail "synchronised after ${elapsed} ms: too soon to have waited"
  # The wait also lets ntpd judge the upstreams that had only begun to answer when it
  # synchronised (it reports them rejected until then): all four are usable, nothing warned.
  assert_contains "$OUT" "check: 0 failed, 1 warning"
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
  assert_eq "$(findings fail)" "upstreams.unreachable security.mode6 security.mode6 lint.mode6-open"
  assert_eq "$(findings warn)" "clock.references reach.outside"
  assert_contains "$(jqr '[.findings[] | select(.id == "lint.mode6-open") | .message] | join(" ")')" \
    "line 9: \`unrestrict default noquery\` removes noquery for IPv4 and IPv6"
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
  # (in orphan mode: its upstreams do not answer, which fails the check on its own)
  pj_in "$sb" 1 --json check "${QUICK[@]}"
  assert_eq "$(findings fail)" "upstreams.unreachable"
  assert_eq "$(jqr '[.findings[] | select(.id == "security.mode6") | .severity] | join(" ")')" "ok ok"
  # The lint agrees: ntpsec merges these lines into its built-in default, which has noquery.
  assert_eq "$(findings warn)" "clock.references reach.outside"
}

test_chronyd_agrees_with_chronyc() {
  [ -x "$CHRONY_DIR/usr/sbin/chronyd" ] || skip "chronyd is not unpacked in $CHRONY_DIR (scripts/setup --test)"
  local sb dir decoy
  # Another chronyd on the machine, unsynchronised, with its command socket where chronyc looks
  # first (/run/chrony/chronyd.sock): the sandbox's chronyc and pooljoin must never reach it.
  # (Before sandboxes had a /run of their own, gen_conf_daemons' chronyd was this decoy.)
  decoy=$(sandbox_with chronyd-decoy 17)
  printf 'server 192.0.2.9\npidfile /run/chrony/chronyd.pid\ndriftfile /run/chrony/drift\n' |
    write_in "$decoy" /etc/chrony/chrony.conf
  in_sandbox "$decoy" "$CHRONY_DIR/usr/sbin/chronyd" -x -d -u root -f /etc/chrony/chrony.conf \
    </dev/null >"$TEST_TMP/decoy.log" 2>&1 &
  local i
  for ((i = 0; i < 50; i++)); do
    in_sandbox "$decoy" test -S /run/chrony/chronyd.sock && break
    sleep 0.1
  done
  in_sandbox "$decoy" test -S /run/chrony/chronyd.sock || fail "the decoy has no socket: $(cat "$TEST_TMP/decoy.log")"
  sb=$(sandbox_with chronyd 16)
  dir="$TEST_TMP/chronyd"
  mkdir -p "$dir"
  # `bindcmdaddress /` closes the Unix command socket (a path shared with other tests): chronyc
  # talks to chronyd over UDP on the sandbox's own loopback instead.
  printf 'local stratum 3\nallow all\nratelimit interval 3 burst 8\nbindcmdaddress /\npidfile %s/chronyd.pid\ndriftfile %s/drift\n' \
    "$dir" "$dir" | write_in "$sb" /etc/chrony/chrony.conf
  in_sandbox "$sb" "$CHRONY_DIR/usr/sbin/chronyd" -x -d -u root -f /etc/chrony/chrony.conf \
    </dev/null >"$dir/chronyd.log" 2>&1 &
  local tracking=""
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
  # It has no upstream at all: nothing corrects its clock.
  assert_eq "$(findings fail)" "upstreams.none lint.local-clock lint.upstream-count"
  assert_contains "$(jqr '.findings[] | select(.id == "lint.local-clock") | .message')" "/etc/chrony/chrony.conf: line 1:"
}

# ntpd that cannot set the clock (as in a container without CAP_SYS_TIME; `tinker step 0` keeps
# it from stepping, which would fail and restart it) follows upstreams 500 ms ahead: it says it is
# synchronised and serves the machine's clock, 500 ms behind true time. Its own probe says 0;
# the references say -500 ms, and the monitors would score it down to -8.5.
test_a_clock_the_daemon_cannot_correct_is_scored_from_the_references() {
  local sb
  sb=$(sandbox_with ntpsec-offset 19)
  upstreams_for "$sb" 19 192.0.2.1:123,stratum=2,offset=0.5 192.0.2.2:123,stratum=2,offset=0.5 \
    192.0.2.3:123,stratum=2,offset=0.5 192.0.2.4:123,silent \
    192.0.2.5:123,stratum=2 192.0.2.6:123,stratum=2 192.0.2.7:123,stratum=2
  start_ntpsec "$sb" "tinker step 0
$RECOMMENDED"
  wait_for_stratum "$sb" 3
  wait_for_usable "$sb" 3
  pj_in "$sb" 1 --json check "${QUICK[@]}"
  echo "  ntpq offset: $(ntpq_rv "$sb" offset) ms; references: $(jqr '[.clock.references[] | .offset_ms | floor] | join(" ")') ms"
  assert_eq "$(jqr .clock.source)" "the daemon's upstreams"
  assert_eq "$(jqr '[.clock.references[] | .address] | join(" ")')" "192.0.2.1 192.0.2.2 192.0.2.3"
  jq -e '.clock.reference_offset_ms | . > 495 and . < 505' <<<"$OUT" >/dev/null || fail "reference offset"
  jq -e '[.addresses[] | .offset_ms | fabs < 5] | all' <<<"$OUT" >/dev/null || fail "own offsets"
  jq -e '[.addresses[] | .seen_offset_ms | . > -505 and . < -495] | all' <<<"$OUT" >/dev/null || fail "seen offsets"
  assert_eq "$(jqr '[.addresses[] | .score_reason] | unique | join(" ")')" "offset 100-750 ms"
  jq -e '[.addresses[] | .predicted_score < 0] | all' <<<"$OUT" >/dev/null || fail "predicted: $(jqr '[.addresses[].predicted_score]')"
  assert_eq "$(findings fail)" "clock.offset address.score address.score"
  assert_eq "$(findings warn)" "daemon.offset upstreams.few reach.outside"
  assert_contains "$(jqr '.findings[] | select(.id == "clock.offset") | .message')" \
    "ms from true time: the median of 3 of 3 references (the daemon's upstreams) is +"
  assert_contains "$(jqr '.findings[] | select(.id == "upstreams.few") | .message')" \
    "not usable: 192.0.2.4 (unreachable, reach 0)"

  # --reference decides instead: three servers that agree with this machine's clock.
  pj_in "$sb" 0 --json check "${QUICK[@]}" --reference 192.0.2.5 --reference 192.0.2.6 --reference 192.0.2.7
  assert_eq "$(jqr .clock.source)" "--reference"
  jq -e '.clock.reference_offset_ms | fabs < 5' <<<"$OUT" >/dev/null || fail "reference offset"
  assert_eq "$(jqr '[.addresses[] | .predicted_score] | unique | join(" ")')" 20
  assert_eq "$(jqr '.findings[] | select(.id == "clock.offset") | .severity')" ok

  # Fewer than three answer: said so, and the daemon's own estimate (+500 ms) is used.
  pj_in "$sb" 1 --json check "${QUICK[@]}" --reference 192.0.2.5 --reference 192.0.2.4
  assert_eq "$(jqr '[.clock.references[] | .counted | tostring] | join(" ")')" "true false"
  assert_eq "$(jqr .clock.reference_offset_ms)" null
  assert_contains "$(jqr '.findings[] | select(.id == "clock.references") | .message')" \
    "the clock was measured against 1 of 2 references (--reference); left out: 192.0.2.4: no valid reply"
  assert_contains "$(jqr '.findings[] | select(.id == "clock.references") | .message')" "ntpsec's own estimate, -"
  jq -e '[.addresses[] | .predicted_score < 0] | all' <<<"$OUT" >/dev/null || fail "predicted"
}

# chronyd -x leaves the system clock alone but serves its own corrected time: 500 ms ahead of
# the machine's clock, as the references are. The monitors see it right.
test_chronyd_serving_its_corrected_time_is_scored_from_the_references() {
  [ -x "$CHRONY_DIR/usr/sbin/chronyd" ] || fail "chronyd not unpacked (scripts/setup --test)"
  local sb dir i tracking
  sb=$(sandbox_with chronyd-offset 20)
  upstreams_for "$sb" 20 192.0.2.1:123,stratum=2,offset=0.5 192.0.2.2:123,stratum=2,offset=0.5 \
    192.0.2.3:123,stratum=2,offset=0.5 192.0.2.4:123,stratum=2,offset=0.5
  dir="$TEST_TMP/chronyd-offset"
  mkdir -p "$dir"
  { printf 'server 192.0.2.%s iburst minpoll -2 maxpoll -2\n' 1 2 3 4
    printf 'allow all\nbindcmdaddress /\npidfile %s/chronyd.pid\ndriftfile %s/drift\n' "$dir" "$dir"
  } | write_in "$sb" /etc/chrony/chrony.conf
  in_sandbox "$sb" "$CHRONY_DIR/usr/sbin/chronyd" -x -d -u root -f /etc/chrony/chrony.conf \
    </dev/null >"$dir/chronyd.log" 2>&1 &
  # Until it has polled each upstream a few times and selected one (polls every 0.25 s).
  local sources=""
  for ((i = 0; i < 200; i++)); do
    sources=$(in_sandbox "$sb" "$CHRONY_DIR/usr/bin/chronyc" -c -n sources 2>/dev/null || true)
    [ "$(grep -c ',377,' <<<"$sources")" = 4 ] && grep -q '^\^,\*,' <<<"$sources" && break
    sleep 0.1
  done
  grep -q '^\^,\*,' <<<"$sources" || fail "chronyd did not select a source: $sources $(cat "$dir/chronyd.log")"
  tracking=$(in_sandbox "$sb" "$CHRONY_DIR/usr/bin/chronyc" -c -n tracking)
  pj_in "$sb" 0 --json check "${QUICK[@]}"
  echo "  chronyc -c tracking: $tracking"
  echo "  chronyc -c sources: $(in_sandbox "$sb" "$CHRONY_DIR/usr/bin/chronyc" -c -n sources | tr '\n' '|')"
  assert_eq "$(jqr '[.daemon.upstreams[] | "\(.address)/\(.reach)/\(.usable)"] | join(" ")')" \
    "192.0.2.1/377/true 192.0.2.2/377/true 192.0.2.3/377/true 192.0.2.4/377/true"
  jq -e '.clock.reference_offset_ms | . > 495 and . < 505' <<<"$OUT" >/dev/null || fail "reference offset"
  jq -e '[.addresses[] | .offset_ms | . > 495 and . < 505] | all' <<<"$OUT" >/dev/null || fail "own offsets"
  jq -e '[.addresses[] | .seen_offset_ms | fabs < 5] | all' <<<"$OUT" >/dev/null || fail "seen offsets"
  assert_eq "$(jqr '[.addresses[] | .predicted_score] | unique | join(" ")')" 20
  assert_eq "$(findings fail)" ""
  assert_eq "$(jqr '.findings[] | select(.id == "clock.offset") | .severity')" ok
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
  # A wait for it to synchronise ends at once, and says why.
  local start elapsed
  start=$(date +%s%N)
  pj_in "$sb" 1 check --wait 30s "${QUICK[@]}"
  elapsed=$((($(date +%s%N) - start) / 1000000))
  echo "  --wait 30s with ntpsec stopped: ${elapsed} ms"
  [ "$elapsed" -lt 5000 ] || fail "waited ${elapsed} ms for a daemon that is not running"
  # (looked at again after the first second: the facts it began with may predate a start)
  grep -Eq 'stopped waiting after [12](\.[0-9]+)?s: ntpsec is not running' <<<"$ERR" || fail "no reason to stop: $ERR"
}

test_the_leap_second_list_the_config_names_is_judged_as_ntpsec_judges_it() {
  local sb list dir n=21
  # A real ntpsec on each list: pooljoin's verdict and ntpd's own log agree.
  for list in valid expired; do
    sb=$(sandbox_with "leap-$list" "$n")
    n=$((n + 1))
    start_ntpsec "$sb" "$RECOMMENDED
leapfile $POOLJOIN_FIXTURES/leap/$list.list"
    dir="$TEST_TMP/ntpsec-$sb"
    pj_in "$sb" 1 --json check "${QUICK[@]}"
    case $list in
      valid)
        assert_eq "$(jqr '.findings[] | select(.id | startswith("leap.")) | "\(.id) \(.severity)"')" "leap.ok ok"
        assert_contains "$(jqr '.findings[] | select(.id == "leap.ok") | .message')" "valid until 2035-12-31"
        grep -q "valid.list'): loaded, expire=2035-12-31" "$dir/ntpd.log" || fail "ntpd: $(grep -i leap "$dir/ntpd.log")"
        ;;
      expired)
        assert_eq "$(jqr '.findings[] | select(.id | startswith("leap.")) | "\(.id) \(.severity)"')" "leap.expired warn"
        assert_contains "$(jqr '.findings[] | select(.id == "leap.expired") | .message')" \
          "$POOLJOIN_FIXTURES/leap/expired.list, the leap-second list ntpsec reads, expired on 2017-06-28"
        assert_contains "$(jqr '.findings[] | select(.id == "leap.expired") | .fix')" "apt-get install --only-upgrade tzdata"
        grep -q "expired.list'): expired less than" "$dir/ntpd.log" || fail "ntpd: $(grep -i leap "$dir/ntpd.log")"
        ;;
    esac
    echo "  ntpd: $(grep -o "leapsecond file.*" "$dir/ntpd.log" | tail -1)"
  done
  # No daemon needed to read the config: a list without its expiry, and one that is not there.
  sb=$(sandbox_with leap-config 23)
  for list in no-expiry missing; do
    printf 'driftfile /var/lib/ntpsec/ntp.drift\nleapfile %s\n%s\n%s\n' "$POOLJOIN_FIXTURES/leap/$list.list" \
      "$UPSTREAMS" "$RECOMMENDED" | write_in "$sb" /etc/ntpsec/ntp.conf
    pj_in "$sb" 1 --json check "${QUICK[@]}"
    assert_eq "$(jqr '[.findings[] | select(.id | startswith("leap.")) | "\(.id) \(.severity)"] | join(",")')" \
      "leap.$list warn"
  done
  # No leapfile line: nothing to judge.
  printf 'driftfile /var/lib/ntpsec/ntp.drift\n%s\n%s\n' "$UPSTREAMS" "$RECOMMENDED" | write_in "$sb" /etc/ntpsec/ntp.conf
  pj_in "$sb" 1 --json check "${QUICK[@]}"
  assert_eq "$(jqr '[.findings[] | select(.id | startswith("leap."))] | length')" 0
}

run_tests "$@"
