#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Signals and child processes: SIGINT and SIGTERM during gen-conf and its daemon check
# end the run with 130 and the old file intact; a SIGKILLed pooljoin takes its checking daemon
# along; the checking daemon never holds CAP_SYS_TIME; an interrupted read is an interruption.
# gen-conf runs under --root on an image whose programs are the machine's own (/usr bound
# read-only, in a mount namespace of its own), with the real ntpd or a fake one bound over it.
# Signals go only to the pooljoin this script started; every wait is bounded.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/conf_lib.sh"

OLD="old config"

# An image with the selection, an old config, and room for fake programs in /sbin (a directory
# of its own: /usr/sbin is the machine's). Prints its path.
signal_image() {
  local root
  root=$(image_with_selection debian-12 "$1")
  mkdir -p "$root/usr" "$root/etc/ntpsec" "$root/etc/chrony" "$root/dev" "$root/tmp" "$root/sbin" \
    "$root/proc"
  for d in bin lib lib64; do [ -L "/$d" ] && ln -sfn "usr/$d" "$root/$d"; done
  echo "$OLD" >"$root/etc/ntpsec/ntp.conf"
  echo "$OLD" >"$root/etc/chrony/chrony.conf"
  echo "$root"
}

# start_gen_conf ROOT FAKE_NTPD [WRAPPER...] -- ARGS...: starts pooljoin --root ROOT gen-conf ARGS
# in the background, in a mount namespace with the machine's /usr and /dev bound into ROOT and
# FAKE_NTPD (a script; empty: the real ntpd) bound over ROOT/usr/sbin/ntpd, run through WRAPPER
# (a setpriv, say). Its pid goes to $TEST_TMP/pj.pid, its exit status to $TEST_TMP/rc.
start_gen_conf() {
  local root=$1 fake=$2
  shift 2
  local wrapper=()
  while [ "$1" != "--" ]; do
    wrapper+=("$1")
    shift
  done
  shift
  rm -f "$TEST_TMP/pj.pid" "$TEST_TMP/rc"
  unshare -m --propagation private bash -c '
    root=$1 fake=$2 pooljoin=$3 tmp=$4 n=$5
    shift 5
    mount --bind -o ro /usr "$root/usr" && mount -o remount,bind,ro "$root/usr"
    mount --bind /dev "$root/dev"
    [ -z "$fake" ] || mount --bind "$fake" "$root/usr/sbin/ntpd"
    [ -z "${WITH_PROC:-}" ] || mount -t proc proc "$root/proc"
    wrapper=("${@:1:n}")
    shift "$n"
    "${wrapper[@]}" "$pooljoin" --root "$root" gen-conf -v "$@" >"$tmp/out" 2>"$tmp/err" </dev/null &
    echo $! >"$tmp/pj.pid"
    rc=0
    wait $! || rc=$?
    echo "$rc" >"$tmp/rc"
  ' _ "$root" "$fake" "$POOLJOIN" "$TEST_TMP" "${#wrapper[@]}" "${wrapper[@]}" "$@" &
  on_exit kill -9 $!
  wait_for_file "$TEST_TMP/pj.pid" 5
  PJ=$(cat "$TEST_TMP/pj.pid")
  on_exit kill -9 "$PJ"
}

# wait_for_file FILE SECONDS: fails unless FILE exists (non-empty) within SECONDS.
wait_for_file() {
  local i
  for ((i = 0; i < $2 * 50; i++)); do
    [ -s "$1" ] && return 0
    sleep 0.02
  done
  fail "no $1 after $2 s"
}

# wait_for_glob PATTERN SECONDS: until a path matches PATTERN; status 1 when none did by then.
wait_for_glob() {
  local i
  for ((i = 0; i < $2 * 50; i++)); do
    compgen -G "$1" >/dev/null && return 0
    sleep 0.02
  done
  return 1
}

# finish_gen_conf SECONDS: waits (bounded) for the run started by start_gen_conf; RC, OUT, ERR.
finish_gen_conf() {
  wait_for_file "$TEST_TMP/rc" "$1"
  RC=$(cat "$TEST_TMP/rc")
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
}

# The old file intact and nothing of the write left beside it or of the check under /tmp.
assert_untouched() {
  local root=$1 dir=$2 file=$3
  assert_eq "$(cat "$root/$dir/$file")" "$OLD" "$dir/$file after: $ERR"
  assert_eq "$(ls -A "$root/$dir" | grep -v "^$file\$" || true)" "" "files left in $dir"
  assert_eq "$(ls -A "$root/tmp")" "" "check files left in /tmp"
}

