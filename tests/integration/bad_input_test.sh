#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Bad input, systematically: every option of every subcommand (and the global ones), as
# `--help` lists them, with invalid values on the command line and in its POOLJOIN_* variable:
# exit 2 and a message naming the option. Each option also has a valid value that must not be
# refused, so that a refusal is for the value and not for something else on the line. An option
# that --help lists and the table below does not cover fails the test: a new option comes with
# its bad-input cases.
source "$(dirname "$0")/lib.sh"
require_root

# Nothing a wrongly accepted value could make pooljoin do reaches anything: no network but an
# empty loopback, --dry-run, and an image for the steps that change a system.
make_netns NS badinput
source "$(dirname "$0")/pool_site.sh"
start_site site --netns "$NS"
SITE="http://127.0.0.1:$SITE_PORT"
IMAGE="$IMAGES/debian-12"
IMAGE_INIT="$IMAGES/debian-12-ntpsec-openvz"
mkdir "$TEST_TMP/dir"
echo "ntp1.example" >"$TEST_TMP/names"
printf 'ntp1.example\nno good\n' >"$TEST_TMP/bad-names"
cp "$POOLJOIN_FIXTURES/lint/recommended-chrony.conf" "$TEST_TMP/chrony.conf"

# What makes each subcommand's line complete and quick, around the option under test: flags
# on the line (an option given twice would be refused for that), options in the environment
# (which the command line, or a later variable, overrides).
declare -A BASE=(
  [global]="detect"
  [install-ntp]="--dry-run --root $IMAGE install-ntp"
  [resolve]="--dry-run --root $IMAGE resolve"
  [gen-conf]="--dry-run --root $IMAGE gen-conf"
  [restart]="--dry-run --root $IMAGE_INIT restart"
  [firewall]="--dry-run --root $IMAGE firewall"
  [check]="check"
  [status]="--api-base $SITE status 185.255.0.1"
  # --warn-score needs --nagios.
  [status --warn-score]="--api-base $SITE status --nagios 185.255.0.1"
  # --wait waits for this machine's daemon: it cannot be combined with --server.
  [check --wait]="check"
  [submit]="--dry-run --api-base $SITE submit"
  [web-redirect]="--dry-run --root $IMAGE web-redirect"
  [join]="--dry-run --root $IMAGE_INIT join"
  [completion]="completion"
)
QUICK_PROBE="POOLJOIN_SAMPLES=1 POOLJOIN_INTERVAL=0 POOLJOIN_TIMEOUT=100ms"
declare -A BASE_ENV=(
  [resolve]="POOLJOIN_NO_PROBE=1 POOLJOIN_NO_POOL=1 POOLJOIN_NO_CATALOGUE=1"
  [check]="$QUICK_PROBE POOLJOIN_SERVER=127.0.0.1:9"
  [check --wait]="$QUICK_PROBE"
  [submit]="$QUICK_PROBE"
  [gen-conf]="POOLJOIN_UPSTREAM=192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4"
)

# The options of a subcommand ("global" for pooljoin's own) as "NAME KIND ENV" lines, from its
# --help: KIND is flag or value, ENV the variable it reads or "-"; positionals are "address".
options_from_help() {
  local help
  if [ "$1" = global ]; then help=$("$POOLJOIN" --help); else help=$("$POOLJOIN" "$1" --help); fi
  awk '
    /^Positionals:/ { section = "pos"; next }
    /^Options:/ { section = "opt"; next }
    /^[A-Z]/ { section = "" }
    section == "pos" && /^  [a-z]/ { print $1, "value", "-"; next }
    section == "opt" && /^  (-[a-zA-Z],)?--/ {
      line = substr($0, 3)
      sub(/^-[a-zA-Z],/, "", line)
      name = line; sub(/[ ].*/, "", name)
      rest = substr(line, length(name) + 1)
      if (name == "--help" || name == "--version") next
      # A flag is followed by its (Env:...) or its description; an option by its value type.
      kind = (rest ~ /^ [^ (]/) ? "value" : "flag"
      env = "-"
      if (match(rest, /\(Env:[A-Z_]+\)/)) env = substr(rest, RSTART + 5, RLENGTH - 6)
      print name, kind, env
    }' <<<"$help"
}

subcommands() {
  "$POOLJOIN" --help | awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } /^$/ { on = 0 }'
}

