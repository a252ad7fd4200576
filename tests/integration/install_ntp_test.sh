#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `pooljoin install-ntp`: plans on fixture images, the real thing on this machine (where ntpsec
# is installed by scripts/setup), refusals, and a real package manager that is locked.
source "$(dirname "$0")/lib.sh"

dpkg_state() { md5sum /var/lib/dpkg/status | cut -d' ' -f1; }

test_dry_run_prints_the_exact_commands() {
  pj 0 --dry-run --root "$IMAGES/debian-12" install-ntp
  assert_eq "$OUT" "chroot $IMAGES/debian-12 env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 update
chroot $IMAGES/debian-12 env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y ntpsec"
  pj 0 --dry-run --root "$IMAGES/alpine-3.20" install-ntp
  assert_eq "$OUT" "chroot $IMAGES/alpine-3.20 apk update
chroot $IMAGES/alpine-3.20 apk add chrony"
  pj 0 --dry-run --root "$IMAGES/arch" install-ntp --lock-timeout 5
  assert_eq "$OUT" "chroot $IMAGES/arch pacman -S --needed --noconfirm ntp"
}

test_dry_run_json_shape() {
  pj 0 --dry-run --json --root "$IMAGES/fedora-41" install-ntp
  assert_eq "$(jqr .daemon)" "ntpsec"
  assert_eq "$(jqr .package)" "ntpsec"
  assert_eq "$(jqr .already_installed)" "false"
  assert_eq "$(jqr '.commands | length')" "1"
  assert_eq "$(jqr '.commands[0] | join(" ")')" "chroot $IMAGES/fedora-41 dnf install -y ntpsec"
}

test_every_fixture_distribution_gets_a_plan() {
  local image expected
  while read -r image expected; do
    pj 0 --dry-run --json --root "$IMAGES/$image" install-ntp
    assert_eq "$(jqr '"\(.daemon) \(.package) \(.service) \(.config_path)"')" "$expected" "$image"
  done <<'TABLE'
debian-11 ntp ntp ntp /etc/ntp.conf
debian-12 ntpsec ntpsec ntpsec /etc/ntpsec/ntp.conf
debian-13 ntpsec ntpsec ntpsec /etc/ntpsec/ntp.conf
ubuntu-22.04 ntpsec ntpsec ntpsec /etc/ntpsec/ntp.conf
ubuntu-24.04 ntpsec ntpsec ntpsec /etc/ntpsec/ntp.conf
fedora-41 ntpsec ntpsec ntpd /etc/ntp.conf
rocky-9 chrony chrony chronyd /etc/chrony.conf
almalinux-9 chrony chrony chronyd /etc/chrony.conf
arch ntp ntp ntpd /etc/ntp.conf
opensuse-leap-15.6 chrony chrony chronyd /etc/chrony.conf
opensuse-tumbleweed chrony chrony chronyd /etc/chrony.conf
alpine-3.20 chrony chrony chronyd /etc/chrony/chrony.conf
amazonlinux-2023 chrony chrony chronyd /etc/chrony.conf
TABLE
}

test_already_installed_changes_nothing() {
  require_root
  local before
  before=$(dpkg_state)
  pj 0 install-ntp
  assert_eq "$OUT" "ntpsec is already installed (package ntpsec); nothing to do"
  pj 0 --json install-ntp
  assert_eq "$(jqr .already_installed)" "true"
  assert_eq "$(jqr '.commands | length')" "0"
  assert_eq "$(dpkg_state)" "$before"
}

test_not_root_is_refused_before_anything_runs() {
  require_root
  local before
  before=$(dpkg_state)
  pj_as nobody 77 install-ntp --daemon chrony
  assert_contains "$ERR" "pooljoin: error: install-ntp changes the system and needs root (running as uid 65534)"
  assert_eq "$(dpkg_state)" "$before"
  # A dry run needs no root.
  pj_as nobody 0 --dry-run install-ntp --daemon chrony
  assert_contains "$OUT" "apt-get -o DPkg::Lock::Timeout=120 install -y chrony"
}

