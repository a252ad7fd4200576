#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docs/examples/ansible: the playbook runs pooljoin on several hosts (here all this machine,
# connection local, from a network namespace with no route out) and reports each host's --json
# result. Run with --check, the role turns it into `pooljoin --dry-run`: the hosts' image (a
# scratch copy of a fixture) must come out unchanged. A host whose command line is wrong is
# reported, then failed, and the others still succeed.
source "$(dirname "$0")/lib.sh"

SOURCE_DIR=$(cd "$POOLJOIN_FIXTURES/../.." && pwd)
PLAYBOOK=$SOURCE_DIR/docs/examples/ansible/join.yml

require_ansible() {
  command -v ansible-playbook >/dev/null && return 0
  echo "SKIP: ansible-playbook is not installed (Debian package ansible-core; scripts/setup --test installs it)"
  exit 77
}

# Ansible's own state (temporary files, the fact cache) stays in the test's directory, and no
# ansible.cfg of the machine or the user applies.
ansible_env() {
  [ -f "$TEST_TMP/ansible.cfg" ] || { mkdir -p "$TEST_TMP/home" && echo '[defaults]' >"$TEST_TMP/ansible.cfg"; }
  env HOME="$TEST_TMP/home" ANSIBLE_LOCAL_TEMP="$TEST_TMP/home/tmp" ANSIBLE_REMOTE_TEMP="$TEST_TMP/home/remote" \
    ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_PIPELINING=1 ANSIBLE_CONFIG="$TEST_TMP/ansible.cfg" "$@"
}

test_the_playbook_is_valid() {
  require_ansible
  ansible_env ansible-playbook -i "$SOURCE_DIR/docs/examples/ansible/inventory.ini" --syntax-check "$PLAYBOOK" \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" || fail "ansible-playbook --syntax-check failed"
  ansible_env ansible-inventory -i "$SOURCE_DIR/docs/examples/ansible/inventory.ini" --list >"$TEST_TMP/out" 2>"$TEST_TMP/err" ||
    fail "ansible-inventory rejects inventory.ini"
  assert_eq "$(jq -r '.ntp_pool.hosts | join(" ")' "$TEST_TMP/out")" "ntp1.example.org ntp2.example.org"
}

test_each_host_is_joined_and_reported_in_check_mode() {
  require_ansible
  require_root
  mkdir -p "$TEST_TMP/reports"
  cp -a "$IMAGES/debian-12-ntpsec-openvz" "$TEST_TMP/image"
  cat >"$TEST_TMP/inventory.ini" <<INI
[ntp_pool]
node-de pooljoin_country=de
node-fr pooljoin_country=fr pooljoin_bandwidth=100
node-bad pooljoin_join_args='["--servers", "9"]'

[ntp_pool:vars]
ansible_connection=local
ansible_python_interpreter=/usr/bin/python3
pooljoin_binary=$POOLJOIN
pooljoin_root=$TEST_TMP/image
pooljoin_report_dir=$TEST_TMP/reports
INI
  local ns rc=0
  make_netns ns ansible
  ip -n "$ns" addr add 185.255.0.31/32 dev lo
  ip -n "$ns" -6 addr add 2a0a:e5c0::31/128 dev lo nodad
  ansible_env ip netns exec "$ns" ansible-playbook --check -i "$TEST_TMP/inventory.ini" "$PLAYBOOK" \
    </dev/null >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  # 2: a host failed (node-bad), the others did not.
  assert_eq "$rc" 2 "ansible-playbook's exit status"
  OUT=$(cat "$TEST_TMP/out")
  assert_contains "$OUT" "node-de                    : ok=4    changed=1    unreachable=0    failed=0"
  assert_contains "$OUT" "node-fr                    : ok=4    changed=1    unreachable=0    failed=0"
  assert_contains "$OUT" "node-bad                   : ok=4    changed=1    unreachable=0    failed=1"
  assert_contains "$OUT" '"msg": "node-de: ok, exit status 0: detect done, install-ntp unchanged, resolve planned, gen-conf planned, restart planned, firewall unchanged, check planned, web-redirect skipped, submit planned"'
  assert_contains "$OUT" '"msg": "node-bad: failed, exit status 2: --servers: Value 9 not in range 4 to 7"'
  assert_contains "$OUT" 'fatal: [node-bad]: FAILED! => {"changed": false, "msg": "pooljoin join exited 2: --servers: Value 9 not in range 4 to 7"}'

  # Each host's JSON document, kept on the controller.
  assert_eq "$(cd "$TEST_TMP/reports" && echo *)" "node-bad.json node-de.json node-fr.json"
  local host country
  for host in de fr; do
    OUT=$(cat "$TEST_TMP/reports/node-$host.json")
    assert_eq "$(jqr '[.host, .exit_status, .status, .dry_run] | join(" ")')" "node-$host 0 ok true"
    country=$(jqr '.steps[] | select(.step == "resolve") | .result.country')
    assert_eq "$country" "$host"
    assert_contains "$(jqr '.steps[] | select(.step == "resolve") | .summary')" "$host.pool.ntp.org"
    assert_eq "$(jqr '.steps[] | select(.step == "gen-conf") | .result.config_path')" /etc/ntpsec/ntp.conf
  done
  OUT=$(cat "$TEST_TMP/reports/node-fr.json")
  assert_eq "$(jqr '.steps | length')" 9
  OUT=$(cat "$TEST_TMP/reports/node-bad.json")
  assert_eq "$(jqr '[.host, .exit_status, .status, .error.message, .error.exit_code] | join(" ")')" "node-bad 2 failed --servers: Value 9 not in range 4 to 7 2"
  # --check ran pooljoin as a dry run: the hosts' image is as it was.
  diff -r "$IMAGES/debian-12-ntpsec-openvz" "$TEST_TMP/image" >"$TEST_TMP/diff" ||
    fail "the image changed under --check: $(cat "$TEST_TMP/diff")"
}

run_tests "$@"
