#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `pooljoin restart`: the plan of each init system, enabling inside an image through chroot, and
# a real restart of this machine's ntpsec through /etc/init.d/ntpsec, then the rollback when the
# daemon does not come up on a broken config. The real runs happen in a network namespace of
# their own and a private mount namespace (overlay on /etc, tmpfs on /run, a directory of the
# test's on /var/lib/ntpsec): the machine's own files and daemons are never touched.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/conf_lib.sh"

SERVERS=(--upstream 192.0.2.1 --upstream 192.0.2.2 --upstream 198.51.100.3 --upstream 2001:db8::4)

test_dry_run_plans_each_init_system() {
  require_root
  command -v ntpd >/dev/null || skip "ntpsec is not installed (scripts/setup --test)"
  local real=$POOLJOIN
  POOLJOIN=$(own_pids)
  pj 0 --dry-run restart
  assert_eq "$OUT" "update-rc.d ntpsec defaults
update-rc.d ntpsec enable
service ntpsec restart"
  assert_contains "$ERR" "then: ntpsec must answer on 127.0.0.1:123 within 20 s; if it does not, the newest backup of /etc/ntpsec/ntp.conf is restored"
  pj 0 --dry-run restart --init systemd --timeout 5
  assert_eq "$OUT" "systemctl enable ntpsec
systemctl restart ntpsec"
  assert_contains "$ERR" "within 5 s"
  pj 0 --dry-run restart --init openrc
  assert_eq "$OUT" "rc-update add ntpsec default
rc-service ntpsec restart"
  pj 0 --dry-run --json restart
  assert_eq "$(jqr '.commands | map(join(" ")) | join(";")')" "update-rc.d ntpsec defaults;update-rc.d ntpsec enable;service ntpsec restart"
  assert_eq "$(jqr '"\(.daemon) \(.service) \(.init_system) \(.live)"')" "ntpsec ntpsec sysvinit true"
  # A dry run needs no root; the real thing does.
  POOLJOIN=$real
  pj_as nobody 0 --dry-run restart --daemon ntpsec
  pj_as nobody 77 restart
  assert_contains "$ERR" "restart changes the system and needs root"
  # Fixture images: the init system each one runs.
  pj 0 --dry-run --root "$IMAGES/ubuntu-24.04-chrony-timesyncd" restart
  assert_eq "$OUT" "chroot $IMAGES/ubuntu-24.04-chrony-timesyncd systemctl disable systemd-timesyncd
chroot $IMAGES/ubuntu-24.04-chrony-timesyncd systemctl enable chrony"
  assert_contains "$ERR" "systemd-timesyncd conflicts with chrony on UDP port 123: it is disabled"
  assert_contains "$ERR" "is an image, where nothing runs"
  pj 69 --dry-run --root "$IMAGES/debian-12" restart
  assert_contains "$ERR" "ntpsec is not installed"
  pj 78 --dry-run --root "$IMAGES/arch-ntp-runit-xen" restart
  assert_contains "$ERR" "no runit service directory for ntpd"
  pj 2 restart --init upstart
}

