#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `pooljoin gen-conf`: the rendered files against the golden ones, refused input, dry runs and
# their diffs, writes into a --root image (backup, mode, a full filesystem), and --lint. The real
# daemons on the rendered files: gen_conf_daemons_test.sh.
source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/conf_lib.sh"
SERVERS=(--upstream 192.0.2.1 --upstream 192.0.2.2 --upstream 2001:db8::123 --upstream 198.51.100.7)

test_every_distribution_renders_its_golden_file() {
  local image daemon golden root
  while read -r image daemon golden; do
    root=$(image_with_selection "$image" "img-$image-$daemon")
    pj 0 --root "$root" gen-conf --daemon "$daemon" --output -
    diff -u "$GOLDEN/$golden" "$TEST_TMP/out" >&2 || fail "$image $daemon differs from $golden"
  done <<'TABLE'
debian-12 ntpsec ntpsec-debian.conf
fedora-41 ntpsec ntpsec-fedora.conf
debian-11 ntp ntp-debian.conf
arch ntp ntp-arch.conf
debian-12 chrony chrony-debian.conf
fedora-41 chrony chrony-fedora.conf
rocky-9 chrony chrony-rhel.conf
arch chrony chrony-arch.conf
opensuse-leap-15.6 chrony chrony-suse.conf
alpine-3.20 chrony chrony-alpine.conf
alpine-3.20 ntpsec ntpsec-fedora.conf
opensuse-tumbleweed ntpsec ntpsec-tumbleweed.conf
opensuse-tumbleweed chrony chrony-suse.conf
TABLE
  # --daemon auto takes the distribution's own choice.
  root=$(image_with_selection rocky-9 auto-rocky)
  pj 0 --root "$root" gen-conf --output -
  diff -u "$GOLDEN/chrony-rhel.conf" "$TEST_TMP/out" >&2 || fail "rocky-9 auto"
}

test_dry_run_prints_the_file_and_a_diff_patch_applies() {
  local root before
  root=$(image_with_selection debian-12 dry)
  mkdir -p "$root/etc/ntpsec"
  cp "$LINT/debian-12-ntpsec-default.conf" "$root/etc/ntpsec/ntp.conf"
  before=$(md5sum "$root/etc/ntpsec/ntp.conf")
  # A dry run needs no root.
  pj_as nobody 0 --dry-run --root "$root" gen-conf
  assert_contains "$OUT" "--- $root/etc/ntpsec/ntp.conf"
  assert_contains "$OUT" "+++ $root/etc/ntpsec/ntp.conf (new)"
  assert_contains "$OUT" "-pool 0.debian.pool.ntp.org iburst"
  assert_contains "$OUT" "+server 192.0.2.1 iburst  # resolved from de.pool.ntp.org"
  # The file comes first, exactly as it would be written.
  head -n "$(wc -l <"$GOLDEN/ntpsec-debian.conf")" "$TEST_TMP/out" >"$TEST_TMP/file"
  cmp -s "$TEST_TMP/file" "$GOLDEN/ntpsec-debian.conf" || fail "dry run does not start with the file"
  # The diff is a real one: patch(1) turns the old file into the new one.
  tail -n "+$(($(wc -l <"$GOLDEN/ntpsec-debian.conf") + 1))" "$TEST_TMP/out" >"$TEST_TMP/diff"
  cp "$LINT/debian-12-ntpsec-default.conf" "$TEST_TMP/patched"
  patch -s "$TEST_TMP/patched" <"$TEST_TMP/diff" || fail "patch refused the diff"
  cmp -s "$TEST_TMP/patched" "$GOLDEN/ntpsec-debian.conf" || fail "patched file differs"
  assert_eq "$(md5sum "$root/etc/ntpsec/ntp.conf")" "$before"
  [ -z "$(ls "$root/etc/ntpsec" | grep -v '^ntp.conf$')" ] || fail "dry run left files behind"
  # JSON: the content and the diff.
  pj 0 --dry-run --json --root "$root" gen-conf
  assert_eq "$(jqr .content)" "$(cat "$GOLDEN/ntpsec-debian.conf")"
  assert_contains "$(jqr .diff)" "@@ -1,51 +1,23 @@"
  assert_eq "$(jqr '.servers | length')" "5"
  # No file yet: the file only, and a note.
  rm "$root/etc/ntpsec/ntp.conf"
  pj 0 --dry-run --root "$root" gen-conf
  assert_contains "$ERR" "does not exist yet"
  assert_eq "$OUT" "$(cat "$GOLDEN/ntpsec-debian.conf")"
}

