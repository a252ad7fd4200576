#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `pooljoin join` on a real Debian 12 that runs its own systemd: the debian_roots fixture's root
# booted with systemd-nspawn (a throw-away overlay: the cached root never changes), in a network
# namespace of its own joined by a veth pair to an "outside" namespace, where dnsmasq answers the
# pool's zone, NTP responders serve the time and a stand-in for the pool's site answers. The
# pooljoin .deb comes from the fixture's local repository, the container's only apt source (it
# has no other network): the real apt-get installs ntpsec, the real systemctl enables and
# restarts it, and the time is then asked for from outside, through the veth pair.
#
# ntpsec needs CAP_SYS_TIME to run at all (ConditionCapability, and -u drops privileges with
# it), and writes the kernel's clock state at every start: the container gets the capability
# only together with a seccomp filter that makes every clock-setting call fail
# (--system-call-filter='~@clock'), everything entered from here drops it (setpriv), and the
# machine's adjtimex state is compared before and after.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pool_site.sh"
require_root
: "${POOLJOIN_DEBIAN_ROOTS:?POOLJOIN_DEBIAN_ROOTS must name the debian_roots fixture (debian_roots_setup.sh)}"
: "${NTP_RESPONDER:?NTP_RESPONDER must name the test responder}"
for tool in systemd-nspawn dnsmasq ntpdig; do
  command -v "$tool" >/dev/null || skip_all "$tool is not installed (scripts/setup --test)"
done
ROOT=$(readlink -f "$POOLJOIN_DEBIAN_ROOTS/roots/bookworm")
REPO="$POOLJOIN_DEBIAN_ROOTS/repo-bookworm"
[ -d "$ROOT/etc" ] && [ -f "$REPO/Packages" ] ||
  fail "no Debian 12 root or repository in $POOLJOIN_DEBIAN_ROOTS (the debian_roots fixture)"
VERSION=$(cat "$POOLJOIN_FIXTURES/../../VERSION")

# nspawn leaves its lock and propagation directories in /run/systemd/nspawn: removed at the end
# if they were not there before (registered first, so it runs last).
[ -d /run/systemd/nspawn ] ||
  on_exit 'rmdir /run/systemd/nspawn/locks /run/systemd/nspawn/propagate /run/systemd/nspawn'

# The network. Outside: the zone's addresses (as in join_test) and 185.255.60.254 (DNS, the
# pool's site, the container's gateway) on its loopback; a veth pair to each container's
# namespace, where the container is 185.255.60.1, a global address, the one the pool would know
# it by.
CT_ADDRESS=185.255.60.1
GATEWAY=185.255.60.254
ZONE_ADDRESSES=$DE_ZONE_ADDRESSES
make_netns OUTSIDE sdo
for a in $ZONE_ADDRESSES $GATEWAY; do ip -n "$OUTSIDE" addr add "$a/32" dev lo; done
de_zone_hosts "$TEST_TMP/hosts"
# Everything that does not run in the container runs without CAP_SYS_TIME.
NOCLOCK=(setpriv --bounding-set -sys_time --inh-caps -sys_time)
"${NOCLOCK[@]}" ip netns exec "$OUTSIDE" dnsmasq --keep-in-foreground --port=53 \
  --listen-address="$GATEWAY" --bind-interfaces --conf-file=/dev/null --no-resolv --no-hosts \
  --addn-hosts="$TEST_TMP/hosts" --local=/#/ --pid-file="$TEST_TMP/dnsmasq.pid" \
  --log-facility="$TEST_TMP/dnsmasq.log" &
on_exit kill $!
serve=() delay=5
for a in $ZONE_ADDRESSES; do serve+=("$a:123,delay=$delay") && delay=$((delay + 10)); done
start_responder UPSTREAMS --netns "$OUTSIDE" "${serve[@]}"
start_site site --netns "$OUTSIDE" --bind "$GATEWAY"
for _ in $(seq 50); do
  ip netns exec "$OUTSIDE" dig +short +time=1 "@$GATEWAY" 0.de.pool.ntp.org >/dev/null 2>&1 && break
  sleep 0.1
done
[ -n "$(ip netns exec "$OUTSIDE" dig +short +time=1 "@$GATEWAY" 0.de.pool.ntp.org)" ] ||
  fail "dnsmasq does not answer on $GATEWAY: $(cat "$TEST_TMP/dnsmasq.log")"

