#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configuring without a build dependency stops at once and names the Debian package to install.
# Usage: missing_dependency_test.sh SOURCE_DIR; configures a scratch build dir of its own.
set -euo pipefail
source_dir=$1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

rc=0
out=$(cmake -S "$source_dir" -B "$scratch" -G Ninja -DPOOLJOIN_BUILD_TESTS=OFF \
  -DCMAKE_DISABLE_FIND_PACKAGE_CLI11=ON 2>&1) || rc=$?
# CMake wraps error messages: compare with the line breaks and indentation folded.
flat=$(tr -s ' \n' '  ' <<<"$out")
expected="pooljoin: CLI11 not found; install the Debian package 'libcli11-dev' (or run scripts/setup, which installs every build dependency)"
if [ "$rc" = 0 ] || [[ "$flat" != *"$expected"* ]]; then
  echo "FAIL: configure without CLI11 exited $rc; expected a failure with [$expected], got:"
  echo "$out"
  exit 1
fi
echo "ok: configure without CLI11 exited $rc naming libcli11-dev"
