#!/usr/bin/env bash
# run.sh FUZZER SEED_DIR SECONDS: fuzzes from a copy of the seeds for SECONDS. A crash fails the
# run and leaves the input as ./crash-* in the working directory (the build's fuzz/ directory):
# add it to fuzz/regressions/<target>/ once fixed.
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/pooljoin-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$seeds"/. "$work"/
"$fuzzer" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=1024 -print_final_stats=1 \
  -artifact_prefix="$PWD/" "$work"
