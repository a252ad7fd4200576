#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `pooljoin gen-conf` and the real daemons: ntpsec started on every rendered ntpd-family file in a
# network namespace, chronyd parsing (and serving on) every rendered chrony file, and the check
# gen-conf itself runs with the image's own ntpd through chroot.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/conf_lib.sh"

test_real_ntpsec_runs_every_rendered_ntpd_config() {
  require_root
  local goldens=(ntpsec-debian ntpsec-fedora ntp-debian ntp-arch)
  local golden ns dir answer peers
  declare -A nss
  # All four at once, each in its own namespace with a "public" address besides loopback.
  for golden in "${goldens[@]}"; do
    make_netns ns "gc-$golden"
    nss[$golden]=$ns
    ip -n "$ns" addr add 185.255.0.1/32 dev lo
    dir="$TEST_TMP/ntpd-$golden"
    mkdir -p "$dir"
    # Without CAP_SYS_TIME: the daemon cannot touch the machine's clock.
    setpriv --bounding-set -sys_time ip netns exec "$ns" \
      ntpd -n -c "$GOLDEN/$golden.conf" -p "$dir/pid" -l "$dir/log" >/dev/null 2>&1 &
    on_exit kill $!
  done
  for golden in "${goldens[@]}"; do
    ns=${nss[$golden]}
    dir="$TEST_TMP/ntpd-$golden"
    answer=""
    for _ in $(seq 50); do
      answer=$(ntp_query "$ns" 127.0.0.1 2>/dev/null) && break
      sleep 0.1
    done
    [ -n "$answer" ] || fail "$golden: ntpd does not answer on loopback"
    # Unsynchronised (its upstreams are unreachable here), but answering: LI 3, stratum 0, INIT.
    assert_eq "$answer" "3 0 INIT" "$golden"
    grep -q "readconfig: parsing file" "$dir/log" || fail "$golden: no parse in the log"
    if grep "CONFIG:" "$dir/log" | grep -v -e "readconfig: parsing file" -e "restrict no\(peer\|trap\) ignored" >&2; then
      fail "$golden: ntpd logged config errors"
    fi
    # Its associations are exactly the rendered servers.
    peers=$(ip netns exec "$ns" ntpq -pn 127.0.0.1 | awk 'NR > 2 {print $1}' | sort | tr '\n' ' ')
    assert_eq "$peers" "192.0.2.1 192.0.2.2 198.51.100.7 2001:db8::123 2001:db8::7 " "$golden"
    # Mode 6 answers this machine only: from a "public" address it is refused (noquery).
    ip netns exec "$ns" ntpq -c "rv 0 stratum" 127.0.0.1 | grep -q "stratum=16" ||
      fail "$golden: ntpq from loopback"
    ip netns exec "$ns" ntpq -c "timeout 500" -c "rv 0 stratum" 185.255.0.1 \
      >"$dir/mode6" 2>&1 &
  done
  for golden in "${goldens[@]}"; do
    dir="$TEST_TMP/ntpd-$golden"
    for _ in $(seq 100); do grep -q "timed out" "$dir/mode6" 2>/dev/null && break; sleep 0.1; done
    grep -q "stratum=" "$dir/mode6" && fail "$golden: mode 6 answered a non-local address"
    grep -q "timed out" "$dir/mode6" || fail "$golden: ntpq from 185.255.0.1: $(cat "$dir/mode6")"
    kill "$(cat "$dir/pid")"
  done
}