test_injection_attempts_are_refused_and_nothing_is_written() {
  require_root
  local root before bad
  root=$(image_with_selection debian-12 inject)
  mkdir -p "$root/etc/ntpsec"
  echo "old config" >"$root/etc/ntpsec/ntp.conf"
  before=$(ls -la --time-style=full-iso "$root/etc/ntpsec"; md5sum "$root/etc/ntpsec/ntp.conf")
  for bad in $'1.2.3.4\nrestrict default' '1.2.3.4 iburst' '"1.2.3.4"' "'ntp.example.org'" \
    '1.2.3.4;restrict' "$(printf 'a%.0s' {1..64}).example.org" 'ntp.example.org noselect' \
    '127.127.1.0' '0.de.pool.ntp.org' '$(reboot)' '' \
    0x7f7f0100 127.127.1.0x0 0x7f000001 127.1 ::ffff:127.0.0.1 ::ffff:127.127.1.0 ::ffff:0.0.0.0 \
    0.0.0.1 255.255.255.255 localhost; do
    # Each one, also in the forms the daemon's resolver reads as an address, exit 2 (not 70).
    pj 2 --root "$root" gen-conf --no-daemon-check --upstream 192.0.2.1 --upstream 192.0.2.2 \
      --upstream 192.0.2.3 --upstream "$bad"
    assert_contains "$ERR" "--upstream"
    assert_not_contains "$ERR" $'\nrestrict'
  done
  # From the environment, as cloud-init would give it: the same refusal.
  local rc=0
  POOLJOIN_UPSTREAM=$'192.0.2.1,192.0.2.2\nrestrict default,192.0.2.3,192.0.2.4' \
    "$POOLJOIN" --root "$root" gen-conf --no-daemon-check >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" "2"
  assert_contains "$(cat "$TEST_TMP/err")" 'is refused (it contains white space or a line break)'
  # Too few or too many, without --force.
  pj 2 --root "$root" gen-conf --no-daemon-check --upstream 192.0.2.1 --upstream 192.0.2.2
  assert_contains "$ERR" "2 upstream servers (the pool asks for 4 to 7)"
  pj 2 --root "$root" gen-conf --no-daemon-check "${SERVERS[@]}" --upstream 192.0.2.5 \
    --upstream 192.0.2.6 --upstream 192.0.2.7 --upstream 192.0.2.8
  # A damaged selection is refused too.
  printf '{"version":1,"servers":[{"address":"1.2.3.4\\nrestrict default"}]}' \
    >"$root/var/lib/pooljoin/selection.json"
  pj 69 --root "$root" gen-conf --no-daemon-check
  assert_contains "$ERR" "cannot use /var/lib/pooljoin/selection.json"
  assert_eq "$(ls -la --time-style=full-iso "$root/etc/ntpsec"; md5sum "$root/etc/ntpsec/ntp.conf")" "$before"
}

