#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Shell completion: the committed scripts under completions/ are what the binary generates, and
# bash, zsh and fish each load them and complete every subcommand and option that `--help`
# shows, option values (choices, files, directories) and operands.
source "$(dirname "$0")/lib.sh"

SOURCE_DIR=$(cd "$POOLJOIN_FIXTURES/../.." && pwd)
COMPLETIONS=$SOURCE_DIR/completions
HERE=$(cd "$(dirname "$0")" && pwd)

# A shell the tests need: skipped on a developer's machine without it, a failure in CI (where
# scripts/setup --test installs it).
require_shell() {
  command -v "$1" >/dev/null && return 0
  [ -n "${CI:-}" ] && fail "$1 is not installed (scripts/setup --test installs it)"
  echo "SKIP: $1 is not installed"
  exit 77
}

# Each shell completes a list of cases in one process (starting a shell, and zsh's compinit,
# per case would cost seconds): `want LINE WORD...` adds a case, `check_cases SHELL` runs them
# and compares what was offered with the WORDs as sets (a directory's trailing "/" aside). The
# completers print "N<TAB>MATCH[<TAB>DESCRIPTION]" for the Nth line, the cursor at its end.
CASE_LINES=()
CASE_WORDS=()
want() {
  local line=$1 IFS=$'\n'
  shift
  CASE_LINES+=("$line")
  CASE_WORDS+=("$*")
}

check_cases() {
  local shell=$1 i n word msg=""
  printf '%s\n' "${CASE_LINES[@]}" >"$TEST_TMP/lines"
  : >"$TEST_TMP/wanted"
  for i in "${!CASE_LINES[@]}"; do
    while IFS= read -r word; do
      printf '%d\t%s\n' $((i + 1)) "$word" >>"$TEST_TMP/wanted"
    done <<<"${CASE_WORDS[i]}"
  done
  "${shell}_complete" "$TEST_TMP/lines" >"$TEST_TMP/offered" 2>"$TEST_TMP/complete-err" ||
    fail "$shell could not complete: $(cat "$TEST_TMP/complete-err")"
  local f
  for f in wanted offered; do
    awk -F'\t' -v OFS='\t' '{ sub(/\/$/, "", $2) } $2 != "" { print $1, $2 }' "$TEST_TMP/$f" |
      sort -u >"$TEST_TMP/$f.set"
  done
  if ! cmp -s "$TEST_TMP/wanted.set" "$TEST_TMP/offered.set"; then
    for n in $(diff "$TEST_TMP/wanted.set" "$TEST_TMP/offered.set" | sed -n 's/^[<>] \([0-9]*\)\t.*/\1/p' | sort -un); do
      msg+=$'\n'"  [${CASE_LINES[n - 1]}]: offered [$(awk -F'\t' -v n="$n" '$1 == n {print $2}' "$TEST_TMP/offered.set" | paste -sd' ')], expected [$(awk -F'\t' -v n="$n" '$1 == n {print $2}' "$TEST_TMP/wanted.set" | paste -sd' ')]"
    done
    fail "$shell does not complete as expected ($(wc -l <"$TEST_TMP/lines") cases):$msg"
  fi
  CASE_LINES=()
  CASE_WORDS=()
}

