# fish completion for pooljoin. Generated from pooljoin's command line by `pooljoin completion fish`;
# do not edit. Regenerate with `cmake --build --preset dev --target completions`.

# The subcommand on the command line: the first word that is neither an option nor the value of
# a global option.
function __pooljoin_subcommand
    set -l words (commandline -opc)
    set -e words[1]
    set -l skip 0
    for word in $words
        if test $skip = 1
            set skip 0
            continue
        end
        switch $word
            case --root --api-base --api-timeout --ca-file --lock-timeout --keep-backups
                set skip 1
            case '-*'
            case '*'
                echo $word
                return 0
        end
    end
    return 1
end

function __pooljoin_needs_subcommand
    not __pooljoin_subcommand >/dev/null
end

# __pooljoin_using SUBCOMMAND [OPTION]: the subcommand is SUBCOMMAND (and the word before the cursor
# is OPTION).
function __pooljoin_using
    set -l sub (__pooljoin_subcommand)
    or return 1
    test "$sub" = $argv[1]
    or return 1
    if set -q argv[2]
        set -l words (commandline -opc)
        test "$words[-1]" = $argv[2]
    end
end

complete -c pooljoin -f

# Global options, before or after the subcommand.
complete -c pooljoin -s h -l help -d 'Print this help message and exit'
complete -c pooljoin -l root -x -a '(__fish_complete_directories (commandline -ct) "")' -d 'Operate on the system image rooted at DIR: every file read or written is under it'
complete -c pooljoin -l dry-run -d 'Print the plan and change nothing (needs no root)'
complete -c pooljoin -l json -d 'Machine-readable result on stdout; messages on stderr'
complete -c pooljoin -s y -l yes -d 'Never prompt: accept what the step would ask about'
complete -c pooljoin -s v -l verbose -d 'Say more: the facts each step decides from, the commands as they run'
complete -c pooljoin -s q -l quiet -d 'Print only the result (and errors)'
complete -c pooljoin -l no-color -d 'No colour (also when NO_COLOR is set)'
complete -c pooljoin -l api-base -x -d 'The pool\'s site, for its score API (a mirror, or a test server)'
complete -c pooljoin -l api-timeout -x -d 'Seconds an HTTP request may take (each attempt; failed ones are retried twice)'
complete -c pooljoin -l ca-file -r -F -d 'Verify HTTPS servers against the CA certificates in FILE (PEM) instead of the system\'s; verification itself is never turned off'
complete -c pooljoin -l follow-symlinks -d 'Where a file to write is a symbolic link, write the regular file it leads to (inside --root); without it such a write is refused (exit 73)'
complete -c pooljoin -l lock-timeout -x -d 'Seconds to wait for a lock another run holds: another pooljoin changing this system, or the package manager (then exit 69 naming it)'
complete -c pooljoin -l keep-backups -x -d 'Keep the newest N backups of each file written; older ones are removed'
complete -c pooljoin -l version -d 'Display program version information and exit'

# Subcommands.
complete -c pooljoin -n '__pooljoin_needs_subcommand' -a detect -d 'Show what pooljoin sees: distribution, package manager, init system, virtualisation, NTP daemons, global addresses'
complete -c pooljoin -n '__pooljoin_needs_subcommand' -a install-ntp -d 'Install the NTP daemon with the distribution\'s package manager'
complete -c pooljoin -n '__pooljoin_needs_subcommand' -a resolve -d 'Pick nearby upstream servers and resolve their A/AAAA records'
complete -c pooljoin -n '__pooljoin_needs_subcommand' -a gen-conf -d 'Render ntpd.conf (or chrony.conf) the way the pool asks'
complete -c pooljoin -n '__pooljoin_needs_subcommand' -a restart -d 'Restart the NTP daemon through the init system in use'
complete -c pooljoin -n '__pooljoin_needs_subcommand' -a firewall -d 'Let UDP 123 in through the host firewall in force, persistently'
complete -c pooljoin -n '__pooljoin_needs_subcommand' -a check -d 'Probe UDP 123 and the daemon\'s sync state as the pool\'s monitors will'
complete -c pooljoin -n '__pooljoin_needs_subcommand' -a status -d 'Show the pool\'s score of this server'
complete -c pooljoin -n '__pooljoin_needs_subcommand' -a submit -d 'Pre-flight checks and what to enter on the pool\'s site'
complete -c pooljoin -n '__pooljoin_needs_subcommand' -a web-redirect -d 'Optional: redirect HTTP on this server to the pool\'s site'
complete -c pooljoin -n '__pooljoin_needs_subcommand' -a join -d 'All of the steps, in order: the whole guide as one wizard'
complete -c pooljoin -n '__pooljoin_needs_subcommand' -a completion -d 'Print the completion script for bash, zsh or fish'

