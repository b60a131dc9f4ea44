#!/usr/bin/env bash
# Two Confab binaries on one workload, alternated on the same database: the quick A/B behind
# the "tried" paragraphs of docs/performance.md (bench/results/send-pipeline-20261207.txt).
#
#   bench/ab/run.sh BASE_BIN NEW_BIN [WORKLOAD] [PAIRS] [SECONDS]
#
# WORKLOAD is one of bench/confab/workloads (default send), PAIRS the number of base/new pairs
# (default 3; the order swaps every pair, so drift falls on both sides), SECONDS each measured
# run (default 15, after a 3 s warm-up). CONFAB_BENCH_DB names the database as for
# bench/confab (default: the PostgreSQL database confab_bench, which must exist; a sqlite://
# URL works too); each run starts with `seed --bench`, which loads it the first time and
# otherwise removes what an earlier send run wrote. WRK_CONNECTIONS (default 32, the harness's)
# sets wrk's connections. The harness's bench.lua comes from BENCH_PEER (default
# ../shared/bench-peer beside this checkout).
#
# One line per run: the label, req/s, p99 ms, bad answers, and the CPU seconds the confab
# process used during the measured run (user + system).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
base=${1:?base binary}
new=${2:?new binary}
workload=${3:-send}
pairs=${4:-3}
secs=${5:-15}
bench_peer=${BENCH_PEER:-$root/../shared/bench-peer}
port=${CONFAB_BENCH_PORT:-5680}
body=$root/bench/confab/workloads/$workload.json
script=$bench_peer/workloads/bench.lua
[ -f "$body" ] || { echo "no workload $body" >&2; exit 2; }
[ -f "$script" ] || { echo "no $script: set BENCH_PEER" >&2; exit 2; }

export CONFAB_DATABASE_URL=${CONFAB_BENCH_DB:-postgres://postgres@127.0.0.1:5432/confab_bench?sslmode=disable}
export CONFAB_BIND=127.0.0.1:$port
# As bench/confab/start.sh: the seed's deleted messages keep their text, and wrk's senders are
# not rate limited (the check still runs).
export CONFAB_DELETED_BODY_RETENTION_DAYS=3650 CONFAB_RATE_MESSAGES_PER_10S=1000000
export RUST_LOG=${RUST_LOG:-warn}
export BENCH_AUTH="Bearer bench-token-%d" BENCH_AUTH_USER_nested=0 BENCH_AUTH_USER_page=490 \
  BENCH_AUTH_USER_search=490

cpu_seconds() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; }
field() { awk -v key="$1" '$1 == "BENCH" && $2 == key { print $3 }'; }

one_run() {
  local bin=$1 label=$2
  # A server left from an earlier run would answer in this one's place.
  if curl -s -o /dev/null "http://127.0.0.1:$port/health"; then
    echo "something already listens on port $port" >&2
    exit 1
  fi
  "$bin" seed --bench > /dev/null
  "$bin" serve > "/tmp/confab-ab-$label.log" 2>&1 &
  local pid=$!
  for _ in $(seq 200); do
    curl -s -o /dev/null "http://127.0.0.1:$port/health" && break
    sleep 0.1
  done
  local wrk_args=(-t2 "-c${WRK_CONNECTIONS:-32}" -s "$script" "http://127.0.0.1:$port/graphql" -- "$body")
  wrk -d3s "${wrk_args[@]}" > /dev/null
  local before after out
  before=$(cpu_seconds "$pid")
  out=$(wrk "-d${secs}s" --latency "${wrk_args[@]}")
  after=$(cpu_seconds "$pid")
  kill "$pid"
  wait "$pid" 2> /dev/null || true
  echo "$label $workload rps=$(field rps <<< "$out") p99_ms=$(field p99_ms <<< "$out")" \
    "bad=$(field bad_responses <<< "$out") server_cpu_s=$(echo "$after - $before" | bc)"
}

for i in $(seq "$pairs"); do
  if [ $((i % 2)) = 1 ]; then
    one_run "$base" base
    one_run "$new" new
  else
    one_run "$new" new
    one_run "$base" base
  fi
done
