#!/usr/bin/env bash
# Instructions one request of a workload costs the server, counted by callgrind (valgrind):
# repeatable for the same binary and data whatever else the machine is doing, and with call
# graphs, which perf cannot give for the release build (no frame pointers).
#
#   bench/profile/callgrind.sh BIN DATABASE_URL WORKLOAD [N] [USER]
#
# BIN is a confab binary (a release build: it keeps the debug info that names functions),
# DATABASE_URL a database `confab seed --bench` loaded, WORKLOAD a request body without
# placeholders (bench/confab/workloads/page.json, nested.json, search.json). The server runs
# with one HTTP worker; 20 requests warm it up, then N (200) are counted, sent one at a time
# as bench-token-USER (490). Prints the instructions per request and the functions with the
# most of them, their own and with what they call; the counts stay in $OUT.
# Beware `rep movsb`: valgrind counts each byte a large memcpy moves as an instruction.
set -euo pipefail
bin=$1 url=$2 body=$3 n=${4:-200} user=${5:-490}
out=${OUT:-/tmp/confab-callgrind}
port=${PORT:-5699}
rm -rf "$out" && mkdir -p "$out/blobs"
CONFAB_DATABASE_URL=$url CONFAB_BIND=127.0.0.1:$port CONFAB_DELETED_BODY_RETENTION_DAYS=3650 \
  RUST_LOG=warn valgrind --tool=callgrind --dump-instr=no \
  --callgrind-out-file="$out/callgrind.out.%p" \
  "$bin" serve --blob-dir "$out/blobs" --workers 1 > "$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 120); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break
  sleep 1
done
post() {
  for _ in $(seq "$1"); do
    curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
      -H "Authorization: Bearer bench-token-$user" --data "@$body" \
      "http://127.0.0.1:$port/graphql"
  done
}
post 20
callgrind_control -z "$server" > /dev/null
post "$n"
callgrind_control -d counted "$server" > /dev/null
counted=$(ls "$out"/callgrind.out.*.1)
total=$(callgrind_annotate "$counted" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "$(basename "$body"): $n requests, $((total / n)) instructions per request ($counted)"
strip='s#/root/.cargo/registry/src/[^/]*/##g; s#/rustc/[0-9a-f]*/##g'
echo "-- own instructions"
# (callgrind_annotate lists the threads' entry points first, with everything in them.)
callgrind_annotate --inclusive=no --threshold=100 --auto=no "$counted" | sed "$strip" |
  awk '/^ *[0-9,]+ \( *[0-9.]+%\)/ { p = $0; sub(/^[^(]*\( */, "", p); if (p + 0 < 50) print }' |
  head -30 | cut -c1-200
echo "-- with what they call"
callgrind_annotate --inclusive=yes --threshold=100 "$counted" | sed "$strip" | grep '/work/\|confab::' | head -40 | cut -c1-200
