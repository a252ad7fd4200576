#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `pooljoin web-redirect`: plans, refused targets, and the real nginx and Apache of this machine
# checking (nginx -t, apachectl -t) and serving the redirect. The real runs happen in network,
# mount and PID namespaces of the test's own, with overlays on /etc and /var and a tmpfs on /run:
# the machine's own web server configuration is never touched.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/conf_lib.sh"

# sandbox NAME: runs the bash script on stdin as root in fresh namespaces where /etc and /var are
# writable copies; $POOLJOIN and $OUTDIR (the test's directory) are set for it. Its output goes
# to $TEST_TMP/NAME.log.
sandbox() {
  local name=$1 ns
  make_netns ns "web-$name"
  mkdir -p "$TEST_TMP/$name"/{etc,etc-work,var,var-work}
  cat >"$TEST_TMP/$name/script.sh"
  ip netns exec "$ns" unshare --mount --propagation private --pid --fork --mount-proc \
    env POOLJOIN="$POOLJOIN" OUTDIR="$TEST_TMP" bash -c '
      set -u
      d=$OUTDIR/'"$name"'
      mount -t overlay pooljoin-etc -o "lowerdir=/etc,upperdir=$d/etc,workdir=$d/etc-work" /etc
      mount -t overlay pooljoin-var -o "lowerdir=/var,upperdir=$d/var,workdir=$d/var-work" /var
      mount -t tmpfs -o mode=755 pooljoin-run /run
      mkdir -p /run/lock
      source "$d/script.sh"
    ' >"$TEST_TMP/$name.log" 2>&1
}

# run NAME ARGS...: inside a sandbox script, runs pooljoin and keeps its output and exit status.
# result NAME: sets OUT, ERR and RC from it, outside.
result() { OUT=$(cat "$TEST_TMP/$1.out"); ERR=$(cat "$TEST_TMP/$1.err"); RC=$(cat "$TEST_TMP/$1.rc"); }
RUN='run() { local name=$1 rc=0; shift; "$POOLJOIN" "$@" >"$OUTDIR/$name.out" 2>"$OUTDIR/$name.err" </dev/null || rc=$?; echo $rc >"$OUTDIR/$name.rc"; }'

need_web_servers() {
  require_root
  command -v nginx >/dev/null && command -v apachectl >/dev/null ||
    skip_all "nginx and apache2 are not installed (scripts/setup --test)"
}

test_dry_run_prints_the_site_and_the_commands() {
  need_web_servers
  local real=$POOLJOIN
  POOLJOIN=$(own_pids)
  pj 2 --dry-run web-redirect
  assert_contains "$ERR" "both nginx and Apache are installed (neither is running); choose one with --web-server"
  pj 0 --dry-run web-redirect --web-server nginx
  assert_eq "$OUT" "# /etc/nginx/sites-available/pooljoin-redirect:
$(cat "$GOLDEN/web-nginx.conf")
ln -s /etc/nginx/sites-available/pooljoin-redirect /etc/nginx/sites-enabled/pooljoin-redirect
rm /etc/nginx/sites-enabled/default
/usr/sbin/nginx -t"
  assert_contains "$ERR" "note: disables the stock site /etc/nginx/sites-enabled/default"
  pj 0 --dry-run --json web-redirect --web-server apache --mode rewrite
  assert_eq "$(jqr .content)" "$(cat "$GOLDEN/web-apache-rewrite.conf")"
  assert_eq "$(jqr '.commands | map(join(" ")) | join(";")')" "a2enmod -q rewrite;a2ensite -q 00-pooljoin-redirect;a2dissite -q 000-default"
  assert_eq "$(jqr '.check | join(" ")')" "/usr/sbin/apachectl -t"
  # A dry run needs no root; the real thing does.
  POOLJOIN=$real
  pj_as nobody 0 --dry-run web-redirect --web-server nginx
  pj_as nobody 77 web-redirect --web-server nginx
  # Images: the distribution's layout.
  local root="$TEST_TMP/rocky"
  cp -a "$IMAGES/rocky-9" "$root"
  mkdir -p "$root/usr/sbin" && : >"$root/usr/sbin/httpd"
  pj 0 --dry-run --json --root "$root" web-redirect
  assert_eq "$(jqr '"\(.web_server) \(.path)"')" "apache $root/etc/httpd/conf.d/00-pooljoin-redirect.conf"
  pj 69 --dry-run --root "$IMAGES/debian-12" web-redirect
  assert_contains "$ERR" "no web server is installed"
}

test_targets_that_could_inject_are_refused() {
  need_web_servers
  local bad
  for bad in 'https://x.org/;return 200' $'https://x.org/\nRedirect / http://evil/' \
    'https://x.org/ x' 'https://x.org/"' 'https://x.org/$host' 'https://x.org/%{HTTP_HOST}' \
    'ftp://x.org/' 'https://x.org/page.html'; do
    pj 2 web-redirect --web-server apache --target "$bad"
    assert_contains "$ERR" "--target"
    assert_not_contains "$ERR" $'\nRedirect'
  done
  pj 2 web-redirect --web-server nginx --mode bogus
}

