#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `pooljoin join`, end to end, in Debian 12 system images (--root) whose /usr is this machine's
# (read-only: ntpsec is installed there, and chroot finds systemctl): a real DNS server (dnsmasq)
# and NTP responders in a network namespace of the test's own stand for the pool's zone. Driven
# unattended (cloud-init's way), through a real terminal (tmux), interrupted, and as a dry run.
source "$(dirname "$0")/lib.sh"
require_root
command -v ntpd >/dev/null && [ -x /etc/init.d/ntpsec ] ||
  skip_all "ntpsec is not installed (scripts/setup --test)"
command -v dnsmasq >/dev/null || skip_all "dnsmasq is not installed"
: "${NTP_RESPONDER:?NTP_RESPONDER must name the test responder}"

# The zone: 0-3.de.pool.ntp.org and 0.europe.pool.ntp.org answer with addresses outside the
# namespace (a machine's own addresses are never its upstreams), each in a /24 of its own,
# where responders serve the time.
ZONE_ADDRESSES=$DE_ZONE_ADDRESSES
make_netns NS join
# shellcheck disable=SC2086
outside_of ZONE_NS "$NS" 1 $ZONE_ADDRESSES
de_zone_hosts "$TEST_TMP/hosts"
ip netns exec "$NS" dnsmasq --keep-in-foreground --port=53 --listen-address=127.0.0.1 --bind-interfaces \
  --conf-file=/dev/null --no-resolv --no-hosts --addn-hosts="$TEST_TMP/hosts" --local=/#/ \
  --pid-file="$TEST_TMP/dnsmasq.pid" --log-facility="$TEST_TMP/dnsmasq.log" &
on_exit kill $!
serve=() delay=5
for a in $ZONE_ADDRESSES; do serve+=(--serve "$a:123,delay=$delay") && delay=$((delay + 10)); done
ip netns exec "$ZONE_NS" "$NTP_RESPONDER" "${serve[@]}" >"$TEST_TMP/responder.out" 2>&1 &
on_exit kill $!
for _ in $(seq 50); do
  grep -q '^ready' "$TEST_TMP/responder.out" &&
    ip netns exec "$NS" dig +short +time=1 @127.0.0.1 0.de.pool.ntp.org >/dev/null 2>&1 && break
  sleep 0.1
done
grep -q '^ready' "$TEST_TMP/responder.out" || fail "responder not ready: $(cat "$TEST_TMP/responder.out")"

# make_image DIR [TIMEZONE]: a Debian 12 image using the namespace's DNS server.
make_image() {
  local root=$1
  mkdir -p "$root/usr" "$root/dev" "$root/proc" "$root/etc/init.d"
  cp "$IMAGES/debian-12/etc/os-release" "$root/etc/"
  cp -a /etc/init.d/ntpsec "$root/etc/init.d/"
  for d in bin sbin lib lib64; do [ -L "/$d" ] && ln -s "usr/$d" "$root/$d"; done
  echo "nameserver 127.0.0.1" >"$root/etc/resolv.conf"
  [ -z "${2:-}" ] || echo "$2" >"$root/etc/timezone"
}

# in_image ROOT CMD...: CMD in the test's namespace, with the host's /usr (read-only) and /dev
# mounted in ROOT for as long as it runs.
in_image() { "$(dirname "$0")/join_in_image.sh" "$NS" "$@"; }

# pji ROOT EXPECTED ARGS...: pooljoin --root ROOT ARGS in the image, no terminal on stdin.
pji() {
  local root=$1 expected=$2 rc=0
  shift 2
  in_image "$root" "$POOLJOIN" --root "$root" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  [ "$rc" = "$expected" ] || fail "pooljoin --root $root $* exited $rc, expected $expected"
}

# snapshot DIR: every file under DIR but the bind-mount points and pooljoin's state file, with
# its mode, time of change and checksum: what "changes nothing" compares.
# state.json's times and the run lock's PID change with every run: their content is left out.
snapshot() {
  (cd "$1" && find . \( -path ./usr -o -path ./dev -o -path ./proc -o -path ./var/lib/pooljoin/state.json \
    -o -path ./run/lock/pooljoin.lock \) \
    -prune -o -type f -print0 | sort -z | xargs -0 -r -n1 sh -c 'echo "$(stat -c "%n %a %Y" "$1") $(sha256sum <"$1")"' _)
}

statuses() { jqr '[.steps[] | "\(.step)=\(.status)"] | join(" ")'; }