# The words are split as readline does for this script: at blanks, and `--option=value` into
# "--option", "=", "value". The function is the one `complete -p pooljoin` names.
bash_complete() {
  bash --norc --noprofile -c '
    source "$1" || exit 1
    spec=$(complete -p pooljoin) || exit 1
    fn=${spec##*-F }
    fn=${fn%% *}
    n=0
    while IFS= read -r line; do
      n=$((n + 1))
      read -r -a words <<<"$line"
      [[ $line == *" " ]] && words+=("")
      COMP_WORDS=()
      for word in "${words[@]}"; do
        if [[ $word == --*=* ]]; then
          COMP_WORDS+=("${word%%=*}" "=" "${word#*=}")
        else
          COMP_WORDS+=("$word")
        fi
      done
      COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
      COMP_LINE=$line
      COMP_POINT=${#line}
      COMPREPLY=()
      "$fn" pooljoin "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
      for match in "${COMPREPLY[@]}"; do printf "%s\t%s\n" "$n" "$match"; done
    done <"$2"
  ' _ "$COMPLETIONS/pooljoin.bash" "$1"
}

zsh_complete() {
  timeout 60 zsh -f "$HERE/zsh_complete.zsh" "$TEST_TMP/zfunc" "$TEST_TMP/zcompdump" "$1"
}

# fish prints "MATCH<TAB>DESCRIPTION".
fish_complete() {
  fish --no-config -c '
    source $argv[1]; or exit 1
    set -l n 0
    while read -l line
      set n (math $n + 1)
      for match in (complete -C $line)
        printf "%s\t%s\n" $n $match
      end
    end <$argv[2]' "$COMPLETIONS/pooljoin.fish" "$1"
}

# The subcommands `pooljoin --help` lists, and the options `pooljoin [SUB] --help` lists (asked
# once, kept for the three shells).
help_subcommands() {
  [ -f "$TEST_TMP/help.subcommands" ] ||
    "$POOLJOIN" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF {print $1}' >"$TEST_TMP/help.subcommands"
  cat "$TEST_TMP/help.subcommands"
}
help_options() {
  local cache="$TEST_TMP/help.options.${1:-global}"
  [ -f "$cache" ] ||
    "$POOLJOIN" "$@" --help | awk '/^  -/ {print $1}' | tr ',' '\n' | grep -E '^--?[a-zA-Z]' | sort -u >"$cache"
  cat "$cache"
}

# Every subcommand, and every option --help shows, before and after each subcommand.
want_what_help_shows() {
  local subs globals own sub
  mapfile -t subs < <(help_subcommands)
  [ "${#subs[@]}" -ge 10 ] || fail "pooljoin --help lists ${#subs[@]} subcommands"
  want "pooljoin " "${subs[@]}"
  mapfile -t globals < <(help_options)
  want "pooljoin -" "${globals[@]}"
  for sub in "${subs[@]}"; do
    mapfile -t own < <(help_options "$sub")
    want "pooljoin $sub -" "${own[@]}" "${globals[@]}"
  done
}

# Files and directories the value completions must tell apart.
make_tree() {
  mkdir -p "$TEST_TMP/tree/alpha-dir" "$TEST_TMP/tree/beta-dir"
  : >"$TEST_TMP/tree/alpha-file"
  : >"$TEST_TMP/tree/ntp.conf"
  mkdir -p "$TEST_TMP/zfunc"
  cp "$COMPLETIONS/_pooljoin" "$TEST_TMP/zfunc/"
}

# The cases every shell must complete the same way; run from $TEST_TMP/tree.
want_the_common_cases() {
  want "pooljoin gen-" gen-conf
  want "pooljoin install-ntp --daemon " auto ntpsec ntp chrony
  want "pooljoin --json restart --init o" openrc
  want "pooljoin web-redirect --mode " alias rewrite
  want "pooljoin completion " bash zsh fish
  want "pooljoin --root alpha-dir detect --ro" --root
  # A global option's value before the subcommand is not taken for the subcommand.
  want "pooljoin --root alpha-dir g" gen-conf
  want "pooljoin --api-timeout 5 st" status
  # Directories only for --root, files for FILE values.
  want "pooljoin --root al" alpha-dir
  want "pooljoin resolve --candidates-file alpha-f" alpha-file
  want "pooljoin gen-conf --output ntp" ntp.conf
  # --lint's FILE may be left out: a file, or the next option.
  want "pooljoin gen-conf --lint ntp" ntp.conf
  want "pooljoin gen-conf --lint --no-d" --no-daemon-check
}

test_committed_scripts_are_what_the_binary_generates() {
  local shell file
  for shell in bash zsh fish; do
    case $shell in
      bash) file=pooljoin.bash ;;
      zsh) file=_pooljoin ;;
      fish) file=pooljoin.fish ;;
    esac
    env -u POOLJOIN_JSON "$POOLJOIN" completion "$shell" >"$TEST_TMP/$file" ||
      fail "pooljoin completion $shell failed"
    diff -u "$COMPLETIONS/$file" "$TEST_TMP/$file" >"$TEST_TMP/diff" ||
      fail "completions/$file differs from \`pooljoin completion $shell\`; run \`cmake --build --preset dev --target completions\` and commit the result:
