#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `pooljoin --root ROOT join` from this machine's pooljoin in real Debian 11 and Debian 13 roots
# (the debian_roots fixture; systemd is their init, not booted: an image, as a cloud image is
# built): the real apt-get of each release through chroot, from the fixture's local repository
# (the roots' only apt source), the real paths, package and service of each release's daemon
# (classic ntp and /etc/ntp.conf on 11, ntpsec on 13), the daemon's own check of the config.
# Each run works on a throw-away overlay of the cached root, in mount, PID and network
# namespaces of its own: the zone's DNS server and NTP responders are on that namespace's
# loopback, and nothing can reach further. Nothing run there holds CAP_SYS_TIME.
source "$(dirname "$0")/lib.sh"
require_root
: "${POOLJOIN_DEBIAN_ROOTS:?POOLJOIN_DEBIAN_ROOTS must name the debian_roots fixture (debian_roots_setup.sh)}"
: "${NTP_RESPONDER:?NTP_RESPONDER must name the test responder}"
command -v dnsmasq >/dev/null || skip_all "dnsmasq is not installed (scripts/setup --test)"

# The zone, as in join_test: 0-3.de.pool.ntp.org and 0.europe.pool.ntp.org answer with addresses
# outside the namespace (a machine's own addresses are never its upstreams), where responders
# serve the time; the DNS server is on the namespace's loopback.
ZONE_ADDRESSES=$DE_ZONE_ADDRESSES
make_netns NS roots
# shellcheck disable=SC2086
outside_of ZONE_NS "$NS" 1 $ZONE_ADDRESSES
de_zone_hosts "$TEST_TMP/hosts"
NOCLOCK=(setpriv --bounding-set -sys_time --inh-caps -sys_time)
"${NOCLOCK[@]}" ip netns exec "$NS" dnsmasq --keep-in-foreground --port=53 --listen-address=127.0.0.1 \
  --bind-interfaces --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$TEST_TMP/hosts" \
  --local=/#/ --pid-file="$TEST_TMP/dnsmasq.pid" --log-facility="$TEST_TMP/dnsmasq.log" &
on_exit kill $!
serve=() delay=5
for a in $ZONE_ADDRESSES; do serve+=("$a:123,delay=$delay") && delay=$((delay + 10)); done
start_responder UPSTREAMS --netns "$ZONE_NS" "${serve[@]}"
for _ in $(seq 50); do
  [ -n "$(ip netns exec "$NS" dig +short +time=1 @127.0.0.1 0.de.pool.ntp.org 2>/dev/null)" ] && break
  sleep 0.1
done

# in_root SUITE SCRIPT [ARGS...]: runs the bash SCRIPT (with ARGS) in the test's network
# namespace and in mount and PID namespaces of its own, where $R is a throw-away overlay of the
# SUITE root (its changes under $TEST_TMP/SUITE/upper) as an image builder would prepare it: its
# own /proc, the local repository as its only apt source at /srv/pooljoin-repo, the namespace's
# DNS server. Every process it starts ends with it. Without CAP_SYS_TIME.
in_root() {
  local suite=$1 script=$2
  shift 2
  local dir="$TEST_TMP/$suite"
  rm -rf --one-file-system "$dir"
  mkdir -p "$dir/upper" "$dir/work" "$dir/merged"
  "${NOCLOCK[@]}" ip netns exec "$NS" unshare --mount --propagation private --pid --fork --mount-proc \
    bash -c '
      set -e
      lower=$1 dir=$2 repo=$3 script=$4
      shift 4
      R=$dir/merged
      mount -t overlay pooljoin-root -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work" "$R"
      mkdir -p "$R/srv/pooljoin-repo"
      mount --bind "$repo" "$R/srv/pooljoin-repo"
      mount -t proc proc "$R/proc"
      echo "deb [trusted=yes] file:/srv/pooljoin-repo ./" >"$R/etc/apt/sources.list"
      echo "nameserver 127.0.0.1" >"$R/etc/resolv.conf"
      export R
      set +e
      source "$script" "$@"' _ \
    "$(readlink -f "$POOLJOIN_DEBIAN_ROOTS/roots/$suite")" "$dir" "$POOLJOIN_DEBIAN_ROOTS/repo-$suite" \
    "$script" "$@"
}

