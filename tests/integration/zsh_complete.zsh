#!/usr/bin/env zsh -f
# zsh_complete.zsh FPATH_DIR DUMP LINES_FILE: for each line of LINES_FILE (the cursor at its end),
# prints the matches zsh's real completion system offers as "N<TAB>MATCH", N counting lines from
# 1. One interactive zsh runs on a pseudo-terminal (zpty), loads compinit with FPATH_DIR in
# $fpath (and its dump file DUMP: scanning $fpath takes seconds, loading the dump none), and gets
# each line and a Tab, then ^U to kill the line; compadd is wrapped to report what it adds.
zmodload zsh/zpty || exit 1
local fdir=$1 dump=$2 lines_file=$3
zpty capture zsh -f -i
zpty -w capture "fpath=(${(q)fdir} \$fpath); autoload -Uz compinit; compinit -u -d ${(q)dump}"
zpty -w capture 'PROMPT= RPROMPT=; unsetopt beep; bindkey -e'
zpty -w capture 'zstyle ":completion:*" list-grouped false; zstyle ":completion:*" insert-tab false'
# The markers are split in what is typed, so that the echo of the typing never matches them.
zpty -w capture '_capture_done() { compstate[insert]=""; compstate[list]=""; print -r -- "<<""END>>" >/dev/tty; }'
zpty -w capture 'compadd() { local -a hits; builtin compadd -A hits "$@"; builtin compadd "$@"; (( $#hits )) && print -rl -- "<<""M>>"${^hits} >/dev/tty; return 0 }'
# Completion clears comppostfuncs after each use: Tab sets it again, then completes.
zpty -w capture '_capture_tab() { comppostfuncs=(_capture_done); zle complete-word; }; zle -N _capture_tab'
zpty -w capture 'bindkey "^I" _capture_tab'
local n=0 line out piece
local -a pieces matches
for line in "${(@f)$(<$lines_file)}"; do
  (( n++ ))
  zpty -n -w capture "$line"$'\t'
  # Reads until the end marker (blocking: the caller bounds the time, e.g. with timeout(1)).
  out=""
  zpty -r -m capture out '*<<END>>*' || { print -u2 "zsh_complete: no end of completion for [$line]"; exit 1; }
  zpty -n -w capture $'\C-u'
  pieces=("${(@s:<<M>>:)out}")
  shift pieces
  matches=()
  for piece in $pieces; do matches+=("${${piece%%$'\r'*}%%$'\n'*}"); done
  for piece in ${(u)matches}; do print -r -- "$n"$'\t'"$piece"; done
done
zpty -d capture
