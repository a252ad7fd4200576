# bash completion for pooljoin. Generated from pooljoin's command line by `pooljoin completion bash`;
# do not edit. Regenerate with `cmake --build --preset dev --target completions`.

# _pooljoin_options SUBCOMMAND: the options valid there, the subcommand's and the global ones.
_pooljoin_options() {
  case $1 in
    detect) echo "-h --help --root --dry-run --json -y --yes -v --verbose -q --quiet --no-color --api-base --api-timeout --ca-file --follow-symlinks --lock-timeout --keep-backups --version" ;;
    install-ntp) echo "-h --help --daemon --root --dry-run --json -y --yes -v --verbose -q --quiet --no-color --api-base --api-timeout --ca-file --follow-symlinks --lock-timeout --keep-backups --version" ;;
    resolve) echo "-h --help --country --servers --candidate --candidates-file --dns-server --dns-timeout --max-stratum --no-probe --no-pool --no-catalogue --samples --interval --timeout --root --dry-run --json -y --yes -v --verbose -q --quiet --no-color --api-base --api-timeout --ca-file --follow-symlinks --lock-timeout --keep-backups --version" ;;
    gen-conf) echo "-h --help --upstream --force --no-daemon-check --fresh --daemon --output --lint --root --dry-run --json -y --yes -v --verbose -q --quiet --no-color --api-base --api-timeout --ca-file --follow-symlinks --lock-timeout --keep-backups --version" ;;
    restart) echo "-h --help --daemon --init --answer-timeout --root --dry-run --json -y --yes -v --verbose -q --quiet --no-color --api-base --api-timeout --ca-file --follow-symlinks --lock-timeout --keep-backups --version" ;;
    firewall) echo "-h --help --notrack --root --dry-run --json -y --yes -v --verbose -q --quiet --no-color --api-base --api-timeout --ca-file --follow-symlinks --lock-timeout --keep-backups --version" ;;
    check) echo "-h --help --reference --wait --server --samples --interval --timeout --root --dry-run --json -y --yes -v --verbose -q --quiet --no-color --api-base --api-timeout --ca-file --follow-symlinks --lock-timeout --keep-backups --version" ;;
    status) echo "-h --help --watch --min-score --limit --prometheus --nagios --warn-score --root --dry-run --json -y --yes -v --verbose -q --quiet --no-color --api-base --api-timeout --ca-file --follow-symlinks --lock-timeout --keep-backups --version" ;;
    submit) echo "-h --help --samples --interval --timeout --hostname --bandwidth --open --verify-url --verify-url4 --verify-url6 --root --dry-run --json -y --yes -v --verbose -q --quiet --no-color --api-base --api-timeout --ca-file --follow-symlinks --lock-timeout --keep-backups --version" ;;
    web-redirect) echo "-h --help --web-server --mode --target --root --dry-run --json -y --yes -v --verbose -q --quiet --no-color --api-base --api-timeout --ca-file --follow-symlinks --lock-timeout --keep-backups --version" ;;
    join) echo "-h --help --daemon --country --servers --candidate --candidates-file --dns-server --dns-timeout --max-stratum --no-probe --no-pool --no-catalogue --samples --interval --timeout --refresh --upstream --force --no-daemon-check --fresh --init --answer-timeout --notrack --reference --wait --web-redirect --web-server --mode --target --hostname --bandwidth --open --verify-url --verify-url4 --verify-url6 --root --dry-run --json -y --yes -v --verbose -q --quiet --no-color --api-base --api-timeout --ca-file --follow-symlinks --lock-timeout --keep-backups --version" ;;
    completion) echo "-h --help --root --dry-run --json -y --yes -v --verbose -q --quiet --no-color --api-base --api-timeout --ca-file --follow-symlinks --lock-timeout --keep-backups --version" ;;
    *) echo "-h --help --root --dry-run --json -y --yes -v --verbose -q --quiet --no-color --api-base --api-timeout --ca-file --follow-symlinks --lock-timeout --keep-backups --version" ;;
  esac
}

