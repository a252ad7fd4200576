#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `pooljoin firewall` against the real front-ends (nftables, iptables-nft, iptables-legacy, ufw,
# firewalld and firewall-offline-cmd), proven from outside: a server namespace and a client
# namespace joined by a veth pair, the project's NTP responder serving in the server. For each:
# block, show that the client gets no answer and that `pooljoin firewall --json` says closed and
# names the rule; open with `pooljoin firewall --yes`; the client gets its answer; a second run
# changes nothing.
#
# Everything of the server runs in a mount namespace of its own ("the holder") whose /etc is an
# overlay (writes land in the test's directory) and whose /run is a tmpfs: ufw, firewalld and
# pooljoin change their files there, never this machine's.
source "$(dirname "$0")/lib.sh"
require_root
: "${NTP_RESPONDER:?NTP_RESPONDER must name the test responder}"
for tool in nft iptables-nft iptables-legacy ufw firewalld firewall-cmd firewall-offline-cmd \
  dbus-daemon ntpdig; do
  command -v "$tool" >/dev/null || skip_all "$tool is not installed (scripts/setup --test)"
done

SRV_V4=185.255.60.1 CLI_V4=185.255.60.2 SRV_V6=2a0a:e5c0:60::1 CLI_V6=2a0a:e5c0:60::2

# What this machine's own firewall and files are; compared after each test.
host_state() {
  nft list ruleset 2>&1
  iptables-legacy-save 2>/dev/null | grep -v '^#' || true
  cat /proc/net/ip_tables_names 2>/dev/null || true
  find /etc/ufw /etc/firewalld /etc/nftables.conf /etc/default/ufw /etc/systemd/system \
    -type f -exec md5sum {} + 2>/dev/null | sort
  ls /etc/pooljoin 2>&1 || true
}
HOST_BEFORE=$(host_state)
host_unchanged() { assert_eq "$(host_state)" "$HOST_BEFORE" "this machine's own firewall or files changed"; }

