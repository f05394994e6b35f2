#!/usr/bin/env bash
# DBSCAN on one million simulated report positions: truce-fusion's cluster::dbscan against geo's
# Dbscan and scikit-learn's DBSCAN (kd_tree, one thread), same points, eps 500 m, min_points 2.
# Run from anywhere; prints the times and the ratios on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."
eps="${EPS:-500}"
min_points="${MIN_POINTS:-2}"
tmp="${TMPDIR:-/tmp}"
csv="$tmp/truce-cluster-points.csv"
venv="$tmp/truce-bench-venv"

cargo build --quiet --release -p truce-fusion --example cluster_bench
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import sklearn, numpy" 2>/dev/null; then
  "$venv/bin/pip" install --quiet scikit-learn numpy
fi

rust_out="$(target/release/examples/cluster_bench --write "$csv" --eps "$eps" --min-points "$min_points")"
echo "$rust_out"
py_out="$("$venv/bin/python" bench/cluster_sklearn.py "$csv" "$eps" "$min_points")"
echo "$py_out"

value() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ours="$(value "$rust_out" ours_s)"
geo="$(value "$rust_out" geo_s)"
sk="$(value "$py_out" sklearn_s)"
if [ "$(value "$rust_out" ours_clusters)" != "$(value "$py_out" sklearn_clusters)" ] ||
   [ "$(value "$rust_out" ours_noise)" != "$(value "$py_out" sklearn_noise)" ]; then
  echo "scikit-learn disagrees on clusters or noise" >&2
  exit 1
fi
awk -v o="$ours" -v g="$geo" -v s="$sk" 'BEGIN {
  printf "summary: ours_s=%s geo_s=%s sklearn_s=%s geo_over_ours=%.1f sklearn_over_ours=%.1f\n", o, g, s, g / o, s / o
}'
