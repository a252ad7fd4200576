#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The CTest fixture debian_roots: real Debian 11, 12 and 13 roots (debian_roots_build.sh:
# mmdebstrap, minbase, from the Debian mirror) that debian_roots_test and systemd_join_test run
# pooljoin in, and a local apt repository for each: the packages pooljoin's install-ntp asks for
# (ntpsec, or ntp on Debian 11) with every dependency the root lacks, and on Debian 12 also the
# pooljoin .deb that CPack builds from this build tree, with its own. The tests give the roots
# no other apt source and no network out.
#
# The roots are built once and kept in /var/cache/pooljoin-test/roots/KEY, KEY a hash of
# debian_roots_build.sh (a changed recipe builds new roots); the packages downloaded for the
# repositories are kept beside them, so a warm run needs no network. The repositories and the
# .deb go under POOLJOIN_BUILD_DIR/debian-roots, made again on every run (their pooljoin is this
# build's). The tests find everything there: roots/SUITE (links into the cache), repo-SUITE.
set -euo pipefail

: "${POOLJOIN_BUILD_DIR:?POOLJOIN_BUILD_DIR must name the build tree to package}"
[ "$(id -u)" = 0 ] || { echo "SKIP: building the roots needs root"; exit 77; }
for tool in mmdebstrap dpkg-scanpackages cpack; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/setup --test)"; exit 77; }
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${POOLJOIN_ROOTS_CACHE:-/var/cache/pooljoin-test/roots}
KEY=$(sha256sum "$HERE/debian_roots_build.sh" | cut -c1-16)
STORE="$CACHE/$KEY"
OUT="$POOLJOIN_BUILD_DIR/debian-roots"
VERSION=$(cat "$HERE/../../VERSION")
SUITES="bullseye bookworm trixie"
# SUITE  what its repository must let apt-get install: the daemon pooljoin installs there.
REPOS="bullseye ntp
bookworm ntpsec
trixie ntpsec"

started=$SECONDS
say() { echo "debian_roots_setup: $* ($((SECONDS - started)) s)"; }

# One builder at a time (another build tree's fixture, another checkout): the others wait, then
# find the roots built.
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 1800 9 || { say "the lock on $CACHE stayed taken for 30 min"; exit 1; }
bash "$HERE/debian_roots_build.sh" "$STORE"
touch "$STORE/.used"

rm -rf "$OUT"
mkdir -p "$OUT/roots"
for suite in $SUITES; do ln -s "$STORE/$suite" "$OUT/roots/$suite"; done

# The .deb of this build tree, as package_test builds it.
t0=$SECONDS
cpack --config "$POOLJOIN_BUILD_DIR/CPackConfig.cmake" -G DEB -B "$OUT/cpack" >"$OUT/cpack.log" 2>&1 ||
  { tail -20 "$OUT/cpack.log" >&2; say "cpack failed"; exit 1; }
mv "$OUT/cpack/pooljoin_${VERSION}_$(dpkg --print-architecture).deb" "$OUT/pooljoin.deb"
rm -rf "$OUT/cpack"
say "pooljoin.deb built by cpack in $((SECONDS - t0)) s"

# in_root_copy SUITE CMD...: CMD chrooted in a throw-away overlay of the root (the cache stays
# as built), with the suite's package cache ($STORE/debs-SUITE) as apt's archive directory, the
# machine's resolv.conf, and this build's .deb as /tmp/pooljoin.deb.
in_root_copy() {
  local suite=$1 scratch rc=0
  shift
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/pooljoin-roots.XXXXXX")
  mkdir -p "$scratch/upper" "$scratch/work" "$scratch/merged" "$STORE/debs-$suite"
  unshare --mount --propagation private -- bash -c '
    set -e
    root=$1 scratch=$2 debs=$3 deb=$4
    shift 4
    m=$scratch/merged
    mount -t overlay pooljoin-roots -o "lowerdir=$root,upperdir=$scratch/upper,workdir=$scratch/work" "$m"
    mount --bind "$debs" "$m/var/cache/apt/archives"
    rm -f "$m/etc/resolv.conf" && touch "$m/etc/resolv.conf"
    mount --bind /etc/resolv.conf "$m/etc/resolv.conf"
    cp "$deb" "$m/tmp/pooljoin.deb"
    exec chroot "$m" "$@"' _ "$STORE/$suite" "$scratch" "$STORE/debs-$suite" "$OUT/pooljoin.deb" "$@" || rc=$?
  # Nothing is mounted there any more: the mount namespace ended with the command.
  rm -rf --one-file-system "$scratch"
  return "$rc"
}

