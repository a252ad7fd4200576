# Shared by the integration tests: the binary under test, assertions, and cleanup that runs
# even when a test fails. Each test script sources this, defines test_* functions, and calls
# run_tests "$@".
set -euo pipefail

: "${POOLJOIN:?POOLJOIN must name the pooljoin binary under test}"
: "${POOLJOIN_FIXTURES:?POOLJOIN_FIXTURES must name tests/fixtures}"
IMAGES="$POOLJOIN_FIXTURES/images"
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pooljoin-it.XXXXXX")
chmod 755 "$TEST_TMP"
_cleanups=()

# Registers a command to run when the script exits, whatever the outcome (last in, first out).
# Refuses to run in a subshell (e.g. inside "$(...)"), where the registration would be lost.
on_exit() {
  if [ "$BASH_SUBSHELL" != 0 ]; then
    echo "lib.sh: on_exit called in a subshell; the cleanup of [$*] would be lost" >&2
    exit 70
  fi
  _cleanups+=("$*")
}

_run_cleanups() {
  local rc=$?
  local i
  for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
    eval "${_cleanups[$i]}" >/dev/null 2>&1 || true
  done
  rm -rf "$TEST_TMP"
  exit "$rc"
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

fail() {
  echo "FAIL: $*" >&2
  [ -f "$TEST_TMP/out" ] && { echo "--- stdout"; cat "$TEST_TMP/out"; } >&2
  [ -f "$TEST_TMP/err" ] && { echo "--- stderr"; cat "$TEST_TMP/err"; } >&2
  exit 1
}

# pj EXPECTED_EXIT ARGS...: runs pooljoin; stdout in $OUT, stderr in $ERR.
pj() {
  local expected=$1
  shift
  local rc=0
  "$POOLJOIN" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  [ "$rc" = "$expected" ] || fail "pooljoin $* exited $rc, expected $expected"
}

# pj_as USER EXPECTED_EXIT ARGS...: the same, as another user.
pj_as() {
  local user=$1 expected=$2
  shift 2
  local rc=0
  setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" --clear-groups -- "$POOLJOIN" "$@" \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  [ "$rc" = "$expected" ] || fail "pooljoin $* as $user exited $rc, expected $expected"
}

assert_eq() { [ "$1" = "$2" ] || fail "expected [$2], got [$1]${3:+ ($3)}"; }
assert_contains() { [[ "$1" == *"$2"* ]] || fail "expected to find [$2] in [$1]"; }
assert_not_contains() { [[ "$1" != *"$2"* ]] || fail "did not expect [$2] in [$1]"; }
# jqr FILTER: applies a jq filter to $OUT (raw output).
jqr() { jq -r "$1" <<<"$OUT"; }

require_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root"
    exit 77
  fi
}

# make_netns VAR NAME: creates a network namespace of the test's own (lo up), deleted at exit,
# and stores its name in VAR.
make_netns() {
  local -n _netns_var=$1
  local name="pj-$2-$$"
  ip netns add "$name"
  on_exit ip netns delete "$name"
  ip -n "$name" link set lo up
  _netns_var=$name
}

run_tests() {
  local filter=${1:-}
  local names
  names=$(declare -F | awk '{print $3}' | grep '^test_' || true)
  local count=0
  for name in $names; do
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
    "$name"
    echo "ok - ${name#test_}"
    count=$((count + 1))
  done
  [ "$count" -gt 0 ] || fail "no test matched [$filter]"
}
