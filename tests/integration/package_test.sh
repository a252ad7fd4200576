#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The packages: CPack builds the .deb (and the .rpm where rpmbuild exists) from this build tree
# with the right dependencies and files; apt-get installs the .deb; the installed pooljoin runs
# (--version, a dry run of join with its built-in templates, or POOLJOIN_TEMPLATES's),
# the man page and the completions are where man, zsh and fish look; then the package is purged
# and dpkg's view of the machine is exactly as before.
source "$(dirname "$0")/lib.sh"

: "${POOLJOIN_BUILD_DIR:?POOLJOIN_BUILD_DIR must name the build tree to package}"
SOURCE_DIR=$(cd "$POOLJOIN_FIXTURES/../.." && pwd)
VERSION=$(cat "$SOURCE_DIR/VERSION")
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -o DPkg::Lock::Timeout=120 -q -y)

require_debian() {
  require_root
  local tool
  for tool in apt-get dpkg-deb dpkg-query cpack; do
    command -v "$tool" >/dev/null && continue
    echo "SKIP: $tool is not installed: this test builds and installs a .deb"
    exit 77
  done
  if dpkg-query -W -f='${db:Status-Abbrev}' pooljoin 2>/dev/null | grep -q '^.i'; then
    echo "SKIP: a pooljoin package is installed on this machine; the test would replace it"
    exit 77
  fi
}

packages_state() {
  dpkg-query -W -f='${Package}:${Architecture} ${Version} ${db:Status-Abbrev}\n' | sort
}

# Purges pooljoin and anything its install brought in, so that dpkg's view is as before.
restore_packages() {
  "${APT[@]}" purge pooljoin >>"$TEST_TMP/purge.log" 2>&1 || true
  local added
  added=$(comm -13 <(awk '$NF ~ /^.i/ {print $1}' "$TEST_TMP/packages.before") \
    <(packages_state | awk '$NF ~ /^.i/ {print $1}'))
  [ -z "$added" ] || "${APT[@]}" purge $added >>"$TEST_TMP/purge.log" 2>&1 || true
}

# Builds the packages once per run (each test runs in a subshell of its own: the files stay).
build_packages() {
  DEB="$TEST_TMP/pkg/pooljoin_${VERSION}_$(dpkg --print-architecture).deb"
  [ -f "$DEB" ] && return 0
  # As a Debian packager's environment names them (cmake/CPackProjectConfig.cmake).
  DEBFULLNAME="pooljoin package test" DEBEMAIL="package-test@example.net" \
    cpack --config "$POOLJOIN_BUILD_DIR/CPackConfig.cmake" -B "$TEST_TMP/pkg" >"$TEST_TMP/cpack.log" 2>&1 ||
    fail "cpack failed: $(tail -20 "$TEST_TMP/cpack.log")"
  DEB="$TEST_TMP/pkg/pooljoin_${VERSION}_$(dpkg --print-architecture).deb"
  [ -f "$DEB" ] || fail "no $DEB: $(ls "$TEST_TMP/pkg")"
}

