#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `pooljoin join --dry-run --root IMAGE` under valgrind (memcheck): every step, resolve included
# (c-ares against a real dnsmasq, the NTP engine against the test responder), with no invalid
# read or write, no use of uninitialised memory and no leak. The dev build (-O2 -g) is what is
# checked; the asan preset covers the rest of the suite.
source "$(dirname "$0")/lib.sh"
require_root
command -v valgrind >/dev/null || skip_all "valgrind is not installed (scripts/setup --test)"
# An ASan build (the asan preset) checks itself, and valgrind cannot run it.
# (Not `ldd | grep -q`: grep ending early fails ldd with SIGPIPE, and pipefail the test.)
if [[ "$(ldd "$POOLJOIN")" == *libasan* ]]; then
  echo "SKIP: $POOLJOIN is built with AddressSanitizer"
  exit 77
fi

make_netns NS valgrind
ip -n "$NS" addr add 185.255.0.1/32 dev lo
ip -n "$NS" -6 addr add 2a0a:e5c0::1/128 dev lo nodad

# The pool zones of DE and Europe, each name on an address of its own outside the machine where
# the test responder answers as a healthy stratum 2 server would.
: >"$TEST_TMP/hosts"
SPECS=()
ZONE_ADDRESSES=()
i=40
for zone in de europe; do
  for n in 0 1 2 3; do
    echo "185.255.$i.1 $n.$zone.pool.ntp.org" >>"$TEST_TMP/hosts"
    ZONE_ADDRESSES+=("185.255.$i.1")
    SPECS+=("185.255.$i.1:123")
    i=$((i + 1))
  done
done
echo "2a0a:e5c0:43::1 2.de.pool.ntp.org" >>"$TEST_TMP/hosts"
ZONE_ADDRESSES+=(2a0a:e5c0:43::1)
SPECS+=("[2a0a:e5c0:43::1]:123")
outside_of ZONE_NS "$NS" 1 "${ZONE_ADDRESSES[@]}"
ip netns exec "$NS" dnsmasq --keep-in-foreground --port=53 --listen-address=127.0.0.1 --bind-interfaces \
  --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$TEST_TMP/hosts" --local=/#/ \
  --pid-file="$TEST_TMP/dnsmasq.pid" --log-facility="$TEST_TMP/dnsmasq.log" &
on_exit kill $!
for _ in $(seq 50); do
  ip netns exec "$NS" dig +short +time=1 @127.0.0.1 0.de.pool.ntp.org >/dev/null 2>&1 && break
  sleep 0.1
done
ip netns exec "$ZONE_NS" "$NTP_RESPONDER" $(printf -- '--serve %s,stratum=2 ' "${SPECS[@]}") \
  >"$TEST_TMP/responder" 2>&1 &
on_exit kill $!
for _ in $(seq 100); do grep -q '^ready' "$TEST_TMP/responder" && break; sleep 0.05; done
grep -q '^ready' "$TEST_TMP/responder" || fail "ntp_responder did not start: $(cat "$TEST_TMP/responder")"

# A Debian 12 image with ntpsec and systemd, and the time zone data --country is checked with.
IMAGE="$TEST_TMP/image"
cp -a "$IMAGES/debian-12-ntpsec-openvz" "$IMAGE"
mkdir -p "$IMAGE/usr/share/zoneinfo"
cp /usr/share/zoneinfo/zone.tab /usr/share/zoneinfo/zone1970.tab /usr/share/zoneinfo/iso3166.tab \
  "$IMAGE/usr/share/zoneinfo/"

# valgrind's own exit code for an error or a leak, apart from pooljoin's.
VALGRIND=(valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
  --errors-for-leak-kinds=definite,indirect --track-origins=yes --num-callers=30)

vg() {
  local expected=$1 rc=0
  shift
  ip netns exec "$NS" "${VALGRIND[@]}" --log-file="$TEST_TMP/valgrind.log" "$POOLJOIN" "$@" \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  if [ "$rc" = 99 ]; then
    fail "valgrind found errors in pooljoin $*: $(grep -A40 -m1 -E 'Invalid|uninitialised|definitely lost|indirectly lost' "$TEST_TMP/valgrind.log")"
  fi
  [ "$rc" = "$expected" ] || fail "pooljoin $* exited $rc under valgrind, expected $expected"
  grep -q "ERROR SUMMARY: 0 errors" "$TEST_TMP/valgrind.log" ||
    fail "valgrind: $(grep 'ERROR SUMMARY' "$TEST_TMP/valgrind.log")"
  echo "  $(grep -m1 -o 'in use at exit: .*' "$TEST_TMP/valgrind.log"); $(grep -m1 -o 'total heap usage: .*' "$TEST_TMP/valgrind.log")"
}

test_join_dry_run_is_valgrind_clean() {
  vg 0 --dry-run --root "$IMAGE" join --country de --dns-server 127.0.0.1 --refresh
  # Every step ran: resolve measured the zone servers and chose from them.
  assert_contains "$ERR" "measuring 9 addresses over NTP (3 samples, 2 s apart)"
  assert_contains "$ERR" "[9/9] submit"
  assert_contains "$ERR" "join --dry-run: the plan (nothing was changed)"
  assert_contains "$ERR" "resolve       planned    5 servers near de.pool.ntp.org"
  assert_contains "$ERR" "gen-conf      planned    would write /etc/ntpsec/ntp.conf"
  # The config it would write pins 5 of the zone servers the responder played.
  assert_eq "$(grep -cE '^server (185\.255\.4[0-7]\.1|2a0a:e5c0:43::1) iburst' <<<"$OUT")" 5
}

test_join_dry_run_json_is_valgrind_clean() {
  vg 0 --json --dry-run --root "$IMAGE" join --country de --dns-server 127.0.0.1 --refresh
  jq -e . <<<"$OUT" >/dev/null || fail "stdout is not one JSON document"
}

run_tests "$@"