declare -A ENVNAME
for sub in global $(subcommands); do
  while read -r option kind env; do ENVNAME["$sub $option"]=$env; done < <(options_from_help "$sub")
done

# run SUB OPTION VALUE cli|env SECONDS: pooljoin with OPTION=VALUE on its command line, or in
# OPTION's POOLJOIN_* variable; sets RC, OUT and ERR. Bounded: a value wrongly taken for a
# long wait cannot hang the test (exit 124). SIGKILL 5 s after SIGTERM: an ASan build's leak
# check at exit can hang when a signal arrives during it.
run() {
  local sub=$1 option=$2 value=$3 how=$4 seconds=$5
  local base=(${BASE["$sub $option"]:-${BASE[$sub]}})
  local envs=(${BASE_ENV["$sub $option"]:-${BASE_ENV[$sub]:-}}) line=()
  if [ "$option" = address ] || [ "$option" = shell ]; then
    line=("$value")
  elif [ "$how" = env ]; then
    envs+=("${ENVNAME["$sub $option"]}=$value")
  else
    line=("$option=$value")
  fi
  RC=0
  if [ "$sub" = global ]; then
    env "${envs[@]}" nsenter --net="/run/netns/$NS" timeout -k 5 "$seconds" "$POOLJOIN" "${line[@]}" "${base[@]}" \
      >"$RUN_DIR/out" 2>"$RUN_DIR/err" </dev/null || RC=$?
  else
    env "${envs[@]}" nsenter --net="/run/netns/$NS" timeout -k 5 "$seconds" "$POOLJOIN" "${base[@]}" "${line[@]}" \
      >"$RUN_DIR/out" 2>"$RUN_DIR/err" </dev/null || RC=$?
  fi
  OUT=$(cat "$RUN_DIR/out")
  ERR=$(cat "$RUN_DIR/err")
}

# Problems and pending gaps, one per line, in the files of the subcommand's run.
problem() { printf '%s\n' "$*" >>"$RUN_DIR/problems"; }
# The line of stderr that says what went wrong.
gist() {
  local line
  line=$(grep -m1 -e 'error:' -e '^--' <<<"$ERR" || true)
  echo "${line:-${ERR%%$'\n'*}}"
}

# What a refusal must name: the option, or for a positional the value itself.
names_it() {
  local option=$1 value=$2
  # A value quoted in a message has its line breaks escaped.
  if [ "$option" = address ]; then [[ "$ERR" == *"'${value//$'\n'/\\n}'"* ]]; elif [ "$option" = shell ]; then [[ "$ERR" == *"shell"* ]]; else [[ "$ERR" == *"$option"* ]]; fi
}

# Each option's variable is tried with its first non-empty bad value: the variable goes through
# the same validator as the command line, and the test stays quick.
declare -A ENV_TRIED
refused() {
  local sub=$1 option=$2 value=$3 how
  for how in cli env; do
    if [ "$how" = env ]; then
      [ "${ENVNAME["$sub $option"]:--}" = - ] && continue
      # An empty variable is as good as unset (CLI11, and what Ansible's empty vars expect).
      [ -z "$value" ] && continue
      [ -n "${ENV_TRIED["$sub $option"]:-}" ] && continue
      ENV_TRIED["$sub $option"]=1
    fi
    run "$sub" "$option" "$value" "$how" 20
    if [ "$RC" != 2 ]; then
      problem "$sub $option [$value] ($how): exit $RC, expected 2: $(gist)"
    elif ! names_it "$option" "$value"; then
      problem "$sub $option [$value] ($how): the message does not name it: $(gist)"
    fi
  done
}