# A fake daemon: a script that writes its pid where the test finds it (/tmp inside the image),
# then does what $1 says.
fake_daemon() {
  local script="$TEST_TMP/fake-$2"
  printf '#!/bin/sh\necho $$ >/daemon.pid\n%s\n' "$1" >"$script"
  chmod 755 "$script"
  echo "$script"
}

# gone_within PID SECONDS: whether process PID has gone (or is a zombie) within SECONDS.
gone_within() {
  local i state
  for ((i = 0; i < $2 * 50; i++)); do
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
    [ -z "$state" ] || [ "$state" = Z ] && return 0
    sleep 0.02
  done
  return 1
}

test_sigint_and_sigterm_during_the_daemon_check_stop_with_130() {
  require_root
  local root sig delay n=0 start took
  root=$(signal_image check)
  # The real ntpd, whose check runs for 2 s: signals at points across it.
  for delay in 0.2 0.5 0.9 1.3 1.7; do
    for sig in INT TERM; do
      start_gen_conf "$root" "" -- --upstream 192.0.2.1 --upstream 192.0.2.2 \
        --upstream 192.0.2.3 --upstream 192.0.2.4
      # Once the check has begun (its copy of the candidate is under /tmp).
      wait_for_glob "$root/tmp/pooljoin-check-*/*" 5 || true
      sleep "$delay"
      start=$(date +%s%N)
      kill -s "$sig" "$PJ"
      finish_gen_conf 10
      took=$((($(date +%s%N) - start) / 1000000))
      assert_eq "$RC" "130" "SIG$sig $delay s into the check: $ERR"
      assert_contains "$ERR" "interrupted during ntpd's check of the new config"
      assert_not_contains "$ERR" "ntpd did not run"
      assert_untouched "$root" etc/ntpsec ntp.conf
      n=$((n + 1))
    done
  done
  echo "  $n signals at 5 points of the check: exit 130, old file intact, last stop took $took ms"
}