test_the_machines_own_address_is_never_an_upstream() {
  require_root
  local ns root rc
  make_netns ns gen-own
  ip -n "$ns" addr add 185.255.0.9/32 dev lo
  ip -n "$ns" addr add 10.9.9.9/32 dev lo
  ip -n "$ns" -6 addr add 2a0a:e5c0::9/128 dev lo nodad
  # pjn EXPECTED ARGS...: pooljoin in the namespace, whose addresses are the machine's.
  pjn() {
    local expected=$1
    shift
    rc=0
    ip netns exec "$ns" "$POOLJOIN" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
    OUT=$(cat "$TEST_TMP/out")
    ERR=$(cat "$TEST_TMP/err")
    [ "$rc" = "$expected" ] || fail "pooljoin $* in $ns exited $rc, expected $expected"
  }
  # Given on the command line, in any spelling and whatever its scope: refused and named, and
  # the list is not silently shortened.
  pjn 2 gen-conf --daemon ntpsec --output - --upstream 192.0.2.1,192.0.2.2,192.0.2.3,2a0a:e5c0:0::9
  assert_eq "$ERR" "pooljoin: error: --upstream 2a0a:e5c0::9 is this machine's own address (on lo) (a server cannot be its own upstream: it would follow its own clock); leave it out and give 4 to 7 other servers"
  assert_eq "$OUT" ""
  pjn 2 gen-conf --daemon chrony --output - --upstream 185.255.0.9,192.0.2.2,192.0.2.3,192.0.2.4
  assert_contains "$ERR" "--upstream 185.255.0.9 is this machine's own address (on lo)"
  pjn 2 gen-conf --daemon ntpsec --output - --upstream 192.0.2.1,10.9.9.9,192.0.2.3,192.0.2.4
  assert_contains "$ERR" "--upstream 10.9.9.9 is this machine's own address (on lo)"
  # Other servers: written.
  pjn 0 gen-conf --daemon ntpsec --output - --upstream 192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4
  assert_contains "$OUT" "server 192.0.2.4 iburst"
  # For an image the machine's own addresses say nothing: not checked there.
  root=$(image_with_selection debian-12 own)
  pjn 0 --root "$root" gen-conf --daemon ntpsec --output - --upstream 192.0.2.1,192.0.2.2,192.0.2.3,185.255.0.9
  assert_contains "$OUT" "server 185.255.0.9 iburst"
}

test_a_stale_leap_second_list_is_a_warning_with_the_fix() {
  local root list
  for list in valid expired no-expiry; do
    root=$(image_with_selection debian-12 "leap-$list")
    cp "$POOLJOIN_FIXTURES/leap/$list.list" "$root/usr/share/zoneinfo/leap-seconds.list"
    pj 0 --root "$root" gen-conf --daemon ntpsec --output -
    assert_contains "$OUT" "leapfile /usr/share/zoneinfo/leap-seconds.list"
    case $list in
      valid) assert_not_contains "$ERR" "leap" ;;
      expired)
        assert_eq "$ERR" "pooljoin: warning: /usr/share/zoneinfo/leap-seconds.list, the leap-second list ntpsec reads, expired on 2017-06-28: a leap second announced since is not in it, and ntpsec logs that the list needs an update; update the tzdata package (\`apt-get install --only-upgrade tzdata\`), then restart the daemon so that it reads the new list (\`pooljoin restart\`)"
        ;;
      no-expiry) assert_contains "$ERR" "pooljoin: warning: /usr/share/zoneinfo/leap-seconds.list, the leap-second list ntpsec reads, has no expiry line (#@)" ;;
    esac
  done
  # Fedora 41's chrony reads the list too (leapseclist), and is warned the same way; Debian 12's
  # reads the right/UTC zone, which does not expire.
  root=$(image_with_selection fedora-41 leap-fedora)
  cp "$POOLJOIN_FIXTURES/leap/expired.list" "$root/usr/share/zoneinfo/leap-seconds.list"
  pj 0 --root "$root" gen-conf --daemon chrony --output -
  assert_contains "$OUT" $'\nleapseclist /usr/share/zoneinfo/leap-seconds.list\n'
  assert_contains "$ERR" "the leap-second list chrony reads, expired on 2017-06-28"
  assert_contains "$ERR" "(\`dnf upgrade tzdata\`)"
  root=$(image_with_selection debian-12 leap-chrony)
  cp "$POOLJOIN_FIXTURES/leap/expired.list" "$root/usr/share/zoneinfo/leap-seconds.list"
  pj 0 --root "$root" gen-conf --daemon chrony --output -
  assert_contains "$OUT" $'\nleapsectz right/UTC\n'
  assert_not_contains "$ERR" "leap"
}