test_unattended_run_joins_the_image_and_a_second_run_changes_nothing() {
  local root="$TEST_TMP/unattended"
  make_image "$root" Europe/Berlin
  # The distribution's stock config, as Debian's ntpsec package leaves it.
  mkdir -p "$root/etc/ntpsec"
  printf 'driftfile /var/lib/ntpsec/ntp.drift\npool 0.debian.pool.ntp.org iburst\n' >"$root/etc/ntpsec/ntp.conf"
  local t0=$SECONDS
  pji "$root" 0 --yes --json join
  assert_eq "$(jqr .status)" "ok"
  assert_eq "$(statuses)" "detect=done install-ntp=unchanged resolve=done gen-conf=done restart=done firewall=unchanged check=skipped web-redirect=skipped submit=skipped"
  # The country came from the image's time zone; the servers are the zone's, measured.
  assert_contains "$ERR" "time zone Europe/Berlin (from /etc/timezone) is in DE"
  local conf="$root/etc/ntpsec/ntp.conf"
  assert_eq "$(grep -c '^server 185\.255\.[0-9]*\.1 iburst' "$conf")" "5"
  assert_contains "$(cat "$conf")" "restrict default kod limited nomodify notrap nopeer noquery"
  # The stock config is kept beside it, as it was.
  local backups=("$root"/etc/ntpsec/ntp.conf.pooljoin-*.bak)
  assert_eq "${#backups[@]}" "1"
  assert_contains "$(cat "${backups[0]}")" "pool 0.debian.pool.ntp.org iburst"
  # The real ntpd of this machine read the config before it was written.
  assert_contains "$(jqr '.steps[] | select(.step == "gen-conf") | .result.daemon_check')" "/usr/sbin/ntpd"
  # Enabled at boot in the image by its own systemctl; nothing was started.
  [ -L "$root/etc/systemd/system/multi-user.target.wants/ntpsec.service" ] ||
    fail "ntpsec is not enabled in the image"
  # What was saved: the selection, and each step's outcome.
  local state="$root/var/lib/pooljoin/state.json"
  assert_eq "$(jq -r '[.servers[].address] | length' "$root/var/lib/pooljoin/selection.json")" "5"
  assert_eq "$(jq -r '.steps["gen-conf"].status, .steps.restart.status, .restart_pending' "$state" | xargs)" \
    "done done false"
  assert_eq "$(jq -r '.stopped_at // ""' "$state")" ""
  echo "# first run: $((SECONDS - t0)) s" >&2

  # The second run: every step done and verified, nothing touched.
  local before
  before=$(snapshot "$root")
  t0=$SECONDS
  pji "$root" 0 --yes --json join
  assert_eq "$(statuses)" "detect=done install-ntp=unchanged resolve=unchanged gen-conf=unchanged restart=unchanged firewall=unchanged check=skipped web-redirect=skipped submit=skipped"
  assert_eq "$(snapshot "$root")" "$before" "the second run changed the image"
  [ $((SECONDS - t0)) -le 10 ] || fail "the second run took $((SECONDS - t0)) s: it measured again"
  # -q: the result only.
  pji "$root" 0 -q --yes join
  assert_eq "$OUT" "join: done"
  assert_eq "$ERR" ""
  # --refresh measures again.
  pji "$root" 0 --yes --json join --refresh
  assert_eq "$(jqr '.steps[] | select(.step == "resolve") | .status')" "done"
}

test_unattended_answers_come_from_flags_or_nothing_changes() {
  local root="$TEST_TMP/noanswer"
  make_image "$root" Etc/UTC
  local before
  before=$(snapshot "$root/etc")
  # --yes answers yes-or-no questions only; the country is not one of them.
  pji "$root" 2 --yes join
  assert_contains "$ERR" "an answer is needed: Which country is this server in"
  assert_contains "$ERR" "pass --country CC (or POOLJOIN_COUNTRY=CC)"
  # No terminal and no --yes: the first change needs an answer nobody gave.
  pji "$root" 2 join --country de
  assert_contains "$ERR" "an answer is needed: Write /etc/ntpsec/ntp.conf?"
  assert_contains "$ERR" "re-run with --yes"
  # Bad values are refused before any step runs.
  pji "$root" 2 --yes join --country xx
  assert_contains "$ERR" "--country: \"xx\" is no country pooljoin knows"
  pji "$root" 2 --yes join --candidate $'ntp.example\nrestrict default'
  assert_contains "$ERR" "--candidate"
  pji "$root" 2 --yes join --wait forever
  assert_contains "$ERR" "--wait"
  [ ! -e "$root/etc/ntpsec/ntp.conf" ] || fail "a refused run wrote the config"
  # Only pooljoin's own state (where the runs stopped, the measured servers) changed.
  assert_eq "$(snapshot "$root/etc")" "$before"
  # From the environment, as cloud-init may pass it.
  local rc=0
  in_image "$root" env POOLJOIN_YES=1 POOLJOIN_COUNTRY=de POOLJOIN_JSON=1 "$POOLJOIN" --root "$root" join \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  assert_eq "$rc" "0" "$(cat "$TEST_TMP/err")"
  assert_eq "$(jqr .status)" "ok"
  assert_eq "$(jq -r .country "$root/var/lib/pooljoin/selection.json")" "de"
}