# container_netns VAR INDEX: a network namespace for a container, joined to the outside by a
# veth pair (eth0 inside, $CT_ADDRESS; pjsdINDEX outside), the gateway its default route.
container_netns() {
  local -n _ct_ns=$1
  local veth="pjsd$2"
  make_netns _ct_ns "sdc$2"
  ip link add eth0 netns "$_ct_ns" type veth peer name "$veth" netns "$OUTSIDE" &&
    ip -n "$_ct_ns" addr add "$CT_ADDRESS/24" dev eth0 &&
    ip -n "$_ct_ns" link set eth0 up &&
    ip -n "$OUTSIDE" link set "$veth" up &&
    ip -n "$OUTSIDE" route add "$CT_ADDRESS/32" dev "$veth" &&
    ip -n "$_ct_ns" route add "$GATEWAY/32" dev eth0 &&
    ip -n "$_ct_ns" route add default via "$GATEWAY" ||
    fail "could not link namespace $_ct_ns to the outside"
}

# The cgroup hierarchies a container gets a cgroup of its own in: the named v1 "systemd" and the
# v2 "unified" of a hybrid host like CI's, or /sys/fs/cgroup on a pure cgroup2 host.
CGROUP_ROOTS=""
for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do [ -f "$h/cgroup.procs" ] && CGROUP_ROOTS+=" $h"; done
[ -n "$CGROUP_ROOTS" ] || [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] || CGROUP_ROOTS=/sys/fs/cgroup

# boot NAME NETNS: boots the Debian 12 root as container NAME in network namespace NETNS, with
# the repository as /srv/pooljoin-repo; waits (at most 60 s) until its systemd has started
# everything. Sets CT (the command prefix entering it, without CAP_SYS_TIME) and CT_PID1.
# No host systemd here: --register=no --keep-unit, and a cgroup of the test's own.
boot() {
  local name=$1 ns=$2 st="$TEST_TMP/$1" h i
  mkdir -p "$st"
  for h in $CGROUP_ROOTS; do mkdir -p "$h/$name"; done
  on_exit shutdown_container "$name"
  setsid bash -c '
    for h in $1; do echo $$ >"$h/$2/cgroup.procs"; done
    shift 2
    exec systemd-nspawn "$@"' _ "$CGROUP_ROOTS" "$name" \
    --quiet -D "$ROOT" -M "$name" --boot --register=no --keep-unit --console=read-only \
    --link-journal=no --resolv-conf=off --timezone=off --volatile=overlay \
    --network-namespace-path="/run/netns/$ns" \
    --capability=CAP_SYS_TIME --system-call-filter='~@clock' \
    --bind-ro="$REPO:/srv/pooljoin-repo" >"$st/console.log" 2>&1 </dev/null &
  local nspawn=$!
  echo "$nspawn" >"$st/nspawn.pid"
  CT_PID1=""
  for ((i = 0; i < 300; i++)); do
    CT_PID1=$(awk '{print $1}' "/proc/$nspawn/task/$nspawn/children" 2>/dev/null || true)
    [ -n "$CT_PID1" ] && [ "$(cat "/proc/$CT_PID1/comm" 2>/dev/null)" = systemd ] && break
    kill -0 "$nspawn" 2>/dev/null || fail "systemd-nspawn ended: $(cat "$st/console.log")"
    CT_PID1=""
    sleep 0.1
  done
  [ -n "$CT_PID1" ] || fail "no systemd in container $name after 30 s: $(cat "$st/console.log")"
  CT=("${NOCLOCK[@]}" nsenter -t "$CT_PID1" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
  local state=""
  for ((i = 0; i < 600; i++)); do
    state=$("${CT[@]}" systemctl is-system-running 2>/dev/null || true)
    case $state in running | degraded) break ;; esac
    sleep 0.1
  done
  case $state in
    running) ;;
    degraded) echo "# container $name is degraded: $("${CT[@]}" systemctl --failed --no-legend --plain)" ;;
    *) fail "container $name: is-system-running says [$state] after 60 s" ;;
  esac
}