test_write_into_an_image_keeps_a_backup_and_the_mode() {
  require_root
  local root backup
  root=$(image_with_selection debian-12 write)
  mkdir -p "$root/etc/ntpsec"
  echo "old config" >"$root/etc/ntpsec/ntp.conf"
  chmod 0640 "$root/etc/ntpsec/ntp.conf"
  chown 0:ntpsec "$root/etc/ntpsec/ntp.conf"
  # The image has no ntpd to check the file with: refused, naming the way out.
  pj 69 --root "$root" gen-conf
  assert_contains "$ERR" "ntpsec is not installed, so it cannot check the new config"
  assert_contains "$ERR" "--no-daemon-check"
  assert_eq "$(cat "$root/etc/ntpsec/ntp.conf")" "old config"
  pj 0 --root "$root" gen-conf --no-daemon-check
  assert_contains "$ERR" "not checked by ntpsec (--no-daemon-check)"
  assert_contains "$OUT" "wrote $root/etc/ntpsec/ntp.conf (ntpsec, 5 upstream servers)"
  cmp -s "$root/etc/ntpsec/ntp.conf" "$GOLDEN/ntpsec-debian.conf" || fail "written file differs"
  backup=$(ls "$root/etc/ntpsec" | grep '^ntp.conf.pooljoin-.*Z.bak$')
  [ -n "$backup" ] || fail "no backup"
  assert_contains "$OUT" "previous file kept as $root/etc/ntpsec/$backup"
  assert_eq "$(cat "$root/etc/ntpsec/$backup")" "old config"
  assert_eq "$(stat -c '%a %U %G' "$root/etc/ntpsec/ntp.conf")" "640 root ntpsec"
  # Again: nothing to change, no new backup.
  pj 0 --root "$root" gen-conf --no-daemon-check
  assert_contains "$OUT" "already has this content; nothing written"
  assert_eq "$(ls "$root/etc/ntpsec" | wc -l)" "2"
  # A day later: only the header's time would differ, so still nothing to change.
  SOURCE_DATE_EPOCH=$((SOURCE_DATE_EPOCH + 86400)) pj 0 --root "$root" gen-conf --no-daemon-check
  assert_contains "$OUT" "already has this content; nothing written"
  assert_eq "$(ls "$root/etc/ntpsec" | wc -l)" "2"
  # Not root: refused before anything is read or written.
  pj_as nobody 77 --root "$root" gen-conf --no-daemon-check
  assert_contains "$ERR" "gen-conf changes the system and needs root"
}

# gen_conf_on_tmpfs ROOT SIZE SETUP: `gen-conf` into ROOT with /etc/ntpsec on a tmpfs of SIZE,
# in a mount namespace of the test's own, after SETUP (shell commands; $1 is ROOT). Leaves its exit
# code in $TEST_TMP/rc, ntp.conf afterwards in after, the directory's listing in files and a copy
# of it in saved/, and ERR.
gen_conf_on_tmpfs() {
  local root=$1 size=$2 setup=$3
  mkdir -p "$root/etc/ntpsec"
  unshare -m --propagation private bash -c '
    set -e
    mount -t tmpfs -o size="$4" pooljoin-test "$1/etc/ntpsec"
    eval "$5"
    rc=0
    "$2" --root "$1" gen-conf --no-daemon-check >"$3/out" 2>"$3/err" || rc=$?
    echo "$rc" >"$3/rc"
    cat "$1/etc/ntpsec/ntp.conf" >"$3/after"
    ls -A "$1/etc/ntpsec" >"$3/files"
    mkdir -p "$3/saved" && cp -a "$1/etc/ntpsec/." "$3/saved/"
  ' _ "$root" "$POOLJOIN" "$TEST_TMP" "$size" "$setup"
  ERR=$(cat "$TEST_TMP/err")
}