test_dry_run_shows_the_whole_plan_offline_and_changes_nothing() {
  local root="$TEST_TMP/dry"
  cp -a "$IMAGES/debian-12" "$root"
  cp -a /etc/init.d "$root/etc/"
  chmod -R a+rX "$root"
  local before
  before=$(cd "$root" && find . -printf '%p %s %T@\n' | sort)
  # No network in a namespace of its own (a private address, no route, no DNS server), and no
  # root.
  local offline
  make_netns offline offline
  ip -n "$offline" addr add 10.123.0.2/32 dev lo
  local rc=0
  ip netns exec "$offline" setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
    "$POOLJOIN" --dry-run --root "$root" join --country de >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  assert_eq "$rc" "0" "$ERR"
  assert_contains "$ERR" "using the catalogue's last known addresses"
  assert_contains "$OUT" "apt-get -o DPkg::Lock::Timeout=120 install -y ntpsec"
  assert_contains "$OUT" "restrict default kod limited nomodify notrap nopeer noquery"
  assert_contains "$OUT" "server 192.53.103.108 iburst  # resolved from ptbtime1.ptb.de"
  # The image has init scripts but no update-rc.d: said, not guessed.
  assert_contains "$ERR" "neither update-rc.d nor chkconfig found: make sure /etc/init.d/ntpsec starts at boot"
  assert_contains "$ERR" "join --dry-run: the plan (nothing was changed)"
  # The same as one JSON document, with each step's result.
  ip netns exec "$offline" "$POOLJOIN" --dry-run --json --root "$root" join --country de \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || fail "the JSON dry run failed"
  OUT=$(cat "$TEST_TMP/out")
  assert_eq "$(statuses)" "detect=done install-ntp=planned resolve=planned gen-conf=planned restart=planned firewall=unchanged check=planned web-redirect=skipped submit=planned"
  assert_eq "$(jqr '.steps[] | select(.step == "gen-conf") | .result.config_path')" "/etc/ntpsec/ntp.conf"
  assert_contains "$(jqr '.steps[] | select(.step == "gen-conf") | .result.content')" "server 192.53.103.108 iburst"
  assert_eq "$(cd "$root" && find . -printf '%p %s %T@\n' | sort)" "$before" "a dry run changed the image"
}

test_ctrl_c_while_measuring_leaves_nothing_half_done() {
  local root="$TEST_TMP/sigint"
  make_image "$root" Europe/Berlin
  # A zone whose servers never answer: the measurement waits for its timeouts.
  "$(dirname "$0")/join_in_image.sh" "$NS" "$root" "$POOLJOIN" --root "$root" --yes join \
    --candidate 185.255.99.1 >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null &
  local pid=$! i
  for ((i = 0; i < 100; i++)); do
    grep -q "measuring" "$TEST_TMP/err" && break
    sleep 0.05
  done
  grep -q "measuring" "$TEST_TMP/err" || fail "join never started measuring: $(cat "$TEST_TMP/err")"
  kill -INT "$pid"  # join_in_image.sh execs: $pid is pooljoin
  local rc=0
  wait "$pid" || rc=$?
  ERR=$(cat "$TEST_TMP/err")
  assert_eq "$rc" "130" "$ERR"
  assert_contains "$ERR" "interrupted during resolve"
  # The hint repeats what the run was told: its image and its candidate.
  assert_contains "$ERR" "run \`pooljoin --root $root join --candidate 185.255.99.1\` again to resume from resolve"
  local state="$root/var/lib/pooljoin/state.json"
  assert_eq "$(jq -r '.stopped_at, .steps.resolve.status' "$state" | xargs)" "resolve interrupted"
  [ ! -e "$root/var/lib/pooljoin/selection.json" ] || fail "an interrupted resolve saved a selection"
  [ ! -e "$root/etc/ntpsec/ntp.conf" ] || fail "an interrupted join wrote the config"
  [ -z "$(find "$root" -name '*.tmp*' -o -name '.pooljoin-*')" ] || fail "a temporary file was left"
  # The next run resumes there and finishes.
  pji "$root" 0 --yes join
  assert_contains "$ERR" "resuming: the last run stopped at resolve"
  assert_eq "$(jq -r '.stopped_at // ""' "$state")" ""
}

