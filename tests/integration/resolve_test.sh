#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `pooljoin resolve` against a real DNS server (dnsmasq) in a namespace of the test's own:
# answers equal the zone and what dig and getent report; each failure is named; no DNS at all
# falls back to the catalogue; the selection is saved under --root.
source "$(dirname "$0")/lib.sh"
require_root

make_netns NS resolve
# ip netns exec bind-mounts /etc/netns/NAME/resolv.conf over /etc/resolv.conf: getent, dig and
# pooljoin inside the namespace all use the test's dnsmasq.
mkdir -p "/etc/netns/$NS"
on_exit rm -rf "/etc/netns/$NS"
echo "nameserver 127.0.0.1" >"/etc/netns/$NS/resolv.conf"
ip -n "$NS" addr add 185.255.0.1/32 dev lo
# A dual-stack host: getent (AI_ADDRCONFIG) asks for AAAA only when there is an IPv6 address.
ip -n "$NS" -6 addr add 2a0a:e5c0::1/128 dev lo nodad

cat >"$TEST_TMP/hosts" <<'HOSTS'
185.255.10.1 both.test
2a0a:e5c0:10::1 both.test
185.255.20.1 v4only.test
2a0a:e5c0:30::1 v6only.test
185.255.40.1 0.de.pool.ntp.org
185.255.41.1 0.de.pool.ntp.org
185.255.42.1 1.de.pool.ntp.org
185.255.43.1 2.de.pool.ntp.org
2a0a:e5c0:43::1 2.de.pool.ntp.org
185.255.44.1 3.de.pool.ntp.org
185.255.50.1 0.europe.pool.ntp.org
185.255.70.1 retry.test
185.255.40.2 net4.test
2a0a:e5c0:43:1::1 net6.test
HOSTS
ip netns exec "$NS" dnsmasq --keep-in-foreground --port=53 --listen-address=127.0.0.1 --bind-interfaces \
  --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$TEST_TMP/hosts" --local=/#/ \
  --cname=alias.test,both.test --cname=alias2.test,alias.test --pid-file="$TEST_TMP/dnsmasq.pid" \
  --log-facility="$TEST_TMP/dnsmasq.log" --log-queries &
DNSMASQ=$!
on_exit kill -CONT "$DNSMASQ" ";" kill "$DNSMASQ"
for _ in $(seq 50); do ip netns exec "$NS" dig +short +time=1 @127.0.0.1 both.test >/dev/null 2>&1 && break; sleep 0.1; done

# pjn EXPECTED ARGS...: pooljoin inside the namespace.
pjn() {
  local expected=$1 rc=0
  shift
  ip netns exec "$NS" "$POOLJOIN" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  [ "$rc" = "$expected" ] || fail "pooljoin $* exited $rc, expected $expected"
}

# The addresses pooljoin found for HOST, sorted, one line.
found() { jqr ".candidates[] | select(.host == \"$1\") | [.addresses[].address] | sort | join(\" \")"; }

test_answers_equal_the_zone_dig_and_getent() {
  pjn 0 --dry-run --json resolve --no-probe --country de \
    --candidate both.test --candidate v4only.test --candidate v6only.test --candidate alias2.test
  local name expected from_dig from_getent
  while read -r name expected; do
    assert_eq "$(found "$name")" "$expected" "$name"
    from_dig=$( (ip netns exec "$NS" dig +short "$name" A; ip netns exec "$NS" dig +short "$name" AAAA) |
      grep -v '\.$' | sort | xargs)
    assert_eq "$from_dig" "$expected" "dig $name"
    from_getent=$(ip netns exec "$NS" getent ahosts "$name" | awk '{print $1}' | sort -u | xargs)
    assert_eq "$from_getent" "$expected" "getent $name"
  done <<'TABLE'
both.test 185.255.10.1 2a0a:e5c0:10::1
v4only.test 185.255.20.1
v6only.test 2a0a:e5c0:30::1
alias2.test 185.255.10.1 2a0a:e5c0:10::1
0.de.pool.ntp.org 185.255.40.1 185.255.41.1
2.de.pool.ntp.org 185.255.43.1 2a0a:e5c0:43::1
TABLE
  assert_eq "$(jqr '.candidates[] | select(.host == "v4only.test") | "\(.dns.a) \(.dns.aaaa)"')" "ok no data"
  assert_eq "$(jqr '.zones | join(",")')" "de,europe"
  assert_eq "$(jqr .dns_reachable)" "true"
}