# install-ntp
complete -c pooljoin -n '__pooljoin_using install-ntp' -l daemon -x -a 'auto ntpsec ntp chrony' -d 'Which daemon: auto (keep an installed one, else pooljoin\'s pick for the distribution: ntpsec on Fedora, whose own default is chrony), ntpsec, ntp or chrony'

# resolve
complete -c pooljoin -n '__pooljoin_using resolve' -l country -x -d 'Country whose pool zone to use: ISO 3166 code, the pool\'s zone name (uk) or name (default: from the system\'s time zone)'
complete -c pooljoin -n '__pooljoin_using resolve' -l servers -x -d 'How many upstream servers to select (the pool asks 4 to 7)'
complete -c pooljoin -n '__pooljoin_using resolve' -l candidate -x -d 'Also consider this server (host name or address; a private address is taken as a server on the local network); repeatable'
complete -c pooljoin -n '__pooljoin_using resolve' -l candidates-file -r -F -d 'Also consider the servers in FILE, one per line (# comments)'
complete -c pooljoin -n '__pooljoin_using resolve' -l dns-server -x -d 'Ask this DNS server instead of /etc/resolv.conf; repeatable'
complete -c pooljoin -n '__pooljoin_using resolve' -l dns-timeout -x -d 'Milliseconds a DNS server has to answer each try'
complete -c pooljoin -n '__pooljoin_using resolve' -l max-stratum -x -d 'Reject upstreams above this stratum (3 keeps this server at stratum 4 or better)'
complete -c pooljoin -n '__pooljoin_using resolve' -l no-probe -d 'Select without measuring the servers over NTP'
complete -c pooljoin -n '__pooljoin_using resolve' -l no-pool -d 'Do not take candidates from the pool\'s zones'
complete -c pooljoin -n '__pooljoin_using resolve' -l no-catalogue -d 'Do not take candidates from the built-in catalogue'
complete -c pooljoin -n '__pooljoin_using resolve' -l samples -x -d 'Queries per address (the monitors send 3)'
complete -c pooljoin -n '__pooljoin_using resolve' -l interval -x -d 'Pause between the queries to one address (the monitors wait 2s; at most 1m)'
complete -c pooljoin -n '__pooljoin_using resolve' -l timeout -x -d 'How long to wait for each reply (the monitors wait 3s; 10ms to 1m)'

# gen-conf
complete -c pooljoin -n '__pooljoin_using gen-conf' -l upstream -x -d 'An upstream server by address (repeat 4 to 7 times, or separate with commas; a private address is a server on the local network); default: the selection saved by `pooljoin resolve`'
complete -c pooljoin -n '__pooljoin_using gen-conf' -l force -d 'Accept fewer than 4 or more than 7 upstream servers'
complete -c pooljoin -n '__pooljoin_using gen-conf' -l no-daemon-check -d 'Write the config without having the daemon check it first'
complete -c pooljoin -n '__pooljoin_using gen-conf' -l fresh -d 'Keep none of the previous config\'s own lines (statistics, keys, NTS, reference clocks, interfaces): by default they are carried into the new file'
complete -c pooljoin -n '__pooljoin_using gen-conf' -l daemon -x -a 'auto ntpsec ntp chrony' -d 'Whose config: auto (the detected daemon), ntpsec, ntp or chrony'
complete -c pooljoin -n '__pooljoin_using gen-conf' -l output -r -F -d 'Write the config to FILE (as is, not checked by the daemon), or to stdout with -, instead of the daemon\'s config file'
complete -c pooljoin -n '__pooljoin_using gen-conf' -l lint -d 'Check FILE (default: the daemon\'s live config; - for stdin) against the pool\'s rules instead of writing; exit 1 on a violation'
complete -c pooljoin -n '__pooljoin_using gen-conf --lint' -F

# restart
complete -c pooljoin -n '__pooljoin_using restart' -l daemon -x -a 'auto ntpsec ntp chrony' -d 'Which daemon: auto (the detected one), ntpsec, ntp or chrony'
complete -c pooljoin -n '__pooljoin_using restart' -l init -x -a 'auto systemd sysvinit openrc runit' -d 'The init system: auto (detected), systemd, sysvinit, openrc or runit'
complete -c pooljoin -n '__pooljoin_using restart' -l answer-timeout -x -d 'How long the restarted daemon has to answer on 127.0.0.1:123 (1s to 10m)'

# firewall
complete -c pooljoin -n '__pooljoin_using firewall' -l notrack -d 'Also exempt UDP 123 from connection tracking (a busy pool server fills the conntrack table)'