test_a_full_filesystem_leaves_the_old_file_intact() {
  require_root
  local root
  root=$(image_with_selection debian-12 full)
  gen_conf_on_tmpfs "$root" 16k '
    echo "old config" >"$1/etc/ntpsec/ntp.conf"
    dd if=/dev/zero of="$1/etc/ntpsec/filler" bs=1k count=64 2>/dev/null || true'
  assert_eq "$(cat "$TEST_TMP/rc")" "73"
  assert_contains "$ERR" "cannot write /etc/ntpsec/ntp.conf (No space left on device)"
  assert_contains "$ERR" "the previous file is unchanged"
  assert_eq "$(cat "$TEST_TMP/after")" "old config"
  assert_eq "$(cat "$TEST_TMP/files" | tr '\n' ' ')" "filler ntp.conf "
}

test_force_accepts_a_count_outside_4_to_7() {
  local root three=(--upstream 192.0.2.1 --upstream 192.0.2.2 --upstream 2001:db8::3)
  root=$(image_with_selection debian-12 force)
  pj 0 --root "$root" gen-conf --force --output - "${three[@]}"
  assert_eq "$(grep ^server "$TEST_TMP/out" | tr '\n' ';')" \
    "server 192.0.2.1 iburst;server 192.0.2.2 iburst;server 2001:db8::3 iburst;"
  assert_contains "$ERR" "3 upstream servers, outside the pool's 4 to 7 (--force)"
  # Without --force: a usage error that says which option to give again.
  pj 2 --root "$root" gen-conf --output - "${three[@]}"
  assert_contains "$ERR" "3 upstream servers (the pool asks for 4 to 7); give --upstream 4 to 7 times"
  assert_eq "$OUT" ""
}

test_an_unwritable_target_leaves_the_file_and_its_backups_intact() {
  require_root
  local root
  root=$(image_with_selection debian-12 readonly)
  # The config's directory on a read-only filesystem.
  gen_conf_on_tmpfs "$root" 64k '
    echo "old config" >"$1/etc/ntpsec/ntp.conf"
    echo "older config" >"$1/etc/ntpsec/ntp.conf.pooljoin-20260101T000000Z.bak"
    mount -o remount,ro "$1/etc/ntpsec"'
  assert_eq "$(cat "$TEST_TMP/rc")" "73"
  assert_contains "$ERR" "pooljoin: error: cannot write /etc/ntpsec/ntp.conf (Read-only file system)"
  assert_contains "$ERR" "the previous file is unchanged"
  assert_eq "$(cat "$TEST_TMP/after")" "old config"
  assert_eq "$(cat "$TEST_TMP/saved/ntp.conf.pooljoin-20260101T000000Z.bak")" "older config"
  assert_eq "$(cat "$TEST_TMP/files" | tr '\n' ' ')" "ntp.conf ntp.conf.pooljoin-20260101T000000Z.bak "
  # Another user's directory, for --output: the same exit code, nothing left behind.
  mkdir "$TEST_TMP/rootonly"
  echo "theirs" >"$TEST_TMP/rootonly/ntp.conf"
  chmod 755 "$TEST_TMP/rootonly"
  pj_as nobody 73 --root "$root" gen-conf --output "$TEST_TMP/rootonly/ntp.conf"
  assert_contains "$ERR" "cannot write $TEST_TMP/rootonly/ntp.conf (Permission denied)"
  assert_eq "$(cat "$TEST_TMP/rootonly/ntp.conf")" "theirs"
  assert_eq "$(ls -A "$TEST_TMP/rootonly")" "ntp.conf"
}