test_json_keys_are_the_documented_ones() {
  pjn 0 --dry-run --json resolve --no-probe --country de --candidate both.test
  assert_eq "$(jqr '[keys[]] | join(",")')" "candidates,country,dns_reachable,own_addresses,reason,selected,zones"
  assert_eq "$(jqr '[.candidates[] | keys | join(",")] | unique | join(" ")')" "addresses,dns,error,host,source"
  assert_eq "$(jqr '[.candidates[] | .dns | select(. != null) | keys | join(",")] | unique | join(" ")')" "a,aaaa"
  assert_eq "$(jqr '[.candidates[].addresses[] | keys | join(",")] | unique | join(" ")')" \
    "address,delay_ms,error,family,fresh,jitter_ms,local_network,offset_ms,selected,stratum"
  assert_eq "$(jqr '[.selected[] | keys | join(",")] | unique | join(" ")')" "address,family,host"
}

test_the_table_marks_the_selected_servers() {
  pjn 0 --dry-run resolve --no-probe --no-catalogue --country de --candidate both.test
  # Unmeasured: the operator's host first (its IPv6; its IPv4 is usable but the host counts
  # once), then the zones, five in all; the names that failed say why.
  assert_eq "$OUT" "host                   address          family  delay  offset  stratum  selected  verdict
both.test              2a0a:e5c0:10::1  ipv6    -      -       -        *         usable
both.test              185.255.10.1     ipv4    -      -       -                  usable
0.de.pool.ntp.org      185.255.40.1     ipv4    -      -       -        *         usable
0.de.pool.ntp.org      185.255.41.1     ipv4    -      -       -        *         usable
1.de.pool.ntp.org      185.255.42.1     ipv4    -      -       -        *         usable
2.de.pool.ntp.org      2a0a:e5c0:43::1  ipv6    -      -       -        *         usable
2.de.pool.ntp.org      185.255.43.1     ipv4    -      -       -                  usable
3.de.pool.ntp.org      185.255.44.1     ipv4    -      -       -                  usable
0.europe.pool.ntp.org  185.255.50.1     ipv4    -      -       -                  usable
1.europe.pool.ntp.org  -                -       -      -       -                  NXDOMAIN
2.europe.pool.ntp.org  -                -       -      -       -                  NXDOMAIN
3.europe.pool.ntp.org  -                -       -      -       -                  NXDOMAIN"
}

test_each_failure_is_named_and_stops_nothing_else() {
  pjn 0 --dry-run --json resolve --no-probe --country de --candidate nope.test --candidate both.test
  assert_eq "$(jqr '.candidates[] | select(.host == "nope.test") | .error')" "NXDOMAIN"
  assert_eq "$(jqr '.candidates[] | select(.host == "1.europe.pool.ntp.org") | .error')" "NXDOMAIN"
  assert_eq "$(jqr '.candidates[] | select(.host == "ptbtime1.ptb.de") | .error')" "NXDOMAIN"
  assert_eq "$(found both.test)" "185.255.10.1 2a0a:e5c0:10::1"
  # The namespace has global IPv6, so IPv6 first; both.test once (one address per host);
  # then IPv4 from three different /24 networks.
  assert_eq "$(jqr '[.selected[].address] | join(" ")')" \
    "2a0a:e5c0:10::1 2a0a:e5c0:43::1 185.255.40.1 185.255.41.1 185.255.42.1"
}

