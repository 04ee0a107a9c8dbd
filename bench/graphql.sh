#!/usr/bin/env bash
# GraphQL throughput with wrk (Debian's `wrk`): 64 connections for 10 s each,
# in the same run, on the same demo server:
#   1. a service partner's query for one device's last 50 events;
#   2. `{ __typename }` (the baseline: HTTP, auth and GraphQL overhead only).
# Prints both rates and their ratio.
#
#   bench/graphql.sh            (installs nothing; needs wrk on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 2; }
cargo build --release --quiet
work="$(mktemp -d)"
port="${BENCH_PORT:-18080}"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

./target/release/provenance serve --demo --data-dir "$work/data" --bind "127.0.0.1:$port" \
  >"$work/out" 2>"$work/log" &
server=$!
for _ in $(seq 1 120); do
  grep -q '^device ' "$work/out" 2>/dev/null && break
  sleep 1
done
token="$(awk '$1 == "token" && $2 == "service_partner" && $3 == "wheelworks" { print $4 }' "$work/out")"
device="$(awk '$1 == "device" && /replaced/ { print $2; exit }' "$work/out")"
[ -n "$token" ] && [ -n "$device" ] || { echo "the demo server printed no token or device" >&2; cat "$work/log" >&2; exit 1; }
gtin="${device%%/*}"
serial="${device#*/}"

history_body="{\"query\": \"{ device(gtin: \\\"$gtin\\\", serial: \\\"$serial\\\") { history(last: 50) { edges { node { eventID bizStep eventDate fields { name value } } } } } }\"}"
typename_body='{"query": "{ __typename }"}'

script() { # $1: name, $2: JSON body (backslashes doubled for Lua's string)
  cat >"$work/$1.lua" <<LUA
wrk.method = "POST"
wrk.body = '${2//\\/\\\\}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
  # It must answer without errors before it is timed.
  answer="$(curl -s -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "$2" "http://127.0.0.1:$port/graphql")"
  case "$answer" in *'"errors"'*|'') echo "$1 query failed: $answer" >&2; exit 1;; esac
}
script history "$history_body"
script typename "$typename_body"

rate() { wrk -t2 -c64 -d10s -s "$work/$1.lua" "http://127.0.0.1:$port/graphql" | awk '/Requests\/sec/ { print $2 }'; }
history="$(rate history)"
typename="$(rate typename)"
echo "device history (last 50 events, service partner): $history req/s"
echo "{ __typename }: $typename req/s"
awk -v a="$history" -v b="$typename" 'BEGIN { printf "ratio %.3f\n", a / b }'