# An image whose programs are the machine's own (/usr bind-mounted read-only): enabling runs
# the image's systemctl and update-rc.d through chroot, on the image's /etc.
test_enable_inside_an_image() {
  require_root
  command -v ntpd >/dev/null || skip "ntpsec is not installed (scripts/setup --test)"
  local root="$TEST_TMP/image"
  mkdir -p "$root/usr" "$root/etc/init.d" "$root/dev" "$root/proc"
  cp -a "$IMAGES/debian-12/etc/os-release" "$root/etc/"
  cp -a /etc/init.d/ntpsec "$root/etc/init.d/"
  for d in bin sbin lib lib64; do [ -L "/$d" ] && ln -s "usr/$d" "$root/$d"; done
  unshare -m --propagation private bash -c '
    mount --bind /usr "$1/usr" && mount -o remount,bind,ro "$1/usr"
    mount --bind /dev "$1/dev"
    for init in auto sysvinit; do
      rc=0
      "$2" --root "$1" restart --init "$init" >"$3/out-$init" 2>"$3/err-$init" || rc=$?
      echo "$rc" >"$3/rc-$init"
    done
  ' _ "$root" "$POOLJOIN" "$TEST_TMP"
  OUT=$(cat "$TEST_TMP/out-auto")
  ERR=$(cat "$TEST_TMP/err-auto")
  assert_eq "$(cat "$TEST_TMP/rc-auto")" "0"
  # systemd is installed in the image, so it will boot systemd.
  assert_contains "$ERR" "\$ chroot $root systemctl enable ntpsec"
  assert_eq "$OUT" "ntpsec enabled at boot in $root"
  [ -L "$root/etc/systemd/system/multi-user.target.wants/ntpsec.service" ] ||
    fail "systemctl did not enable ntpsec in the image"
  OUT=$(cat "$TEST_TMP/out-sysvinit")
  ERR=$(cat "$TEST_TMP/err-sysvinit")
  assert_eq "$(cat "$TEST_TMP/rc-sysvinit")" "0"
  assert_contains "$ERR" "\$ chroot $root update-rc.d ntpsec defaults"
  ls "$root"/etc/rc2.d/S??ntpsec >/dev/null 2>&1 || fail "update-rc.d made no start link"
  # Nothing was started: no ntpd runs with the image's root.
  assert_not_contains "$ERR" "restart"
}