test_the_machines_own_addresses_are_left_out_and_named() {
  # Once joined, the machine's own zone answers with its address: a DNS server of the test's
  # own answers the zone with each kind of address the namespace has (global IPv4 and IPv6 on
  # lo, a private one, loopback) among others.
  ip -n "$NS" addr add 10.9.9.9/32 dev lo
  on_exit ip -n "$NS" addr del 10.9.9.9/32 dev lo
  cat >"$TEST_TMP/own.hosts" <<'HOSTS'
185.255.40.1 0.de.pool.ntp.org
185.255.0.1 0.de.pool.ntp.org
10.9.9.9 1.de.pool.ntp.org
185.255.42.1 1.de.pool.ntp.org
2a0a:e5c0::1 2.de.pool.ntp.org
185.255.43.1 2.de.pool.ntp.org
127.0.0.1 3.de.pool.ntp.org
185.255.44.1 3.de.pool.ntp.org
185.255.0.1 fleet.test
185.255.45.1 fleet.test
HOSTS
  ip netns exec "$NS" dnsmasq --keep-in-foreground --port=5354 --listen-address=127.0.0.1 --bind-interfaces \
    --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$TEST_TMP/own.hosts" --local=/#/ \
    --pid-file="$TEST_TMP/own-dnsmasq.pid" &
  on_exit kill $!
  for _ in $(seq 50); do
    ip netns exec "$NS" dig +short +time=1 -p 5354 @127.0.0.1 fleet.test | grep -q 185 && break
    sleep 0.1
  done
  pjn 0 --dry-run --json resolve --no-probe --no-catalogue --country de --dns-server 127.0.0.1:5354 \
    --candidate fleet.test --candidate 2a0a:e5c0::1
  # DNS gave them (the answers are not filtered before), and each is ruled out as the machine's.
  assert_eq "$(found 0.de.pool.ntp.org)" "185.255.0.1 185.255.40.1"
  assert_eq "$(found 3.de.pool.ntp.org)" "127.0.0.1 185.255.44.1"
  own_verdict() { jqr "[.candidates[] | .host as \$h | .addresses[] | select(.address == \"$1\") | \"\(\$h)=\(.error)\"] | join(\" \")"; }
  assert_eq "$(own_verdict 185.255.0.1)" \
    "fleet.test=this machine's own address (on lo) 0.de.pool.ntp.org=this machine's own address (on lo)"
  assert_eq "$(own_verdict 10.9.9.9)" "1.de.pool.ntp.org=this machine's own address (on lo)"
  assert_eq "$(own_verdict 127.0.0.1)" "3.de.pool.ntp.org=this machine's own address (on lo)"
  assert_eq "$(own_verdict 2a0a:e5c0::1)" \
    "2a0a:e5c0::1=this machine's own address (on lo) 2.de.pool.ntp.org=this machine's own address (on lo)"
  assert_eq "$(jq -c '[.own_addresses[] | "\(.address) \(.interface) \(.hosts | join(","))"]' <<<"$OUT")" \
    '["185.255.0.1 lo fleet.test,0.de.pool.ntp.org","2a0a:e5c0::1 lo 2a0a:e5c0::1,2.de.pool.ntp.org","10.9.9.9 lo 1.de.pool.ntp.org","127.0.0.1 lo 3.de.pool.ntp.org"]'
  # The others are selected; none of the machine's.
  assert_eq "$(jqr '[.selected[].address] | join(" ")')" \
    "185.255.45.1 185.255.40.1 185.255.42.1 185.255.43.1 185.255.44.1"
  assert_contains "$ERR" "note: left out 185.255.0.1 (given by fleet.test, 0.de.pool.ntp.org): this machine's own address (on lo); a server is never its own upstream"
  assert_contains "$ERR" "note: left out 127.0.0.1 (given by 3.de.pool.ntp.org)"
  # The table says it too.
  pjn 0 --dry-run resolve --no-probe --no-catalogue --country de --dns-server 127.0.0.1:5354
  assert_eq "$(grep -c "this machine's own address (on lo)" <<<"$OUT")" 4
  assert_contains "$(grep '^0.de.pool.ntp.org *185.255.0.1 ' <<<"$OUT")" "this machine's own address (on lo)"
}

test_servfail_is_named_and_the_catalogue_steps_in() {
  ip netns exec "$NS" /usr/bin/python3 "$POOLJOIN_FIXTURES/../tools/dns_servfail.py" 127.0.0.2 53 \
    >"$TEST_TMP/servfail.out" &
  local responder=$!
  on_exit kill "$responder"
  for _ in $(seq 50); do grep -q ready "$TEST_TMP/servfail.out" 2>/dev/null && break; sleep 0.1; done
  pjn 0 --dry-run --json resolve --no-probe --country de --dns-server 127.0.0.2 --candidate both.test
  assert_eq "$(jqr '.candidates[] | select(.host == "both.test") | .error')" "SERVFAIL"
  assert_eq "$(jqr .dns_reachable)" "false"
  assert_contains "$ERR" "resolved none of the"
  assert_eq "$(jqr '[.selected[] | select(.host == "ptbtime1.ptb.de")] | length')" "1"
  kill "$responder"
}

test_silent_dns_times_out_quickly_and_falls_back() {
  kill -STOP "$DNSMASQ"
  local start=$SECONDS
  pjn 0 --dry-run --json resolve --no-probe --country de --dns-timeout 200 --candidate both.test
  kill -CONT "$DNSMASQ"
  [ $((SECONDS - start)) -le 3 ] || fail "took $((SECONDS - start)) s with a 200 ms timeout"
  assert_eq "$(jqr '.candidates[] | select(.host == "both.test") | .error')" "timeout"
  assert_contains "$ERR" "no DNS server answered (127.0.0.1:53)"
  assert_eq "$(jqr '.candidates[] | select(.host == "ntp1.lrz.de") | .addresses[0].fresh')" "false"
}

