#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The libcurl pooljoin loads (dlopen, at the first request): one that is not there, not libcurl,
# older than 7.85.0, or that refuses a setting the request's safety rests on is refused with the
# reason and exit 69, before any request; the binary names libcurl.so.4 in its .note.dlopen.
# The stand-ins come through LD_LIBRARY_PATH: tests/tools/fake_libcurl.cpp, an empty file, libm.
source "$(dirname "$0")/lib.sh"
: "${FAKE_LIBCURL_DIR:?FAKE_LIBCURL_DIR must name the directory of the stand-in libcurl.so.4}"

# with_libcurl DIR EXPECTED ARGS...: pooljoin status with DIR first in the library path.
with_libcurl() {
  local dir=$1 expected=$2 rc=0
  shift 2
  LD_LIBRARY_PATH="$dir" "$POOLJOIN" --api-base http://127.0.0.1:1 status 192.0.2.1 "$@" \
    </dev/null >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  assert_eq "$rc" "$expected" "pooljoin status with the libcurl of $dir: $ERR"
}

test_a_libcurl_older_than_7_85_is_refused() {
  FAKE_LIBCURL_VERSION=0x074400 FAKE_LIBCURL_VERSION_TEXT=7.68.0 with_libcurl "$FAKE_LIBCURL_DIR" 69
  assert_contains "$ERR" "libcurl 7.68.0 is older than 7.85.0, the oldest pooljoin works with"
  assert_contains "$ERR" "upgrade libcurl to 7.85.0 or later"
  # The same stand-in, new enough: it gets as far as the (failed) connection.
  with_libcurl "$FAKE_LIBCURL_DIR" 69
  assert_contains "$ERR" "cannot connect to 127.0.0.1"
}

test_a_refused_security_setting_makes_no_request() {
  local option
  # CURLOPT_SSL_VERIFYPEER is 64, CURLOPT_PROTOCOLS_STR 10318, CURLOPT_REDIR_PROTOCOLS_STR 10319,
  # CURLOPT_FOLLOWLOCATION 52 (curl/curl.h).
  for option in SSL_VERIFYPEER:64 PROTOCOLS_STR:10318 REDIR_PROTOCOLS_STR:10319 FOLLOWLOCATION:52; do
    FAKE_LIBCURL_REFUSE=${option#*:} with_libcurl "$FAKE_LIBCURL_DIR" 69
    assert_contains "$ERR" "libcurl refused a setting the request to http://127.0.0.1:1/scores/192.0.2.1/json"
    assert_contains "$ERR" "CURLOPT_${option%%:*}: An unknown option was passed in to libcurl; no request was made"
    assert_not_contains "$ERR" "cannot connect"
  done
  # An option that only shapes the request (the User-Agent, 10018) is not a reason to refuse.
  FAKE_LIBCURL_REFUSE=10018 with_libcurl "$FAKE_LIBCURL_DIR" 69
  assert_contains "$ERR" "cannot connect to 127.0.0.1"
}

test_a_missing_or_foreign_libcurl_is_named() {
  mkdir -p "$TEST_TMP/empty" "$TEST_TMP/libm"
  : >"$TEST_TMP/empty/libcurl.so.4"
  with_libcurl "$TEST_TMP/empty" 69
  assert_contains "$ERR" "cannot load libcurl (libcurl.so.4)"
  assert_contains "$ERR" "apt-get install libcurl4"
  ln -s "$(ldconfig -p | awk '/libm\.so\.6 .*x86-64|libm\.so\.6 \(libc6,AArch64/ {print $NF; exit}')" \
    "$TEST_TMP/libm/libcurl.so.4"
  with_libcurl "$TEST_TMP/libm" 69
  assert_contains "$ERR" "cannot load libcurl (libcurl.so.4)"
  assert_contains "$ERR" "it lacks curl_global_init, "
}

test_the_binary_names_libcurl_in_its_dlopen_note() {
  # The freedesktop.org ELF dlopen metadata: owner FDO, type 0x407c0c0a, a JSON array.
  # (readelf exits 1 on a note type it does not know, as binutils 2.40 does not know this one.)
  readelf --notes "$POOLJOIN" >"$TEST_TMP/readelf" 2>&1 || true
  grep -A2 '^Displaying notes found in: .note.dlopen' "$TEST_TMP/readelf" >"$TEST_TMP/notes" ||
    fail "no .note.dlopen section in $POOLJOIN: $(head -20 "$TEST_TMP/readelf")"
  assert_contains "$(cat "$TEST_TMP/notes")" "FDO"
  assert_contains "$(cat "$TEST_TMP/notes")" "0x407c0c0a"
  python3 - "$POOLJOIN" >"$TEST_TMP/json" <<'PY' || fail "the note's payload is not the expected JSON"
import json, struct, subprocess, sys
data = subprocess.run(["objcopy", "-O", "binary", "--only-section=.note.dlopen", sys.argv[1], "/dev/stdout"],
                      check=True, capture_output=True).stdout
namesz, descsz, kind = struct.unpack_from("<III", data)
assert kind == 0x407C0C0A and data[12:12 + namesz] == b"FDO\0", (hex(kind), data[12:16])
desc = data[12 + (namesz + 3) // 4 * 4:][:descsz].rstrip(b"\0")
print(json.dumps(json.loads(desc)))
PY
  assert_eq "$(jq -c '[.[] | {feature, priority, soname}]' "$TEST_TMP/json")" \
    '[{"feature":"http","priority":"required","soname":["libcurl.so.4"]}]'
}

run_tests "$@"