# The wizard through a real terminal: tmux runs it, the test reads the screen and types.
TMUX_SOCKET="pj-join-$$"
screen_text() { tmux -L "$TMUX_SOCKET" capture-pane -p -J -S -300 -t wizard; }
# wait_for TEXT: until TEXT is on the screen (10 s at most).
wait_for() {
  local i
  for ((i = 0; i < 200; i++)); do
    [[ "$(screen_text)" == *"$1"* ]] && return 0
    sleep 0.05
  done
  fail "never saw [$1] on the terminal: $(screen_text)"
}
type_line() { tmux -L "$TMUX_SOCKET" send-keys -t wizard -l "$1" && tmux -L "$TMUX_SOCKET" send-keys -t wizard Enter; }
# wizard ROOT ARGS...: starts `pooljoin --root ROOT ARGS` on the terminal; its exit code goes
# to $TEST_TMP/wizard.rc.
wizard() {
  local root=$1
  shift
  rm -f "$TEST_TMP/wizard.rc"
  tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null || true
  on_exit tmux -L "$TMUX_SOCKET" kill-server
  printf '%q ' "$(dirname "$0")/join_in_image.sh" "$NS" "$root" "$POOLJOIN" --root "$root" "$@" \
    >"$TEST_TMP/wizard.cmd"
  tmux -L "$TMUX_SOCKET" new-session -d -s wizard -x 180 -y 50 \
    "bash -c '. $TEST_TMP/wizard.cmd; echo \$? >$TEST_TMP/wizard.rc; sleep 60'"
}
wizard_rc() {
  local i
  for ((i = 0; i < 300; i++)); do
    [ -s "$TEST_TMP/wizard.rc" ] && { cat "$TEST_TMP/wizard.rc"; return; }
    sleep 0.05
  done
  fail "the wizard did not finish: $(screen_text)"
}

test_interactive_wizard_asks_only_what_it_needs() {
  command -v tmux >/dev/null || skip "tmux is not installed (scripts/setup --test)"
  local root="$TEST_TMP/wizard"
  make_image "$root" Etc/UTC
  wizard "$root" join
  # The time zone says nothing about the country: asked, and a bad answer asked again.
  wait_for "Which country is this server in (a two-letter code or a name, e.g. de, uk, France)?"
  type_line "xx"
  wait_for "\"xx\" is no country pooljoin knows: give a two-letter ISO 3166 code"
  # A name is as good as the code (tzdata's iso3166.tab names it).
  type_line "Germany"
  # Every wait longer than a second has a progress line: here, the servers being measured.
  wait_for " addresses  1 s"
  # The new config is shown before it is written; Enter takes the default, yes.
  wait_for "Write /etc/ntpsec/ntp.conf? [Y/n]"
  assert_contains "$(screen_text)" "server 185.255.40.1 iburst"
  type_line ""
  wait_for "Enable ntpsec at boot in $root? [Y/n]"
  type_line "n"
  assert_eq "$(wizard_rc)" "2"
  assert_contains "$(screen_text)" "join: stopped at restart"
  # The country the operator typed is in the hint, so the resumed run does not ask again.
  assert_contains "$(screen_text)" "run \`pooljoin --root $root join --country de\` again to resume from restart"
  [ -f "$root/etc/ntpsec/ntp.conf" ] || fail "the config was not written"
  [ ! -e "$root/etc/systemd/system/multi-user.target.wants/ntpsec.service" ] ||
    fail "declined, yet enabled"
  # Resumed: only the declined step is asked again; the web server question defaults to no.
  wizard "$root" join
  wait_for "resuming: the last run stopped at restart"
  wait_for "Enable ntpsec at boot in $root? [Y/n]"
  assert_not_contains "$(screen_text)" "Write /etc/ntpsec/ntp.conf?"
  assert_not_contains "$(screen_text)" "Which country"
  type_line "y"
  wait_for "redirect its HTTP requests to the pool's site? [y/N]"
  type_line ""
  assert_eq "$(wizard_rc)" "0"
  assert_contains "$(screen_text)" "join: done"
  [ -L "$root/etc/systemd/system/multi-user.target.wants/ntpsec.service" ] || fail "not enabled"
  # Ctrl-C at a question: exit 130, nothing changed, and where to resume.
  wizard "$root" join --refresh
  wait_for "Which country is this server in"
  tmux -L "$TMUX_SOCKET" send-keys -t wizard C-c
  assert_eq "$(wizard_rc)" "130"
  assert_contains "$(screen_text)" "interrupted during resolve"
}

run_tests "$@"
