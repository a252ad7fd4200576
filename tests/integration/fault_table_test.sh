#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tests/faults.md maps each fault to the test that plays it: every test it names must exist, so
# that the table cannot point at a test that was renamed or removed.
source "$(dirname "$0")/lib.sh"

TESTS="$POOLJOIN_FIXTURES/.."

test_every_test_the_fault_table_names_exists() {
  local table="$TESTS/faults.md" rows=0 missing=() script name
  [ -f "$table" ] || fail "no $table"
  while read -r script name; do
    rows=$((rows + 1))
    grep -q "^test_${name}() {" "$TESTS/integration/${script}_test.sh" 2>/dev/null ||
      missing+=("integration.$script $name")
  done < <(grep -o '`integration\.[a-z_]* [a-z0-9_]*`' "$table" | tr -d '`' | sed 's/^integration\.//')
  while read -r name; do
    rows=$((rows + 1))
    grep -rqF "TEST_CASE(\"$name\"" "$TESTS/unit" || missing+=("unit \"$name\"")
  done < <(grep -o '`unit "[^"]*"`' "$table" | sed 's/^`unit "//; s/"`$//')
  [ ${#missing[@]} = 0 ] || fail "tests/faults.md names tests that do not exist: ${missing[*]}"
  [ "$rows" -ge 20 ] || fail "only $rows tests found in the table: is its format still parsed?"
  echo "  $rows tests named, all exist"
}

run_tests "$@"
