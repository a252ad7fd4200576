#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Hostile images and files (writes stay where they belong): links at the file to
# write (inside, outside, a loop, dangling; with --root and on the live root through --output),
# FIFOs and devices where pooljoin reads, files beyond the read cap, and the backups and
# temporary files a write leaves. Each case runs the built binary on a temporary image.
source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/conf_lib.sh"

CONF=etc/ntpsec/ntp.conf
# gen-conf into the image, with a bound on the time: a hang is a failure, not a stuck suite.
gen() { pj "$1" "${@:2}" gen-conf --daemon ntpsec --no-daemon-check; }

test_a_second_run_waits_for_the_lock_then_names_its_holder() {
  local root lock holder start elapsed
  root=$(image_with_selection debian-12 locked)
  lock="$root/run/lock/pooljoin.lock"
  mkdir -p "$root/run/lock"
  # Another run holds the lock: its PID in the file, a sleep holding it (bounded: 60 s; its
  # end releases it).
  echo 4242 >"$lock"
  (exec 9>>"$lock" && flock --exclusive 9 && exec sleep 60) &
  holder=$!
  on_exit kill "$holder"
  for _ in $(seq 50); do flock --nonblock "$lock" true 2>/dev/null || break; sleep 0.05; done
  start=$(date +%s%N)
  gen 69 --root "$root" --lock-timeout 1
  elapsed=$((($(date +%s%N) - start) / 1000000))
  echo "  a run that found the lock taken gave up after ${elapsed} ms (--lock-timeout 1)"
  assert_contains "$ERR" "waiting for pooljoin (PID 4242) to finish (up to 1 s, --lock-timeout)"
  assert_contains "$ERR" "pooljoin (PID 4242) is changing this system"
  [ "$elapsed" -ge 1000 ] || fail "gave up after ${elapsed} ms, before --lock-timeout"
  [ ! -e "$root/$CONF" ] || fail "the run wrote the config without the lock"
  # Zero: at once. The environment's spelling too.
  POOLJOIN_LOCK_TIMEOUT=0 gen 69 --root "$root"
  # A dry run changes nothing and takes no lock: it does not wait.
  pj 0 --root "$root" --dry-run gen-conf --daemon ntpsec
  # SIGINT while waiting: exit 130 at once.
  "$POOLJOIN" --root "$root" --lock-timeout 30 gen-conf --daemon ntpsec --no-daemon-check \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null &
  local waiting=$! rc=0
  for _ in $(seq 100); do grep -q "waiting for" "$TEST_TMP/err" && break; sleep 0.05; done
  kill -INT "$waiting"
  wait "$waiting" || rc=$?
  assert_eq "$rc" 130 "SIGINT while waiting for the lock"
  assert_contains "$(cat "$TEST_TMP/err")" "interrupted during the wait for the lock"
  # Released: the next run takes it, and leaves its own PID in the file.
  kill "$holder"
  wait "$holder" 2>/dev/null || true
  gen 0 --root "$root" --lock-timeout 5
  [ -f "$root/$CONF" ] || fail "no config written once the lock was free"
  [[ "$(cat "$lock")" =~ ^[0-9]+$ ]] || fail "the lock file holds [$(cat "$lock")], not a PID"
}

test_links_at_the_target_are_refused_unless_followed() {
  local root kind
  root=$(image_with_selection debian-12 links)
  mkdir -p "$root/etc/ntpsec" "$root/srv" "$TEST_TMP/host"
  echo "outside" >"$TEST_TMP/host/ntp.conf"
  echo "inside" >"$root/srv/ntp.conf"
  while read -r kind target; do
    rm -f "$root/$CONF"
    ln -s "${target//HOST/$TEST_TMP/host}" "$root/$CONF"
    gen 73 --root "$root"
    assert_contains "$ERR" "cannot write /etc/ntpsec/ntp.conf (it is a symbolic link to "
    assert_contains "$ERR" "--follow-symlinks"
    [ -L "$root/$CONF" ] || fail "$kind: the link was replaced"
  done <<'TABLE'
inside /srv/ntp.conf
relative ../../srv/ntp.conf
outside ../../../../../../../../../..HOST/ntp.conf
host-absolute HOST/ntp.conf
loop /etc/ntpsec/ntp.conf
dangling /missing/dir/ntp.conf
TABLE
  # Followed: the file inside is written, the link stays.
  rm -f "$root/$CONF"
  ln -s ../../srv/ntp.conf "$root/$CONF"
  gen 0 --root "$root" --follow-symlinks
  [ -L "$root/$CONF" ] || fail "the followed link was replaced"
  cmp -s "$root/srv/ntp.conf" "$GOLDEN/ntpsec-debian.conf" || fail "the file inside differs"
  ls "$root/srv" | grep -q '^ntp.conf.pooljoin-.*Z.bak$' || fail "no backup beside the file"
  # The same from the environment.
  echo "inside" >"$root/srv/ntp.conf"
  POOLJOIN_FOLLOW_SYMLINKS=1 gen 0 --root "$root"
  cmp -s "$root/srv/ntp.conf" "$GOLDEN/ntpsec-debian.conf" || fail "POOLJOIN_FOLLOW_SYMLINKS"
  # Followed, a link out of the image, a loop and a dangling link are still exit 73.
  while read -r kind target why; do
    rm -f "$root/$CONF"
    ln -s "${target//HOST/$TEST_TMP/host}" "$root/$CONF"
    gen 73 --root "$root" --follow-symlinks
    assert_contains "$ERR" "cannot write /etc/ntpsec/ntp.conf"
    assert_contains "$ERR" "$why"
    [ -L "$root/$CONF" ] || fail "$kind: the link was replaced"
  done <<'TABLE'
outside ../../../../../../../../../..HOST/ntp.conf leads outside
loop /etc/ntpsec/ntp.conf form a loop
dangling /missing/dir/ntp.conf No such file or directory
TABLE
  [ ! -e "$root/missing" ] || fail "a dangling link made directories"
  assert_eq "$(cat "$TEST_TMP/host/ntp.conf")" "outside"
  assert_eq "$(ls "$TEST_TMP/host")" "ntp.conf"
}