accepted() {
  local sub=$1 option=$2 value=$3
  # A usage error comes at once; a command still running after 3 s took the value (status
  # --watch runs until interrupted): cut short, that is fine.
  run "$sub" "$option" "$value" cli 3
  if [ "$RC" = 2 ] && names_it "$option" "$value"; then
    problem "$sub $option [$value]: a valid value was refused: $(gist)"
  fi
}

# The table is read twice: once to collect what it covers (MODE=collect), then once per
# subcommand, in parallel, running the cases of that subcommand only (MODE=run, ONLY=SUB).
MODE=collect ONLY=
declare -A COVERED
# opt SUB OPTION ok=VALUE... bad=VALUE...
opt() {
  local sub=$1 option=$2 item
  shift 2
  COVERED["$sub $option"]=1
  [ "$MODE" = run ] && [ "$sub" = "$ONLY" ] || return 0
  for item in "$@"; do
    case $item in
      ok=*) accepted "$sub" "$option" "${item#ok=}" ;;
      bad=*) refused "$sub" "$option" "${item#bad=}" ;;
      *) fail "opt $sub $option: '$item' is neither ok=VALUE nor bad=VALUE" ;;
    esac
  done
}

# pending SUB OPTION WHY bad=VALUE...: a known gap, kept in view: each value must still be
# taken (not refused with exit 2) until the gap is fixed; then this fails, and the line becomes
# an `opt` line.
pending() {
  local sub=$1 option=$2 why=$3 item value
  shift 3
  COVERED["$sub $option"]=1
  [ "$MODE" = run ] && [ "$sub" = "$ONLY" ] || return 0
  for item in "$@"; do
    value=${item#bad=}
    run "$sub" "$option" "$value" cli 20
    if [ "$RC" = 2 ] && names_it "$option" "$value"; then
      problem "$sub $option [$value] is refused now: make its pending line an opt line"
    fi
  done
  echo "$sub $option: $why" >>"$RUN_DIR/pending"
}

# A flag takes a boolean from its variable (POOLJOIN_DRY_RUN=1) or as --flag=true.
flag() {
  local sub=$1 option=$2
  COVERED["$sub $option"]=1
  [ "$MODE" = run ] && [ "$sub" = "$ONLY" ] || return 0
  refused "$sub" "$option" maybe
}

NL=$'\n'
# Values by kind, shared by the options that take them.
DURATIONS=(bad= bad=abc bad=-1s bad=1h30 bad=9999h)
COUNTRIES=(bad= bad=xx bad=deu bad="de${NL}x")
HOSTS=(bad= bad=bad_name.test bad="a b" bad="185.1.1.1${NL}restrict default" bad=-oops
  bad="host.example:123")
URLS=(bad= bad=ftp://x.example/ bad="https://x.example/a b" bad="https://user@x.example/")
DAEMONS=(ok=chrony bad= bad=openntpd bad=NTPSEC)

table() {
  local sub
  # Global options, each with `detect`.
  opt global --root ok="$IMAGE" bad= bad=/nonexistent-pooljoin bad=/etc/hostname
  opt global --api-base ok=https://mirror.example/ "${URLS[@]}" bad="https://x.example/?q=1"
  opt global --api-timeout ok=5 bad=0 bad=601 bad=abc bad=-1 bad= bad=1.5
  opt global --ca-file ok=/etc/hostname bad= bad=/nonexistent-pooljoin bad="$TEST_TMP/dir"
  opt global --keep-backups ok=3 bad=0 bad=1001 bad=abc bad=-1 bad= bad=1.5
  for option in --dry-run --json --yes --verbose --quiet --no-color --follow-symlinks; do
    flag global "$option"
  done

  opt install-ntp --daemon "${DAEMONS[@]}"
  opt global --lock-timeout ok=0 ok=60 bad=-1 bad=3601 bad=abc bad= bad=1m

  # resolve's options are join's too: the same declaration, the same checks.
  for sub in resolve join; do
    opt "$sub" --country ok=de ok=GB "${COUNTRIES[@]}"
    opt "$sub" --servers ok=4 ok=7 bad=3 bad=8 bad=five bad= bad=-5
    opt "$sub" --candidate ok=ntp1.example ok=192.0.2.1 "${HOSTS[@]}"
    opt "$sub" --candidates-file ok="$TEST_TMP/names" bad= bad=/nonexistent-pooljoin \
      bad="$TEST_TMP/dir" bad="$TEST_TMP/bad-names"
    opt "$sub" --dns-server ok=127.0.0.1 ok="[::1]:5353" bad= bad=ns.example bad=127.0.0.1:0 \
      bad=127.0.0.1:99999 bad="[::1" bad="1.2.3.4${NL}x"
    opt "$sub" --dns-timeout ok=100 bad=99 bad=30001 bad=abc bad= bad=2s
    opt "$sub" --max-stratum ok=1 ok=15 bad=0 bad=16 bad=x bad=
    flag "$sub" --no-probe
    flag "$sub" --no-pool
    flag "$sub" --no-catalogue
  done

  for sub in resolve check submit join; do
    opt "$sub" --samples ok=1 ok=20 bad=0 bad=21 bad=x bad= bad=-1
    opt "$sub" --interval ok=0 ok=100ms ok=2s "${DURATIONS[@]}" bad=61s
    opt "$sub" --timeout ok=100ms ok=3s "${DURATIONS[@]}" bad=0 bad=5ms bad=61s
  done

  for sub in gen-conf join; do
    opt "$sub" --upstream ok=192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4 \
      ok=ntp1.example,ntp2.example,ntp3.example,ntp4.example "${HOSTS[@]}" bad=0.de.pool.ntp.org \
      bad=127.127.1.0 bad=::1 bad=224.0.1.1
    flag "$sub" --force
    flag "$sub" --no-daemon-check
    flag "$sub" --fresh
  done
  opt gen-conf --daemon "${DAEMONS[@]}"
  opt gen-conf --output ok="$TEST_TMP/dir/out.conf" bad= bad=/nonexistent-pooljoin/ntp.conf \
    bad="$TEST_TMP/dir"
  opt gen-conf --lint ok="$TEST_TMP/chrony.conf" bad=/nonexistent-pooljoin bad="$TEST_TMP/dir"

  opt restart --daemon "${DAEMONS[@]}"
  for sub in restart join; do
    opt "$sub" --init ok=sysvinit bad= bad=upstart bad=SYSTEMD
    opt "$sub" --answer-timeout ok=5s ok=20 "${DURATIONS[@]}" bad=0 bad=11m
  done

  flag firewall --notrack
  flag join --notrack

  opt check --wait ok=0 ok=1s "${DURATIONS[@]}"
  for sub in check join; do
    opt "$sub" --reference ok=127.0.0.1:9 ok="[::1]:9" ok=ntp1.example ok=ntp1.example:10123 \
      "${HOSTS[@]/#bad=host.example:123/bad=host.example:0}" bad="[::1" bad=127.0.0.1:99999
  done
  opt check --server ok=127.0.0.1:9 ok="[::1]:9" "${HOSTS[@]/#bad=host.example:123/bad=host.example:0}" \
    bad="[::1" bad=127.0.0.1:99999

  opt status --watch ok=5s bad=abc bad=1s bad=4 bad=25h bad=-5m
  opt status --limit ok=1 ok=10000 bad=0 bad=10001 bad=x bad=
  opt status --min-score ok=-100 ok=9.5 ok=20 bad=20.5 bad=-101 bad=x bad=
  opt status --prometheus ok="$TEST_TMP/dir/pooljoin.prom" bad= bad=/nonexistent-pooljoin/x.prom \
    bad="$TEST_TMP/dir"
  flag status --nagios
  opt status --warn-score ok=10 ok=15 ok=20 bad=9.9 bad=20.5 bad=-101 bad=x bad=
  opt status address ok=185.255.0.1 bad=not-an-ip bad=185.255.0.1:123 bad="185.255.0.1${NL}x" \
    bad=

  for sub in submit join; do
    opt "$sub" --hostname ok=ntp1.example bad= bad="bad name" bad=-x bad=bad_name.example \
      bad="x${NL}y" bad="$(printf 'a%.0s' {1..64}).example"
    opt "$sub" --bandwidth ok=1 ok=100 bad=0 bad=100001 bad=x bad= bad=1.5
    flag "$sub" --open
    opt "$sub" --verify-url ok=https://manage.ntppool.org/verify/abc "${URLS[@]}"
    opt "$sub" --verify-url4 ok=https://manage.ntppool.org/verify/abc "${URLS[@]}"
    opt "$sub" --verify-url6 ok=https://manage.ntppool.org/verify/abc "${URLS[@]}"
  done
  opt submit address ok=185.255.0.1 bad=not-an-ip bad=185.255.0.1:123 bad=

  for sub in web-redirect join; do
    opt "$sub" --web-server ok=nginx bad= bad=lighttpd bad=NGINX
    opt "$sub" --mode ok=rewrite bad= bad=redirect bad=ALIAS
    opt "$sub" --target ok=https://www.ntppool.org/ "${URLS[@]}" bad='https://x.example/$1' \
      bad="https://x.example/a;b" bad="https://x.example/{a}"
  done

  opt join --daemon "${DAEMONS[@]}"
  flag join --refresh
  opt join --wait ok=1m "${DURATIONS[@]}"
  flag join --web-redirect
  opt completion shell ok=bash ok=zsh ok=fish bad=tcsh bad=
}

# Each subcommand's cases in a process of its own, at most PARALLEL at a time: most of the time
# goes into starting pooljoin, and some cases wait (a valid --wait, --watch).
PARALLEL=4

# How many of the given processes still run. (Not `wait` alone: it would also wait for the
# test site, which never ends.)
running() { jobs -rp | grep -cxFf <(printf '%s\n' "$@") || true; }

test_every_option_refuses_bad_values_naming_the_option() {
  MODE=collect
  RUN_DIR="$TEST_TMP/collect"
  mkdir -p "$RUN_DIR"
  table
  local sub option kind missing=() pids=()
  for sub in global $(subcommands); do
    while read -r option kind _; do
      [ -n "${COVERED["$sub $option"]:-}" ] || missing+=("$sub $option ($kind)")
    done < <(options_from_help "$sub")
  done
  [ ${#missing[@]} = 0 ] || fail "no bad-input case for: $(printf '[%s] ' "${missing[@]}")(add them to the table)"

  for sub in global $(subcommands); do
    (
      MODE=run ONLY=$sub RUN_DIR="$TEST_TMP/run.$sub"
      mkdir -p "$RUN_DIR"
      : >"$RUN_DIR/problems"
      table
      touch "$RUN_DIR/done"
    ) &
    pids+=($!)
    while [ "$(running "${pids[@]}")" -ge "$PARALLEL" ]; do wait -n || true; done
  done
  while [ "$(running "${pids[@]}")" -gt 0 ]; do wait -n || true; done
  for sub in global $(subcommands); do
    [ -f "$TEST_TMP/run.$sub/done" ] || fail "the cases of $sub did not run to the end"
  done
  local problems
  problems=$(cat "$TEST_TMP"/run.*/problems)
  [ -z "$problems" ] || { echo "$problems" >&2; fail "$(wc -l <<<"$problems") problems"; }
  echo "  ${#COVERED[@]} options covered, each with its bad values on the command line and in its variable"
  cat "$TEST_TMP"/run.*/pending 2>/dev/null | sed "s/^/  pending: /" || true
}

run_tests "$@"