test_the_deb_installs_runs_and_purges_cleanly() {
  require_debian
  build_packages
  echo "package: $(basename "$DEB"), $(stat -c %s "$DEB") bytes"
  # The control file: dependencies from dpkg-shlibdeps plus ca-certificates.
  local depends
  depends=$(dpkg-deb -f "$DEB" Depends)
  echo "Depends: $depends"
  for lib in libc6 libcurl4 libc-ares2 libfmt9 libstdc++6 ca-certificates; do
    [[ ", $depends," == *", $lib"[\ ,]* ]] || fail "Depends lacks $lib: $depends"
  done
  assert_eq "$(dpkg-deb -f "$DEB" Package Version Section Maintainer | paste -sd' ')" \
    "Package: pooljoin Version: $VERSION Section: net Maintainer: pooljoin package test <package-test@example.net>"
  [ -z "$(dpkg-deb -f "$DEB" Homepage)" ] || fail "the .deb has a Homepage: $(dpkg-deb -f "$DEB" Homepage)"
  dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's#^\./#/#' >"$TEST_TMP/files"
  for path in /usr/bin/pooljoin /usr/share/man/man1/pooljoin.1.gz /usr/share/doc/pooljoin/copyright \
    /usr/share/doc/pooljoin/changelog.gz \
    /usr/share/bash-completion/completions/pooljoin /usr/share/zsh/vendor-completions/_pooljoin \
    /usr/share/fish/vendor_completions.d/pooljoin.fish /usr/share/doc/pooljoin/guide.md \
    /usr/share/doc/pooljoin/examples/cloud-init.yaml; do
    grep -qx "$path" "$TEST_TMP/files" || fail "the .deb has no $path"
  done
  ! grep -q '/site-functions' "$TEST_TMP/files" || fail "the .deb installs to zsh's site-functions, not in Debian's fpath"
  # The licence, machine-readable (DEP-5), and the package's own changelog.
  dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/share/doc/pooljoin/copyright >"$TEST_TMP/copyright"
  assert_contains "$(cat "$TEST_TMP/copyright")" $'Files: *\nCopyright: 2026 The pooljoin developers\nLicense: Apache-2.0'
  assert_contains "$(dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/share/doc/pooljoin/changelog.gz | gzip -dc)" \
    "pooljoin ($VERSION) unstable; urgency=medium"
  # lintian, Debian's package checker: no errors; its warnings are printed.
  if command -v lintian >/dev/null; then
    lintian --tag-display-limit 0 "$DEB" >"$TEST_TMP/lintian" 2>&1 || true
    echo "lintian: $(grep -c '^E:' "$TEST_TMP/lintian") errors, $(grep -c '^W:' "$TEST_TMP/lintian") warnings"
    grep '^[WI]:' "$TEST_TMP/lintian" | sed 's/^/  /' || true
    ! grep -q '^E:' "$TEST_TMP/lintian" || fail "lintian reports errors: $(grep '^E:' "$TEST_TMP/lintian")"
  else
    fail "lintian is not installed (scripts/setup --test installs it)"
  fi
  # Nothing the binary does not read: templates and data are built in.
  ! grep -q '^/usr/share/pooljoin' "$TEST_TMP/files" || fail "the .deb installs $(grep '^/usr/share/pooljoin' "$TEST_TMP/files" | head -3)"
  # No path of the machine it was built on (a sanitizer build keeps its sources' paths in the
  # sanitizers' own reports: it is never a package to ship).
  if grep -q '^POOLJOIN_SANITIZE:BOOL=ON' "$POOLJOIN_BUILD_DIR/CMakeCache.txt"; then
    echo "  a sanitizer build: its source paths are the sanitizers' (not checked)"
  else
    dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/bin/pooljoin >"$TEST_TMP/pooljoin.bin"
    ! grep -qaF "$SOURCE_DIR" "$TEST_TMP/pooljoin.bin" || fail "the packaged binary holds $SOURCE_DIR"
    ! grep -qaF "$POOLJOIN_BUILD_DIR" "$TEST_TMP/pooljoin.bin" || fail "the packaged binary holds $POOLJOIN_BUILD_DIR"
  fi

  packages_state >"$TEST_TMP/packages.before"
  on_exit restore_packages
  (cd "$TEST_TMP/pkg" && "${APT[@]}" install --no-install-recommends "./$(basename "$DEB")") \
    >"$TEST_TMP/install.log" 2>&1 || fail "apt-get install failed: $(tail -20 "$TEST_TMP/install.log")"
  assert_eq "$(dpkg-query -W -f='${Version} ${db:Status-Abbrev}' pooljoin)" "$VERSION ii "

  # The installed binary, from PATH.
  assert_eq "$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v pooljoin)" /usr/bin/pooljoin
  assert_eq "$(/usr/bin/pooljoin --version)" "pooljoin $VERSION"

  # join's whole plan, from a namespace with "public" addresses and no route out (DNS and the
  # probes fail at once; the catalogue stands in), and the source tree's templates hidden, so
  # that only the binary's own can give the config.
  local ns rc=0
  make_netns ns package
  ip -n "$ns" addr add 185.255.0.41/32 dev lo
  ip -n "$ns" -6 addr add 2a0a:e5c0::41/128 dev lo nodad
  mkdir "$TEST_TMP/empty"
  unshare --mount --propagation private -- bash -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' _ \
    "$TEST_TMP/empty" "$SOURCE_DIR/templates" \
    ip netns exec "$ns" /usr/bin/pooljoin join --dry-run --yes --country de \
    </dev/null >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" 0 "pooljoin join --dry-run --yes --country de: $(tail -5 "$TEST_TMP/err")"
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
  assert_contains "$ERR" "join --dry-run: the plan (nothing was changed)"
  assert_contains "$ERR" "using the catalogue's last known addresses"
  assert_contains "$OUT" "# Written by pooljoin gen-conf at"
  assert_contains "$OUT" $'\nrestrict default kod limited nomodify notrap nopeer noquery\n'
  [ "$(grep -c '^server .* iburst' <<<"$OUT")" = 5 ] || fail "not 5 server lines in the plan"

  # POOLJOIN_TEMPLATES replaces the installed templates; a missing directory is named.
  cp -r "$SOURCE_DIR/templates" "$TEST_TMP/templates"
  sed -i '1i # from POOLJOIN_TEMPLATES' "$TEST_TMP/templates/ntpsec.conf.mustache"
  local servers=(--upstream 192.0.2.1,192.0.2.65,198.51.100.1,203.0.113.1)
  POOLJOIN_TEMPLATES="$TEST_TMP/templates" /usr/bin/pooljoin gen-conf --daemon ntpsec --output - "${servers[@]}" \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" || fail "gen-conf with POOLJOIN_TEMPLATES failed: $(cat "$TEST_TMP/err")"
  assert_eq "$(head -1 "$TEST_TMP/out")" "# from POOLJOIN_TEMPLATES"
  rc=0
  POOLJOIN_TEMPLATES="$TEST_TMP/nowhere" /usr/bin/pooljoin gen-conf --daemon ntpsec --output - "${servers[@]}" \
    >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
  assert_eq "$rc" 69
  assert_contains "$(cat "$TEST_TMP/err")" "cannot find pooljoin's templates (tried $TEST_TMP/nowhere (POOLJOIN_TEMPLATES))"

  # The man page and the completions where each program looks for them.
  if command -v man >/dev/null; then
    assert_eq "$(man -w pooljoin)" /usr/share/man/man1/pooljoin.1.gz
  fi
  cmp -s /usr/share/bash-completion/completions/pooljoin "$SOURCE_DIR/completions/pooljoin.bash" ||
    fail "the installed bash completion is not completions/pooljoin.bash"
  if command -v zsh >/dev/null; then
    zsh -fc 'print -l $fpath' | grep -qx /usr/share/zsh/vendor-completions ||
      fail "zsh's fpath has no /usr/share/zsh/vendor-completions"
  fi
  if command -v fish >/dev/null; then
    # Not --no-config: that leaves fish's completion path empty. A home of the test's own
    # instead, so that no user's configuration applies.
    mkdir -p "$TEST_TMP/home"
    HOME="$TEST_TMP/home" XDG_CONFIG_HOME="$TEST_TMP/home/.config" XDG_DATA_HOME="$TEST_TMP/home/.local/share" \
      fish -c 'complete -C "pooljoin gen-"' | grep -q '^gen-conf' ||
      fail "fish does not load the installed completion"
  fi

  # Purged: nothing of it left, and dpkg sees the machine as before.
  restore_packages
  [ ! -e /usr/bin/pooljoin ] || fail "/usr/bin/pooljoin is still there after the purge"
  [ ! -e /usr/share/pooljoin ] || fail "/usr/share/pooljoin is still there after the purge"
  diff "$TEST_TMP/packages.before" <(packages_state) >"$TEST_TMP/diff" ||
    fail "the packages differ from before the test: $(cat "$TEST_TMP/diff")"
}

