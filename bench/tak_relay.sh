#!/usr/bin/env bash
# TAK relay, truce against FreeTAKServer 2.2.1 (PyPI) on the same loopback load, side by side:
#   1. sustained: 5 senders x 40 positions/s to 50 listening clients (10,000 deliveries/s asked);
#   2. overload: the same senders at 4x;
#   3. a disconnect: one listener leaves halfway; the others' rate after / before;
#   3b. truce only: its headroom, 10 senders x 400/s to the same 50 listeners;
#   4. truce only: 1,000 clients held for SOAK_SECONDS (default 60; the issue asks 600) with
#      the server's memory sampled every 10 s.
# Each line is bench/tak_relay_load.py's key=value figures, prefixed by the server. Both are
# met as TAK clients meet them (see the tool's doc); FreeTAKServer is started afresh for each
# profile.
# Needs Python 3.11 for FreeTAKServer (its 2.2.1 wheel pins packages with no 3.12 wheels).
# FTS_SKIP=1 runs truce alone.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
truce_port="${TRUCE_PORT:-18087}"
fts_port="${FTS_PORT:-18088}"
soak_seconds="${SOAK_SECONDS:-60}"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

cargo build --quiet --release -p truce-cli
truce=target/release/truce
"$truce" init --data "$tmp/data" --agreement crates/cli/demo/agreement.toml >/dev/null
"$truce" user add --data "$tmp/data" --monitor m1 --role observer bench >/dev/null
"$truce" serve --data "$tmp/data" --http 127.0.0.1:0 --cot-tcp "127.0.0.1:$truce_port" \
  --cot-member bench --cot-connections-per-address 2000 >"$tmp/truce.log" 2>&1 &
truce_pid=$!
pids+=("$truce_pid")

fts_ready=""
if [ "${FTS_SKIP:-0}" != "1" ]; then
  venv="${TMPDIR:-/tmp}/truce-fts-venv"
  if [ ! -x "$venv/bin/python" ]; then
    python3.11 -m venv "$venv" 2>/dev/null || python3 -m venv "$venv"
  fi
  # FreeTAKServer 2.2.1 does not pin OpenTelemetry; with today's release it fails at start
  # ("property 'span_exporter' of 'BatchSpanProcessor' object has no setter"). The versions
  # of its release month (May 2024) start.
  "$venv/bin/pip" install --quiet FreeTAKServer==2.2.1 opentelemetry-api==1.24.0 \
    opentelemetry-sdk==1.24.0 opentelemetry-semantic-conventions==0.45b0
  fts_ready=1
fi

# A fresh FreeTAKServer for each profile: after an overload it stops relaying even to new
# clients. Its connection list persists inside the venv (DigitalPy's connections.json) and
# grows from run to run; it is removed before each start.
fts_pid=""
start_fts() {
  rm -f "$venv"/lib/python3*/site-packages/digitalpy/core/IAM/persistence/connections.json
  rm -rf "$tmp/fts" && mkdir -p "$tmp/fts"
  (cd "$tmp/fts" && FTS_FIRST_START=false exec setsid "$venv/bin/python" -m FreeTAKServer.controllers.services.FTS \
    -CoTPort "$fts_port" -CoTIP 127.0.0.1 -SSLCoTPort 18189 -SSLCoTIP 127.0.0.1 \
    -DataPackagePort 18190 -DataPackageIP 127.0.0.1 -SSLDataPackagePort 18191 \
    -SSLDataPackageIP 127.0.0.1 -RestAPIPort 18192 -RestAPIIP 127.0.0.1 -AutoStart True \
    >"$tmp/fts.log" 2>&1) &
  fts_pid=$!
  pids+=("$fts_pid")
  for _ in $(seq 1 60); do
    if (echo >"/dev/tcp/127.0.0.1/$fts_port") 2>/dev/null; then sleep 5; return 0; fi
    sleep 1
  done
  echo "FreeTAKServer did not start; its log: $tmp/fts.log"
  return 1
}
stop_fts() {
  # FTS runs several processes in its own session: end them all.
  [ -n "$fts_pid" ] && kill -- -"$fts_pid" 2>/dev/null || true
  sleep 2
  pkill -9 -f FreeTAKServer.controllers.services.FTS 2>/dev/null || true
  fts_pid=""
}
for _ in $(seq 1 30); do
  (echo >"/dev/tcp/127.0.0.1/$truce_port") 2>/dev/null && break
  sleep 0.5
done

run() {
  local name=$1 port=$2
  shift 2
  echo "$name $(python3 bench/tak_relay_load.py 127.0.0.1 "$port" "$@")"
}
for profile in "--rate 40" "--rate 40 --overload 4" "--rate 40 --drop-one"; do
  # shellcheck disable=SC2086
  run truce "$truce_port" --senders 5 --listeners 50 --seconds 10 $profile
  if [ -n "$fts_ready" ] && start_fts; then
    # shellcheck disable=SC2086
    run fts "$fts_port" --senders 5 --listeners 50 --seconds 10 $profile
    stop_fts
  fi
done
# truce's headroom: 10 senders at 400/s each (20x the sustained profile's offer); the Python
# load tool, on the same two cores, is as much the limit here as the server.
run truce "$truce_port" --senders 10 --listeners 50 --seconds 10 --rate 400
echo "truce soak $(python3 bench/tak_soak.py 127.0.0.1 "$truce_port" "$truce_pid" \
  --clients 1000 --seconds "$soak_seconds" --every 10)"