test_chronyd_accepts_every_rendered_chrony_config() {
  [ -x "$CHRONYD" ] || skip "no $CHRONYD (scripts/setup --test)"
  local golden version checked
  version=$("$CHRONYD" -v | grep -o 'version [0-9.]*' | cut -d' ' -f2)
  for golden in "$GOLDEN"/chrony-*.conf; do
    checked=$golden
    # leapseclist is new in chrony 4.6 (Fedora 41's): an older chronyd refuses it, which is why
    # only the distributions whose chrony is known to have it get the line. The rest of such a
    # file is checked with the time zone line the others have.
    if grep -q '^leapseclist ' "$golden" && [ "$(printf '%s\n' 4.6 "$version" | sort -V | head -1)" != 4.6 ]; then
      "$CHRONYD" -p -f "$golden" >"$TEST_TMP/out" 2>"$TEST_TMP/err" &&
        fail "chronyd $version accepts leapseclist, which it predates"
      assert_contains "$(cat "$TEST_TMP/err")" "Invalid directive at line"
      checked="$TEST_TMP/$(basename "$golden")"
      sed 's|^leapseclist .*|leapsectz right/UTC|' "$golden" >"$checked"
      echo "  chronyd $version (before 4.6) refuses leapseclist: $(basename "$golden") checked with leapsectz"
    fi
    "$CHRONYD" -p -f "$checked" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || fail "chronyd -p rejects $golden"
    grep -q "^allow all" "$TEST_TMP/out" || fail "chronyd -p did not print $golden"
  done
  # And it serves on one: started with -x (never touching the clock) in a namespace, on a copy
  # whose drift, pid and command port stay in the test's directory.
  require_root
  local ns dir answer
  make_netns ns gc-chrony
  dir="$TEST_TMP/chronyd"
  mkdir -p "$dir"
  sed "s|^driftfile .*|driftfile $dir/drift|" "$GOLDEN/chrony-debian.conf" >"$dir/chrony.conf"
  # No command port, and no command socket: `cmdport 0` alone still puts chronyd.sock in the
  # machine's /run, where any chronyc on the machine (another test's) would talk to this daemon.
  printf 'pidfile %s/chronyd.pid\ncmdport 0\nbindcmdaddress /\n' "$dir" >>"$dir/chrony.conf"
  ip netns exec "$ns" "$CHRONYD" -x -d -u root -f "$dir/chrony.conf" >"$dir/log" 2>&1 &
  on_exit kill $!
  for _ in $(seq 50); do
    answer=$(ntp_query "$ns" 127.0.0.1 2>/dev/null) && break
    sleep 0.1
  done
  [ -n "$answer" ] || fail "chronyd does not answer on loopback: $(cat "$dir/log")"
}

# An image whose programs are the machine's own (/usr bind-mounted read-only in a private mount
# namespace): the check runs the image's ntpd through chroot, on the candidate inside the image.
test_the_daemon_checks_the_candidate_inside_an_image() {
  require_root
  local root
  root=$(image_with_selection debian-12 chroot)
  mkdir -p "$root/usr" "$root/etc/ntpsec" "$root/dev"
  for d in bin sbin lib lib64; do [ -L "/$d" ] && ln -s "usr/$d" "$root/$d"; done
  echo "old config" >"$root/etc/ntpsec/ntp.conf"
  # gen_conf_in_image ARGS...: gen-conf under --root with the machine's /usr (read-only) and
  # /dev bound into the image, in a mount namespace of its own; RC, OUT and ERR.
  gen_conf_in_image() {
    unshare -m --propagation private bash -c '
      mount --bind -o ro /usr "$1/usr" && mount -o remount,bind,ro "$1/usr"
      mount --bind /dev "$1/dev"
      rc=0
      root=$1 pooljoin=$2 tmp=$3
      shift 3
      "$pooljoin" --root "$root" gen-conf -v "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
      echo "$rc" >"$tmp/rc"
    ' _ "$root" "$POOLJOIN" "$TEST_TMP" "$@"
    RC=$(cat "$TEST_TMP/rc")
    OUT=$(cat "$TEST_TMP/out")
    ERR=$(cat "$TEST_TMP/err")
  }
  gen_conf_in_image
  assert_eq "$RC" "0"
  assert_contains "$OUT" "checked: /usr/sbin/ntpd read it without a config error"
  assert_contains "$ERR" "checking /etc/ntpsec/.ntp.conf.pooljoin-"
  cmp -s "$root/etc/ntpsec/ntp.conf" "$GOLDEN/ntpsec-debian.conf" || fail "written file differs"
  # ntpd read a copy under /tmp, where Debian's AppArmor profile lets it (apparmor_test), and
  # the copy, pid and log files went with the check.
  assert_contains "$OUT" "(a copy in /tmp/pooljoin-check-"
  assert_eq "$(ls -A "$root/etc/ntpsec" | grep -c -v -e '^ntp.conf$' -e '\.bak$')" "0"
  assert_eq "$(ls -A "$root/tmp")" ""

  # An operator's config whose kept lines this ntpd refuses (a reference clock driver it was
  # built without): the old file stays, and the way out is named.
  local theirs='server 192.0.2.1 iburst
refclock gpsd unit 0
statistics loopstats'
  printf '%s\n' "$theirs" >"$root/etc/ntpsec/ntp.conf"
  gen_conf_in_image
  echo "# ntpd on a kept refclock line: $(grep -m1 -o 'CONFIG:.*gpsd.*' <<<"$ERR")"
  assert_eq "$RC" "1" "$ERR"
  assert_contains "$ERR" "2 lines kept from it may be what the daemon refuses"
  assert_contains "$ERR" "add --fresh to leave them out"
  assert_eq "$(cat "$root/etc/ntpsec/ntp.conf")" "$theirs" "the operator's file after the refusal"
  gen_conf_in_image --fresh
  assert_eq "$RC" "0" "$ERR"
  cmp -s "$root/etc/ntpsec/ntp.conf" "$GOLDEN/ntpsec-debian.conf" || fail "--fresh: written file differs"
}

run_tests "$@"