test_real_restart_through_the_init_script_then_rollback() {
  require_root
  [ -x /etc/init.d/ntpsec ] || skip "no /etc/init.d/ntpsec (scripts/setup --test)"
  local ns
  make_netns ns restart
  mkdir -p "$TEST_TMP/etc-upper" "$TEST_TMP/etc-work" "$TEST_TMP/varlib"
  chown ntpsec:ntpsec "$TEST_TMP/varlib"
  # If a step fails, the daemon must not outlive the test.
  on_exit 'kill $(cat "$TEST_TMP/ntpd.pid" 2>/dev/null) 2>/dev/null'
  cat >"$TEST_TMP/scenario.sh" <<'SCENARIO'
set -u
pooljoin=$1 dir=$2 query=$3
shift 3
mount -t overlay pooljoin-etc -o "lowerdir=/etc,upperdir=$dir/etc-upper,workdir=$dir/etc-work" /etc
mount -t tmpfs -o mode=755 pooljoin-run /run
mkdir -p /run/lock
mount --bind "$dir/varlib" /var/lib/ntpsec
step() {  # step NAME ARGS...: runs pooljoin, keeps its output and exit status
  local name=$1 rc=0
  shift
  "$pooljoin" "$@" >"$dir/$name.out" 2>"$dir/$name.err" || rc=$?
  echo "$rc" >"$dir/$name.rc"
}
answers() { python3 "$query" 127.0.0.1 >"$dir/$1.answer" 2>&1 || true; }
keep_pid() { cp /run/ntpd.pid "$dir/ntpd.pid" 2>/dev/null || true; }
trap '/etc/init.d/ntpsec stop >/dev/null 2>&1' EXIT

# 1. A config from gen-conf (checked by the real ntpd before it replaces Debian's). The daemon
#    runs with its capabilities (the init script's -u needs them): "disable kernel" keeps it off
#    the kernel's clock discipline, and its upstreams are unreachable here, so it never adjusts
#    the clock.
step gen1 gen-conf "$@"
echo "disable kernel" >>/etc/ntpsec/ntp.conf
cp /etc/ntpsec/ntp.conf "$dir/good.conf"
step restart1 restart --timeout 15
keep_pid
answers restart1
ps -o args= -p "$(cat /run/ntpd.pid)" >"$dir/restart1.ps" 2>&1

# 2. Another gen-conf (its backup is the good config), then a deliberately broken edit: ntpd
#    starts but ignores every client, this machine included.
step gen2 gen-conf --upstream 203.0.113.1 --upstream 203.0.113.2 --upstream 203.0.113.3 --upstream 203.0.113.4
printf 'disable kernel\nrestrict default ignore\nrestrict -6 default ignore\nrestrict 127.0.0.1 ignore\n' \
  >>/etc/ntpsec/ntp.conf
cp /etc/ntpsec/ntp.conf "$dir/broken.conf"
step restart2 restart --timeout 5
keep_pid
answers restart2
cp /etc/ntpsec/ntp.conf "$dir/after.conf"
ls /etc/ntpsec >"$dir/files"
SCENARIO
  # Its own PID namespace too: the daemon ends with the scenario whatever happens, and other
  # tests' daemons are not seen as running here.
  ip netns exec "$ns" unshare --mount --propagation private --pid --fork --mount-proc \
    bash "$TEST_TMP/scenario.sh" \
    "$POOLJOIN" "$TEST_TMP" "$(cd "$(dirname "$0")" && pwd)/ntp_query.py" "${SERVERS[@]}"

  # A step's output and exit status, as pj leaves them.
  result() { OUT=$(cat "$TEST_TMP/$1.out"); ERR=$(cat "$TEST_TMP/$1.err"); RC=$(cat "$TEST_TMP/$1.rc"); }
  result gen1
  assert_eq "$RC" "0" "gen-conf: $ERR"
  assert_contains "$OUT" "checked: /usr/sbin/ntpd read it without a config error"

  # The real restart: through the init script, then an answer on loopback.
  result restart1
  assert_eq "$RC" "0" "restart: $ERR"
  assert_contains "$ERR" "\$ update-rc.d ntpsec defaults"
  assert_contains "$ERR" "\$ service ntpsec restart"
  assert_contains "$OUT" "ntpsec answers on 127.0.0.1:123 after "
  assert_contains "$OUT" ": unsynchronised (stratum 0, refid INIT)"
  assert_eq "$(cat "$TEST_TMP/restart1.answer")" "3 0 INIT"
  assert_contains "$(cat "$TEST_TMP/restart1.ps")" "/usr/sbin/ntpd -p /run/ntpd.pid -c /etc/ntpsec/ntp.conf"
  assert_contains "$(cat "$TEST_TMP/restart1.ps")" "-u ntpsec:ntpsec"

  # The broken config: no answer in 5 s, the good config back, the daemon answering on it.
  result gen2
  assert_eq "$RC" "0" "second gen-conf: $ERR"
  result restart2
  assert_eq "$RC" "1" "restart on the broken config: $ERR"
  assert_contains "$ERR" "pooljoin: error: ntpsec did not come up on the new config (ntpsec did not answer on 127.0.0.1:123 within 5 s"
  assert_contains "$OUT" "rolled back: /etc/ntpsec/ntp.conf restored from /etc/ntpsec/ntp.conf.pooljoin-"
  assert_contains "$OUT" "the config that failed is kept as /etc/ntpsec/ntp.conf.pooljoin-failed-"
  assert_contains "$OUT" "after the rollback: ntpsec answers on 127.0.0.1:123 after"
  cmp -s "$TEST_TMP/after.conf" "$TEST_TMP/good.conf" || fail "the good config was not restored"
  cmp -s "$TEST_TMP/etc-upper/ntpsec/$(grep pooljoin-failed "$TEST_TMP/files")" "$TEST_TMP/broken.conf" ||
    fail "the failed config was not kept"
  assert_eq "$(cat "$TEST_TMP/restart2.answer")" "3 0 INIT"
  # Everything stayed in the namespaces: the machine's own config is as it was.
  assert_not_contains "$(cat /etc/ntpsec/ntp.conf)" "pooljoin"
}

run_tests "$@"