# pair NAME: the server and client namespaces (SRV, CLI), the veth between them, the responder
# in the server, and the holder (H): a shell in the server's network namespace and in a mount
# namespace of its own, which the server's commands enter with `srv CMD...`.
pair() {
  make_netns SRV "fw$1s"
  make_netns CLI "fw$1c"
  # Whatever runs in the server (firewalld, the bus, what the bus started) ends with it.
  on_exit "ip netns pids $SRV | xargs -r kill -9"
  ip link add pj-v0 netns "$SRV" type veth peer name pj-v1 netns "$CLI"
  ip -n "$SRV" addr add "$SRV_V4/24" dev pj-v0
  ip -n "$CLI" addr add "$CLI_V4/24" dev pj-v1
  ip -n "$SRV" -6 addr add "$SRV_V6/64" dev pj-v0 nodad
  ip -n "$CLI" -6 addr add "$CLI_V6/64" dev pj-v1 nodad
  ip -n "$SRV" link set pj-v0 up
  ip -n "$CLI" link set pj-v1 up
  local dir="$TEST_TMP/holder-$1"
  mkdir -p "$dir/upper" "$dir/work"
  cat >"$dir/holder.sh" <<EOF
set -e
mount -t overlay pj-etc -o lowerdir=/etc,upperdir=$dir/upper,workdir=$dir/work /etc
mount -t tmpfs -o mode=755 pj-run /run
mkdir -p /run/dbus /run/lock
# Nothing of this machine's is enabled at boot in here.
rm -rf /etc/systemd/system/*.wants /etc/pooljoin
echo ready >$dir/ready
exec sleep infinity
EOF
  ip netns exec "$SRV" unshare --mount --propagation private bash "$dir/holder.sh" \
    </dev/null >"$dir/log" 2>&1 &
  H=$!
  on_exit kill -9 "$H"
  local i
  for ((i = 0; i < 100; i++)); do [ -f "$dir/ready" ] && break; sleep 0.05; done
  [ -f "$dir/ready" ] || fail "the holder did not start: $(cat "$dir/log")"
  ip netns exec "$SRV" "$NTP_RESPONDER" --serve "$SRV_V4:123" --serve "[$SRV_V6]:123" \
    >"$dir/responder" 2>&1 &
  on_exit kill "$!"
  for ((i = 0; i < 100; i++)); do grep -q '^ready' "$dir/responder" && break; sleep 0.05; done
  grep -q '^ready' "$dir/responder" || fail "the responder did not start: $(cat "$dir/responder")"
}

srv() { nsenter -t "$H" -m -n -- "$@"; }

# pjs EXPECTED ARGS...: pooljoin in the server; stdout in $OUT, stderr in $ERR.
pjs() {
  local expected=$1 rc=0
  shift
  srv "$POOLJOIN" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  [ "$rc" = "$expected" ] || fail "pooljoin $* in the server exited $rc, expected $expected"
}

# outside: which of the server's addresses answer NTP from the client ("v4 v6", "v4", "").
outside() {
  local out answered=()
  out=$(ip netns exec "$CLI" "$POOLJOIN" --json check --server "$SRV_V4" --server "[$SRV_V6]" \
    --samples 1 --timeout 700ms 2>/dev/null || true)
  [ "$(jq -r '.addresses[0].reachable' <<<"$out")" = true ] && answered+=(v4)
  [ "$(jq -r '.addresses[1].reachable' <<<"$out")" = true ] && answered+=(v6)
  echo "${answered[*]}"
}

# The judgement, the plan, the opening, the proof and the second run, for a blocked server.
# EXPECT_RULE: a part of the deciding rule of IPv4.
open_and_prove() {
  local expect_rule=$1
  assert_eq "$(outside)" "" "the blocked server answered from outside"
  # The machine's own probe goes over loopback, which every front-end lets through.
  pjs 0 --json firewall --dry-run
  assert_eq "$(jqr .open_before.ipv4)" closed
  assert_contains "$(jqr .deciding_rule)" "$expect_rule"
  [ "$(jqr '.commands | length')" -gt 0 ] || fail "the plan has no command: $OUT"
  local t0=$SECONDS
  pjs 0 --json --yes firewall
  OPENED=$OUT
  assert_eq "$(jqr '[.open_after.ipv4, .open_after.ipv6] | join(" ")')" "open open"
  echo "  opened with: $(jqr '[.commands[] | join(" ")] | join("; ")') ($((SECONDS - t0)) s)"
  assert_eq "$(outside)" "v4 v6" "opened, yet not answered from outside"
  ip netns exec "$CLI" ntpdig -t 1 "$SRV_V4" >/dev/null 2>&1 || fail "ntpdig got no answer"
  # Again: nothing to do.
  pjs 0 --json firewall
  assert_eq "$(jqr '.commands | length')" 0
  assert_eq "$(jqr '[.open_before.ipv4, .open_before.ipv6] | join(" ")')" "open open"
}

test_nftables_is_opened_in_the_chain_that_drops() {
  pair nft
  srv nft -f "$POOLJOIN_FIXTURES/firewall/rules/nft-policy-drop.nft"
  open_and_prove "table inet filter, chain input: policy drop"
  assert_contains "$(srv nft list chain inet filter input)" 'udp dport 123 accept comment "pooljoin: NTP Pool"'
  # No nftables service loads a config at boot here: said, not pretended.
  pjs 0 --dry-run --json firewall
  host_unchanged
}

test_nftables_persists_in_the_config_the_distribution_loads() {
  pair nftp
  srv sh -c "cp '$POOLJOIN_FIXTURES/firewall/rules/nft-policy-drop.nft' /etc/nftables.conf &&
    sed -i '1i flush ruleset' /etc/nftables.conf &&
    mkdir -p /etc/systemd/system/sysinit.target.wants &&
    ln -s /lib/systemd/system/nftables.service /etc/systemd/system/sysinit.target.wants/"
  srv nft -f /etc/nftables.conf
  pjs 0 --json --yes firewall
  assert_eq "$(jqr .persistent)" true
  assert_eq "$(jqr '[.files[].path] | join(" ")')" "/etc/pooljoin/nftables-ntp.nft /etc/nftables.conf"
  assert_contains "$(srv cat /etc/nftables.conf)" 'include "/etc/pooljoin/nftables-ntp.nft"'
  # What the service loads at boot: from scratch, it lets NTP in.
  srv nft flush ruleset
  srv nft -f /etc/nftables.conf
  assert_eq "$(outside)" "v4 v6" "the persistent config does not let NTP in"
  host_unchanged
}

test_iptables_nft_and_legacy_are_opened_with_their_own_command() {
  local backend
  for backend in nft legacy; do
    pair "ipt$backend"
    srv "iptables-$backend-restore" <"$POOLJOIN_FIXTURES/firewall/rules/ipt-closed.ipt"
    # IPv6's twin lets neighbour discovery in: without it IPv6 does not work at all.
    sed -e 's/icmp-port-unreachable/icmp6-port-unreachable/' \
      -e '/-i lo -j ACCEPT/a -A INPUT -p ipv6-icmp -j ACCEPT' \
      "$POOLJOIN_FIXTURES/firewall/rules/ipt-closed.ipt" | srv "ip6tables-$backend-restore"
    open_and_prove 'REJECT --reject-with icmp-port-unreachable'
    assert_contains "$(srv "iptables-$backend-save")" '-A INPUT -p udp -m udp --dport 123 -m comment --comment "pooljoin: NTP Pool" -j ACCEPT'
    assert_contains "$(jq -r '.notes | join(" ")' <<<"$OPENED")" "last until the next reboot"
  done
  host_unchanged
}

test_ufw_is_opened_with_ufw_allow() {
  pair ufw
  srv ufw --force enable >/dev/null
  open_and_prove "ufw"
  assert_contains "$(srv ufw status)" "123/udp"
  host_unchanged
}

# firewalld with a system bus of its own, in the holder's private /run and /etc.
start_firewalld() {
  srv dbus-daemon --system --fork --nopidfile </dev/null >/dev/null 2>&1
  srv sh -c "exec firewalld --nofork --nopid --log-target file --log-file $TEST_TMP/firewalld.log" \
    </dev/null >>"$TEST_TMP/firewalld.log" 2>&1 &
  local i
  for ((i = 0; i < 200; i++)); do
    [ "$(srv firewall-cmd --state 2>/dev/null)" = running ] && return 0
    sleep 0.1
  done
  fail "firewalld did not start: $(tail -5 "$TEST_TMP/firewalld.log")"
}

test_firewalld_gets_the_ntp_service_at_runtime_and_for_good() {
  pair fwd
  start_firewalld
  open_and_prove "firewalld"
  assert_contains "$(srv firewall-cmd --zone=public --list-services)" ntp
  assert_contains "$(srv firewall-cmd --permanent --zone=public --list-services)" ntp
  # The permanent configuration holds it: after a reload it is still open.
  srv firewall-cmd --reload >/dev/null
  assert_eq "$(outside)" "v4 v6"
  host_unchanged
}

test_firewalld_configured_for_boot_is_opened_offline() {
  pair fwoff
  srv sh -c "mkdir -p /etc/systemd/system/multi-user.target.wants &&
    ln -s /lib/systemd/system/firewalld.service /etc/systemd/system/multi-user.target.wants/"
  # Not running: the live rules are open, but firewalld will close it at its next start.
  pjs 0 --json firewall --dry-run
  assert_eq "$(jqr .open_before.ipv4)" closed
  assert_contains "$(jqr .deciding_rule)" "no ntp service"
  assert_eq "$(jqr '.commands[0] | join(" ")')" "firewall-offline-cmd --zone=public --add-service=ntp"
  pjs 0 --json --yes firewall
  assert_eq "$(jqr .open_after.ipv4)" open
  start_firewalld
  assert_eq "$(outside)" "v4 v6" "firewalld started on the offline configuration and blocks NTP"
  host_unchanged
}

test_a_ruleset_that_cannot_be_judged_is_unknown_not_open() {
  pair unk
  srv iptables-nft-restore <"$POOLJOIN_FIXTURES/firewall/rules/ipt-recent.ipt"
  pjs 0 --json firewall --dry-run
  assert_eq "$(jqr .open_before.ipv4)" unknown
  assert_contains "$(jqr .deciding_rule)" "-m recent"
  assert_contains "$(jqr '.addresses[0].why')" "recent"
  host_unchanged
}

test_a_failing_front_end_command_leaves_everything_as_it_was() {
  pair fail
  srv nft -f "$POOLJOIN_FIXTURES/firewall/rules/nft-policy-drop.nft"
  local before
  before=$(srv nft list ruleset)
  # An nft that refuses to insert, in front of the real one.
  mkdir -p "$TEST_TMP/shim"
  printf '#!/bin/sh\ncase " $* " in *" insert "*) echo "Error: Could not process rule: No buffer space available" >&2; exit 1 ;; esac\nexec /usr/sbin/nft "$@"\n' >"$TEST_TMP/shim/nft"
  chmod +x "$TEST_TMP/shim/nft"
  local rc=0
  srv env PATH="$TEST_TMP/shim:$PATH" "$POOLJOIN" --yes firewall >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  ERR=$(cat "$TEST_TMP/err")
  assert_eq "$rc" 69 "$ERR"
  assert_contains "$ERR" "No buffer space available"
  assert_contains "$ERR" "the rules and files are as they were"
  assert_eq "$(srv nft list ruleset)" "$before"
  assert_eq "$(outside)" ""
  host_unchanged
}

# queries N: N queries to the server from as many source ports (each, if tracked, a conntrack
# entry of its own); prints how many were answered.
queries() {
  ip netns exec "$CLI" python3 - "$SRV_V4" "$1" <<'PY'
import os, socket, sys
replies = 0
for i in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    s.sendto(b'\x23' + b'\0' * 39 + os.urandom(8), (sys.argv[1], 123))
    try:
        if len(s.recv(1024)) >= 48: replies += 1
    except socket.timeout:
        pass
    s.close()
print(replies)
PY
}

conntrack_count() { srv cat /proc/sys/net/netfilter/nf_conntrack_count; }

# prove_notrack ARGS...: `pooljoin firewall --notrack` run with ARGS; then 1000 queries are
# answered and the conntrack table does not grow.
prove_notrack() {
  pjs 0 --json --yes "$@" firewall --notrack
  assert_eq "$(jqr .notrack)" true
  assert_eq "$(jqr '[.open_after.ipv4, .open_after.ipv6] | join(" ")')" "open open"
  echo "  exempted with: $(jqr '[.commands[] | join(" ")] | join("; ")')"
  local before after replies
  before=$(conntrack_count)
  replies=$(queries 1000)
  after=$(conntrack_count)
  echo "  1000 queries: $replies replies; conntrack entries $before -> $after"
  [ "$replies" -ge 990 ] || fail "only $replies of 1000 queries were answered"
  [ $((after - before)) -lt 20 ] || fail "conntrack grew from $before to $after"
  # Again: nothing to do.
  pjs 0 --json firewall --notrack
  assert_eq "$(jqr '.commands | length')" 0
  assert_contains "$(jqr '.notes | join(" ")')" "already exempt from connection tracking"
}

# tracked_after_removal: with the exemption taken away (by the caller), the same traffic fills the
# table: the proof above can tell the difference.
tracked_after_removal() {
  local before tracked
  before=$(conntrack_count)
  queries 200 >/dev/null
  tracked=$(conntrack_count)
  [ "$tracked" -ge $((before + 150)) ] || fail "without notrack, conntrack only went $before -> $tracked"
}

test_notrack_keeps_ntp_out_of_connection_tracking() {
  pair notrack
  srv nft -f "$POOLJOIN_FIXTURES/firewall/rules/nft-policy-drop.nft"
  prove_notrack
  srv nft delete table inet pooljoin_notrack
  tracked_after_removal
  host_unchanged
}

test_notrack_with_firewalld_uses_its_direct_rules_for_good() {
  pair ntfwd
  start_firewalld
  srv firewall-cmd --add-service=ntp >/dev/null
  srv firewall-cmd --permanent --add-service=ntp >/dev/null
  prove_notrack
  assert_eq "$(srv firewall-cmd --permanent --direct --get-all-rules | grep -c 'CT --notrack')" 4
  # The permanent configuration holds it: after a reload, still untracked and answered.
  srv firewall-cmd --reload >/dev/null
  local before replies
  before=$(conntrack_count)
  replies=$(queries 300)
  [ "$replies" -ge 295 ] || fail "after the reload, only $replies of 300 queries were answered"
  [ $(($(conntrack_count) - before)) -lt 20 ] || fail "after the reload, conntrack grows"
  srv firewall-cmd --direct --remove-rules ipv4 raw PREROUTING
  tracked_after_removal
  host_unchanged
}

test_notrack_with_ufw_goes_in_its_before_init() {
  pair ntufw
  srv ufw --force enable >/dev/null
  srv ufw allow 123/udp >/dev/null
  prove_notrack
  srv test -x /etc/ufw/before.init || fail "before.init is not executable: ufw-init skips it"
  ls "$TEST_TMP"/holder-ntufw/upper/ufw/before.init.pooljoin-*.bak >/dev/null ||
    fail "no backup of the replaced before.init"
  # ufw's own restart runs it: the rules are there once, not twice.
  srv ufw reload >/dev/null
  assert_eq "$(srv iptables-save -t raw | grep -c -- '--dport 123 -j CT --notrack')" 1
  assert_eq "$(srv ip6tables-save -t raw | grep -c -- '--dport 123 -j CT --notrack')" 1
  local before replies
  before=$(conntrack_count)
  replies=$(queries 300)
  [ "$replies" -ge 295 ] || fail "after the reload, only $replies of 300 queries were answered"
  [ $(($(conntrack_count) - before)) -lt 20 ] || fail "after the reload, conntrack grows"
  # ufw's stop takes them out, its start puts them back.
  srv ufw disable >/dev/null
  assert_eq "$(srv iptables-save -t raw | grep -c -- 'CT --notrack')" 0
  srv ufw --force enable >/dev/null
  assert_eq "$(srv iptables-save -t raw | grep -c -- 'CT --notrack')" 2
  # (With ufw's rules in place: conntrack tracks only where a rule asks for it.)
  srv iptables -t raw -F
  tracked_after_removal
  host_unchanged
}

test_an_image_gets_its_persistent_files_only() {
  local ns root="$TEST_TMP/image"
  make_netns ns fwimg
  mkdir -p "$root/usr" "$root/dev" "$root/etc/systemd/system/multi-user.target.wants"
  cp "$POOLJOIN_FIXTURES/images/debian-12/etc/os-release" "$root/etc/"
  local d
  for d in bin sbin lib lib64; do [ -L "/$d" ] && ln -s "usr/$d" "$root/$d"; done
  # firewalld set to start at boot, and ufw enabled: both configured, nothing running.
  cp -a /etc/firewalld /etc/ufw /etc/protocols /etc/services "$root/etc/"
  sed -i 's/^ENABLED=no/ENABLED=yes/' "$root/etc/ufw/ufw.conf"
  ln -s /lib/systemd/system/firewalld.service "$root/etc/systemd/system/multi-user.target.wants/"
  local rc=0
  "$(dirname "$0")/join_in_image.sh" "$ns" "$root" "$POOLJOIN" --root "$root" --json --yes firewall \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  assert_eq "$rc" 0 "$ERR"
  assert_eq "$(jqr '.frontends | join(" ")')" "firewalld ufw"
  assert_eq "$(jqr '.commands[0] | join(" ")')" "chroot $root firewall-offline-cmd --zone=public --add-service=ntp"
  assert_eq "$(jqr '[.files[].path] | join(" ")')" "/etc/ufw/user.rules /etc/ufw/user6.rules"
  # What firewalld and ufw load at the next boot lets NTP in.
  grep -q '<service name="ntp"/>' "$root/etc/firewalld/zones/public.xml" || fail "no ntp in the zone"
  assert_contains "$(cat "$root/etc/ufw/user.rules")" "### tuple ### allow udp 123 0.0.0.0/0 any 0.0.0.0/0 in"
  assert_contains "$(cat "$root/etc/ufw/user6.rules")" "-A ufw6-user-input -p udp --dport 123 -j ACCEPT"
  # As ufw loads them at boot: iptables-restore takes them.
  ip netns exec "$ns" iptables-nft-restore --test <"$root/etc/ufw/user.rules" ||
    fail "iptables-restore refuses the edited user.rules"
  ip netns exec "$ns" ip6tables-nft-restore --test <"$root/etc/ufw/user6.rules" ||
    fail "ip6tables-restore refuses the edited user6.rules"
  # Again: nothing to do.
  "$(dirname "$0")/join_in_image.sh" "$ns" "$root" "$POOLJOIN" --root "$root" --json --yes firewall \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || fail "the second run failed: $(cat "$TEST_TMP/err")"
  OUT=$(cat "$TEST_TMP/out")
  assert_eq "$(jqr '(.commands | length) + (.files | length)')" 0
  host_unchanged
}

run_tests "$@"
