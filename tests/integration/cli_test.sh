#!/usr/bin/env bash
# The command line itself: help, version, usage errors, environment variables, colour.
source "$(dirname "$0")/lib.sh"

test_version_and_help() {
  pj 0 --version
  assert_eq "$OUT" "pooljoin $(cat "$POOLJOIN_FIXTURES/../../VERSION")"
  pj 0 --help
  for sub in detect install-ntp resolve gen-conf restart check status submit web-redirect join; do
    assert_contains "$OUT" "  $sub "
  done
  assert_contains "$OUT" "77 needs root"
}

# libcurl and its ~30 libraries are loaded by the first request only (the dynamic loader's own
# log says which objects it loads): every other command starts without them.
test_libcurl_is_loaded_by_a_request_only() {
  LD_DEBUG=files pj 0 --version
  assert_not_contains "$ERR" "libcurl"
  LD_DEBUG=files pj 0 --root "$IMAGES/debian-12" --json detect
  assert_not_contains "$ERR" "libcurl"
  # Nothing listens on port 1: the request fails, after loading libcurl for it.
  LD_DEBUG=files pj 69 --api-base http://127.0.0.1:1 --api-timeout 2 status 192.0.2.1
  assert_contains "$ERR" "file=libcurl.so.4 [0];  dynamically loaded by"
  assert_contains "$ERR" "cannot connect to 127.0.0.1"
}

test_usage_errors_exit_2() {
  pj 2
  assert_contains "$ERR" "A subcommand is required"
  pj 2 --bogus detect
  pj 2 install-ntp --daemon openntpd
  assert_contains "$ERR" "--daemon"
  pj 2 install-ntp --lock-timeout -1
  assert_contains "$ERR" "--lock-timeout"
  pj 2 --root /nonexistent-pooljoin detect
  assert_contains "$ERR" "--root: Directory does not exist: /nonexistent-pooljoin"
}

test_global_options_before_or_after_the_subcommand() {
  pj 0 --json --root "$IMAGES/rocky-9" detect
  assert_eq "$(jqr .distro.id)" "rocky"
  pj 0 detect --root "$IMAGES/rocky-9" --json
  assert_eq "$(jqr .distro.id)" "rocky"
}

test_every_option_reads_its_environment_variable() {
  local rc=0
  POOLJOIN_JSON=1 POOLJOIN_ROOT="$IMAGES/alpine-3.20" "$POOLJOIN" detect >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  assert_eq "$rc" 0
  assert_eq "$(jqr .distro.family)" "alpine"
  # A subcommand option and a global flag, both from the environment.
  POOLJOIN_DRY_RUN=true POOLJOIN_DAEMON=chrony POOLJOIN_ROOT="$IMAGES/debian-12" \
    "$POOLJOIN" install-ntp >"$TEST_TMP/out" 2>"$TEST_TMP/err" || fail "env-configured dry run failed"
  OUT=$(cat "$TEST_TMP/out")
  assert_contains "$OUT" "install -y chrony"
  # The command line wins over the environment.
  POOLJOIN_DAEMON=chrony "$POOLJOIN" --dry-run --root "$IMAGES/debian-12" install-ntp --daemon ntpsec \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" || fail "override failed"
  assert_contains "$(cat "$TEST_TMP/out")" "install -y ntpsec"
  # A bad value from the environment is a usage error naming the option.
  rc=0
  POOLJOIN_DAEMON=bogus "$POOLJOIN" --dry-run install-ntp >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" 2
  assert_contains "$(cat "$TEST_TMP/err")" "--daemon"
}

test_an_environment_variable_is_read_by_the_subcommand_that_runs() {
  # POOLJOIN_TIMEOUT is read only by the subcommand that runs: a value fit for check's --timeout
  # does not reach restart's (1s to 10m) or any other.
  local rc=0
  POOLJOIN_TIMEOUT=700ms "$POOLJOIN" --root "$IMAGES/debian-12" detect >/dev/null 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" 0
  rc=0
  POOLJOIN_TIMEOUT=bogus "$POOLJOIN" check --server 127.0.0.1 >/dev/null 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" 2
  assert_contains "$(cat "$TEST_TMP/err")" "--timeout"
  # A global option's value is not taken for the subcommand's name.
  rc=0
  POOLJOIN_JSON=1 "$POOLJOIN" --root "$IMAGES/debian-12" --dry-run install-ntp >"$TEST_TMP/out" 2>/dev/null || rc=$?
  assert_eq "$rc" 0
  assert_eq "$(jq -r .package "$TEST_TMP/out")" "ntpsec"
}

test_colour_only_on_a_terminal_and_never_with_no_color() {
  local esc=$'\033['
  # Not a terminal: no colour.
  pj 0 --root "$IMAGES/unknown-distro" detect
  assert_not_contains "$OUT" "$esc"
  # A terminal (script(1) gives it a pty): colour, unless NO_COLOR or --no-color.
  local tty_out
  tty_out=$(script -qec "$POOLJOIN --root $IMAGES/unknown-distro detect" /dev/null)
  assert_contains "$tty_out" "$esc"
  tty_out=$(NO_COLOR=1 script -qec "$POOLJOIN --root $IMAGES/unknown-distro detect" /dev/null)
  assert_not_contains "$tty_out" "$esc"
  tty_out=$(script -qec "$POOLJOIN --no-color --root $IMAGES/unknown-distro detect" /dev/null)
  assert_not_contains "$tty_out" "$esc"
}

test_json_goes_to_stdout_and_messages_to_stderr() {
  pj 0 --json --root "$IMAGES/unknown-distro" detect
  jq -e . <<<"$OUT" >/dev/null || fail "stdout is not one JSON document"
  assert_contains "$ERR" "note: no global address"
  pj 0 --json --quiet --root "$IMAGES/unknown-distro" detect
  assert_eq "$ERR" ""
}

run_tests "$@"