test_a_signal_after_the_check_passed_is_not_ignored() {
  require_root
  local root fake
  root=$(signal_image passed)
  # chronyd -p that has accepted the file when the signal comes: today the write went on (exit 0).
  printf '#!/bin/sh\nkill -INT $PPID\nexit 0\n' >"$root/sbin/chronyd"
  chmod 755 "$root/sbin/chronyd"
  start_gen_conf "$root" "" -- --daemon chrony --upstream 192.0.2.1 --upstream 192.0.2.2 \
    --upstream 192.0.2.3 --upstream 192.0.2.4
  finish_gen_conf 10
  assert_eq "$RC" "130" "$ERR"
  assert_contains "$ERR" "interrupted during chronyd's check of the new config"
  assert_untouched "$root" etc/chrony chrony.conf
  # ntpd that has read the file and is running when SIGTERM comes: today exit 1, "ntpd did not
  # run on the new config".
  fake=$(fake_daemon 'log=$(echo "$@" | sed "s/.*-l \([^ ]*\).*/\1/")
printf "CONFIG: readconfig: parsing file\nIO: Listen normally on 0 lo\n" >"$log"
kill -TERM $PPID
exec sleep 30' term)
  start_gen_conf "$root" "$fake" -- --upstream 192.0.2.1 --upstream 192.0.2.2 \
    --upstream 192.0.2.3 --upstream 192.0.2.4
  finish_gen_conf 10
  assert_eq "$RC" "130" "$ERR"
  assert_not_contains "$ERR" "ntpd did not run"
  rm -f "$root/daemon.pid"
  assert_untouched "$root" etc/ntpsec ntp.conf
}

test_a_killed_pooljoin_takes_its_checking_daemon_along() {
  require_root
  local root fake daemon
  root=$(signal_image killed)
  fake=$(fake_daemon 'exec sleep 600' hang)
  start_gen_conf "$root" "$fake" -- --upstream 192.0.2.1 --upstream 192.0.2.2 \
    --upstream 192.0.2.3 --upstream 192.0.2.4
  wait_for_file "$root/daemon.pid" 5
  daemon=$(cat "$root/daemon.pid")
  on_exit kill -9 "$daemon"
  killed_and_gone "$daemon" "a hanging fake ntpd"
  # The real ntpd, by the pid file it writes in its check directory.
  start_gen_conf "$root" "" -- --upstream 192.0.2.1 --upstream 192.0.2.2 \
    --upstream 192.0.2.3 --upstream 192.0.2.4
  wait_for_glob "$root/tmp/pooljoin-check-*/ntpd.pid" 5 || true
  daemon=$(cat "$root"/tmp/pooljoin-check-*/ntpd.pid 2>/dev/null || true)
  [ -n "$daemon" ] || fail "the real ntpd wrote no pid file"
  on_exit kill -9 "$daemon"
  killed_and_gone "$daemon" "the real ntpd"
}

# killed_and_gone PID WHAT: SIGKILLs the pooljoin started last and fails unless its checking
# daemon PID is gone within 3 s; says how long it took.
killed_and_gone() {
  local start
  start=$(date +%s%N)
  kill -9 "$PJ"
  gone_within "$1" 3 || fail "$2 ($1) outlived pooljoin by more than 3 s"
  echo "  $2 was gone $((($(date +%s%N) - start) / 1000000)) ms after pooljoin's SIGKILL"
}

test_the_checking_daemon_has_no_cap_sys_time() {
  require_root
  local root fake field value
  root=$(signal_image caps)
  # The fake ntpd reports its capabilities in the log pooljoin shows when it exits.
  fake=$(fake_daemon 'log=$(echo "$@" | sed "s/.*-l \([^ ]*\).*/\1/")
grep ^Cap /proc/self/status >"$log"
exit 1' caps)
  # The fake reads its own /proc/self/status: a proc of the mount namespace's in the image.
  WITH_PROC=1 start_gen_conf "$root" "$fake" setpriv --inh-caps +sys_time --ambient-caps +sys_time -- \
    --upstream 192.0.2.1 --upstream 192.0.2.2 --upstream 192.0.2.3 --upstream 192.0.2.4
  finish_gen_conf 15
  assert_eq "$RC" "1" "$ERR"
  for field in CapInh CapPrm CapEff CapBnd CapAmb; do
    value=$(grep -o "$field:[[:space:]]*[0-9a-f]*" <<<"$ERR" | awk '{print $2}')
    [ -n "$value" ] || fail "no $field in: $ERR"
    (((0x$value >> 25) & 1)) && fail "the checking daemon holds CAP_SYS_TIME in $field ($value)"
  done
  echo "  CAP_SYS_TIME (bit 25) clear in CapInh, CapPrm, CapEff, CapBnd and CapAmb"
}

test_an_interrupted_read_of_stdin_is_an_interruption() {
  local fifo pid rc=0
  fifo="$TEST_TMP/stdin"
  mkfifo "$fifo"
  "$POOLJOIN" gen-conf --lint - --daemon ntpsec <"$fifo" >"$TEST_TMP/out" 2>"$TEST_TMP/err" &
  pid=$!
  on_exit kill -9 "$pid"
  exec 3>"$fifo"  # a writer that never finishes: pooljoin waits on its stdin
  echo "server 192.0.2.1 iburst" >&3
  sleep 0.5
  kill -INT "$pid"
  for ((i = 0; i < 250; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  kill -0 "$pid" 2>/dev/null && fail "pooljoin still reads stdin 5 s after SIGINT"
  wait "$pid" || rc=$?
  exec 3>&-
  ERR=$(cat "$TEST_TMP/err")
  assert_eq "$rc" "130" "$ERR"
  assert_contains "$ERR" "interrupted during the read of standard input"
}

# The issue's case: open() of a FIFO gave up at the signal, and the selection seemed missing.
test_a_failure_after_a_signal_is_the_interruption() {
  local root pid rc=0 sent=""
  root=$(image_with_selection debian-12 fifo)
  rm "$root/var/lib/pooljoin/selection.json"
  mkfifo "$root/var/lib/pooljoin/selection.json"
  "$POOLJOIN" --root "$root" --dry-run gen-conf >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null &
  pid=$!
  on_exit kill -9 "$pid"
  sleep 0.5
  if kill -INT "$pid" 2>/dev/null; then sent=yes; fi
  for ((i = 0; i < 250; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  kill -0 "$pid" 2>/dev/null && fail "pooljoin still runs 5 s after SIGINT"
  wait "$pid" || rc=$?
  ERR=$(cat "$TEST_TMP/err")
  # A FIFO refused at once (pooljoin reads regular files only) ends the run before the signal: then
  # it must say so, not take the selection for missing (a skip would fail under CI=true).
  if [ -z "$sent" ]; then
    assert_not_contains "$ERR" "no saved selection"
    echo "  pooljoin ended before the signal (exit $rc): the FIFO was refused"
    return 0
  fi
  assert_eq "$rc" "130" "$ERR"
  assert_contains "$ERR" "interrupted during gen-conf"
}

run_tests "$@"