test_output_writes_elsewhere_without_root() {
  local root
  root=$(image_with_selection alpine-3.20 output)
  mkdir "$TEST_TMP/export"
  chown nobody "$TEST_TMP/export"
  pj_as nobody 0 --root "$root" gen-conf --output "$TEST_TMP/export/chrony.conf"
  cmp -s "$TEST_TMP/export/chrony.conf" "$GOLDEN/chrony-alpine.conf" || fail "exported file differs"
  # Servers as a comma-separated list, from the environment.
  local rc=0
  POOLJOIN_UPSTREAM=192.0.2.1,192.0.2.2,2001:db8::3,192.0.2.4 "$POOLJOIN" --root "$root" gen-conf \
    --output - >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" "0"
  assert_eq "$(grep ^server "$TEST_TMP/out" | tr '\n' ';')" \
    "server 192.0.2.1 iburst;server 192.0.2.2 iburst;server 2001:db8::3 iburst;server 192.0.2.4 iburst;"
  assert_contains "$(cat "$TEST_TMP/out")" "# Upstream servers: given on the command line (--upstream)."
  [ ! -e "$root/etc/chrony/chrony.conf" ] || fail "--output wrote the image's config"
}

test_lint_reports_lines_and_fixes() {
  pj 1 gen-conf --lint "$LINT/debian-12-ntpsec-default.conf" --daemon ntpsec
  # Debian's four `pool` lines are pool names, not upstream servers.
  assert_contains "$OUT" "$LINT/debian-12-ntpsec-default.conf (read as a ntpsec config): 0 upstream servers"
  assert_contains "$OUT" "FAIL  line 34: \`pool 0.debian.pool.ntp.org iburst\` follows a pool.ntp.org name"
  assert_contains "$OUT" "fix: replace it with \`server ADDRESS iburst\` lines pinned by address"
  pj 0 gen-conf --lint "$LINT/recommended-chrony.conf"
  assert_contains "$OUT" "(read as a chrony config): 4 upstream servers"
  assert_contains "$OUT" "follows the pool's rules"
  # Warnings alone do not fail.
  pj 0 gen-conf --lint "$LINT/chrony-no-ratelimit.conf"
  assert_contains "$OUT" "WARN  no \`ratelimit\` line"
  pj 1 --json gen-conf --lint "$LINT/local-clock-driver.conf" --daemon ntp
  assert_eq "$(jqr '.findings[0] | "\(.id) \(.line) \(.severity)"')" "lint.local-clock 9 fail"
  assert_eq "$(jqr .verdict)" "fail"
  # From stdin.
  local rc=0
  "$POOLJOIN" gen-conf --lint - --daemon chrony <"$LINT/chrony-no-allow.conf" >"$TEST_TMP/out" || rc=$?
  assert_eq "$rc" "1"
  assert_contains "$(cat "$TEST_TMP/out")" "FAIL  no \`allow\` line"
  # Default: the live config of the image's daemon; the rendered one passes clean.
  local root
  root=$(image_with_selection debian-12 lint)
  pj 69 --root "$root" gen-conf --lint
  assert_contains "$ERR" "cannot lint /etc/ntpsec/ntp.conf (No such file or directory)"
  mkdir -p "$root/etc/ntpsec"
  cp "$GOLDEN/ntpsec-debian.conf" "$root/etc/ntpsec/ntp.conf"
  pj 0 --root "$root" gen-conf --lint
  assert_contains "$OUT" "5 upstream servers"
  assert_contains "$OUT" "follows the pool's rules"
  pj 2 gen-conf --lint /nonexistent/ntp.conf
  assert_contains "$ERR" "--lint: /nonexistent/ntp.conf does not exist"
  # A FILE's includefile is read from beside it; a finding there names the included file.
  mkdir -p "$TEST_TMP/inc"
  printf 'restrict default kod limited nomodify notrap nopeer noquery\nincludefile servers.conf\n' \
    >"$TEST_TMP/inc/ntp.conf"
  printf 'server 192.0.2.1\nserver 192.0.2.2\nserver 192.0.2.3\nserver 192.0.2.4\npool 0.pool.ntp.org\n' \
    >"$TEST_TMP/inc/servers.conf"
  pj 1 --json gen-conf --lint "$TEST_TMP/inc/ntp.conf" --daemon ntpsec
  assert_eq "$(jqr '[.findings[] | "\(.id) \(.file) \(.line) \(.severity)"] | join(",")')" \
    "lint.pool-upstream $TEST_TMP/inc/servers.conf 5 fail,lint.pool-nopeer $TEST_TMP/inc/servers.conf 5 warn"
  assert_eq "$(jqr .upstreams)" "4"
}

