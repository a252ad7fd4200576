#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every source file of the repository names its licence in an SPDX line (its first line, or its
# second after a #! line). Generated files (completions/), test data (fixtures, golden files,
# fuzz inputs), templates, data and documents carry none.
# Usage: spdx_test.sh SOURCE_DIR.
set -euo pipefail
cd "$1"
git rev-parse HEAD >/dev/null 2>&1 || { echo "SKIP: $1 is not a git checkout"; exit 77; }
missing=() count=0
while IFS= read -r file; do
  case $file in
    tests/fixtures/* | tests/golden/* | templates/* | data/* | completions/* | docs/* | fuzz/corpus/* | fuzz/regressions/*) continue ;;
    *.cpp | *.hpp | *.h | *.sh | *.py | *.cmake | */CMakeLists.txt | CMakeLists.txt | *.hpp.in | .ci/run | scripts/setup | bench/run) ;;
    *) continue ;;
  esac
  count=$((count + 1))
  head -2 "$file" | grep -q '^\(//\|#\) SPDX-License-Identifier: Apache-2.0$' || missing+=("$file")
done < <(git ls-files)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "FAIL: ${#missing[@]} of $count source files have no SPDX-License-Identifier line: ${missing[*]}"
  exit 1
fi
[ "$count" -gt 200 ] || { echo "FAIL: only $count source files found: the selection is wrong"; exit 1; }
echo "ok: $count source files name Apache-2.0"
