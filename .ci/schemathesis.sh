#!/usr/bin/env bash
# Schemathesis (PyPI, pinned) against truce's API as crates/server/openapi.json describes it:
# every check, with a token of each role, on a demo server of its own (its own data folder and
# free ports). Exits non-zero on any failure.
#
#   TRUCE_BIN=target/debug/truce bash .ci/schemathesis.sh
#
# Knobs (environment): TRUCE_BIN (the binary, default target/debug/truce), ST_SEED (1),
# ST_MAX_TIME (seconds of the main pass per role, 90), ST_MAX_EXAMPLES (30), ST_REPORT_DIR
# (JUnit and NDJSON reports; default a temporary folder, kept and printed).
#
# How the run is laid out, and why:
# - The sign-in throttle (10 failed sign-ins a minute from one address, then 429 for every
#   request with a token for the rest of the minute) would turn most of a run into 429s: the
#   `ignored_auth` check sends one bad token per operation. The server is started with
#   TRUCE_MAX_FAILED_SIGNINS set high; the per-role passes still run without `ignored_auth`,
#   and `ignored_auth` runs in groups of at most 9 operations on a freshly started server, so
#   the run also holds with the default limit. Any 429 seen anywhere fails the run: it would
#   mean the throttle hid part of the API.
# - POST /api/users/{user}/revoke could revoke the very tokens under test: the admin's pass
#   leaves it out, and the last pass tests it (with POST /api/users, so the stateful phase
#   revokes members it has just added) as a throw-away admin created for the purpose.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUCE_BIN=${TRUCE_BIN:-target/debug/truce}
ST_VERSION=4.32.5
VENV=${TMPDIR:-/tmp}/truce-st-venv
SEED=${ST_SEED:-1}
MAX_TIME=${ST_MAX_TIME:-90}
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-30}
SPEC=$PWD/crates/server/openapi.json
CONFIG=$PWD/.ci/schemathesis.toml
WORK=$(mktemp -d "${TMPDIR:-/tmp}/truce-st.XXXXXX")
REPORTS=${ST_REPORT_DIR:-$WORK/reports}
mkdir -p "$REPORTS"

[ -x "$TRUCE_BIN" ] || { echo "schemathesis: no binary at $TRUCE_BIN (build it, or set TRUCE_BIN)"; exit 1; }

# --- schemathesis, pinned, in a venv of its own
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$ST_VERSION"
fi
ST="$VENV/bin/st"

# --- the server: the demo (members of every role, a simulated stream of reports, a patrol
#     reporting over CoT), on free loopback ports, with its own data folder
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
HTTP_PORT=$(free_port)
COT_PORT=$(free_port)
BASE=http://127.0.0.1:$HTTP_PORT
DATA=$WORK/data
SERVER_PID=

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}

start_server() {
  TRUCE_MAX_FAILED_SIGNINS=1000000 "$TRUCE_BIN" demo --data "$DATA" \
    --http "127.0.0.1:$HTTP_PORT" --cot-tcp "127.0.0.1:$COT_PORT" --interval 1 \
    >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 240); do
    if curl -sf "$BASE/healthz" >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      break
    fi
    sleep 0.5
  done
  echo "schemathesis: the demo server did not come up on $BASE"
  grep -v 'Bearer\|^  m[12]-' "$WORK/server.log" | tail -30
  exit 1
}

restart_server() {
  stop_server
  start_server
}

trap 'stop_server' EXIT
start_server
TOKENS=$DATA/demo-tokens.txt
token() { awk -v u="$1" '$1 == u { print $2 }' "$TOKENS"; }
for role in observer analyst officer admin auditor; do
  [ -n "$(token "m1-$role")" ] || { echo "schemathesis: no m1-$role in $TOKENS"; exit 1; }
done

FAILED=()