$(head -40 "$TEST_TMP/diff")"
  done
  pj 2 completion tcsh
  assert_contains "$ERR" "tcsh not in {bash,zsh,fish}"
  pj 0 --json completion fish
  assert_eq "$(jqr .shell)" "fish"
  assert_eq "$(jqr .script)" "$(cat "$COMPLETIONS/pooljoin.fish")"
}

test_bash_completes_what_help_shows() {
  bash --norc --noprofile -c 'source "$1" && complete -p pooljoin' _ "$COMPLETIONS/pooljoin.bash" \
    >"$TEST_TMP/spec" 2>&1 || fail "bash could not load the script: $(cat "$TEST_TMP/spec")"
  assert_eq "$(cat "$TEST_TMP/spec")" "complete -F _pooljoin pooljoin"
  make_tree
  cd "$TEST_TMP/tree"
  want_what_help_shows
  want_the_common_cases
  # bash splits --option=value at '='.
  want "pooljoin --root=al" alpha-dir
  want "pooljoin install-ntp --daemon=nt" ntpsec ntp
  check_cases bash
}

test_zsh_completes_what_help_shows() {
  require_shell zsh
  make_tree
  # Loaded from $fpath by compinit (how the package installs it; this writes the dump file the
  # cases below load) ...
  zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -d "$2"; print -r -- $_comps[pooljoin]' \
    _ "$TEST_TMP/zfunc" "$TEST_TMP/zcompdump" >"$TEST_TMP/comps" 2>&1 ||
    fail "compinit failed: $(cat "$TEST_TMP/comps")"
  assert_eq "$(cat "$TEST_TMP/comps")" "_pooljoin"
  # ... or sourced after compinit (from that dump, fpath without the script).
  zsh -f -c 'autoload -Uz compinit; compinit -u -d "$2"; unfunction _pooljoin 2>/dev/null
             unset "_comps[pooljoin]"; source "$1" && print -r -- $_comps[pooljoin]
             [[ $functions[_pooljoin] == *_arguments* ]] && print defined' \
    _ "$COMPLETIONS/_pooljoin" "$TEST_TMP/zcompdump" >"$TEST_TMP/comps" 2>&1 ||
    fail "source failed: $(cat "$TEST_TMP/comps")"
  assert_eq "$(cat "$TEST_TMP/comps")" $'_pooljoin\ndefined'
  cd "$TEST_TMP/tree"
  want_what_help_shows
  want_the_common_cases
  want "pooljoin install-ntp --daemon=nt" ntpsec ntp
  check_cases zsh
}

test_fish_completes_what_help_shows() {
  require_shell fish
  fish --no-config -n "$COMPLETIONS/pooljoin.fish" 2>"$TEST_TMP/err" ||
    fail "fish -n rejects the script: $(cat "$TEST_TMP/err")"
  fish --no-config -c 'source $argv[1]' "$COMPLETIONS/pooljoin.fish" 2>"$TEST_TMP/err" ||
    fail "fish could not load the script: $(cat "$TEST_TMP/err")"
  assert_eq "$(cat "$TEST_TMP/err")" ""
  make_tree
  cd "$TEST_TMP/tree"
  want_what_help_shows
  want_the_common_cases
  want "pooljoin install-ntp --daemon=nt" --daemon=ntpsec --daemon=ntp
  check_cases fish
}

run_tests "$@"