test_dns_server_down_is_named_at_once_and_falls_back() {
  # Nothing listens on 127.0.0.4:53: the kernel refuses every query (ICMP port unreachable),
  # which is known at once, long before the 20 s a silent server is given (the bound leaves
  # room for a sanitizer build on a busy machine).
  local start elapsed
  start=$(date +%s%N)
  pjn 0 --dry-run --json resolve --no-probe --country de --dns-server 127.0.0.4 --dns-timeout 20000 \
    --candidate both.test
  elapsed=$((($(date +%s%N) - start) / 1000000))
  [ "$elapsed" -lt 10000 ] || fail "took $elapsed ms for a refused port"
  assert_eq "$(jqr '.candidates[] | select(.host == "both.test") | "\(.dns.a)|\(.dns.aaaa)|\(.error)"')" \
    "server unreachable|server unreachable|server unreachable"
  assert_eq "$(jqr .dns_reachable)" "false"
  assert_contains "$ERR" "pooljoin: warning: no DNS server answered (127.0.0.4:53): using the catalogue's last known addresses"
  assert_eq "$(jqr '.candidates[] | select(.host == "ptbtime1.ptb.de") | .addresses[0].fresh')" "false"
  # A real run measures the catalogue's addresses, which nothing in the namespace can reach:
  # the documented exit 69, and the way out.
  mkdir -p "$TEST_TMP/down/usr/share/zoneinfo"
  cp /usr/share/zoneinfo/zone.tab /usr/share/zoneinfo/zone1970.tab /usr/share/zoneinfo/iso3166.tab \
    "$TEST_TMP/down/usr/share/zoneinfo/"
  pjn 69 --root "$TEST_TMP/down" resolve --country de --dns-server 127.0.0.4 --samples 1 --timeout 200ms
  assert_contains "$ERR" "pooljoin: error: none of the "
  assert_contains "$ERR" "candidate addresses answered over NTP (is outgoing UDP port 123 blocked?)"
  [ ! -e "$TEST_TMP/down/var/lib/pooljoin/selection.json" ] || fail "a selection was saved"
}

# lossy ADDRESS DROP [UPSTREAM_PORT]: tests/tools/dns_lossy.py on ADDRESS:53 in the namespace,
# its log in $TEST_TMP/lossy-ADDRESS.out.
lossy() {
  local log="$TEST_TMP/lossy-$1.out"
  ip netns exec "$NS" /usr/bin/python3 "$POOLJOIN_FIXTURES/../tools/dns_lossy.py" "$1" 53 "$2" \
    ${3:+127.0.0.1 "$3"} >"$log" &
  on_exit kill "$!"
  for _ in $(seq 50); do grep -q ready "$log" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$log" || fail "dns_lossy.py on $1 not ready"
}

test_a_silent_first_dns_server_fails_over_to_the_second() {
  lossy 127.0.0.3 all
  local start=$EPOCHREALTIME
  pjn 0 --dry-run --json resolve --no-probe --country de --dns-timeout 300 \
    --dns-server 127.0.0.3 --dns-server 127.0.0.1 --candidate both.test
  echo "failover run: $(bc <<<"$EPOCHREALTIME - $start") s" >&2
  # The first server was asked, said nothing, and the second one's answers are used.
  assert_eq "$(grep -c '^both.test A dropped' "$TEST_TMP/lossy-127.0.0.3.out")" "1"
  assert_eq "$(found both.test)" "185.255.10.1 2a0a:e5c0:10::1"
  assert_eq "$(found 0.de.pool.ntp.org)" "185.255.40.1 185.255.41.1"
  assert_eq "$(jqr .dns_reachable)" "true"
  assert_contains "$ERR" "through 127.0.0.3:53, 127.0.0.1:53"
}

test_each_lookup_is_tried_twice_and_a_lost_first_try_is_retried() {
  # A server that never answers is asked twice for each name and family (tries=2).
  lossy 127.0.0.4 all
  pjn 69 --dry-run --json resolve --no-probe --no-pool --no-catalogue --country de \
    --dns-timeout 200 --dns-server 127.0.0.4 --candidate retry.test
  assert_eq "$(jqr '.candidates[] | select(.host == "retry.test") | "\(.dns.a) \(.dns.aaaa)"')" "timeout timeout"
  assert_eq "$(grep -c '^retry.test A dropped$' "$TEST_TMP/lossy-127.0.0.4.out")" "2"
  assert_eq "$(grep -c '^retry.test AAAA dropped$' "$TEST_TMP/lossy-127.0.0.4.out")" "2"
  # The first try lost, the second reaches dnsmasq once and the name resolves.
  lossy 127.0.0.5 1 53
  pjn 69 --dry-run --json resolve --no-probe --no-pool --no-catalogue --country de \
    --dns-timeout 200 --dns-server 127.0.0.5 --candidate retry.test
  assert_eq "$(found retry.test)" "185.255.70.1"
  assert_eq "$(grep -c '^retry.test A ' "$TEST_TMP/lossy-127.0.0.5.out")" "2"
  assert_eq "$(grep -c 'query\[A\] retry.test from' "$TEST_TMP/dnsmasq.log")" "1"
}