# Debian's ntpsec runs /run/ntpsec/ntp.conf.dhcp (a DHCP client's copy of the config with the
# offered servers instead of its own) unless IGNORE_DHCP="yes" in /etc/default/ntpsec. The linter
# reads what the daemon runs; gen-conf sets the switch beside the config, with a backup.
test_dhcp_copy_is_linted_and_turned_off() {
  require_root
  local root backup
  root=$(image_with_selection debian-12 dhcp)
  mkdir -p "$root/usr/sbin" "$root/etc/ntpsec" "$root/etc/default" "$root/run/ntpsec"
  install -m 755 /dev/null "$root/usr/sbin/ntpd"
  install -m 755 /dev/null "$root/usr/sbin/ntpkeygen"
  # As Debian 12's ntpsec ships it.
  printf '%s\n' 'NTPD_OPTS="-g -N"' '' '# Set to "yes" to ignore DHCP servers returned by DHCP.' \
    'IGNORE_DHCP=""' '' 'NTPSEC_CERTBOT_CERT_NAME=""' >"$root/etc/default/ntpsec"
  cp "$root/etc/default/ntpsec" "$TEST_TMP/settings.before"
  "$POOLJOIN" --root "$root" gen-conf --output "$root/etc/ntpsec/ntp.conf" >/dev/null 2>&1 ||
    fail "could not render the config"
  printf 'server 192.0.2.53 iburst\nrestrict default kod limited nomodify noquery\n' \
    >"$root/run/ntpsec/ntp.conf.dhcp"
  # The linter reads the copy the start script would run, and fails with the fix.
  pj 1 --root "$root" gen-conf --lint
  assert_contains "$OUT" "$root/run/ntpsec/ntp.conf.dhcp (read as a ntpsec config): 1 upstream server"
  assert_contains "$OUT" "ntpd will run at its next start /run/ntpsec/ntp.conf.dhcp, the copy a DHCP client wrote: its servers (192.0.2.53) replace the upstreams of /etc/ntpsec/ntp.conf"
  assert_contains "$OUT" 'set IGNORE_DHCP="yes" in /etc/default/ntpsec'
  pj 1 --json --root "$root" gen-conf --lint
  assert_eq "$(jqr '.findings[0].id')" "dhcp.copy-in-force"
  # The dry run shows both changes and makes neither.
  pj 0 --dry-run --root "$root" gen-conf
  assert_contains "$OUT" "+++ $root/etc/default/ntpsec (new)"
  assert_contains "$OUT" '+IGNORE_DHCP="yes"'
  assert_contains "$ERR" "IGNORE_DHCP=\"yes\": ntpsec's start script then runs /etc/ntpsec/ntp.conf"
  cmp -s "$root/etc/default/ntpsec" "$TEST_TMP/settings.before" || fail "the dry run changed the settings"
  pj 0 --dry-run --json --root "$root" gen-conf
  assert_eq "$(jqr .settings.path)" "$root/etc/default/ntpsec"
  # Written: the one variable changed, every other line kept, the old file backed up.
  pj 0 --root "$root" gen-conf --no-daemon-check
  assert_contains "$OUT" "wrote $root/etc/default/ntpsec (IGNORE_DHCP=\"yes\""
  diff <(grep -v '^IGNORE_DHCP=' "$TEST_TMP/settings.before") \
    <(grep -v '^IGNORE_DHCP=' "$root/etc/default/ntpsec") >&2 || fail "other lines changed"
  assert_eq "$(grep '^IGNORE_DHCP=' "$root/etc/default/ntpsec")" 'IGNORE_DHCP="yes"'
  backup=$(ls "$root/etc/default" | grep '^ntpsec.pooljoin-.*Z.bak$')
  cmp -s "$root/etc/default/$backup" "$TEST_TMP/settings.before" || fail "no backup of the settings"
  # The start script now runs the config itself: the linter reads it, and says the copy is ignored.
  pj 0 --root "$root" gen-conf --lint
  assert_contains "$OUT" "$root/etc/ntpsec/ntp.conf (read as a ntpsec config): 5 upstream servers"
  # Nothing more to do.
  pj 0 --root "$root" gen-conf --no-daemon-check
  assert_contains "$OUT" "already has this content; nothing written"
  assert_eq "$(ls "$root/etc/default" | grep -c pooljoin)" "1"
}