# check
complete -c pooljoin -n '__pooljoin_using check' -l reference -x -d 'Measure this machine\'s clock against this server (HOST, HOST:PORT); repeatable, three or more (default: the daemon\'s usable upstreams, else the servers resolve chose)'
complete -c pooljoin -n '__pooljoin_using check' -l wait -x -d 'First wait up to DURATION (e.g. 5m) for the daemon to synchronise'
complete -c pooljoin -n '__pooljoin_using check' -l server -x -d 'Check this server (HOST, HOST:PORT, [IPv6]:PORT) instead of this machine; repeatable'
complete -c pooljoin -n '__pooljoin_using check' -l samples -x -d 'Queries per address (the monitors send 3)'
complete -c pooljoin -n '__pooljoin_using check' -l interval -x -d 'Pause between the queries to one address (the monitors wait 2s; at most 1m)'
complete -c pooljoin -n '__pooljoin_using check' -l timeout -x -d 'How long to wait for each reply (the monitors wait 3s; 10ms to 1m)'

# status
complete -c pooljoin -n '__pooljoin_using status' -l watch -d 'Refresh every INTERVAL (30s, 5m, or seconds; default 60s) until interrupted'
complete -c pooljoin -n '__pooljoin_using status' -l min-score -x -d 'Exit 1 when an address scores below SCORE (or has none): for cron and monitoring; with --nagios, CRITICAL below it (default 10)'
complete -c pooljoin -n '__pooljoin_using status' -l limit -x -d 'How many score points to fetch per address (all monitors together)'
complete -c pooljoin -n '__pooljoin_using status' -l prometheus -r -F -d 'Also write the scores to FILE in node_exporter\'s textfile format (atomically)'
complete -c pooljoin -n '__pooljoin_using status' -l nagios -d 'Print one Nagios/Icinga plugin line and exit 0 OK, 1 WARNING, 2 CRITICAL (below --min-score, default 10) or 3 UNKNOWN'
complete -c pooljoin -n '__pooljoin_using status' -l warn-score -x -d 'With --nagios: WARNING below SCORE (at least --min-score)'

# submit
complete -c pooljoin -n '__pooljoin_using submit' -l samples -x -d 'Queries per address (the monitors send 3)'
complete -c pooljoin -n '__pooljoin_using submit' -l interval -x -d 'Pause between the queries to one address (the monitors wait 2s; at most 1m)'
complete -c pooljoin -n '__pooljoin_using submit' -l timeout -x -d 'How long to wait for each reply (the monitors wait 3s; 10ms to 1m)'
complete -c pooljoin -n '__pooljoin_using submit' -l hostname -x -d 'The server\'s name, entered on the site instead of the addresses when it resolves to exactly them (default: this machine\'s fully qualified name)'
complete -c pooljoin -n '__pooljoin_using submit' -l bandwidth -x -d 'The server\'s connection speed in Mbit/s, for the recommended net speed'
complete -c pooljoin -n '__pooljoin_using submit' -l open -d 'Open the pool\'s add-server page in the desktop\'s browser (xdg-open)'
complete -c pooljoin -n '__pooljoin_using submit' -l verify-url -x -d 'Prove ownership: request the site\'s validation URL from each of the server\'s own addresses (of the URL\'s family when its host is an address)'
complete -c pooljoin -n '__pooljoin_using submit' -l verify-url4 -x -d 'The site\'s validation URL for IPv4: requested from each IPv4 address'
complete -c pooljoin -n '__pooljoin_using submit' -l verify-url6 -x -d 'The site\'s validation URL for IPv6: requested from each IPv6 address'

# web-redirect
complete -c pooljoin -n '__pooljoin_using web-redirect' -l web-server -x -a 'auto nginx apache' -d 'Which web server: auto (the one installed), nginx or apache'
complete -c pooljoin -n '__pooljoin_using web-redirect' -l mode -x -a 'alias rewrite' -d 'Apache\'s module: alias (Redirect permanent /) or rewrite (RewriteRule)'
complete -c pooljoin -n '__pooljoin_using web-redirect' -l target -x -d 'Where HTTP requests go'