# A local dnsmasq that forwards (as on many servers) takes at most 150 queries at once
# (dns-forward-max) and drops the rest, each drop costing a whole timeout: pooljoin keeps at most
# 128 in flight. 300 names (600 queries) through a forwarding dnsmasq whose upstream is 100 ms
# away: with --dns-forward-max below 128 the same run must fail, showing the check can.
test_a_forwarding_resolver_is_never_sent_more_than_it_takes() {
  [ -x "${UDP_DELAY_PROXY:-}" ] || fail "UDP_DELAY_PROXY is not set to the built udp_delay_proxy"
  local i start elapsed
  : >"$TEST_TMP/bulk.hosts"
  : >"$TEST_TMP/bulk.names"
  for i in $(seq 1 300); do
    printf '185.%d.%d.1 bulk%d.test\n2a0a:e5c1:%x::1 bulk%d.test\n' $((i / 200 + 100)) $((i % 200)) "$i" "$i" "$i" \
      >>"$TEST_TMP/bulk.hosts"
    echo "bulk$i.test" >>"$TEST_TMP/bulk.names"
  done
  ip netns exec "$NS" dnsmasq --keep-in-foreground --port=5400 --listen-address=127.0.0.1 --bind-interfaces \
    --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$TEST_TMP/bulk.hosts" --local=/#/ \
    --pid-file="$TEST_TMP/bulk-upstream.pid" &
  on_exit kill $!
  ip netns exec "$NS" "$UDP_DELAY_PROXY" --listen 127.0.0.1:5401 --upstream 127.0.0.1:5400 --rtt 100 \
    >"$TEST_TMP/bulk-proxy.out" &
  on_exit kill $!
  # Two forwarders to it: dnsmasq's default of 150 queries at once, and 100.
  local max port
  for max in 150 100; do
    port=$((5402 + (max == 100)))
    ip netns exec "$NS" dnsmasq --keep-in-foreground --port="$port" --listen-address=127.0.0.1 \
      --bind-interfaces --conf-file=/dev/null --no-resolv --no-hosts --server=127.0.0.1#5401 \
      --cache-size=0 --dns-forward-max="$max" --pid-file="$TEST_TMP/bulk-forwarder-$max.pid" \
      --log-facility="$TEST_TMP/bulk-forwarder-$max.log" &
    on_exit kill $!
  done
  for port in 5402 5403; do
    for _ in $(seq 50); do
      ip netns exec "$NS" dig +short +time=1 -p "$port" @127.0.0.1 bulk1.test 2>/dev/null | grep -q 185 && break
      sleep 0.1
    done
  done

  start=$EPOCHREALTIME
  pjn 0 --dry-run --json resolve --no-probe --no-pool --no-catalogue --country de \
    --dns-server 127.0.0.1:5402 --candidates-file "$TEST_TMP/bulk.names"
  elapsed=$(bc <<<"$EPOCHREALTIME - $start")
  echo "  300 names (600 queries) through a forwarder 100 ms from its upstream: $elapsed s" >&2
  assert_eq "$(jqr '[.candidates[] | select(.dns.a == "ok" and .dns.aaaa == "ok")] | length')" "300"
  assert_eq "$(found bulk299.test)" "185.101.99.1 2a0a:e5c1:12b::1"
  assert_not_contains "$(cat "$TEST_TMP/bulk-forwarder-150.log")" "Maximum number of concurrent"
  # No query waited for a timeout (2 s): five rounds of at most 128, 100 ms each.
  (($(bc <<<"$elapsed < 1.5"))) || fail "600 queries took $elapsed s: some were lost and retried"

  # The check can fail: a forwarder that takes 100 at once refuses some of the 128.
  pjn 0 --dry-run --json resolve --no-probe --no-pool --no-catalogue --country de \
    --dns-server 127.0.0.1:5403 --candidates-file "$TEST_TMP/bulk.names"
  assert_contains "$(cat "$TEST_TMP/bulk-forwarder-100.log")" "Maximum number of concurrent DNS queries reached (max: 100)"
}

test_the_images_resolv_conf_is_used_not_the_namespaces() {
  local root="$TEST_TMP/root-dns"
  mkdir -p "$root/etc" "$root/usr/share/zoneinfo"
  cp /usr/share/zoneinfo/iso3166.tab "$root/usr/share/zoneinfo/"
  # Nothing listens there; the namespace's own resolv.conf names the working dnsmasq.
  echo "nameserver 127.0.0.9" >"$root/etc/resolv.conf"
  pjn 0 --root "$root" --dry-run --json resolve --no-probe --country de --dns-timeout 200 \
    --candidate both.test
  assert_contains "$ERR" "no DNS server answered (127.0.0.9:53)"
  assert_eq "$(jqr .dns_reachable)" "false"
  assert_eq "$(found both.test)" ""
}