# What `cmake --install` puts down for a packager: the man page as it is in the source tree (no
# compression, no rewriting) and the zsh completion in zsh's own site-functions.
test_cmake_install_leaves_the_layout_to_the_packager() {
  DESTDIR="$TEST_TMP/destdir" cmake --install "$POOLJOIN_BUILD_DIR" --prefix /usr >"$TEST_TMP/install.log" 2>&1 ||
    fail "cmake --install failed: $(tail -5 "$TEST_TMP/install.log")"
  local d="$TEST_TMP/destdir/usr"
  cmp -s "$d/share/man/man1/pooljoin.1" "$SOURCE_DIR/docs/pooljoin.1" ||
    fail "the installed man page is not docs/pooljoin.1: $(ls "$d/share/man/man1")"
  [ -f "$d/share/zsh/site-functions/_pooljoin" ] || fail "no zsh completion in share/zsh/site-functions: $(find "$d/share/zsh")"
  cmp -s "$d/share/doc/pooljoin/copyright" "$SOURCE_DIR/packaging/copyright" || fail "no copyright file in the docs"
  [ ! -e "$d/share/pooljoin" ] || fail "share/pooljoin is installed"
}

test_the_rpm_requires_the_libraries() {
  command -v rpmbuild >/dev/null && command -v rpm >/dev/null ||
    skip "no rpmbuild, no .rpm (scripts/setup --test installs rpm)"
  build_packages
  local rpm_file="$TEST_TMP/pkg/pooljoin-$VERSION-1.$(uname -m).rpm"
  [ -f "$rpm_file" ] || fail "no $rpm_file: $(ls "$TEST_TMP/pkg")"
  echo "package: $(basename "$rpm_file"), $(stat -c %s "$rpm_file") bytes"
  rpm -qp --requires "$rpm_file" 2>/dev/null >"$TEST_TMP/requires"
  for req in 'libcurl.so.4()(64bit)' 'libcares.so.2()(64bit)' 'libfmt.so.9()(64bit)' ca-certificates; do
    grep -qxF "$req" "$TEST_TMP/requires" || fail "the .rpm does not require $req: $(cat "$TEST_TMP/requires")"
  done
  assert_eq "$(rpm -qp --queryformat '%{LICENSE}; %{PACKAGER}; %{URL}' "$rpm_file" 2>/dev/null)" \
    "Apache-2.0; pooljoin package test <package-test@example.net>; (none)"
  rpm -qlp "$rpm_file" 2>/dev/null >"$TEST_TMP/files"
  for path in /usr/bin/pooljoin /usr/share/man/man1/pooljoin.1.gz /usr/share/zsh/site-functions/_pooljoin \
    /usr/share/doc/pooljoin/copyright; do
    grep -qx "$path" "$TEST_TMP/files" || fail "the .rpm has no $path"
  done
  ! grep -q '^/usr/share/pooljoin' "$TEST_TMP/files" || fail "the .rpm installs $(grep '^/usr/share/pooljoin' "$TEST_TMP/files" | head -3)"
  # It owns its own directories only, not the shells' or the manual's.
  ! grep -qxE '/usr/share/(man|man/man1|bash-completion|fish|zsh)' "$TEST_TMP/files" ||
    fail "the .rpm owns a shared directory: $(grep -xE '/usr/share/(man|man/man1|bash-completion|fish|zsh)' "$TEST_TMP/files")"
}

run_tests "$@"