# shutdown_container NAME: a clean poweroff (nspawn passes SIGTERM on as SIGRTMIN+3), killed
# after 20 s; then its cgroups go. The overlay and every mount lived in nspawn's own mount
# namespace and end with it.
shutdown_container() {
  local name=$1 st="$TEST_TMP/$1" nspawn i h
  nspawn=$(cat "$st/nspawn.pid" 2>/dev/null || true)
  if [ -n "$nspawn" ] && kill -0 "$nspawn" 2>/dev/null; then
    kill -TERM "$nspawn"
    for ((i = 0; i < 200; i++)); do kill -0 "$nspawn" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$nspawn" 2>/dev/null; then
      echo "# container $name did not power off in 20 s: killed" >&2
      kill -KILL "$nspawn"
      for h in $CGROUP_ROOTS; do
        xargs -r kill -KILL <"$h/$name/cgroup.procs" 2>/dev/null || true
      done
      sleep 0.5
    fi
  fi
  rm -f "$st/nspawn.pid"
  for h in $CGROUP_ROOTS; do
    [ -d "$h/$name" ] && find "$h/$name" -depth -type d -exec rmdir {} \; 2>/dev/null
    [ ! -d "$h/$name" ] || echo "# cgroup $h/$name is still there" >&2
  done
  return 0
}

# start_container NAME INDEX: boot NAME in a namespace of its own (container_netns INDEX); both
# go when the test ends, whatever its outcome (stop_container ends them first when it passes).
start_container() {
  local ns
  container_netns ns "$2"
  trap "shutdown_container '$1'; ip netns delete '$ns' 2>/dev/null" EXIT
  boot "$1" "$ns"
  CT_NETNS=$ns
}

# stop_container NAME: the container powered off and its namespace deleted; nothing of it may
# remain: no process, no cgroup, no mount.
stop_container() {
  local t0=$SECONDS h
  shutdown_container "$1"
  ip netns delete "$CT_NETNS"
  trap - EXIT
  echo "# $1 stopped in $((SECONDS - t0)) s"
  for h in $CGROUP_ROOTS; do [ ! -d "$h/$1" ] || fail "cgroup $h/$1 is left"; done
  ! findmnt -rn -o TARGET | grep -F "$1" || fail "mounts of $1 are left"
  ! pgrep -f "systemd-nspawn .*-M $1 " >/dev/null || fail "systemd-nspawn of $1 still runs"
}

# ct_sh SCRIPT: runs SCRIPT with the container's sh, entered from here.
ct_sh() { "${CT[@]}" sh -c "$1"; }

# ct_run ARGS...: /usr/bin/pooljoin ARGS in the container as a transient service of its systemd
# (its seccomp filter, its systemctl, no terminal), ten minutes at most; exit status in RC,
# stdout in OUT, stderr in ERR.
ct_run() {
  RC=0
  timeout 900 "${CT[@]}" systemd-run --quiet --wait --pipe --collect --property=RuntimeMaxSec=600 \
    /usr/bin/pooljoin --no-color "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || RC=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
}

# ct_pj EXPECTED ARGS...: ct_run, which must exit EXPECTED.
ct_pj() {
  local expected=$1
  shift
  ct_run "$@"
  [ "$RC" = "$expected" ] || fail "pooljoin $* in the container exited $RC, expected $expected"
}

# wait_for_unit UNIT STATE: until `systemctl is-active UNIT` says STATE, at most 20 s.
wait_for_unit() {
  local i state=""
  for ((i = 0; i < 200; i++)); do
    state=$("${CT[@]}" systemctl is-active "$1" 2>/dev/null || true)
    [ "$state" = "$2" ] && return 0
    sleep 0.1
  done
  fail "$1 is [$state], not [$2], after 20 s: $("${CT[@]}" systemctl status --no-pager "$1" 2>&1 | tail -15)"
}

# ntpd_cmdline: the running ntpd's command line in the container, from /proc (MainPID of
# ntpsec.service).
ntpd_cmdline() {
  local pid
  pid=$("${CT[@]}" systemctl show -p MainPID --value ntpsec)
  [ -n "$pid" ] && [ "$pid" != 0 ] || fail "ntpsec.service has no MainPID"
  "${CT[@]}" cat "/proc/$pid/cmdline" | tr '\0' ' '
}