test_dns_server_with_a_port_v4_and_v6() {
  echo "185.255.60.1 port.test" >"$TEST_TMP/hosts2"
  ip netns exec "$NS" dnsmasq --keep-in-foreground --port=5353 --listen-address=127.0.0.1,::1 --bind-interfaces \
    --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$TEST_TMP/hosts2" --local=/#/ \
    --pid-file="$TEST_TMP/dnsmasq2.pid" --log-facility="$TEST_TMP/dnsmasq2.log" &
  local second=$!
  on_exit kill "$second"
  for _ in $(seq 50); do ip netns exec "$NS" dig +short +time=1 -p 5353 @127.0.0.1 port.test >/dev/null 2>&1 && break; sleep 0.1; done
  for server in 127.0.0.1:5353 '[::1]:5353'; do
    # That server knows one name only: one upstream is too few, and nothing is saved.
    pjn 69 --dry-run --json resolve --no-probe --country de --dns-server "$server" --candidate port.test
    assert_eq "$(found port.test)" "185.255.60.1" "$server"
    assert_contains "$ERR" "only 1 usable upstream server found; the pool asks for at least 4"
  done
  kill "$second"
}

test_bad_input_is_refused_with_exit_2() {
  pjn 2 --dry-run resolve --no-probe --candidate bad_name.test
  assert_contains "$ERR" "--candidate: \"bad_name.test\" is not a host name or an IP address"
  pjn 2 --dry-run resolve --no-probe --candidate $'185.1.1.1\nrestrict default'
  assert_contains "$ERR" "--candidate"
  pjn 2 --dry-run resolve --no-probe --country xx
  assert_contains "$ERR" "--country: \"xx\" is no country pooljoin knows"
  # The pool's zone name for GB, and a country's name: taken (no DNS answers in this namespace,
  # so nothing is found afterwards: 69).
  pjn 69 --dry-run resolve --no-probe --country uk
  assert_contains "$ERR" "zones: uk.pool.ntp.org, europe.pool.ntp.org (--country gb)"
  pjn 69 --dry-run resolve --no-probe --country "United Kingdom"
  assert_contains "$ERR" "(--country gb)"
  pjn 2 --dry-run resolve --no-probe --country Germ
  assert_contains "$ERR" "did you mean Germany (de)?"
  pjn 2 --dry-run resolve --no-probe --country deu
  pjn 2 --dry-run resolve --no-probe --servers 8
  assert_contains "$ERR" "--servers"
  pjn 2 --dry-run resolve --no-probe --dns-server ns.example
  assert_contains "$ERR" "--dns-server: \"ns.example\" is not ADDRESS[:PORT]"
  pjn 2 --dry-run resolve --no-probe --candidates-file /nonexistent/list
  assert_contains "$ERR" "--candidates-file: cannot read /nonexistent/list"
  printf 'both.test\n# a comment\n\nno good\n' >"$TEST_TMP/list"
  pjn 2 --dry-run resolve --no-probe --candidates-file "$TEST_TMP/list"
  # The line is named, not quoted: the file may hold secrets.
  assert_contains "$ERR" "--candidates-file $TEST_TMP/list line 4: not a host name or an IP address"
  assert_not_contains "$ERR" "no good"
}

test_selection_is_saved_under_root_with_the_zone_of_its_time_zone() {
  local root="$TEST_TMP/root"
  mkdir -p "$root/etc" "$root/usr/share/zoneinfo"
  cp /usr/share/zoneinfo/zone.tab /usr/share/zoneinfo/zone1970.tab /usr/share/zoneinfo/iso3166.tab "$root/usr/share/zoneinfo/"
  echo "Europe/Berlin" >"$root/etc/timezone"
  echo "nameserver 127.0.0.1" >"$root/etc/resolv.conf"
  printf 'both.test\nv4only.test\n' >"$TEST_TMP/list"
  pjn 0 --root "$root" --json resolve --no-probe --candidates-file "$TEST_TMP/list" --servers 4
  assert_contains "$ERR" "zones: de.pool.ntp.org, europe.pool.ntp.org (time zone Europe/Berlin (from /etc/timezone) is in DE)"
  local saved="$root/var/lib/pooljoin/selection.json"
  [ -f "$saved" ] || fail "no selection saved"
  assert_eq "$(jq -r '[.servers[].address] | join(" ")' "$saved")" "$(jqr '[.selected[].address] | join(" ")')"
  assert_eq "$(jq -r '[.servers[].address] | join(" ")' "$saved")" "2a0a:e5c0:10::1 2a0a:e5c0:43::1 185.255.20.1 185.255.40.1"
  assert_eq "$(jq -r '"\(.country) \(.zone)"' "$saved")" "de de.pool.ntp.org"
  # A dry run saves nothing.
  rm "$saved"
  pjn 0 --root "$root" --dry-run resolve --no-probe
  [ ! -e "$saved" ] || fail "a dry run wrote the selection"
}

