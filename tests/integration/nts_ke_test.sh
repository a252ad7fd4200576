#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# pooljoin's NTS-KE client (RFC 8915 section 4) against real NTS servers: chronyd and ntpsec,
# each in a sandbox of its own with a certificate from a CA the test makes (openssl), neither
# able to touch the clock (chronyd -x; ntpd without CAP_SYS_TIME). Also: a name the certificate
# is not for, a CA pooljoin does not trust, a closed port, and a TLS server that does not speak
# NTS-KE. After NTS-KE, one NTS-authenticated NTP exchange with each server (the keys and a
# cookie, RFC 8915 section 5). Driven through tests/tools/nts_ke_probe until `resolve` does it.
source "$(dirname "$0")/lib.sh"

: "${NTS_KE_PROBE:?NTS_KE_PROBE must name tests/tools/nts_ke_probe}"
CHRONY_DIR=/var/cache/pooljoin-test/chrony
for tool in openssl ntpd ss; do
  command -v "$tool" >/dev/null || skip_all "no $tool (scripts/setup --test installs it)"
done
[ -x "$CHRONY_DIR/usr/sbin/chronyd" ] || skip_all "chronyd is not unpacked in $CHRONY_DIR (scripts/setup --test)"

# The test's CA, and a certificate from it for nts.test (and 127.0.0.1); another CA's
# certificate for the same names (trusted by nobody).
PKI="$TEST_TMP/pki"
mkdir -p "$PKI"
make_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -keyout "$PKI/$1.key" -out "$PKI/$1.crt" -subj "/CN=pooljoin test CA $1" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
}
make_server_cert() {
  local ca=$1 name=$2
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/$name.key" \
    -out "$PKI/$name.csr" -subj "/CN=nts.test" 2>/dev/null
  printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature' \
    'extendedKeyUsage=serverAuth' 'subjectAltName=DNS:nts.test,IP:127.0.0.1' >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" \
    -CAcreateserial -days 30 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  cat "$PKI/$name.crt" "$PKI/$ca.crt" >"$PKI/$name-chain.pem"
}
make_ca ca
make_ca stranger
make_server_cert ca server
make_server_cert stranger stranger-server
chmod 644 "$PKI"/*.key

# probe SANDBOX EXPECTED_EXIT NAME [ARGS...]: nts_ke_probe NAME 127.0.0.1 in the sandbox; its
# JSON in $OUT.
probe() {
  local sb=$1 expected=$2 name=$3 rc=0
  shift 3
  OUT=$(in_sandbox "$sb" "$NTS_KE_PROBE" "$name" 127.0.0.1 "$@" 2>"$TEST_TMP/err") || rc=$?
  ERR=$(cat "$TEST_TMP/err")
  [ "$rc" = "$expected" ] || fail "nts_ke_probe $name $* exited $rc, expected $expected: $OUT $ERR"
}

# wait_for_port SANDBOX PORT LOG: until something listens on TCP PORT in the sandbox (10 s).
wait_for_port() {
  local i
  for ((i = 0; i < 100; i++)); do
    in_sandbox "$1" ss -Htln "sport = :$2" | grep -q . && return 0
    sleep 0.1
  done
  fail "nothing listens on port $2 after 10 s: $(cat "$3")"
}

# start_chronyd SANDBOX CERT: chronyd as an NTS server (NTS-KE on 4460, NTP on 123), -x.
start_chronyd() {
  local sb=$1 cert=$2 dir="$TEST_TMP/chronyd-$1"
  mkdir -p "$dir/nts"
  printf '%s\n' "local stratum 2" "allow all" "cmdport 0" "pidfile $dir/chronyd.pid" \
    "driftfile $dir/drift" "ntsservercert $PKI/$cert-chain.pem" "ntsserverkey $PKI/$cert.key" \
    "ntsdumpdir $dir/nts" >"$dir/chrony.conf"
  in_sandbox "$sb" "$CHRONY_DIR/usr/sbin/chronyd" -x -d -u root -f "$dir/chrony.conf" \
    </dev/null >"$dir/log" 2>&1 &
  wait_for_port "$sb" 4460 "$dir/log"
}

test_chronyd_gives_cookies_and_keys_over_tls13() {
  local sb
  sb=$(make_sandbox nts-chrony)
  start_chronyd "$sb" server
  probe "$sb" 0 nts.test --ca-file "$PKI/ca.crt"
  echo "# chronyd: $(jq -c '{cookies: (.cookies | length), size: .cookies[0], tls_version, cipher}' <<<"$OUT")"
  assert_eq "$(jq '.cookies | length' <<<"$OUT")" 8
  assert_eq "$(jq '[.cookies[] | select(. < 16)] | length' <<<"$OUT")" 0 "cookie sizes"
  assert_eq "$(jq -r .tls_version <<<"$OUT")" TLSv1.3
  assert_eq "$(jq -r '.c2s | length' <<<"$OUT")" 64
  [ "$(jq -r .c2s <<<"$OUT")" != "$(jq -r .s2c <<<"$OUT")" ] || fail "the two keys are the same"
  # Each session has keys of its own.
  local first
  first=$(jq -r .c2s <<<"$OUT")
  probe "$sb" 0 nts.test --ca-file "$PKI/ca.crt"
  [ "$(jq -r .c2s <<<"$OUT")" != "$first" ] || fail "two sessions exported the same key"
  # The certificate names 127.0.0.1 too: an address is verified as one.
  probe "$sb" 0 127.0.0.1 --ca-file "$PKI/ca.crt"
  # Then one NTS-authenticated NTP exchange with the keys and a cookie: chronyd answers it,
  # sealed with the server-to-client key, with a new cookie inside.
  probe "$sb" 0 nts.test --ca-file "$PKI/ca.crt" --ntp
  echo "# chronyd's NTP reply: $(jq -c .ntp <<<"$OUT")"
  assert_eq "$(jq -c '.ntp | {fault, authenticated, nak, new_cookies}' <<<"$OUT")" \
    '{"fault":"none","authenticated":true,"nak":false,"new_cookies":1}'
}

# start_ntpsec SANDBOX: ntpd (ntpsec) as an NTS server (NTS-KE on 4460, its only port), in the
# foreground, without CAP_SYS_TIME.
start_ntpsec() {
  local sb=$1 dir="$TEST_TMP/ntpsec-$1"
  mkdir -p "$dir"
  printf '%s\n' "driftfile $dir/drift" "nts enable" "nts cert $PKI/server-chain.pem" \
    "nts key $PKI/server.key" "nts cookie $dir/nts-keys" >"$dir/ntp.conf"
  in_sandbox "$sb" setpriv --bounding-set -sys_time ntpd -n -c "$dir/ntp.conf" -p "$dir/ntpd.pid" \
    -l "$dir/log" </dev/null >/dev/null 2>&1 &
  wait_for_port "$sb" 4460 "$dir/log"
}

test_ntpsec_gives_cookies_and_keys_over_tls13() {
  local sb
  sb=$(make_sandbox nts-ntpsec)
  start_ntpsec "$sb"
  probe "$sb" 0 nts.test --ca-file "$PKI/ca.crt"
  echo "# ntpsec: $(jq -c '{cookies: (.cookies | length), size: .cookies[0], tls_version, cipher}' <<<"$OUT")"
  assert_eq "$(jq '.cookies | length' <<<"$OUT")" 8
  assert_eq "$(jq -r .tls_version <<<"$OUT")" TLSv1.3
  [ "$(jq -r .c2s <<<"$OUT")" != "$(jq -r .s2c <<<"$OUT")" ] || fail "the two keys are the same"
  # The authenticated exchange: ntpsec, with no time source of its own, answers unsynchronised
  # (stratum 16), but authenticated, with a new cookie.
  probe "$sb" 0 nts.test --ca-file "$PKI/ca.crt" --ntp
  echo "# ntpsec's NTP reply: $(jq -c .ntp <<<"$OUT")"
  assert_eq "$(jq -c '.ntp | {authenticated, nak, new_cookies}' <<<"$OUT")" \
    '{"authenticated":true,"nak":false,"new_cookies":1}'
  probe "$sb" 69 time.example.net --ca-file "$PKI/ca.crt"
  assert_contains "$(jq -r .error <<<"$OUT")" "(certificate not valid for the name time.example.net)"
}

test_a_name_the_certificate_is_not_for_is_refused() {
  local sb
  sb=$(make_sandbox nts-name)
  start_chronyd "$sb" server
  probe "$sb" 69 time.example.net --ca-file "$PKI/ca.crt"
  assert_contains "$(jq -r .error <<<"$OUT")" "no NTS-KE with time.example.net (127.0.0.1, port 4460) (certificate not valid for the name time.example.net)"
  # A certificate from a CA that is not trusted, for the right name.
  sb=$(make_sandbox nts-stranger)
  start_chronyd "$sb" stranger-server
  probe "$sb" 69 nts.test --ca-file "$PKI/ca.crt"
  assert_contains "$(jq -r .error <<<"$OUT")" "(certificate not trusted: "
  # Nor is the test's CA trusted without --ca-file (the system's store).
  sb=$(make_sandbox nts-system)
  start_chronyd "$sb" server
  probe "$sb" 69 nts.test
  assert_contains "$(jq -r .error <<<"$OUT")" "(certificate not trusted: "
}

test_no_nts_ke_on_the_port_is_said() {
  local sb
  sb=$(make_sandbox nts-closed)
  probe "$sb" 69 nts.test --ca-file "$PKI/ca.crt"
  assert_contains "$(jq -r .error <<<"$OUT")" "(connection refused); the server does not offer NTS-KE on this port"
  # A TLS 1.3 server that speaks something else (ALPN http/1.1 only).
  in_sandbox "$sb" openssl s_server -quiet -tls1_3 -accept 4460 -alpn http/1.1 \
    -cert "$PKI/server.crt" -key "$PKI/server.key" -naccept 1 </dev/null >"$TEST_TMP/s_server.log" 2>&1 &
  wait_for_port "$sb" 4460 "$TEST_TMP/s_server.log"
  probe "$sb" 69 nts.test --ca-file "$PKI/ca.crt"
  assert_contains "$(jq -r .error <<<"$OUT")" "ntske/1"
  # A server that accepts the connection and says nothing: the deadline ends the wait.
  # (In a subshell of its own: the sandbox's end kills it, and no job report follows.)
  (in_sandbox "$sb" python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 4461)); s.listen(1); c, _ = s.accept(); time.sleep(10)' >/dev/null 2>&1 &)
  wait_for_port "$sb" 4461 /dev/null
  local t0=$SECONDS
  probe "$sb" 69 nts.test --ca-file "$PKI/ca.crt" --port 4461 --timeout-ms 1500
  assert_contains "$(jq -r .error <<<"$OUT")" "(no answer within 1500 ms)"
  [ $((SECONDS - t0)) -le 4 ] || fail "the 1.5 s deadline took $((SECONDS - t0)) s"
}

run_tests "$@"
