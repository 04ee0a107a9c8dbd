#!/usr/bin/env bash
# Customer page throughput with wrk (Debian's `wrk`): 64 connections for 10 s
# each (2 threads), in the same run, on the same demo server, cycling through
# every demo unit (not one hot URL):
#   1. customer pages: /pip/01/{gtin}/21/{serial}?c={code}, the label's code;
#   2. anonymous pages: the same paths without ?c=;
#   3. the baselines: GET /_bench/baseline?bytes=N (PROVENANCE_BENCH_ENDPOINTS),
#      a pre-rendered body from memory with a page's headers, N the mean size
#      of a customer page and of an anonymous page (each kind is compared
#      with the baseline of its own size).
# Prints requests/s, p99 latency and the ratio to the baseline as a markdown
# table. Every unit gets its first label (printLabel, staff token) first; the
# pages are fetched once with curl before they are timed (which also fills
# the page cache, as a real server's would be).
#
#   bench/pages.sh              (installs nothing; needs wrk and curl on PATH)
#   BENCH_PORT=18080            the port of the demo server
set -euo pipefail
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl is not installed: apt-get install -y curl" >&2; exit 2; }
cargo build --release --quiet
work="$(mktemp -d)"
port="${BENCH_PORT:-18080}"
base="http://127.0.0.1:$port"
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

PROVENANCE_BENCH_ENDPOINTS=1 ./target/release/provenance serve --demo \
  --data-dir "$work/data" --bind "127.0.0.1:$port" >"$work/out" 2>"$work/log" &
server=$!
# The label lines come last of what the demo prints.
for _ in $(seq 1 300); do
  grep -q '^label ' "$work/out" 2>/dev/null && curl -sf -o /dev/null "$base/healthz" && break
  kill -0 "$server" 2>/dev/null || { echo "the demo server stopped:" >&2; cat "$work/log" >&2; exit 1; }
  sleep 1
done
token="$(awk '$1 == "token" && $2 == "staff" { print $4 }' "$work/out")"
[ -n "$token" ] && grep -q '^label ' "$work/out" ||
  { echo "the demo server printed no staff token or labels" >&2; cat "$work/log" >&2; exit 1; }

gql() { # $1: the JSON body; prints the answer, fails on errors
  local answer
  answer="$(curl -sS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "$1" "$base/graphql")"
  case "$answer" in *'"errors"'*|'') echo "GraphQL failed: $answer" >&2; return 1;; esac
  printf '%s\n' "$answer"
}

# Every unit staff see (packs and their parts), 500 a page. Demo GTINs and
# serials need no JSON or GraphQL escaping.
: >"$work/units"
after=null
while :; do
  answer="$(gql "{\"query\": \"query(\$after: String) { devices(first: 500, after: \$after) { edges { node { gtin serial } } pageInfo { hasNextPage endCursor } } }\", \"variables\": {\"after\": $after}}")"
  { printf '%s' "$answer" | grep -oE '"gtin": *"[0-9]+", *"serial": *"[^"]*"' || true; } |
    sed -E 's/^"gtin": *"([0-9]+)", *"serial": *"([^"]*)"$/\1 \2/' >>"$work/units"
  case "$answer" in *'"hasNextPage":true'*|*'"hasNextPage": true'*) ;; *) break;; esac
  after="$(printf '%s' "$answer" | sed -nE 's/.*"endCursor": *("[^"]*").*/\1/p')"
done
units="$(wc -l <"$work/units")"
[ "$units" -gt 0 ] || { echo "the demo has no units" >&2; exit 1; }

# Their labels' URLs: a label costs a tenth of a query's budget, so at most
# ten per operation; five here. A unit never printed gets its first label.
: >"$work/labels"
fields=
count=0
print_labels() {
  local answer
  [ -n "$fields" ] || return 0
  answer="$(gql "{\"query\": \"mutation {$fields }\"}")"
  { printf '%s' "$answer" | grep -oE '"url": *"[^"]*"' || true; } |
    sed -E 's/^"url": *"([^"]*)"$/\1/' >>"$work/labels"
  fields=
  count=0
}
while read -r gtin serial; do
  fields="$fields l$count: printLabel(gtin: \\\"$gtin\\\", serial: \\\"$serial\\\") { url }"
  count=$((count + 1))
  if [ "$count" -ge 5 ]; then print_labels; fi
done <"$work/units"
print_labels
[ "$(wc -l <"$work/labels")" -eq "$units" ] ||
  { echo "$(wc -l <"$work/labels") labels for $units units" >&2; exit 1; }