# _pooljoin_value SUBCOMMAND OPTION: what the option's value is: none (a flag), text, file, dir or
# "choice WORD...", with "optional-" in front when the value may be left out.
_pooljoin_value() {
  case "$1 $2" in
    "install-ntp --daemon") echo "choice auto ntpsec ntp chrony" ;;
    "resolve --country") echo "text" ;;
    "resolve --servers") echo "text" ;;
    "resolve --candidate") echo "text" ;;
    "resolve --candidates-file") echo "file" ;;
    "resolve --dns-server") echo "text" ;;
    "resolve --dns-timeout") echo "text" ;;
    "resolve --max-stratum") echo "text" ;;
    "resolve --samples") echo "text" ;;
    "resolve --interval") echo "text" ;;
    "resolve --timeout") echo "text" ;;
    "gen-conf --upstream") echo "text" ;;
    "gen-conf --daemon") echo "choice auto ntpsec ntp chrony" ;;
    "gen-conf --output") echo "file" ;;
    "gen-conf --lint") echo "optional-file" ;;
    "restart --daemon") echo "choice auto ntpsec ntp chrony" ;;
    "restart --init") echo "choice auto systemd sysvinit openrc runit" ;;
    "restart --answer-timeout") echo "text" ;;
    "check --reference") echo "text" ;;
    "check --wait") echo "text" ;;
    "check --server") echo "text" ;;
    "check --samples") echo "text" ;;
    "check --interval") echo "text" ;;
    "check --timeout") echo "text" ;;
    "status --watch") echo "optional-text" ;;
    "status --min-score") echo "text" ;;
    "status --limit") echo "text" ;;
    "status --prometheus") echo "file" ;;
    "status --warn-score") echo "text" ;;
    "submit --samples") echo "text" ;;
    "submit --interval") echo "text" ;;
    "submit --timeout") echo "text" ;;
    "submit --hostname") echo "text" ;;
    "submit --bandwidth") echo "text" ;;
    "submit --verify-url") echo "text" ;;
    "submit --verify-url4") echo "text" ;;
    "submit --verify-url6") echo "text" ;;
    "web-redirect --web-server") echo "choice auto nginx apache" ;;
    "web-redirect --mode") echo "choice alias rewrite" ;;
    "web-redirect --target") echo "text" ;;
    "join --daemon") echo "choice auto ntpsec ntp chrony" ;;
    "join --country") echo "text" ;;
    "join --servers") echo "text" ;;
    "join --candidate") echo "text" ;;
    "join --candidates-file") echo "file" ;;
    "join --dns-server") echo "text" ;;
    "join --dns-timeout") echo "text" ;;
    "join --max-stratum") echo "text" ;;
    "join --samples") echo "text" ;;
    "join --interval") echo "text" ;;
    "join --timeout") echo "text" ;;
    "join --upstream") echo "text" ;;
    "join --init") echo "choice auto systemd sysvinit openrc runit" ;;
    "join --answer-timeout") echo "text" ;;
    "join --reference") echo "text" ;;
    "join --wait") echo "text" ;;
    "join --web-server") echo "choice auto nginx apache" ;;
    "join --mode") echo "choice alias rewrite" ;;
    "join --target") echo "text" ;;
    "join --hostname") echo "text" ;;
    "join --bandwidth") echo "text" ;;
    "join --verify-url") echo "text" ;;
    "join --verify-url4") echo "text" ;;
    "join --verify-url6") echo "text" ;;
    *" --root") echo "dir" ;;
    *" --api-base") echo "text" ;;
    *" --api-timeout") echo "text" ;;
    *" --ca-file") echo "file" ;;
    *" --lock-timeout") echo "text" ;;
    *" --keep-backups") echo "text" ;;
    *) echo none ;;
  esac
}

# _pooljoin_operand SUBCOMMAND: what the subcommand's operands are.
_pooljoin_operand() {
  case $1 in
    status) echo "text" ;;
    submit) echo "text" ;;
    completion) echo "choice bash zsh fish" ;;
    *) echo none ;;
  esac
}

# _pooljoin_offer KIND WORD: fills COMPREPLY with the values of KIND that start with WORD.
_pooljoin_offer() {
  case $1 in
    file)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$2")
      ;;
    dir)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -d -- "$2")
      ;;
    choice\ *) mapfile -t COMPREPLY < <(compgen -W "${1#choice }" -- "$2") ;;
    *) COMPREPLY=() ;;
  esac
}

_pooljoin() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local sub="" word kind i
  COMPREPLY=()
  # The subcommand: the first word that is neither an option nor an option's value. bash splits
  # `--option=value` into three words, "--option", "=" and "value".
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    [[ $word == -- ]] && break
    if [[ $word == -* ]]; then
      if [[ ${COMP_WORDS[i + 1]:-} == = ]]; then
        ((i += 2))
        continue
      fi
      kind=$(_pooljoin_value "$sub" "$word")
      case $kind in
        none) ;;
        optional-*) [[ $((i + 1)) -lt $COMP_CWORD && ${COMP_WORDS[i + 1]} != -* ]] && ((i++)) ;;
        *) ((i++)) ;;
      esac
    elif [[ -z $sub ]]; then
      sub=$word
    fi
  done

  # The value of an option: `--option VALUE`, `--option=VALUE`.
  local option="" value=$cur
  if [[ $cur == = && $prev == -* ]]; then
    option=$prev
    value=""
  elif [[ $prev == = && $COMP_CWORD -ge 2 ]]; then
    option=${COMP_WORDS[COMP_CWORD - 2]}
  elif [[ $prev == -* ]]; then
    option=$prev
  fi
  if [[ -n $option ]]; then
    kind=$(_pooljoin_value "$sub" "$option")
    if [[ $kind == optional-* ]]; then
      if [[ $value == -* ]]; then kind=none; else kind=${kind#optional-}; fi
    fi
    if [[ $kind != none ]]; then
      _pooljoin_offer "$kind" "$value"
      return 0
    fi
  fi

  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(_pooljoin_options "$sub")" -- "$cur")
  elif [[ -z $sub ]]; then
    mapfile -t COMPREPLY < <(compgen -W "detect install-ntp resolve gen-conf restart firewall check status submit web-redirect join completion" -- "$cur")
  else
    _pooljoin_offer "$(_pooljoin_operand "$sub")" "$cur"
  fi
  return 0
}

complete -F _pooljoin pooljoin
