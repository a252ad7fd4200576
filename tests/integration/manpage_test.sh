#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The manual page: it renders without a warning from groff or man, carries the version, and
# names exactly the commands, the options (per command), the POOLJOIN_* variables and the exit
# codes that the binary has, as its --help and include/pooljoin/exit_codes.hpp show them.
source "$(dirname "$0")/lib.sh"

: "${POOLJOIN_MANPAGE:?POOLJOIN_MANPAGE must name the built manual page (build/.../docs/pooljoin.1)}"
SOURCE_DIR=$(cd "$POOLJOIN_FIXTURES/../.." && pwd)

# The page as plain text, 200 columns wide (nothing wraps in the middle of a name; the page
# turns hyphenation off).
render() {
  [ -f "$TEST_TMP/page.txt" ] ||
    groff -man -Tascii -P-cbou -rLL=200n "$POOLJOIN_MANPAGE" >"$TEST_TMP/page.txt" 2>"$TEST_TMP/groff.err"
  cat "$TEST_TMP/page.txt"
}

# section NAME: the rendered lines of section NAME (a heading in column 0), without the heading.
section() {
  render | awk -v name="$1" '/^[A-Z]/ { inside = ($0 == name); next } inside'
}

# The options a block of rendered text lists as paragraph tags: in column 7 after a blank line
# ("-y, --yes" gives -y and --yes).
tagged_options() {
  awk 'prev == "" && /^       -/ { print } { prev = $0 }' |
    { grep -oE '^ +(-[a-zA-Z], )?--?[a-zA-Z][a-zA-Z0-9-]*' || true; } | tr -d ' ' | tr ',' '\n' | sort -u
}

# The options of the command's own "Options:" section (a subcommand's help lists the global ones
# after it, in a section of their own).
help_options() {
  "$POOLJOIN" "$@" --help | awk '/^Options:/ {on = 1; next} /^[A-Z]/ {on = 0} on && /^  -/ {print $1}' |
    tr ',' '\n' | grep -E '^--?[a-zA-Z]' | sort -u
}
help_subcommands() {
  "$POOLJOIN" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF {print $1}'
}

test_the_page_renders_without_warnings() {
  groff -man -ww -z -Tutf8 "$POOLJOIN_MANPAGE" >"$TEST_TMP/warnings" 2>&1 ||
    fail "groff failed: $(cat "$TEST_TMP/warnings")"
  assert_eq "$(cat "$TEST_TMP/warnings")" "" "groff -ww warnings"
  if command -v man >/dev/null; then
    MANWIDTH=80 man --warnings -l "$POOLJOIN_MANPAGE" >"$TEST_TMP/man.txt" 2>"$TEST_TMP/warnings" ||
      fail "man -l failed: $(cat "$TEST_TMP/warnings")"
    assert_eq "$(cat "$TEST_TMP/warnings")" "" "man --warnings"
    assert_contains "$(cat "$TEST_TMP/man.txt")" "pooljoin - take a Linux server through joining the NTP Pool"
  fi
  # The page is installed as it is: its title line carries the version, which must be VERSION's
  # (a release bumps both).
  assert_eq "$(awk '/^\.TH/ {print $5, $6}' "$POOLJOIN_MANPAGE")" "\"pooljoin $(cat "$SOURCE_DIR/VERSION")\"" \
    "the version in the .TH line of docs/pooljoin.1"
  render >/dev/null
  assert_eq "$(cat "$TEST_TMP/groff.err")" ""
}

test_every_command_and_option_is_documented() {
  # The commands: a subsection "pooljoin NAME ..." under COMMANDS for each, and no other.
  local documented listed
  documented=$(section COMMANDS | sed -nE 's/^   pooljoin ([a-z-]+).*/\1/p' | sort)
  listed=$(help_subcommands | sort)
  [ "$(echo "$listed" | wc -l)" -ge 10 ] || fail "pooljoin --help lists only: $listed"
  assert_eq "$documented" "$listed" "the commands of the page vs pooljoin --help"

  # The global options: exactly those of `pooljoin --help`.
  assert_eq "$(section "GLOBAL OPTIONS" | tagged_options | paste -sd' ')" \
    "$(help_options | paste -sd' ')" "GLOBAL OPTIONS vs pooljoin --help"

  # Each command's options: exactly those of `pooljoin CMD --help` (its -h/--help aside).
  local sub own
  for sub in $listed; do
    own=$(section COMMANDS | awk -v sub_="$sub" '
      /^   [^ ]/ { inside = ($2 == sub_); next } inside' | tagged_options | paste -sd' ')
    assert_eq "$own" "$(help_options "$sub" | grep -vxE -- '-h|--help' | paste -sd' ')" \
      "the options the page gives pooljoin $sub vs its --help"
  done
}

test_every_environment_variable_is_documented() {
  # Every POOLJOIN_* name that a --help shows (the global ones and each command's) is in
  # ENVIRONMENT, and ENVIRONMENT names no variable the binary does not read.
  local sub
  {
    "$POOLJOIN" --help
    for sub in $(help_subcommands); do "$POOLJOIN" "$sub" --help; done
  } | grep -oE 'Env:POOLJOIN_[A-Z_]+' | sed 's/^Env://' | sort -u >"$TEST_TMP/env.help"
  [ "$(wc -l <"$TEST_TMP/env.help")" -ge 40 ] || fail "only $(wc -l <"$TEST_TMP/env.help") variables in --help"
  section ENVIRONMENT | grep -oE 'POOLJOIN_[A-Z][A-Z_]*[A-Z]' | sort -u >"$TEST_TMP/env.page"
  # POOLJOIN_TEMPLATES is read by the binary itself (src/core/resources.cpp), not an option.
  grep -q 'getenv("POOLJOIN_TEMPLATES")' "$SOURCE_DIR/src/core/resources.cpp" ||
    fail "POOLJOIN_TEMPLATES is no longer read: drop it from the page and this test"
  echo POOLJOIN_TEMPLATES >>"$TEST_TMP/env.help"
  # POOLJOIN_NAME and the examples (POOLJOIN_DRY_RUN=1) are the rule, not variables.
  grep -vx POOLJOIN_NAME "$TEST_TMP/env.page" >"$TEST_TMP/env.page.names" || true
  diff <(sort -u "$TEST_TMP/env.help") "$TEST_TMP/env.page.names" >"$TEST_TMP/env.diff" ||
    fail "ENVIRONMENT differs from the variables of --help (< only in --help, > only on the page):
$(cat "$TEST_TMP/env.diff")"
}

test_every_exit_code_is_documented() {
  local codes documented
  codes=$(sed -nE 's/^ *[a-z_]+ = ([0-9]+),.*/\1/p' "$SOURCE_DIR/include/pooljoin/exit_codes.hpp" | sort -n | paste -sd' ')
  [ "$(wc -w <<<"$codes")" -ge 9 ] || fail "exit_codes.hpp gives only [$codes]"
  documented=$(section "EXIT STATUS" | sed -nE 's/^       ([0-9]+)( .*)?$/\1/p' | sort -n | paste -sd' ')
  assert_eq "$documented" "$codes" "EXIT STATUS vs include/pooljoin/exit_codes.hpp"
}

run_tests "$@"