test_unsupported_systems_exit_78_with_the_manual_commands() {
  require_root
  pj 78 --root "$IMAGES/unknown-distro" install-ntp
  assert_contains "$ERR" "unsupported distribution (ID=plan9); install an NTP daemon"
  assert_contains "$ERR" "apt-get install ntpsec"
  pj 78 --root "$IMAGES/rocky-9-no-package-manager" install-ntp
  assert_contains "$ERR" "no package manager found for Rocky Linux 9.4 (Blue Onyx)"
  pj 78 --root "$IMAGES/rocky-9" install-ntp --daemon ntpsec
  assert_contains "$ERR" "does not package ntpsec; use --daemon chrony"
}

test_replacing_a_daemon_needs_consent() {
  require_root
  local image="$IMAGES/ubuntu-24.04-chrony-timesyncd"
  # Unattended without --yes: refused before anything runs (the chroot would fail loudly).
  pj 2 --root "$image" install-ntp --daemon ntpsec
  assert_contains "$ERR" "installing ntpsec makes apt-get remove chrony"
  assert_contains "$ERR" "an answer is needed: Replace chrony with ntpsec?"
  assert_contains "$ERR" "re-run with --yes to accept the replacement"
  # The dry run shows the warning and the plan.
  pj 0 --dry-run --root "$image" install-ntp --daemon ntpsec
  assert_contains "$ERR" "remove chrony"
  assert_contains "$OUT" "systemctl stop systemd-timesyncd"
}

test_consent_at_a_terminal_and_with_yes() {
  require_root
  local image="$TEST_TMP/image" out rc=0
  cp -a "$IMAGES/ubuntu-24.04-chrony-timesyncd" "$image"
  # An operator at a real terminal types n: declined, exit 2, no command started ("$ ..." lines).
  out=$(printf 'n\n' | timeout 20 script -qec "$POOLJOIN --no-color --root $image install-ntp --daemon ntpsec" /dev/null) || rc=$?
  assert_eq "$rc" "2" "exit code after n: $out"
  assert_contains "$out" "Replace chrony with ntpsec?"
  assert_contains "$out" "installation declined"
  assert_not_contains "$out" "\$ chroot"
  # --yes answers the question: the dry run's plan names the removal, and a real run goes on to
  # the first command (which cannot run in a fixture image: no programs there).
  pj 0 --dry-run --json --yes --root "$image" install-ntp --daemon ntpsec
  assert_eq "$(jqr '.removes | join(",")')" "chrony"
  assert_eq "$(jqr '.commands[-1] | join(" ")')" \
    "chroot $image env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y ntpsec"
  rc=0
  "$POOLJOIN" --no-color --yes --root "$image" install-ntp --daemon ntpsec >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  ERR=$(cat "$TEST_TMP/err")
  [ "$rc" != 0 ] && [ "$rc" != 2 ] || fail "install-ntp --yes in a fixture image exited $rc: $ERR"
  assert_not_contains "$ERR" "an answer is needed"
  assert_contains "$ERR" "\$ chroot $image"
}

test_a_locked_package_manager_is_reported_and_nothing_changes() {
  require_root
  local before
  before=$(dpkg_state)
  # Hold apt's locks the way another apt-get would (fcntl locks), then ask for chrony with a
  # short lock timeout: the real apt-get must fail on the lock, and ntpsec must stay.
  python3 - "$TEST_TMP/locked" <<'PY' &
import fcntl, os, sys, time
fds = []
for path in ("/var/lib/apt/lists/lock", "/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock"):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    fds.append(fd)
open(sys.argv[1], "w").close()
time.sleep(60)
PY
  local holder=$!
  on_exit kill "$holder"
  for _ in $(seq 50); do [ -f "$TEST_TMP/locked" ] && break; sleep 0.1; done
  [ -f "$TEST_TMP/locked" ] || fail "could not take apt's locks"
  local start=$SECONDS
  pj 69 --yes install-ntp --daemon chrony --lock-timeout 3
  assert_contains "$ERR" "the package manager is locked by another process"
  assert_contains "$ERR" "Could not get lock"
  [ $((SECONDS - start)) -le 15 ] || fail "gave up after $((SECONDS - start)) s, expected about 3"
  kill "$holder"
  assert_eq "$(dpkg_state)" "$before"
  command -v chronyd >/dev/null && fail "chrony must not have been installed"
  return 0
}

run_tests "$@"