test_the_operators_own_lines_are_kept_and_the_rest_named() {
  require_root
  local root
  root=$(image_with_selection debian-12 keep)
  mkdir -p "$root/etc/ntpsec"
  printf '%s\n' "pool 0.debian.pool.ntp.org iburst" "statsdir /var/log/ntpsec/" \
    "statistics loopstats peerstats" "refclock gpsd unit 0" "tos orphan 5" \
    "includefile /etc/ntpsec/more.conf" "restrict default kod limited nomodify noquery" \
    >"$root/etc/ntpsec/ntp.conf"
  pj 0 --root "$root" --dry-run --json gen-conf
  assert_eq "$(jqr '[.kept[] | "\(.line):\(.text)"] | join("|")')" \
    "2:statsdir /var/log/ntpsec/|3:statistics loopstats peerstats|4:refclock gpsd unit 0"
  assert_eq "$(jqr '[.dropped[].line] | join(",")')" "1,5,6,7"
  assert_contains "$(jqr '.dropped[] | select(.line == 5) | .why')" "must not serve its own clock"
  assert_contains "$(jqr .diff)" "+# Kept from the previous config (pooljoin gen-conf --fresh drops them):"
  assert_contains "$(jqr .content)" $'\nrefclock gpsd unit 0'
  assert_contains "$ERR" "line 5 (orphan mode"
  assert_contains "$ERR" "line 6 (an included file or directory"
  # Written, then again: the kept section is read back, nothing changes.
  pj 0 --root "$root" gen-conf --no-daemon-check
  assert_contains "$(cat "$root/etc/ntpsec/ntp.conf")" $'\nstatsdir /var/log/ntpsec/\n'
  pj 0 --root "$root" gen-conf --no-daemon-check
  assert_contains "$OUT" "already has this content; nothing written"
  # --fresh (or POOLJOIN_FRESH) drops them: the file is exactly the stock rendering.
  POOLJOIN_FRESH=1 pj 0 --root "$root" --dry-run --json gen-conf
  assert_eq "$(jqr '.kept | length')" "0"
  assert_eq "$(jqr '[.dropped[].why] | unique | join(",")')" "--fresh"
  pj 0 --root "$root" gen-conf --no-daemon-check --fresh
  cmp -s "$root/etc/ntpsec/ntp.conf" "$GOLDEN/ntpsec-debian.conf" || fail "--fresh file differs"
}

run_tests "$@"