# The scenario each root goes through (sourced by in_root, $R the root, $1 the results
# directory, $2 the daemon's package, $3 its config, $4 its systemd wrapper, $5 its dhclient
# hook): join, join again, the daemon's own reading of the config, then DHCP as dhclient leaves
# it. Each step's output goes to the results directory; the test asserts on them afterwards.
cat >"$TEST_TMP/scenario.sh" <<'SCENARIO'
res=$1 package=$2 conf=$3 wrapper=$4 hook=$5
mkdir -p "$res"
# step NAME ARGS...: pooljoin --root $R ARGS, its output and exit status kept.
step() {
  local name=$1 rc=0
  shift
  "$POOLJOIN" --root "$R" --no-color "$@" >"$res/$name.out" 2>"$res/$name.err" </dev/null || rc=$?
  echo "$rc" >"$res/$name.rc"
}
# Every file of the root's /etc and of pooljoin's state but the run's record: what a second run
# must not change.
snapshot() {
  (cd "$R" && find etc var/lib/pooljoin ! -path var/lib/pooljoin/state.json \( -type f -o -type l \) \
    -printf '%p %m %l\n' | sort && find etc var/lib/pooljoin -type f ! -path var/lib/pooljoin/state.json \
    -print0 | sort -z | xargs -0 sha256sum)
}
JOIN=(--json --yes join --country de --interval 200ms --timeout 1s)
step join1 "${JOIN[@]}"
ps -eo args= >"$res/ps"
snapshot >"$res/snapshot1"
step join2 "${JOIN[@]}"
snapshot >"$res/snapshot2"
cp "$R$conf" "$res/conf"
cp "$R$conf".pooljoin-*.bak "$res/conf.bak" 2>/dev/null
cp "$R/etc/default/$package" "$res/default"
cp "$R/etc/default/$package".pooljoin-*.bak "$res/default.bak" 2>/dev/null
[ -L "$R/etc/systemd/system/multi-user.target.wants/$package.service" ] && echo yes >"$res/enabled"

# The daemon's own reading of the config: the root's ntpd on it for 3 s, in a network namespace
# of its own (its loopback up), asked for the time meanwhile.
unshare --net bash -c '
  ip link set lo up
  chroot "$1" /usr/sbin/ntpd -n -c "$2" -p /run/pooljoin-check.pid -l /run/pooljoin-check.log >/dev/null 2>&1 &
  pid=$!
  for i in $(seq 30); do
    python3 "$3" 127.0.0.1 >"$4/answer" 2>&1 && break
    sleep 0.1
  done
  kill "$pid"
  wait' _ "$R" "$conf" "$NTP_QUERY" "$res"
cp "$R/run/pooljoin-check.log" "$res/daemon.log"

# DHCP: the root's own dhclient exit hook, run as dhclient-script runs it for a lease that
# offers an NTP server, then the command line the root's own systemd wrapper starts ntpd with.
chroot "$R" env reason=BOUND new_ntp_servers=192.0.2.53 sh -c ". $hook" >"$res/dhclient.log" 2>&1
mkdir -p "$R/run/lock"
chroot "$R" sh -c "$(sed 's/exec \$DAEMON/echo $DAEMON/' "$R$wrapper")" >"$res/cmdline" 2>&1
# What pooljoin's linter reads and says then: the config the start script would run.
step lint --json gen-conf --lint
SCENARIO
export NTP_QUERY
NTP_QUERY="$(cd "$(dirname "$0")" && pwd)/ntp_query.py"

# join_root SUITE PACKAGE CONFIG WRAPPER HOOK: the scenario in a fresh overlay of the SUITE root;
# sets RES (its results) and R (the root's path as pooljoin saw it).
join_root() {
  local suite=$1 t0=$SECONDS
  RES="$TEST_TMP/$suite/results" R="$TEST_TMP/$suite/merged"
  in_root "$suite" "$TEST_TMP/scenario.sh" "$TEST_TMP/$suite/results" "${@:2}"
  echo "# $suite: the scenario took $((SECONDS - t0)) s"
}

# result NAME: a step's output and exit status, as pj leaves them.
result() {
  OUT=$(cat "$RES/$1.out")
  ERR=$(cat "$RES/$1.err")
  RC=$(cat "$RES/$1.rc")
}

statuses() { jqr '[.steps[] | "\(.step)=\(.status)"] | join(" ")'; }

# assert_joined SUITE PACKAGE CONFIG DRIFTFILE: what join must have done in the root.
assert_joined() {
  local package=$2 conf=$3 drift=$4
  result join1
  assert_eq "$RC" 0 "join in the $1 root: $(grep -m1 "^pooljoin: error" "$RES/join1.err")"
  assert_eq "$(jqr .status)" ok
  assert_eq "$(statuses)" "detect=done install-ntp=done resolve=done gen-conf=done restart=done firewall=unchanged check=skipped web-redirect=skipped submit=skipped"
  # The release's package, with its own apt-get, from the local repository.
  assert_contains "$ERR" "\$ chroot $R env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y $package"
  # The release's config path, checked by the root's own ntpd, the distribution's kept beside it.
  assert_eq "$(jqr '.steps[] | select(.step == "gen-conf") | .result.config_path')" "$conf"
  assert_contains "$(jqr '.steps[] | select(.step == "gen-conf") | .result.daemon_check')" "/usr/sbin/ntpd read it"
  assert_eq "$(grep -c '^server 185\.255\.4[0-4]\.1 iburst' "$RES/conf")" 5
  assert_contains "$(cat "$RES/conf")" "driftfile $drift"
  assert_contains "$(cat "$RES/conf")" "restrict default kod limited nomodify notrap nopeer noquery"
  assert_contains "$(cat "$RES/conf.bak")" "pool 0.debian.pool.ntp.org iburst"
  # restart: an image, so enabled with the root's systemctl, nothing started; nothing of it runs.
  assert_contains "$ERR" "\$ chroot $R systemctl enable $package"
  assert_contains "$ERR" "is an image, where nothing runs"
  [ -f "$RES/enabled" ] || fail "$package.service is not enabled in the $1 root"
  assert_eq "$(grep -v -e '^bash ' -e '^ps ' "$RES/ps")" "" "processes left after join"
  # A second run: every step done and verified, nothing touched.
  result join2
  assert_eq "$RC" 0 "the second join"
  assert_eq "$(statuses)" "detect=done install-ntp=unchanged resolve=unchanged gen-conf=unchanged restart=unchanged firewall=unchanged check=skipped web-redirect=skipped submit=skipped"
  diff "$RES/snapshot1" "$RES/snapshot2" >"$TEST_TMP/diff" || fail "the second join changed the root: $(cat "$TEST_TMP/diff")"
  # The root's ntpd ran on the config without a complaint and answered (unsynchronised: its
  # upstreams are not reachable from where it ran).
  if grep -Ei 'syntax error|CONFIG:.*(error|unknown|unrecognized)' "$RES/daemon.log"; then
    fail "the $1 root's ntpd complains about the config"
  fi
  assert_eq "$(cat "$RES/answer")" "3 0 INIT" "the $1 root's ntpd's answer"
}