# join
complete -c pooljoin -n '__pooljoin_using join' -l daemon -x -a 'auto ntpsec ntp chrony' -d 'Which daemon, for every step: auto (keep an installed one, else pooljoin\'s pick for the distribution), ntpsec, ntp or chrony'
complete -c pooljoin -n '__pooljoin_using join' -l country -x -d 'Country whose pool zone to use: ISO 3166 code, the pool\'s zone name (uk) or name (default: from the system\'s time zone)'
complete -c pooljoin -n '__pooljoin_using join' -l servers -x -d 'How many upstream servers to select (the pool asks 4 to 7)'
complete -c pooljoin -n '__pooljoin_using join' -l candidate -x -d 'Also consider this server (host name or address; a private address is taken as a server on the local network); repeatable'
complete -c pooljoin -n '__pooljoin_using join' -l candidates-file -r -F -d 'Also consider the servers in FILE, one per line (# comments)'
complete -c pooljoin -n '__pooljoin_using join' -l dns-server -x -d 'Ask this DNS server instead of /etc/resolv.conf; repeatable'
complete -c pooljoin -n '__pooljoin_using join' -l dns-timeout -x -d 'Milliseconds a DNS server has to answer each try'
complete -c pooljoin -n '__pooljoin_using join' -l max-stratum -x -d 'Reject upstreams above this stratum (3 keeps this server at stratum 4 or better)'
complete -c pooljoin -n '__pooljoin_using join' -l no-probe -d 'Select without measuring the servers over NTP'
complete -c pooljoin -n '__pooljoin_using join' -l no-pool -d 'Do not take candidates from the pool\'s zones'
complete -c pooljoin -n '__pooljoin_using join' -l no-catalogue -d 'Do not take candidates from the built-in catalogue'
complete -c pooljoin -n '__pooljoin_using join' -l samples -x -d 'Queries per address (the monitors send 3)'
complete -c pooljoin -n '__pooljoin_using join' -l interval -x -d 'Pause between the queries to one address (the monitors wait 2s; at most 1m)'
complete -c pooljoin -n '__pooljoin_using join' -l timeout -x -d 'How long to wait for each reply (the monitors wait 3s; 10ms to 1m)'
complete -c pooljoin -n '__pooljoin_using join' -l refresh -d 'Choose the upstream servers again even when a selection is saved'
complete -c pooljoin -n '__pooljoin_using join' -l upstream -x -d 'An upstream server by address (repeat 4 to 7 times, or separate with commas; a private address is a server on the local network); default: the selection saved by `pooljoin resolve`'
complete -c pooljoin -n '__pooljoin_using join' -l force -d 'Accept fewer than 4 or more than 7 upstream servers'
complete -c pooljoin -n '__pooljoin_using join' -l no-daemon-check -d 'Write the config without having the daemon check it first'
complete -c pooljoin -n '__pooljoin_using join' -l fresh -d 'Keep none of the previous config\'s own lines (statistics, keys, NTS, reference clocks, interfaces): by default they are carried into the new file'
complete -c pooljoin -n '__pooljoin_using join' -l init -x -a 'auto systemd sysvinit openrc runit' -d 'The init system: auto (detected), systemd, sysvinit, openrc or runit'
complete -c pooljoin -n '__pooljoin_using join' -l answer-timeout -x -d 'How long the restarted daemon has to answer on 127.0.0.1:123 (1s to 10m)'
complete -c pooljoin -n '__pooljoin_using join' -l notrack -d 'Also exempt UDP 123 from connection tracking (a busy pool server fills the conntrack table)'
complete -c pooljoin -n '__pooljoin_using join' -l reference -x -d 'Measure this machine\'s clock against this server (HOST, HOST:PORT); repeatable, three or more (default: the daemon\'s usable upstreams, else the servers resolve chose)'
complete -c pooljoin -n '__pooljoin_using join' -l wait -x -d 'First wait up to DURATION (e.g. 5m) for the daemon to synchronise'
complete -c pooljoin -n '__pooljoin_using join' -l web-redirect -d 'Also redirect HTTP on this server to the pool\'s site'
complete -c pooljoin -n '__pooljoin_using join' -l web-server -x -a 'auto nginx apache' -d 'Which web server: auto (the one installed), nginx or apache'
complete -c pooljoin -n '__pooljoin_using join' -l mode -x -a 'alias rewrite' -d 'Apache\'s module: alias (Redirect permanent /) or rewrite (RewriteRule)'
complete -c pooljoin -n '__pooljoin_using join' -l target -x -d 'Where HTTP requests go'
complete -c pooljoin -n '__pooljoin_using join' -l hostname -x -d 'The server\'s name, entered on the site instead of the addresses when it resolves to exactly them (default: this machine\'s fully qualified name)'
complete -c pooljoin -n '__pooljoin_using join' -l bandwidth -x -d 'The server\'s connection speed in Mbit/s, for the recommended net speed'
complete -c pooljoin -n '__pooljoin_using join' -l open -d 'Open the pool\'s add-server page in the desktop\'s browser (xdg-open)'
complete -c pooljoin -n '__pooljoin_using join' -l verify-url -x -d 'Prove ownership: request the site\'s validation URL from each of the server\'s own addresses (of the URL\'s family when its host is an address)'
complete -c pooljoin -n '__pooljoin_using join' -l verify-url4 -x -d 'The site\'s validation URL for IPv4: requested from each IPv4 address'
complete -c pooljoin -n '__pooljoin_using join' -l verify-url6 -x -d 'The site\'s validation URL for IPv6: requested from each IPv6 address'

# completion
complete -c pooljoin -n '__pooljoin_using completion' -a 'bash zsh fish'