# machine_like_a_server: what the container's administrator and DHCP left before pooljoin
# arrives: the local repository as the only apt source, the outside's DNS server, and
# systemd-timesyncd running (its unit skips containers: that condition is lifted, the container
# stands for a machine).
machine_like_a_server() {
  ct_sh "echo 'deb [trusted=yes] file:/srv/pooljoin-repo ./' >/etc/apt/sources.list &&
    rm -f /etc/apt/sources.list.d/* && echo 'nameserver $GATEWAY' >/etc/resolv.conf &&
    mkdir -p /etc/systemd/system/systemd-timesyncd.service.d &&
    printf '[Unit]\nConditionVirtualization=\n' >/etc/systemd/system/systemd-timesyncd.service.d/container.conf &&
    systemctl daemon-reload && systemctl restart systemd-timesyncd" ||
    fail "could not prepare the container"
  wait_for_unit systemd-timesyncd active
  assert_eq "$("${CT[@]}" systemctl is-enabled systemd-timesyncd)" enabled
}

# apt_in_container ARGS...: apt-get in the container, unattended.
apt_in_container() {
  "${CT[@]}" DEBIAN_FRONTEND=noninteractive apt-get -q -y -o Dpkg::Use-Pty=0 "$@" \
    >>"$TEST_TMP/apt.log" 2>&1 || fail "apt-get $* failed: $(tail -20 "$TEST_TMP/apt.log")"
}

# assert_clock_calls_refused: a service of the container's systemd, root with CAP_SYS_TIME as
# ntpsec.service is, cannot even read the kernel's clock state (ntptime, from ntpsec: adjtimex
# with modes 0, which would change nothing were it allowed): the seccomp filter refuses it.
assert_clock_calls_refused() {
  local out rc=0
  out=$(timeout 60 "${CT[@]}" systemd-run --quiet --wait --pipe --collect \
    --property=AmbientCapabilities=CAP_SYS_TIME /usr/sbin/ntptime 2>&1 </dev/null) || rc=$?
  [ "$rc" != 0 ] || fail "ntptime read the clock state in the container: $out"
  assert_contains "$out" "Operation not permitted"
  echo "# adjtimex in a service of the container: refused ($(grep -m1 -o '[^:]*: Operation not permitted' <<<"$out"))"
}

statuses() { jqr '[.steps[] | "\(.step)=\(.status)"] | join(" ")'; }

test_join_on_a_real_systemd_installs_enables_and_serves() {
  local clock_before t0=$SECONDS name="pj-sd-$$-1"
  clock_before=$(clock_discipline)
  start_container "$name" 1
  echo "# booted in $((SECONDS - t0)) s"
  machine_like_a_server
  # As dhclient's ntpsec hook leaves it: the DHCP server's NTP server (an address no one
  # answers) in a copy of the config without its servers. Debian's wrapper then runs ntpd on that
  # file, not on /etc/ntpsec/ntp.conf, unless IGNORE_DHCP="yes" in /etc/default/ntpsec.
  ct_sh 'mkdir -p /run/ntpsec && printf "%s\n" "driftfile /var/lib/ntpsec/ntp.drift" \
    "leapfile /usr/share/zoneinfo/leap-seconds.list" "restrict default kod nomodify nopeer noquery limited" \
    "restrict 127.0.0.1" "restrict ::1" "server 192.0.2.53 iburst" >/run/ntpsec/ntp.conf.dhcp'

  # The operator's part: pooljoin from the repository, then join, unattended.
  apt_in_container update
  assert_not_contains "$("${CT[@]}" apt-cache policy)" "http"
  apt_in_container install pooljoin
  assert_eq "$("${CT[@]}" dpkg-query -W -f='${Version} ${db:Status-Abbrev}' pooljoin)" "$VERSION ii "
  "${CT[@]}" test ! -e /usr/sbin/ntpd || fail "ntpsec was installed before join"
  t0=$SECONDS
  # Its exit status is asserted last: the steps' effects first, each on its own. ntpsec
  # synchronises within about 7 s; check then waits for its next poll (64 s) to judge the other
  # upstreams: about 70 s, bounded by --wait.
  ct_run --json --yes join --country de --api-base "http://$GATEWAY:$SITE_PORT" \
    --interval 200ms --timeout 1s --wait 150s
  echo "# join: exit $RC after $((SECONDS - t0)) s: $(statuses)"

  # install-ntp: timesyncd stopped, then the real apt-get, from the local repository.
  assert_contains "$ERR" "\$ systemctl stop systemd-timesyncd"
  assert_contains "$ERR" "\$ env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y ntpsec"
  assert_eq "$("${CT[@]}" dpkg-query -W -f='${db:Status-Abbrev}' ntpsec)" "ii "
  # ntpsec replaced systemd-timesyncd (the packages conflict): not running, not enabled.
  assert_eq "$("${CT[@]}" systemctl is-active systemd-timesyncd || true)" inactive
  [ "$("${CT[@]}" systemctl is-enabled systemd-timesyncd 2>/dev/null || true)" != enabled ] ||
    fail "systemd-timesyncd is still enabled"
  # gen-conf: the zone's servers, checked by the container's own ntpd; Debian's config kept.
  local conf
  conf=$("${CT[@]}" cat /etc/ntpsec/ntp.conf)
  assert_eq "$(grep -c '^server 185\.255\.[0-9]*\.1 iburst' <<<"$conf")" 5
  assert_contains "$conf" "restrict default kod limited nomodify notrap nopeer noquery"
  assert_contains "$(jqr '.steps[] | select(.step == "gen-conf") | .result.daemon_check')" "/usr/sbin/ntpd"
  assert_contains "$(ct_sh 'cat /etc/ntpsec/ntp.conf.pooljoin-*.bak')" "pool 0.debian.pool.ntp.org iburst"
  # restart: the real systemctl, on the real systemd.
  assert_contains "$ERR" "\$ systemctl enable ntpsec"
  assert_contains "$ERR" "\$ systemctl restart ntpsec"
  assert_eq "$("${CT[@]}" systemctl is-enabled ntpsec)" enabled
  assert_eq "$("${CT[@]}" systemctl is-active ntpsec)" active

  # The daemon runs the config join wrote, not the one DHCP left: join sets IGNORE_DHCP="yes"
  # in /etc/default/ntpsec, its other lines kept, and a backup beside it.
  local cmdline defaults
  cmdline=$(ntpd_cmdline)
  assert_not_contains "$cmdline" "ntp.conf.dhcp"
  assert_contains "$cmdline" "-c /etc/ntpsec/ntp.conf"
  defaults=$("${CT[@]}" cat /etc/default/ntpsec)
  assert_eq "$(grep -c '^IGNORE_DHCP="yes"$' <<<"$defaults")" 1
  assert_contains "$defaults" 'NTPD_OPTS="-g -N"'
  assert_contains "$defaults" 'NTPSEC_CERTBOT_CERT_NAME=""'
  assert_contains "$(ct_sh 'cat /etc/default/ntpsec.pooljoin-*.bak')" 'IGNORE_DHCP=""'

  # check: synchronised to the zone's servers (ntpq agrees), answering on the global address.
  assert_eq "$(jqr '.steps[] | select(.step == "check") | .result.daemon.synchronized')" true
  local peers
  peers=$("${CT[@]}" ntpq -pn 127.0.0.1)
  grep -Eq '^\*185\.255\.4[0-4]\.1 ' <<<"$peers" || fail "ntpq shows no system peer of the zone: $peers"
  # The time asked for from outside, through the veth pair, from the container's address.
  local answer
  answer=$("${NOCLOCK[@]}" ip netns exec "$OUTSIDE" ntpdig -t 2 "$CT_ADDRESS" 2>&1) ||
    fail "ntpdig from outside got no time from $CT_ADDRESS: $answer"
  echo "# ntpdig from outside: $answer"
  assert_contains "$answer" "$CT_ADDRESS s3 no-leap"
  # submit: the site was asked about the address, which the pool does not know.
  assert_eq "$(site_requests /api/data/server/scores/$CT_ADDRESS | jq length)" 1

  # The whole run.
  assert_eq "$RC" 0 "join's exit code"
  assert_eq "$(jqr .status)" ok
  assert_eq "$(statuses)" "detect=done install-ntp=done resolve=done gen-conf=done restart=done firewall=unchanged check=done web-redirect=skipped submit=done"

  # What the ntpd in the container tried on the clock was refused, and the machine's clock
  # discipline is as it was.
  assert_contains "$("${CT[@]}" journalctl -u ntpsec -b --no-pager)" "ntp_adjtime: Operation not permitted"
  assert_clock_calls_refused
  assert_clock_discipline_kept "$clock_before"

  prometheus_units_run_as_shipped
  stop_container "$name"
}

# prometheus_units_run_as_shipped: docs/examples' pooljoin-prometheus.service and .timer,
# installed as their comments say, on the container's systemd: the sandbox they ask for
# (ProtectSystem=strict, ReadWritePaths=...) still lets the file be written, and the timer is
# scheduled. Only the pool's site is the test's, through the environment (a drop-in).
prometheus_units_run_as_shipped() {
  local examples="$POOLJOIN_FIXTURES/../../docs/examples" unit prom result
  for unit in pooljoin-prometheus.service pooljoin-prometheus.timer; do
    "${CT[@]}" sh -c "cat >/etc/systemd/system/$unit" <"$examples/$unit"
  done
  ct_sh "mkdir -p /var/lib/prometheus/node-exporter /etc/systemd/system/pooljoin-prometheus.service.d &&
    printf '[Service]\nEnvironment=POOLJOIN_API_BASE=http://$GATEWAY:$SITE_PORT\n' \
      >/etc/systemd/system/pooljoin-prometheus.service.d/test-site.conf &&
    systemctl daemon-reload" || fail "could not install the example units"
  "${CT[@]}" systemd-analyze verify --man=no pooljoin-prometheus.service pooljoin-prometheus.timer \
    >"$TEST_TMP/verify" 2>&1 || fail "systemd-analyze verify: $(cat "$TEST_TMP/verify")"
  [ ! -s "$TEST_TMP/verify" ] || fail "systemd-analyze verify has remarks: $(cat "$TEST_TMP/verify")"
  # A oneshot: start returns once it has run.
  timeout 120 "${CT[@]}" systemctl start pooljoin-prometheus.service ||
    fail "pooljoin-prometheus.service failed: $("${CT[@]}" journalctl -u pooljoin-prometheus --no-pager | tail -20)"
  result=$("${CT[@]}" systemctl show -p Result --value pooljoin-prometheus.service)
  assert_eq "$result" success
  # The site does not know the container's address: the file says so, for the collector.
  prom=$("${CT[@]}" cat /var/lib/prometheus/node-exporter/pooljoin.prom)
  assert_contains "$prom" "pooljoin_status_up{address=\"$CT_ADDRESS\"} 1"
  assert_contains "$prom" "pooljoin_known{address=\"$CT_ADDRESS\"} 0"
  [ -z "$("${CT[@]}" find /var/lib/prometheus/node-exporter -name '.*')" ] || fail "a temporary file was left"
  assert_eq "$(site_requests /api/data/server/scores/$CT_ADDRESS | jq length)" 2

  "${CT[@]}" systemctl enable --now pooljoin-prometheus.timer >/dev/null 2>&1 || fail "the timer would not start"
  assert_eq "$("${CT[@]}" systemctl is-active pooljoin-prometheus.timer)" active
  [ -n "$("${CT[@]}" systemctl show -p NextElapseUSecMonotonic --value pooljoin-prometheus.timer)" ] ||
    fail "the timer has no next run"
  echo "# pooljoin-prometheus.service on the container's systemd: $result; the timer is active"
}

test_a_failed_restart_rolls_back_and_a_masked_unit_is_named() {
  local clock_before name="pj-sd-$$-2"
  clock_before=$(clock_discipline)
  start_container "$name" 2
  ct_sh "echo 'deb [trusted=yes] file:/srv/pooljoin-repo ./' >/etc/apt/sources.list &&
    echo 'nameserver $GATEWAY' >/etc/resolv.conf" || fail "could not prepare the container"
  apt_in_container update
  apt_in_container install ntpsec pooljoin
  # A config of pooljoin's, running: the one to come back to. Then another one (the first is its
  # backup) with a line added by hand that ntpd accepts when reading it, then exits on as it
  # starts serving: NTS without a certificate.
  ct_pj 0 --yes gen-conf --upstream 185.255.40.1,185.255.41.1,185.255.42.1,185.255.43.1
  ct_pj 0 restart
  local good before_pid
  good=$("${CT[@]}" cat /etc/ntpsec/ntp.conf)
  before_pid=$("${CT[@]}" systemctl show -p MainPID --value ntpsec)
  ct_pj 0 --yes gen-conf --upstream 185.255.41.1,185.255.42.1,185.255.43.1,185.255.44.1
  ct_sh 'echo "nts enable" >>/etc/ntpsec/ntp.conf'
  local broken
  broken=$("${CT[@]}" cat /etc/ntpsec/ntp.conf)

  # (a) The restart fails, the good config comes back and runs. The unit's failure ends the wait
  # for an answer at once: well within the 60 s the answer is given.
  local started=$SECONDS
  ct_pj 1 restart --answer-timeout 60s
  local took=$((SECONDS - started))
  echo "# restart on a config ntpd exits on, with its rollback: ${took} s"
  ((took < 30)) || fail "the restart waited ${took} s for a daemon whose unit had failed"
  assert_contains "$ERR" "pooljoin: error: ntpsec did not come up on the new config"
  # The unit's state and its journal, or (when ntpd ended before systemd read its PID file)
  # systemctl's own failure: not "did not answer".
  assert_not_contains "$OUT$ERR" "did not answer on 127.0.0.1:123"
  if [[ "$OUT$ERR" == *"ntpsec.service is failed after the restart"* ]]; then
    # Its warnings and errors only (ntpd's "INIT:" notes are not), when the journal had them.
    assert_not_contains "$OUT$ERR" "INIT: ntpd"
  else
    assert_contains "$OUT$ERR" "\`systemctl restart ntpsec\` failed"
  fi
  assert_contains "$OUT" "rolled back: /etc/ntpsec/ntp.conf restored from /etc/ntpsec/ntp.conf.pooljoin-"
  assert_contains "$OUT" "after the rollback: ntpsec answers on 127.0.0.1:123"
  assert_eq "$("${CT[@]}" cat /etc/ntpsec/ntp.conf)" "$good" "the config after the rollback"
  assert_eq "$(ct_sh 'cat /etc/ntpsec/ntp.conf.pooljoin-failed-*')" "$broken" "the failed config kept"
  local journal
  journal=$("${CT[@]}" journalctl -u ntpsec -b --no-pager)
  assert_contains "$journal" "NTS: troubles during init2"
  # Whether the daemon ended before systemd read its PID file (then `systemctl restart` fails)
  # or after (then the unit fails a moment later) is a race: either way systemd saw it fail.
  assert_contains "$journal" "ntpsec.service: Failed with result '"
  # Running again, a new process, on the good config (185.255.40.1 is only in that one), and
  # no longer failed for systemd.
  assert_eq "$("${CT[@]}" systemctl show -p ActiveState,SubState,Result ntpsec | sort | xargs)" \
    "ActiveState=active Result=success SubState=running"
  [ "$("${CT[@]}" systemctl show -p MainPID --value ntpsec)" != "$before_pid" ] || fail "ntpsec was not restarted"
  assert_contains "$(ntpd_cmdline)" "-c /etc/ntpsec/ntp.conf"
  assert_contains "$("${CT[@]}" ntpq -pn 127.0.0.1)" "185.255.40.1"

  # (b) A masked unit: the restart cannot happen, which is no fault of the config.
  ct_sh 'systemctl mask ntpsec' >/dev/null 2>&1 || fail "systemctl mask failed"
  local failed_before
  failed_before=$(ct_sh 'ls /etc/ntpsec/ | grep -c pooljoin-failed')
  ct_run restart --answer-timeout 5s
  echo "# restart of a masked ntpsec: exit $RC"
  [ "$RC" != 0 ] || fail "restart of a masked unit exited 0"
  assert_contains "$ERR" "ntpsec.service is masked"
  assert_eq "$RC" "69"
  # The fix named, and the config left as it is: masking is not a config error.
  assert_contains "$ERR$OUT" "systemctl unmask ntpsec"
  assert_not_contains "$OUT" "rolled back"
  assert_eq "$("${CT[@]}" cat /etc/ntpsec/ntp.conf)" "$good" "the config after a masked restart"
  assert_eq "$(ct_sh 'ls /etc/ntpsec/ | grep -c pooljoin-failed')" "$failed_before"

  assert_clock_calls_refused
  assert_clock_discipline_kept "$clock_before"
  stop_container "$name"
}

run_tests "$@"
