#!/usr/bin/env bash
# Every fuzz target of fuzz/ for a short, time-boxed run (libFuzzer through cargo-fuzz, on stable
# Rust with --sanitizer none), starting from the committed corpora. A crash, a hang or a broken
# property fails CI and leaves the input in fuzz/artifacts/<target>/. Long runs (the 10 million
# executions per target of the closing notes) use the same command with -runs=10000000.
# Usage: .ci/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-10}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
cargo fuzz build --sanitizer none
targets=$(cargo fuzz list)
count=$(echo "$targets" | wc -w)
if [ "$count" -lt 13 ]; then
  echo "cargo fuzz list gave $count targets, expected 13: $targets"
  exit 1
fi
# New inputs go to a scratch folder; the committed corpus is only read.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in $targets; do
  log="target/fuzz-$target.log"
  mkdir -p "$scratch/$target"
  if cargo fuzz run --sanitizer none "$target" "$scratch/$target" "corpus/$target" -- \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    echo "$target: $(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}') executions, no crash"
  else
    echo "$target: FAILED (see below)"
    tail -40 "$log"
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz targets that failed: ${failed[*]}"
  exit 1
fi
