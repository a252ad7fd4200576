# SPDX-License-Identifier: Apache-2.0
# Shared by the gen-conf, restart and web-redirect tests (after lib.sh): golden files, an image
# holding the selection they were rendered from, and a minimal NTP client query.
GOLDEN="$POOLJOIN_FIXTURES/../golden"
LINT="$POOLJOIN_FIXTURES/lint"
CHRONYD=/var/cache/pooljoin-test/chrony/usr/sbin/chronyd
# The time in the golden files' headers.
export SOURCE_DATE_EPOCH=1795660000

# One NTPv4 client query from inside namespace $1 to $2:123 (ntp_query.py): prints
# "LI stratum REFID", or fails after 2 s.
ntp_query() {
  ip netns exec "$1" python3 "$(dirname "${BASH_SOURCE[0]}")/ntp_query.py" "$2"
}

# A copy of fixture image $1 at $TEST_TMP/$2 with the distribution's leap-second data (a list
# valid until 2035) and the selection the golden files were rendered from.
image_with_selection() {
  local image="$TEST_TMP/$2"
  rm -rf "$image"
  cp -a "$IMAGES/$1" "$image"
  mkdir -p "$image/usr/share/zoneinfo/right" "$image/var/lib/pooljoin"
  cp "$POOLJOIN_FIXTURES/leap/valid.list" "$image/usr/share/zoneinfo/leap-seconds.list"
  : >"$image/usr/share/zoneinfo/right/UTC"
  cat >"$image/var/lib/pooljoin/selection.json" <<'JSON'
{"version": 1, "created": "2026-11-26T02:20:00Z", "country": "de", "zone": "de.pool.ntp.org",
 "servers": [{"host": "de.pool.ntp.org", "address": "192.0.2.1"},
             {"host": "de.pool.ntp.org", "address": "192.0.2.2"},
             {"host": "ptbtime1.ptb.de", "address": "2001:db8::123"},
             {"host": "", "address": "198.51.100.7"},
             {"host": "", "address": "2001:db8::7"}]}
JSON
  echo "$image"
}

# pooljoin in a PID namespace of its own: the daemons that other tests run in their network
# namespaces are not "running" on this machine.
own_pids() {
  printf '#!/bin/sh\nexec unshare --pid --fork --mount-proc %s "$@"\n' "$POOLJOIN" >"$TEST_TMP/pooljoin"
  chmod 755 "$TEST_TMP/pooljoin"
  echo "$TEST_TMP/pooljoin"
}