test_debian_11_joins_with_classic_ntp() {
  local clock_before
  clock_before=$(clock_discipline)
  join_root bullseye ntp /etc/ntp.conf /usr/lib/ntp/ntp-systemd-wrapper /etc/dhcp/dhclient-exit-hooks.d/ntp
  # DHCP first (it does not depend on join's outcome): Debian 11's ntp has no IGNORE_DHCP, its
  # wrapper (and init script) run /run/ntp.conf.dhcp whenever it exists. With the lease's file in
  # place (the hook wrote it) the packaged wrapper starts ntpd on it, and the linter, reading
  # what ntpd will run, says so and gives the manual fix.
  [ -f "$TEST_TMP/bullseye/upper/run/ntp.conf.dhcp" ] ||
    fail "the dhclient hook wrote no /run/ntp.conf.dhcp: $(cat "$RES/dhclient.log")"
  assert_contains "$(cat "$RES/cmdline")" "-c /run/ntp.conf.dhcp"
  result lint
  assert_eq "$RC" 1 "gen-conf --lint with the lease's file: $ERR"
  assert_eq "$(jqr .file)" "$R/run/ntp.conf.dhcp"
  assert_contains "$(jqr '.findings[] | select(.id == "dhcp.copy-in-force") | .message')" \
    "ntpd will run at its next start /run/ntp.conf.dhcp, the copy a DHCP client wrote: its servers (192.0.2.53) replace the upstreams of /etc/ntp.conf"
  assert_contains "$(jqr '.findings[] | select(.id == "dhcp.copy-in-force") | .fix')" \
    "ntp's start script has no switch to ignore it: stop the DHCP client from asking for NTP servers"
  assert_joined bullseye ntp /etc/ntp.conf /var/lib/ntp/ntp.drift
  assert_clock_discipline_kept "$clock_before"
}

test_debian_13_joins_with_ntpsec() {
  local clock_before
  clock_before=$(clock_discipline)
  join_root trixie ntpsec /etc/ntpsec/ntp.conf /usr/libexec/ntpsec/ntp-systemd-wrapper \
    /etc/dhcp/dhclient-exit-hooks.d/ntpsec
  assert_joined trixie ntpsec /etc/ntpsec/ntp.conf /var/lib/ntpsec/ntp.drift
  # DHCP's servers must not replace the pool server's upstreams when the image boots: join sets
  # IGNORE_DHCP="yes" (the other lines kept, a backup beside it), and the packaged wrapper then
  # starts ntpd on /etc/ntpsec/ntp.conf although the lease's file is there.
  assert_eq "$(grep -c '^IGNORE_DHCP="yes"$' "$RES/default")" 1
  assert_contains "$(cat "$RES/default")" 'NTPD_OPTS="-g"'
  assert_contains "$(cat "$RES/default")" 'NTPSEC_CERTBOT_CERT_NAME=""'
  assert_contains "$(cat "$RES/default.bak")" 'IGNORE_DHCP=""'
  [ -f "$TEST_TMP/trixie/upper/run/ntpsec/ntp.conf.dhcp" ] ||
    fail "the dhclient hook wrote no /run/ntpsec/ntp.conf.dhcp: $(cat "$RES/dhclient.log")"
  assert_not_contains "$(cat "$RES/cmdline")" "ntp.conf.dhcp"
  assert_contains "$(cat "$RES/cmdline")" "-c /etc/ntpsec/ntp.conf"
  result lint
  assert_eq "$RC" 0 "gen-conf --lint with the lease's file: $ERR"
  assert_eq "$(jqr '"\(.file) \(.upstreams) \(.verdict)"')" "$R/etc/ntpsec/ntp.conf 5 ok"
  assert_clock_discipline_kept "$clock_before"
}

run_tests "$@"