test_output_through_a_link_on_the_live_root() {
  local root
  root=$(image_with_selection debian-12 output-link)
  echo "real" >"$TEST_TMP/real.conf"
  ln -s "$TEST_TMP/real.conf" "$TEST_TMP/link.conf"
  pj 73 --root "$root" gen-conf --daemon ntpsec --output "$TEST_TMP/link.conf"
  assert_contains "$ERR" "cannot write $TEST_TMP/link.conf (it is a symbolic link to $TEST_TMP/real.conf)"
  [ -L "$TEST_TMP/link.conf" ] || fail "the link was replaced"
  assert_eq "$(cat "$TEST_TMP/real.conf")" "real"
  pj 0 --root "$root" gen-conf --daemon ntpsec --output "$TEST_TMP/link.conf" --follow-symlinks
  [ -L "$TEST_TMP/link.conf" ] || fail "the followed link was replaced"
  cmp -s "$TEST_TMP/real.conf" "$GOLDEN/ntpsec-debian.conf" || fail "the file it leads to differs"
  # /dev/stdout is the machine's link: never replaced by a file.
  pj 73 --root "$root" gen-conf --daemon ntpsec --output /dev/stdout
  assert_contains "$ERR" "cannot write /dev/stdout (it is a symbolic link to /proc/self/fd/1)"
  [ -L /dev/stdout ] || fail "/dev/stdout was replaced"
}

test_fifos_and_devices_are_refused_without_hanging() {
  local root file
  for file in var/lib/pooljoin/selection.json etc/os-release; do
    root=$(image_with_selection debian-12 "fifo-${file//\//-}")
    rm -f "$root/$file"
    mkfifo "$root/$file"
    local rc=0
    timeout 20 "$POOLJOIN" --root "$root" --dry-run gen-conf --daemon ntpsec \
      >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
    [ "$rc" != 124 ] || fail "a FIFO at /$file hung gen-conf"
    [ "$rc" != 0 ] || fail "a FIFO at /$file was read as a file"
    # Named, never taken for a missing file ("no saved selection").
    assert_contains "$(cat "$TEST_TMP/err")" "/$file"
    assert_contains "$(cat "$TEST_TMP/err")" "not a regular file"
  done
  # --candidates-file: a FIFO and a device are refused at once, with the file's name.
  mkfifo "$TEST_TMP/fifo"
  for file in "$TEST_TMP/fifo" /dev/zero; do
    local rc=0
    timeout 20 "$POOLJOIN" --dry-run resolve --no-probe --candidates-file "$file" \
      >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
    assert_eq "$rc" 2 "--candidates-file $file"
    assert_contains "$(cat "$TEST_TMP/err")" "cannot read $file (it is not a regular file"
  done
}

test_a_config_beyond_the_cap_is_refused() {
  local root
  root=$(image_with_selection debian-12 big)
  mkdir -p "$root/etc/ntpsec"
  head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' '#' >"$root/$CONF"
  pj 69 --root "$root" gen-conf --daemon ntpsec --lint
  assert_contains "$ERR" "larger than 1 MiB"
}

test_old_backups_and_stale_temporary_files_are_removed() {
  local root n
  root=$(image_with_selection debian-12 backups)
  mkdir -p "$root/etc/ntpsec"
  echo "torn" >"$root/etc/ntpsec/.ntp.conf.pooljoin-2147483646-abcdef"
  echo "old" >"$root/etc/ntpsec/.ntp.conf.pooljoin-Xyz123"
  touch -d '2 hours ago' "$root/etc/ntpsec/.ntp.conf.pooljoin-Xyz123"
  for n in 1 2 3 4 5; do
    echo "version $n" >"$root/$CONF"
    gen 0 --root "$root" --keep-backups 3
  done
  assert_eq "$(ls "$root/etc/ntpsec" | grep -c '\.bak$')" 3
  assert_eq "$(ls -A "$root/etc/ntpsec" | grep -c '^\.')" 0
  echo "version 6" >"$root/$CONF"
  POOLJOIN_KEEP_BACKUPS=1 gen 0 --root "$root"
  assert_eq "$(ls "$root/etc/ntpsec" | grep '\.bak$' | xargs -I{} cat "$root/etc/ntpsec/{}")" "version 6"
}

run_tests "$@"
