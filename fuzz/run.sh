#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run.sh FUZZER SEED_DIR SECONDS [RANDOM_SEED]: fuzzes from a copy of the seeds for SECONDS, with
# libFuzzer's -seed=RANDOM_SEED (0 or none: a new one each run). A crash fails the run and leaves
# the input as ./crash-* in the working directory (the build's fuzz/ directory): add it to
# fuzz/regressions/<target>/ once fixed.
set -euo pipefail
fuzzer=$1 seeds=$2 seconds=$3 random_seed=${4:-0}
work=$(mktemp -d "${TMPDIR:-/tmp}/pooljoin-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$seeds"/. "$work"/
"$fuzzer" -max_total_time="$seconds" -seed="$random_seed" -timeout=5 -rss_limit_mb=1024 -print_final_stats=1 \
  -artifact_prefix="$PWD/" "$work"
