#!/usr/bin/env bash
# Load held: 200 dashboards on the event stream (and 5 that never read), 50 TAK clients
# sending their positions every second, and intake at RATE observations per second, all on
# one `truce serve` for SECONDS (default 60; the 10-minute soak is SECONDS=600). Prints
# bench/sse_load.py's key=value figures: whether every reading subscriber got every event,
# and the server's memory over the run.
#   bash bench/sse_load.sh            # a minute
#   SECONDS_=600 bash bench/sse_load.sh  # the soak
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
seconds="${SECONDS_:-60}"
rate="${RATE:-200}"
tak_port="${TAK_PORT:-18097}"
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

cargo build --quiet --release -p truce-cli
truce=target/release/truce
"$truce" init --data "$tmp/data" --agreement crates/cli/demo/agreement.toml >/dev/null
token="$("$truce" user add --data "$tmp/data" --monitor m1 --role observer load 2>/dev/null | head -1)"
"$truce" user add --data "$tmp/data" --monitor m1 --role observer tak >/dev/null 2>&1
"$truce" serve --data "$tmp/data" --http 127.0.0.1:0 --cot-tcp "127.0.0.1:$tak_port" \
  --cot-member tak --cot-connections-per-address 1000 >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do
  url="$(grep -o 'http://[^ ]*' "$tmp/serve.log" | head -1 || true)"
  [ -n "$url" ] && break
  sleep 0.5
done
[ -n "$url" ] || { echo "the server did not start: $(cat "$tmp/serve.log")"; exit 1; }
python3 bench/sse_load.py "${url%/}" "$token" "$pid" --subscribers 200 --stalled 5 \
  --tak "127.0.0.1:$tak_port" --tak-clients 50 --rate "$rate" --seconds "$seconds"