test_nginx_redirects_every_request() {
  need_web_servers
  sandbox nginx <<SCRIPT
$RUN
run unattended web-redirect --web-server nginx
ls /etc/nginx/sites-enabled >"\$OUTDIR/enabled-before"
run nginx --yes web-redirect --web-server nginx
ls /etc/nginx/sites-enabled >"\$OUTDIR/enabled-after"
nginx -t >"\$OUTDIR/nginx-t" 2>&1
nginx
for i in \$(seq 50); do curl -s -o /dev/null http://127.0.0.1/ && break; sleep 0.1; done
curl -sS -o /dev/null -w '%{http_code} %{redirect_url}\n' http://127.0.0.1/some/page >"\$OUTDIR/v4"
curl -sS -o /dev/null -w '%{http_code} %{redirect_url}\n' -H 'Host: anything.example' 'http://[::1]/' >"\$OUTDIR/v6"
nginx -s quit
run again --yes web-redirect --web-server nginx
SCRIPT
  # Unattended, the stock site is not disabled without --yes; nothing changes.
  result unattended
  assert_eq "$RC" "2"
  assert_contains "$ERR" "an answer is needed: Disable /etc/nginx/sites-enabled/default?"
  assert_eq "$(cat "$TEST_TMP/enabled-before")" "default"
  result nginx
  assert_eq "$RC" "0" "$ERR"
  assert_contains "$OUT" "wrote /etc/nginx/sites-available/pooljoin-redirect: HTTP requests to this server go to https://www.ntppool.org/"
  assert_contains "$OUT" "checked: \`/usr/sbin/nginx -t\` accepts it"
  assert_contains "$ERR" "\$ /usr/sbin/nginx -t"
  assert_eq "$(cat "$TEST_TMP/enabled-after")" "pooljoin-redirect"
  cmp -s "$TEST_TMP/nginx/etc/nginx/sites-available/pooljoin-redirect" "$GOLDEN/web-nginx.conf" ||
    fail "the written site differs from the golden file"
  assert_contains "$(cat "$TEST_TMP/nginx-t")" "test is successful"
  # The real nginx sends every request, by IPv4 or IPv6 and whatever the name, to the pool.
  assert_eq "$(cat "$TEST_TMP/v4")" "301 https://www.ntppool.org/"
  assert_eq "$(cat "$TEST_TMP/v6")" "301 https://www.ntppool.org/"
  result again
  assert_eq "$RC" "0" "$ERR"
  assert_contains "$OUT" "already redirects to https://www.ntppool.org/"
}

test_apache_alias_and_rewrite() {
  need_web_servers
  sandbox apache <<SCRIPT
$RUN
serve() {
  apachectl start >/dev/null 2>&1
  for i in \$(seq 50); do curl -s -o /dev/null http://127.0.0.1/ && break; sleep 0.1; done
  curl -sS -o /dev/null -w '%{http_code} %{redirect_url}\n' http://127.0.0.1/some/page >"\$OUTDIR/\$1"
  apachectl stop >/dev/null 2>&1
  for i in \$(seq 50); do [ -e /run/apache2/apache2.pid ] || break; sleep 0.1; done
}
run alias --yes web-redirect --web-server apache
ls /etc/apache2/sites-enabled >"\$OUTDIR/enabled"
serve served-alias
run rewrite --yes web-redirect --web-server apache --mode rewrite --target https://www.ntppool.org/en/
serve served-rewrite
SCRIPT
  result alias
  assert_eq "$RC" "0" "$ERR"
  assert_contains "$ERR" "\$ a2ensite -q 00-pooljoin-redirect"
  assert_contains "$ERR" "\$ a2dissite -q 000-default"
  assert_contains "$OUT" "checked: \`/usr/sbin/apachectl -t\` accepts it"
  assert_eq "$(cat "$TEST_TMP/enabled")" "00-pooljoin-redirect.conf"
  # mod_alias keeps the path; mod_rewrite sends everything to the target itself.
  assert_eq "$(cat "$TEST_TMP/served-alias")" "301 https://www.ntppool.org/some/page"
  result rewrite
  assert_eq "$RC" "0" "$ERR"
  assert_contains "$ERR" "\$ a2enmod -q rewrite"
  assert_contains "$OUT" "previous file kept as /etc/apache2/sites-available/00-pooljoin-redirect.conf.pooljoin-"
  assert_eq "$(cat "$TEST_TMP/served-rewrite")" "301 https://www.ntppool.org/en/"
}

test_a_failing_check_takes_everything_back() {
  need_web_servers
  sandbox broken <<SCRIPT
$RUN
printf 'server {\n  listen 8080;\n  bogus_directive on;\n}\n' >/etc/nginx/sites-available/broken
ln -s /etc/nginx/sites-available/broken /etc/nginx/sites-enabled/broken
run broken --yes web-redirect --web-server nginx
ls -l /etc/nginx/sites-enabled | awk 'NR > 1 {print \$9, \$10, \$11}' >"\$OUTDIR/enabled"
ls /etc/nginx/sites-available >"\$OUTDIR/available"
SCRIPT
  result broken
  assert_eq "$RC" "1"
  assert_contains "$ERR" "pooljoin: error: nginx rejects the configuration with the redirect"
  assert_contains "$ERR" "the redirect was taken back out and the previous files restored"
  assert_contains "$ERR" "unknown directive \"bogus_directive\""
  # The stock site is enabled again, the redirect gone.
  assert_eq "$(cat "$TEST_TMP/enabled")" "broken -> /etc/nginx/sites-available/broken
default -> /etc/nginx/sites-available/default"
  assert_eq "$(cat "$TEST_TMP/available" | tr '\n' ' ')" "broken default "
}

run_tests "$@"