test_without_root_resolve_measures_prints_and_saves_nothing() {
  local root="$TEST_TMP/userroot" rc=0
  mkdir -p "$root/etc"
  echo "nameserver 127.0.0.1" >"$root/etc/resolv.conf"
  chmod -R a+rX "$TEST_TMP"
  ip netns exec "$NS" setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups -- \
    "$POOLJOIN" --root "$root" resolve --country de --no-probe --servers 4 \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  ERR=$(cat "$TEST_TMP/err")
  [ "$rc" = 0 ] || fail "resolve as nobody exited $rc: $ERR"
  assert_contains "$(cat "$TEST_TMP/out")" "185.255.40.1"  # the table is printed
  assert_contains "$ERR" "nothing was saved: saving the selection in /var/lib/pooljoin/selection.json for gen-conf needs root"
  assert_contains "$ERR" "selected 4 servers (not saved: not root)"
  [ ! -e "$root/var/lib/pooljoin" ] || fail "a run without root created $(find "$root/var" | head -3)"
}

test_a_dry_run_with_no_route_at_all_plans_with_the_catalogue() {
  # A namespace with nothing but a loopback that is down: no DNS, no NTP, no address.
  local rc=0 start elapsed
  start=$(date +%s%N)
  unshare --net -- "$POOLJOIN" --dry-run --json resolve --country de >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  elapsed=$((($(date +%s%N) - start) / 1000000))
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  [ "$rc" = 0 ] || fail "an offline dry run exited $rc: $ERR"
  echo "  an offline dry-run resolve: ${elapsed} ms"
  assert_contains "$ERR" "this machine has no route out"
  assert_contains "$ERR" "the dry run plans with the catalogue's IPv4 addresses, unmeasured"
  assert_eq "$(jqr '.selected | length')" 5
  assert_eq "$(jqr '[.selected[].family] | unique | join(" ")')" "ipv4"
  # Nothing was measured: no delay anywhere.
  assert_eq "$(jqr '[.candidates[].addresses[] | select(.delay_ms != null)] | length')" 0
  # join's whole plan too.
  rc=0
  unshare --net -- "$POOLJOIN" --dry-run --yes join --country de >"$TEST_TMP/out" 2>&1 </dev/null || rc=$?
  [ "$rc" = 0 ] || fail "an offline join --dry-run exited $rc: $(tail -5 "$TEST_TMP/out")"
  grep -q "^server .* iburst" "$TEST_TMP/out" ||
    fail "no server line in the offline plan: $(head -40 "$TEST_TMP/out")"
}