# http://host/01/…?c=CODE → /pip/01/…?c=CODE, and without the code.
sed -E 's#^https?://[^/]+/#/pip/#' "$work/labels" >"$work/customer.paths"
sed -E 's#\?.*$##' "$work/customer.paths" >"$work/anonymous.paths"

# Each page once (one connection, in order): every one must be 200; prints
# the mean body size in bytes.
fetch_all() { # $1: paths file
  awk -v base="$base" '{ printf "url = \"%s%s\"\noutput = \"/dev/null\"\n", base, $0 }' "$1" >"$work/curl.cfg"
  curl -s -g -K "$work/curl.cfg" -w '%{http_code} %{size_download}\n' >"$work/sizes"
  awk '$1 != 200 { bad++ } { n++; sum += $2 }
       END { if (bad || !n) { print bad " of " n " pages were not 200" > "/dev/stderr"; exit 1 }
             printf "%d\n", sum / n + 0.5 }' "$work/sizes"
}
customer_bytes="$(fetch_all "$work/customer.paths")"
anonymous_bytes="$(fetch_all "$work/anonymous.paths")"
grep -q 'Label code verified' < <(curl -s "$base$(head -1 "$work/customer.paths")") ||
  { echo "a customer page did not verify its code" >&2; exit 1; }
baseline_path="/_bench/baseline?bytes=$customer_bytes"
small_baseline_path="/_bench/baseline?bytes=$anonymous_bytes"
size="$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "$base$baseline_path")"
[ "$size" = "200 $customer_bytes" ] ||
  { echo "the baseline answered $size (PROVENANCE_BENCH_ENDPOINTS not served?)" >&2; exit 1; }

# A wrk script cycling through the paths of one file; the two threads start
# half the list apart.
cycle() { # $1: name, $2: paths file
  cat >"$work/$1.lua" <<LUA
local paths, i, threads = {}, 0, 0
function setup(thread)
  thread:set("start", threads)
  threads = threads + 1
end
function init(args)
  for line in io.lines("$2") do
    if line ~= "" then paths[#paths + 1] = line end
  end
  assert(#paths > 0, "no paths in $2")
  i = ((start or 0) * math.floor(#paths / 2)) % #paths
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA
}
cycle customer "$work/customer.paths"
cycle anonymous "$work/anonymous.paths"

# One run: $1 name, then wrk's script and target. Sets rps and p99.
measure() {
  local name="$1"
  shift
  wrk -t2 -c64 -d10s --latency "$@" >"$work/$name.wrk"
  if grep -q 'Non-2xx' "$work/$name.wrk"; then
    echo "$name: some answers were not 2xx or 3xx:" >&2
    cat "$work/$name.wrk" >&2
    exit 1
  fi
  grep 'Socket errors' "$work/$name.wrk" | sed "s/^ */$name: /" >&2 || true
  rps="$(awk '/Requests\/sec/ { print $2 }' "$work/$name.wrk")"
  p99="$(awk '$1 == "99%" { print $2 }' "$work/$name.wrk")"
  [ -n "$rps" ] && [ -n "$p99" ] || { echo "$name: wrk reported no rate:" >&2; cat "$work/$name.wrk" >&2; exit 1; }
}
measure customer -s "$work/customer.lua" "$base"
customer_rps="$rps" customer_p99="$p99"
measure anonymous -s "$work/anonymous.lua" "$base"
anonymous_rps="$rps" anonymous_p99="$p99"
measure baseline "$base$baseline_path"
baseline_rps="$rps" baseline_p99="$p99"
measure small_baseline "$base$small_baseline_path"
small_baseline_rps="$rps" small_baseline_p99="$p99"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo "$units demo units; customer pages $customer_bytes bytes on average, anonymous $anonymous_bytes"
echo
echo "| requests | requests/s | p99 | ratio to its baseline |"
echo "|---|---|---|---|"
echo "| customer pages (with the label's code) | $customer_rps | $customer_p99 | $(ratio "$customer_rps" "$baseline_rps") |"
echo "| baseline \`$baseline_path\` | $baseline_rps | $baseline_p99 | 1.000 |"
echo "| anonymous pages (no code) | $anonymous_rps | $anonymous_p99 | $(ratio "$anonymous_rps" "$small_baseline_rps") |"
echo "| baseline \`$small_baseline_path\` | $small_baseline_rps | $small_baseline_p99 | 1.000 |"
