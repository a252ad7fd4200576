#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docs/examples/cloud-init.yaml: Debian's cloud-init validates it against its schema (and
# rejects broken copies of it, so the validation is real), and the pooljoin command it runs is
# one the built binary accepts: run as a dry run on this machine, in a network namespace of its
# own so that nothing it sends leaves the machine.
source "$(dirname "$0")/lib.sh"

SOURCE_DIR=$(cd "$POOLJOIN_FIXTURES/../.." && pwd)
CONFIG=$SOURCE_DIR/docs/examples/cloud-init.yaml

require_tool() {
  command -v "$1" >/dev/null && return 0
  echo "SKIP: $1 is not installed (Debian package $2; scripts/setup --test installs it)"
  exit 77
}

test_cloud_init_validates_the_example() {
  require_tool cloud-init cloud-init
  cloud-init schema --config-file "$CONFIG" >"$TEST_TMP/out" 2>"$TEST_TMP/err" ||
    fail "cloud-init schema rejects docs/examples/cloud-init.yaml"
  assert_contains "$(cat "$TEST_TMP/out")" "Valid cloud-config: $CONFIG"
  # The same file broken two ways is refused: a key of the wrong type, the header missing.
  sed 's/^package_update: true$/package_update: "yes please"/' "$CONFIG" >"$TEST_TMP/bad-type.yaml"
  ! cmp -s "$CONFIG" "$TEST_TMP/bad-type.yaml" || fail "the example has no package_update: true line"
  local rc=0
  cloud-init schema --config-file "$TEST_TMP/bad-type.yaml" >"$TEST_TMP/out" 2>&1 || rc=$?
  assert_eq "$rc" 1 "cloud-init schema on a wrong type"
  assert_contains "$(cat "$TEST_TMP/out")" "package_update: 'yes please' is not of type 'boolean'"
  sed 1d "$CONFIG" >"$TEST_TMP/no-header.yaml"
  rc=0
  cloud-init schema --config-file "$TEST_TMP/no-header.yaml" >"$TEST_TMP/out" 2>&1 || rc=$?
  assert_eq "$rc" 1 "cloud-init schema without #cloud-config"
  assert_contains "$(cat "$TEST_TMP/out")" 'needs to begin with "#cloud-config"'
}

test_the_example_runs_join_unattended_with_options_pooljoin_accepts() {
  require_tool cloud-init cloud-init  # and its python3-yaml, to read the runcmd
  require_root
  # The runcmd entries, one JSON array each; the pooljoin one runs through `sh -c` to keep its
  # JSON in a file.
  python3 -c 'import json, sys, yaml
for entry in yaml.safe_load(open(sys.argv[1]))["runcmd"]: print(json.dumps(entry))' "$CONFIG" \
    >"$TEST_TMP/runcmd"
  assert_eq "$(jq -r '.[0]' "$TEST_TMP/runcmd" | paste -sd' ')" "apt-get sh"
  assert_eq "$(sed -n 1p "$TEST_TMP/runcmd" | jq -r '.[-1]')" /var/cache/pooljoin/pooljoin.deb
  # No placeholder left for the operator to fill in (a URL of nobody's).
  ! grep -qiE 'example\.(org|com|net)|\.invalid' "$CONFIG" || fail "the example holds a placeholder: $(grep -iE 'example\.(org|com|net)|\.invalid' "$CONFIG")"
  local script words=()
  script=$(sed -n 2p "$TEST_TMP/runcmd" | jq -r '.[2]')
  assert_eq "$(sed -n 2p "$TEST_TMP/runcmd" | jq -c '.[0:2]')" '["sh","-c"]'
  mapfile -t words < <(python3 -c 'import shlex, sys; print("\n".join(shlex.split(sys.argv[1])))' "$script")
  assert_eq "${words[0]}" pooljoin
  assert_eq "${words[-1]}" ">/var/log/pooljoin-join.json"
  unset 'words[-1]'
  assert_contains " ${words[*]} " " --json join --yes "
  # The same command as a dry run, on this machine, from a namespace with "public" addresses
  # and no route out: DNS and the probes fail at once, and the catalogue stands in.
  local ns
  make_netns ns cloudinit
  ip -n "$ns" addr add 185.255.0.21/32 dev lo
  ip -n "$ns" -6 addr add 2a0a:e5c0::21/128 dev lo nodad
  local rc=0
  ip netns exec "$ns" "$POOLJOIN" --dry-run "${words[@]:1}" </dev/null >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  assert_eq "$rc" 0 "pooljoin --dry-run ${words[*]:1}"
  assert_eq "$(jqr '.dry_run')" true
  assert_eq "$(jqr '.status')" ok
  assert_eq "$(jqr '[.steps[].step] | join(" ")')" "detect install-ntp resolve gen-conf restart firewall check web-redirect submit"
  assert_contains "$(jqr '.steps[] | select(.step == "resolve") | .summary')" "de.pool.ntp.org"
  assert_contains "$(cat "$TEST_TMP/err")" "using the catalogue's last known addresses"
}

run_tests "$@"