# Runs st for one pass: NAME TOKEN [st options...]. A pass fails on st's own verdict, or when
# the server answered 429 anywhere in it (the throttle would have hidden what followed).
pass() {
  local name=$1 tok=$2
  shift 2
  local dir=$REPORTS/$name
  mkdir -p "$dir"
  echo "== schemathesis: $name"
  local rc=0
  # From the work folder: st keeps its crash files (for `st replay`) in ./.schemathesis.
  (cd "$WORK" && "$ST" --config-file "$CONFIG" run "$SPEC" --url "$BASE" \
    -H "Authorization: Bearer $tok" -w 1 --seed "$SEED" --no-color \
    --generation-database none --continue-on-failure \
    --report junit,ndjson --report-dir "$dir" "$@") >"$dir/output.txt" 2>&1 || rc=$?
  # The verdict and what failed, not the whole output.
  sed -n '/^=* FAILURES =*$/,/^=* WARNINGS =*$/p' "$dir/output.txt" \
    | grep -E '^_{3,} |^- ST|^\[[0-9]{3}\]|^    curl' | cut -c1-300 || true
  tail -1 "$dir/output.txt"
  local throttled
  throttled=$(python3 - "$dir" <<'EOF'
import glob, json, sys
n = 0
for path in glob.glob(sys.argv[1] + "/ndjson-*.ndjson"):
    for line in open(path, encoding="utf-8"):
        event = json.loads(line).get("ScenarioFinished")
        if event:
            for it in (event["recorder"].get("interactions") or {}).values():
                if (it.get("response") or {}).get("status_code") == 429:
                    n += 1
print(n)
EOF
)
  if [ "$throttled" != 0 ]; then
    echo "   $throttled answers were 429 (the sign-in throttle): part of the API went untested"
    rc=1
  fi
  [ "$rc" = 0 ] || FAILED+=("$name")
}

# --- ignored_auth: one bad token per operation that answered 2xx, at most 9 per server start.
IGNORED_AUTH=(--checks ignored_auth --phases examples,coverage --max-examples 5 --max-time 30)
ops() { local a=(); for id in "$@"; do a+=(--include-operation-id "$id"); done; echo "${a[@]}"; }
# shellcheck disable=SC2046
pass ignored-auth-observer "$(token m1-observer)" "${IGNORED_AUTH[@]}" $(ops \
  submitObservations handInEvidence getAgreement getObservation listIncidents getIncident \
  streamEvents me status)
restart_server
# shellcheck disable=SC2046
pass ignored-auth-analyst "$(token m1-analyst)" "${IGNORED_AUTH[@]}" $(ops \
  annotateIncident mergeIncident splitIncident listTracks exportRecord dailyReport \
  evidenceFile evidenceCustody coverage)
restart_server
# shellcheck disable=SC2046
pass ignored-auth-officer "$(token m1-officer)" "${IGNORED_AUTH[@]}" $(ops assessIncident issueDailyReport)
# shellcheck disable=SC2046
pass ignored-auth-admin "$(token m1-admin)" "${IGNORED_AUTH[@]}" $(ops addMember listMembers)
# shellcheck disable=SC2046
pass ignored-auth-importer "$(token m1-observer)" "${IGNORED_AUTH[@]}" $(ops importFile)
restart_server

# --- every other check, one pass per role. The public operations (no token) answer every
#     role alike: the auditor's pass tests them, the others leave them out.
MAIN=(--checks all --exclude-checks ignored_auth --max-examples "$MAX_EXAMPLES" --max-time "$MAX_TIME")
# shellcheck disable=SC2046
PUBLIC=($(ops index healthz openapi getLedger getInclusionProof getConsistencyProof \
  postCosignature getCheckpoint getTile getAgreedCheckpoint getAgreedTile ledgerKeys \
  dashboardScript dashboardServiceWorker dashboardStyles countryOutlines | sed 's/--include-/--exclude-/g'))
for role in observer analyst officer; do
  pass "$role" "$(token "m1-$role")" "${MAIN[@]}" "${PUBLIC[@]}"
done
pass admin "$(token m1-admin)" "${MAIN[@]}" "${PUBLIC[@]}" --exclude-operation-id revokeMember
pass auditor "$(token m1-auditor)" "${MAIN[@]}"

# --- revoking, last, as a throw-away admin (every check, ignored_auth included).
answer=$(curl -sf -X POST "$BASE/api/users" -H "Authorization: Bearer $(token m1-admin)" \
  -H 'Content-Type: application/json' -d '{"user": "ci-schemathesis-admin", "role": "admin"}')
throwaway=$(printf '%s' "$answer" | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
pass revoke "$throwaway" --checks all --max-examples "$MAX_EXAMPLES" --max-time 40 \
  --include-operation-id revokeMember --include-operation-id addMember

stop_server
echo "schemathesis: reports in $REPORTS"
if [ "${#FAILED[@]}" -gt 0 ]; then
  echo "schemathesis: FAILED: ${FAILED[*]}"
  echo "== server log (last 30 lines, the demo's token lines left out)"
  grep -v 'Bearer\|^  m[12]-' "$WORK/server.log" | tail -30
  exit 1
fi
echo "schemathesis: every pass passed"
