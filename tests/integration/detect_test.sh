#!/usr/bin/env bash
# `pooljoin detect` on the live machine, on fixture images, and in a network namespace whose
# addresses the test chose.
source "$(dirname "$0")/lib.sh"

test_live_system() {
  pj 0 --json detect
  # shellcheck disable=SC1091
  local id version
  id=$(. /etc/os-release && echo "$ID")
  version=$(. /etc/os-release && echo "${VERSION_ID:-}")
  assert_eq "$(jqr .distro.id)" "$id"
  assert_eq "$(jqr .distro.version_id)" "$version"
  assert_eq "$(jqr .distro.family)" "debian"
  assert_eq "$(jqr .package_manager)" "apt-get"
  # scripts/setup installs ntpsec for the tests; detect must see it.
  assert_eq "$(jqr '.daemons.installed | index("ntpsec") != null')" "true"
  if [ -d /run/systemd/system ]; then
    assert_eq "$(jqr .init_system)" "systemd"
  else
    assert_eq "$(jqr .init_system)" "sysvinit"
  fi
  jq -e '.virtualization | type == "string" and length > 0' <<<"$OUT" >/dev/null || fail "virtualization"
  jq -e '.excluded_addresses | map(.address) | index("127.0.0.1") != null' <<<"$OUT" >/dev/null ||
    fail "loopback must be listed as not usable"
}

test_json_keys_are_the_documented_ones() {
  pj 0 --json --root "$IMAGES/ubuntu-24.04-chrony-timesyncd" detect
  assert_eq "$(jqr '[keys[]] | join(",")')" \
    "addresses,daemons,distro,excluded_addresses,init_system,package_manager,virtualization"
  assert_eq "$(jqr '.distro | [keys[]] | join(",")')" "family,id,id_like,pretty_name,version_id"
  assert_eq "$(jqr '.daemons | [keys[]] | join(",")')" "installed,recommended,running"
  assert_eq "$(jqr .distro.pretty_name)" "Ubuntu 24.04.1 LTS"
  assert_eq "$(jqr '.distro.id_like | join(" ")')" "debian"
  assert_eq "$(jqr .init_system)" "systemd"
  assert_eq "$(jqr .virtualization)" "kvm"
  assert_eq "$(jqr '.daemons.running | join(",")')" "chrony,systemd-timesyncd"
  assert_eq "$(jqr .daemons.recommended)" "chrony"
}

test_unknown_system_reports_nulls_not_guesses() {
  pj 0 --json --root "$IMAGES/unknown-distro" detect
  assert_eq "$(jqr .distro.family)" "unknown"
  assert_eq "$(jqr .package_manager)" "null"
  assert_eq "$(jqr .daemons.recommended)" "null"
}

test_human_output_is_a_table() {
  pj 0 --root "$IMAGES/debian-12-ntpsec-openvz" detect
  assert_contains "$OUT" "distribution      Debian GNU/Linux 12 (bookworm) [family debian, id debian, version 12]"
  assert_contains "$OUT" "virtualization    openvz"
  assert_contains "$OUT" "ntp daemons       installed: ntpsec; running: ntpsec"
}

test_addresses_of_a_namespace() {
  require_root
  local ns
  make_netns ns detect
  # Global addresses that exist only inside the test's own namespace.
  ip -n "$ns" addr add 185.255.0.123/32 dev lo
  ip -n "$ns" addr add 10.1.2.3/32 dev lo
  ip -n "$ns" -6 addr add 2a0a:e5c0::123/128 dev lo nodad
  ip -n "$ns" -6 addr add 2a0a:e5c0::dead/128 dev lo nodad preferred_lft 0
  ip -n "$ns" -6 addr add fd00:1::1/128 dev lo nodad
  local rc=0
  ip netns exec "$ns" "$POOLJOIN" --json detect >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  assert_eq "$rc" 0
  assert_eq "$(jqr '[.addresses[] | "\(.address)/\(.family)/\(.interface)"] | join(" ")')" \
    "185.255.0.123/ipv4/lo 2a0a:e5c0::123/ipv6/lo"
  assert_eq "$(jqr '.excluded_addresses[] | select(.address == "10.1.2.3") | .reason')" "private (RFC 1918)"
  assert_eq "$(jqr '.excluded_addresses[] | select(.address == "2a0a:e5c0::dead") | .reason')" "deprecated address"
  assert_eq "$(jqr '.excluded_addresses[] | select(.address == "fd00:1::1") | .reason')" "unique local (ULA)"
}

test_a_daemon_runs_where_its_network_namespace_is() {
  require_root
  local ns
  make_netns ns detect-daemon
  cat >"$TEST_TMP/ntp.conf" <<CONF
driftfile $TEST_TMP/ntp.drift
tos orphan 4 orphanwait 1
restrict default kod limited nomodify notrap nopeer noquery
restrict 127.0.0.1
CONF
  setpriv --bounding-set -sys_time ip netns exec "$ns" ntpd -n -c "$TEST_TMP/ntp.conf" -p "$TEST_TMP/ntpd.pid" -l "$TEST_TMP/ntpd.log" &
  local ntpd=$!
  on_exit kill "$ntpd"
  for _ in $(seq 50); do [ -s "$TEST_TMP/ntpd.pid" ] && break; sleep 0.1; done
  # Seen from inside its namespace it serves there; from the host's it serves nothing here.
  local rc=0
  ip netns exec "$ns" "$POOLJOIN" --json detect >"$TEST_TMP/out" 2>/dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  assert_eq "$rc" 0
  assert_eq "$(jqr '.daemons.running | index("ntpsec") != null')" "true"
  pj 0 --json detect
  assert_eq "$(jqr '.daemons.running | index("ntpsec") != null')" "false"
  kill "$ntpd"
}

run_tests "$@"
