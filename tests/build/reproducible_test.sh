#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reproducible builds: the same commit, exported twice into directories of different names and
# lengths, built with the release preset (no cache: every object compiled twice), gives the
# same pooljoin binary and the same .deb, byte for byte. SOURCE_DATE_EPOCH is the commit's time,
# as a distribution's build sets it. Both trees are plain files (git archive): no mounts.
# Usage: reproducible_test.sh SOURCE_DIR. About two release builds: the slowest test there is.
set -euo pipefail
source_dir=$1
command -v git >/dev/null && git -C "$source_dir" rev-parse HEAD >/dev/null 2>&1 ||
  { echo "SKIP: $source_dir is not a git checkout: nothing to export"; exit 77; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/pooljoin-repro.XXXXXX")
trap 'rm -rf --one-file-system "$scratch"' EXIT
commit=$(git -C "$source_dir" rev-parse HEAD)
export SOURCE_DATE_EPOCH
SOURCE_DATE_EPOCH=$(git -C "$source_dir" log -1 --format=%ct "$commit")

fail() { echo "FAIL: $*"; exit 1; }

# build DIR: the commit exported into DIR, built with the release preset, packaged as a .deb.
build() {
  local dir=$1 started=$SECONDS
  mkdir -p "$dir"
  git -C "$source_dir" archive "$commit" | tar -x -C "$dir"
  (cd "$dir" && cmake --preset release >"$dir.configure.log" 2>&1) ||
    fail "configure in $dir: $(tail -20 "$dir.configure.log")"
  cmake --build "$dir/build/release" >"$dir.build.log" 2>&1 || fail "build in $dir: $(tail -20 "$dir.build.log")"
  (cd "$dir/build/release" && DEBFULLNAME="pooljoin reproducibility test" DEBEMAIL="repro@example.net" \
    cpack -G DEB >"$dir.cpack.log" 2>&1) || fail "cpack in $dir: $(tail -20 "$dir.cpack.log")"
  echo "# built in $dir: $((SECONDS - started)) s"
}
build "$scratch/a"
build "$scratch/a-second-tree-elsewhere"

one=$scratch/a/build/release
two=$scratch/a-second-tree-elsewhere/build/release
cmp "$one/src/pooljoin" "$two/src/pooljoin" || fail "the two binaries differ (diffoscope would say where)"
# Neither holds the path it was built in.
for dir in "$scratch/a" "$scratch/a-second-tree-elsewhere"; do
  ! grep -qaF "$dir" "$dir/build/release/src/pooljoin" || fail "the binary built in $dir holds that path"
done
deb_one=$(ls "$one"/pooljoin_*.deb) deb_two=$(ls "$two"/pooljoin_*.deb)
cmp "$deb_one" "$deb_two" || {
  diff <(dpkg-deb -c "$deb_one") <(dpkg-deb -c "$deb_two") | head -20
  fail "the two .debs differ"
}
echo "ok: the binary ($(stat -c %s "$one/src/pooljoin") bytes, sha256 $(sha256sum <"$one/src/pooljoin" | cut -c1-16)) and the .deb ($(stat -c %s "$deb_one") bytes, sha256 $(sha256sum <"$deb_one" | cut -c1-16)) are the same from both trees"
