#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
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
    "addresses,daemons,distro,excluded_addresses,findings,init_system,package_manager,virtualization"
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

test_a_leased_address_is_a_warning_in_detect_check_and_submit() {
  require_root
  local ns ip_valid
  make_netns ns detect-lease
  # A DHCP lease (an hour) and an IPv6 autoconfigured address (two hours) beside an address set by
  # hand, on an interface of the namespace's own.
  ip -n "$ns" link add eth0 type veth peer name eth0p
  ip -n "$ns" link set eth0 up
  ip -n "$ns" addr add 185.255.0.5/24 dev eth0 valid_lft 3600 preferred_lft 3600
  ip -n "$ns" -6 addr add 2a0a:e5c0::5/64 dev eth0 nodad valid_lft 7200 preferred_lft 3600
  ip -n "$ns" addr add 185.255.1.6/32 dev eth0
  # pjn EXPECTED ARGS...: pooljoin in the namespace.
  pjn() {
    local expected=$1 rc=0
    shift
    ip netns exec "$ns" "$POOLJOIN" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
    OUT=$(cat "$TEST_TMP/out")
    ERR=$(cat "$TEST_TMP/err")
    [ "$rc" = "$expected" ] || fail "pooljoin $* in $ns exited $rc, expected $expected"
  }
  pjn 0 --json detect
  assert_eq "$(jqr '[.addresses[] | "\(.address)/\(.dynamic)"] | join(" ")')" \
    "185.255.0.5/true 185.255.1.6/false 2a0a:e5c0::5/true"
  # The lifetimes the kernel gives, as `ip addr` shows them (a second or two may have passed).
  ip_valid=$(ip -n "$ns" -j addr show dev eth0 | jq '.[0].addr_info[] | select(.local == "185.255.0.5") | .valid_life_time')
  jq -e --argjson ip "$ip_valid" '.addresses[0].valid_lifetime_s | . <= 3600 and . >= $ip - 2' <<<"$OUT" >/dev/null ||
    fail "valid_lifetime_s $(jqr '.addresses[0].valid_lifetime_s'), ip says $ip_valid"
  jq -e '.addresses[2] | .valid_lifetime_s > 7100 and .preferred_lifetime_s <= 3600' <<<"$OUT" >/dev/null ||
    fail "IPv6 lifetimes: $(jq -c '.addresses[2]' <<<"$OUT")"
  assert_eq "$(jqr '.addresses[1] | "\(.valid_lifetime_s) \(.preferred_lifetime_s)"')" "null null"
  assert_eq "$(jqr '[.findings[] | "\(.severity) \(.id) \(.message | split(" ")[0])"] | join(", ")')" \
    "warn detect.address.dynamic 185.255.0.5, warn detect.address.dynamic 2a0a:e5c0::5"
  assert_contains "$(jqr '.findings[0].message')" "185.255.0.5 on eth0 is dynamic, a DHCP lease or IPv6 autoconfiguration (the kernel drops it in"
  pjn 0 detect
  assert_contains "$OUT" "185.255.0.5 (ipv4, eth0), dynamic: valid for"
  assert_contains "$OUT" "185.255.1.6 (ipv4, eth0)"$'\n'
  assert_contains "$ERR" "pooljoin: warning: 185.255.0.5 on eth0 is dynamic"
  assert_contains "$ERR" "the pool asks for an address that changes once a year or less; configure it statically"
  assert_not_contains "$ERR" "185.255.1.6"
  # check of this machine: the same warning among its findings (nothing serves here: it fails).
  pjn 1 --json check --samples 1 --timeout 200ms
  assert_eq "$(jqr '[.findings[] | select(.id == "address.dynamic") | "\(.severity) \(.message | split(" ")[0])"] | join(", ")')" \
    "warn 185.255.0.5, warn 2a0a:e5c0::5"
  # Another server's lifetime cannot be seen from here: not judged.
  pjn 1 --json check --server 185.255.0.5 --samples 1 --timeout 200ms
  assert_eq "$(jqr '[.findings[] | select(.id == "address.dynamic")] | length')" 0
  # submit: each submitted address of this machine that is dynamic (the site is not reachable
  # here: its lookups are "not checked").
  pjn 1 --json --api-base http://127.0.0.1:9 submit --hostname ntp.example.test --samples 1 --timeout 200ms
  assert_eq "$(jqr '[.findings[] | select(.id | startswith("submit.address")) | "\(.id) \(.message | split(" ")[0])"] | join(", ")')" \
    "submit.address.global 185.255.0.5, submit.address.dynamic 185.255.0.5, submit.address.global 185.255.1.6, submit.address.global 2a0a:e5c0::5, submit.address.dynamic 2a0a:e5c0::5"
  pjn 1 --json --api-base http://127.0.0.1:9 submit --hostname ntp.example.test --samples 1 --timeout 200ms 185.255.1.6
  assert_eq "$(jqr '[.findings[] | select(.id == "submit.address.dynamic")] | length')" 0
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
