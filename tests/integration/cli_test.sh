#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The command line itself: help, version, usage errors, environment variables, colour.
source "$(dirname "$0")/lib.sh"

test_version_and_help() {
  pj 0 --version
  assert_eq "$OUT" "pooljoin $(cat "$POOLJOIN_FIXTURES/../../VERSION")"
  pj 0 --help
  for sub in detect install-ntp resolve gen-conf restart firewall check status submit web-redirect join; do
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
  assert_contains "$ERR" "pooljoin: error: A subcommand is required"
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
  # POOLJOIN_TIMEOUT is read only by the subcommands that have --timeout.
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

test_a_mistyped_subcommand_gets_a_suggestion_and_the_usage() {
  pj 2 jion
  assert_eq "$(head -1 <<<"$ERR")" 'pooljoin: error: unknown subcommand "jion"; did you mean join?'
  assert_contains "$ERR" "usage: pooljoin [OPTIONS] SUBCOMMAND"
  pj 2 --root "$IMAGES/debian-12" gen-cnof
  assert_contains "$ERR" "did you mean gen-conf?"
  pj 2 frobnicate
  assert_eq "$(head -1 <<<"$ERR")" 'pooljoin: error: unknown subcommand "frobnicate"'
}

test_parse_errors_carry_the_prefix_and_name_the_option() {
  pj 2 check --samples x
  assert_eq "$(head -1 <<<"$ERR")" "pooljoin: error: --samples: Value x not in range 1 to 20"
  assert_contains "$ERR" "run \`pooljoin check --help\`"
  pj 2 --api-timeout 0 detect
  assert_contains "$ERR" "pooljoin: error: --api-timeout"
}

test_a_subcommand_help_lists_the_global_options() {
  local sub
  for sub in detect install-ntp resolve gen-conf restart firewall check status submit web-redirect join; do
    pj 0 "$sub" --help
    assert_contains "$OUT" "Global options (before or after the subcommand):"
    assert_contains "$OUT" "  --dry-run"
    assert_contains "$OUT" "  --root DIR"
    assert_contains "$OUT" "  -y,--yes"
  done
}

test_every_option_of_a_step_join_runs_is_an_option_of_join() {
  # Each option in a step's own --help section, but those that make no sense in join (see the
  # manual): gen-conf's --output and --lint, check's --server, submit's addresses.
  options_of() {
    "$POOLJOIN" "$1" --help | awk '/^Options:/ {on = 1; next} /^[A-Z]/ {on = 0}
      on && /^  -/ {sub(/^  (-[a-zA-Z],)?/, ""); sub(/[ =].*/, ""); print}'
  }
  local join sub option missing=()
  join=$(options_of join)
  for sub in install-ntp resolve gen-conf restart firewall check web-redirect submit; do
    for option in $(options_of "$sub"); do
      case "$sub $option" in "gen-conf --output" | "gen-conf --lint" | "check --server") continue ;; esac
      grep -qxF -- "$option" <<<"$join" || missing+=("$sub $option")
    done
  done
  assert_eq "${missing[*]}" "" "options of steps that join does not take"
  # The same check and the same help text for --daemon everywhere.
  pj 2 --dry-run --root "$IMAGES/debian-12" join --daemon openntpd
  assert_contains "$ERR" "--daemon: openntpd not in {auto,ntpsec,ntp,chrony}"
}

test_one_variable_means_one_thing() {
  # POOLJOIN_UPSTREAM is gen-conf's (and join's) servers; POOLJOIN_SERVER is check's.
  local rc=0
  POOLJOIN_UPSTREAM=192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4 "$POOLJOIN" --dry-run \
    --root "$IMAGES/debian-12" gen-conf >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" 0 "$(cat "$TEST_TMP/err")"
  assert_contains "$(cat "$TEST_TMP/out")" "server 192.0.2.4 iburst"
  # A script that still exports the old name for gen-conf is stopped, not silently ignored.
  rc=0
  POOLJOIN_SERVER=192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4 "$POOLJOIN" --dry-run \
    --root "$IMAGES/debian-12" gen-conf >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" 2
  assert_contains "$(cat "$TEST_TMP/err")" "POOLJOIN_SERVER is set, but gen-conf no longer reads it"
  assert_contains "$(cat "$TEST_TMP/err")" "rename it to POOLJOIN_UPSTREAM"
  # POOLJOIN_TIMEOUT is the probes' timeout; restart's answer timeout is POOLJOIN_ANSWER_TIMEOUT.
  rc=0
  POOLJOIN_TIMEOUT=2m "$POOLJOIN" --dry-run --root "$IMAGES/debian-12-ntpsec-openvz" restart \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" 0 "$(cat "$TEST_TMP/err")"
  assert_contains "$(cat "$TEST_TMP/err")" "note: POOLJOIN_TIMEOUT is not read by restart"
  rc=0
  POOLJOIN_ANSWER_TIMEOUT=2m "$POOLJOIN" --json --dry-run --root "$IMAGES/debian-12-ntpsec-openvz" \
    restart >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" 0 "$(cat "$TEST_TMP/err")"
  assert_eq "$(jq -r .answer_timeout_s "$TEST_TMP/out")" "120"
}

test_renamed_options_keep_their_old_spelling_for_a_release() {
  pj 0 --json --dry-run --root "$IMAGES/debian-12-ntpsec-openvz" restart --timeout 45s
  assert_eq "$(jqr .answer_timeout_s)" "45"
  assert_contains "$ERR" "note: restart --timeout is now --answer-timeout"
  pj 0 --dry-run --root "$IMAGES/debian-12" gen-conf --server=192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4
  assert_contains "$OUT" "server 192.0.2.1 iburst"
  assert_contains "$ERR" "note: gen-conf --server is now --upstream"
  # Neither old name is offered any more.
  pj 0 restart --help
  assert_not_contains "$OUT" "--timeout"
  pj 0 gen-conf --help
  assert_not_contains "$OUT" "--server"
}

test_quiet_prints_the_result_only_and_verbose_the_facts() {
  pj 0 -q --dry-run --root "$IMAGES/debian-12" install-ntp
  assert_eq "$OUT" "would install ntpsec"
  assert_eq "$ERR" ""
  pj 0 -q --dry-run --root "$IMAGES/debian-12" gen-conf --upstream 192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4
  assert_eq "$OUT" "would write $IMAGES/debian-12/etc/ntpsec/ntp.conf (4 upstream servers)"
  assert_eq "$ERR" ""
  pj 0 -v --dry-run --root "$IMAGES/debian-12" install-ntp
  assert_contains "$ERR" "facts: Debian GNU/Linux 12 (bookworm)"
  assert_contains "$ERR" "facts: the daemon detect recommends is ntpsec"
}

run_tests "$@"