test_measured_selection_is_diverse_and_rejects_the_bad_ones() {
  : "${NTP_RESPONDER:?}"
  # Each address of the zone gets a server that behaves as the scenario says, outside the
  # machine (its own addresses are never candidates).
  local out
  outside_of out "$NS" 1 185.255.10.1 185.255.20.1 185.255.40.1 185.255.40.2 185.255.41.1 \
    185.255.42.1 185.255.43.1 185.255.44.1 185.255.50.1 \
    2a0a:e5c0:10::1 2a0a:e5c0:30::1 2a0a:e5c0:43::1 2a0a:e5c0:43:1::1
  ip netns exec "$out" "$NTP_RESPONDER" \
    --serve 185.255.40.1:123,delay=5,offset=0.001 \
    --serve 185.255.40.2:123,delay=8 \
    --serve 185.255.41.1:123,delay=30 \
    --serve 185.255.42.1:123,kod=RATE \
    --serve 185.255.43.1:123,stratum=4 \
    --serve 185.255.44.1:123,offset=0.5 \
    --serve 185.255.50.1:123,silent \
    --serve 185.255.10.1:123,delay=20 \
    --serve 185.255.20.1:123,leap=3 \
    --serve '[2a0a:e5c0:43::1]:123,delay=2' \
    --serve '[2a0a:e5c0:43:1::1]:123,delay=4' \
    --serve '[2a0a:e5c0:30::1]:123,delay=10,stratum=1' \
    --serve '[2a0a:e5c0:10::1]:123,delay=25' >"$TEST_TMP/responder.out" 2>&1 &
  local responder=$!
  on_exit kill "$responder"
  for _ in $(seq 50); do grep -q '^ready' "$TEST_TMP/responder.out" && break; sleep 0.1; done
  grep -q '^ready' "$TEST_TMP/responder.out" || fail "responder not ready: $(cat "$TEST_TMP/responder.out")"

  local start elapsed
  start=$(date +%s%N)
  pjn 0 --dry-run --json resolve --country de --no-catalogue --interval 100ms --timeout 1s \
    --candidate both.test --candidate v4only.test --candidate v6only.test \
    --candidate net4.test --candidate net6.test
  elapsed=$((($(date +%s%N) - start) / 1000000))
  # The silent server is given up after its first query: one 1 s timeout, not three (3.2 s).
  echo "  resolve with a silent candidate (3 samples 100 ms apart, 1 s timeout): ${elapsed} ms"
  [ "$elapsed" -lt 2500 ] || fail "took ${elapsed} ms: the silent candidate's every sample was waited out"
  verdict() { jqr ".candidates[].addresses[] | select(.address == \"$1\") | (.error // \"ok\")"; }
  assert_eq "$(verdict 185.255.42.1)" "kiss-o'-death RATE"
  assert_eq "$(verdict 185.255.43.1)" "stratum 4 (at most 3 keeps this server at stratum 4)"
  assert_contains "$(verdict 185.255.44.1)" "falseticker: +"
  assert_eq "$(verdict 185.255.50.1)" "no reply"
  assert_eq "$(verdict 185.255.20.1)" "says it is not synchronised (leap 3)"
  # The measured delay includes the responder's: 30 ms asked, a little more measured.
  jq -e '.candidates[].addresses[] | select(.address == "185.255.41.1") | .delay_ms >= 30 and .delay_ms < 60' \
    <<<"$OUT" >/dev/null || fail "delay of 185.255.41.1: $(jqr '.candidates[].addresses[] | select(.address == "185.255.41.1") | .delay_ms')"
  # IPv6 first by delay, both.test once (its IPv6), then IPv4 by delay; one per network:
  # net6.test (4 ms) shares 2a0a:e5c0:43::/48 with 2a0a:e5c0:43::1 (2 ms) and net4.test (8 ms)
  # 185.255.40.0/24 with 185.255.40.1 (5 ms): usable, faster than 185.255.41.1, not selected.
  assert_eq "$(jqr '[.selected[].address] | join(" ")')" \
    "2a0a:e5c0:43::1 2a0a:e5c0:30::1 2a0a:e5c0:10::1 185.255.40.1 185.255.41.1"
  state() { jqr "[.candidates[].addresses[] | select(.address == \"$1\") | \"\\(.selected) \\(.error)\"] | unique | join(\",\")"; }
  assert_eq "$(state 185.255.40.1) $(state 185.255.40.2)" "true null false null" "185.255.40.0/24"
  assert_eq "$(state 2a0a:e5c0:43::1) $(state 2a0a:e5c0:43:1::1)" "true null false null" "2a0a:e5c0:43::/48"
  kill "$responder"
}

test_an_operators_server_on_the_local_network_is_probed_and_selected() {
  : "${NTP_RESPONDER:?}"
  # A GPS stratum 1 at 192.168.1.10 and the operator's other servers, outside the machine.
  local out
  outside_of out "$NS" 2 192.168.1.10 185.255.80.1 185.255.81.1 185.255.82.1
  local endpoints
  start_responder endpoints --netns "$out" 192.168.1.10:123,delay=1,stratum=1 \
    185.255.80.1:123,delay=5 185.255.81.1:123,delay=6 185.255.82.1:123,delay=7
  pjn 0 --dry-run --json resolve --country de --no-pool --no-catalogue --servers 4 \
    --interval 100ms --timeout 1s --candidate 192.168.1.10 --candidate 185.255.80.1 \
    --candidate 185.255.81.1 --candidate 185.255.82.1
  local lan='.candidates[].addresses[] | select(.address == "192.168.1.10")'
  assert_eq "$(jqr "$lan | \"\(.local_network) \(.error) \(.stratum) \(.selected)\"")" "true null 1 true"
  assert_eq "$(jqr '[.selected[].address] | join(" ")')" \
    "192.168.1.10 185.255.80.1 185.255.81.1 185.255.82.1"
  pjn 0 --dry-run resolve --country de --no-pool --no-catalogue --servers 4 --interval 100ms \
    --timeout 1s --candidate 192.168.1.10 --candidate 185.255.80.1 --candidate 185.255.81.1 \
    --candidate 185.255.82.1
  assert_contains "$OUT" "usable (local network)"
}

run_tests "$@"