# make_repo SUITE PACKAGE...: $OUT/repo-SUITE, a flat repository ("deb [trusted=yes]
# file:DIR ./") of exactly what `apt-get install PACKAGE...` installs in the root (Recommends
# included, as apt's default is), downloaded into $STORE/debs-SUITE unless there already.
make_repo() {
  local suite=$1 repo="$OUT/repo-$1" t0=$SECONDS
  shift
  local apt=(apt-get -q -o APT::Sandbox::User=root -o Dpkg::Use-Pty=0)
  # What apt would install, "name version arch": apt's own answer.
  in_root_copy "$suite" "${apt[@]}" install -s "$@" >"$OUT/$suite-simulate.log" 2>&1 ||
    { tail -20 "$OUT/$suite-simulate.log" >&2; say "apt-get -s install in $suite failed"; exit 1; }
  sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*\[\([^]]*\)\].*/\1 \2 \3/p' "$OUT/$suite-simulate.log" \
    >"$OUT/$suite-packages"
  [ -s "$OUT/$suite-packages" ] || { say "apt-get -s install $* in $suite installs nothing"; exit 1; }
  local name version arch file missing=0 fetched=""
  deb_of() { echo "$STORE/debs-$suite/${1}_${2/:/%3a}_$3.deb"; }
  while read -r name version arch; do
    [ "$name" = pooljoin ] || [ -f "$(deb_of "$name" "$version" "$arch")" ] || missing=$((missing + 1))
  done <"$OUT/$suite-packages"
  if [ "$missing" -gt 0 ]; then
    in_root_copy "$suite" "${apt[@]}" install -y --download-only "$@" >"$OUT/$suite-download.log" 2>&1 ||
      { tail -20 "$OUT/$suite-download.log" >&2; say "downloading $suite's packages failed"; exit 1; }
    fetched=", $missing downloaded"
  fi
  mkdir -p "$repo"
  while read -r name version arch; do
    if [ "$name" = pooljoin ]; then
      cp "$OUT/pooljoin.deb" "$repo/"
      continue
    fi
    file=$(deb_of "$name" "$version" "$arch")
    [ -f "$file" ] || { say "apt downloaded no $file"; exit 1; }
    ln "$file" "$repo/" 2>/dev/null || cp "$file" "$repo/"
  done <"$OUT/$suite-packages"
  (cd "$repo" && dpkg-scanpackages --multiversion . /dev/null >Packages 2>"$OUT/$suite-scan.log")
  say "repository for $suite: $(wc -l <"$OUT/$suite-packages") packages$fetched, $(du -sm "$repo" | cut -f1) MB, in $((SECONDS - t0)) s"
}

while read -r suite packages; do
  extra=()
  [ "$suite" = bookworm ] && extra=(/tmp/pooljoin.deb)
  make_repo "$suite" $packages "${extra[@]}"
done <<<"$REPOS"

# Roots of other recipes that no run has used for a week go (never across a mount).
for old in "$CACHE"/*/; do
  old=${old%/}
  [ "$old" = "$STORE" ] && continue
  [ -n "$(find "$old/.used" -mtime -7 2>/dev/null)" ] && continue
  if [ -z "$(findmnt -rn -o TARGET | grep -F "$old/")" ]; then
    rm -rf --one-file-system "$old"
    say "removed $old, unused for a week"
  fi
done
say "ready: $OUT"
