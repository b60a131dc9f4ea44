#!/usr/bin/env bash
# Confab behind PgBouncer, side by side with Confab on PostgreSQL directly (docs/performance.md,
# "Behind PgBouncer"): the benchmark's page and send workloads (bench/confab/workloads, wrk with
# the shared harness's bench.lua) against one Confab process on the `seed --bench` data, in
# three set-ups:
#
#   direct      PostgreSQL directly, the defaults (settings sent in the startup packet)
#   direct-pgb  PostgreSQL directly with --db-pgbouncer (nothing in the startup packet; the
#               database's own settings say the same, ALTER DATABASE below)
#   pgbouncer   through PgBouncer (deploy/pgbouncer/pgbouncer.ini, 1.21 or later) with
#               --db-pgbouncer
#
# run one after the other, ROUNDS times over, so that whatever else the machine is doing
# falls on all three alike; then the median of each. Writes bench/results/pgbouncer-<stamp>.txt.
#
#   bench/pgbouncer/run.sh            # CONFAB_BIN defaults to target/release/confab
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
CONFAB_BIN=${CONFAB_BIN:-$root/target/release/confab}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-5s}
CONNS=${CONNS:-32}
PORT=5690
PGB_PORT=6439
DB=confab_bench_pgbouncer
ADMIN=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
DIRECT="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
POOLED="postgres://postgres:confab-ci@127.0.0.1:$PGB_PORT/$DB"
LUA=${LUA:-$root/../shared/bench-peer/workloads/bench.lua}
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=bench/results/pgbouncer-$STAMP.txt
work=$(mktemp -d)
chmod 755 "$work"
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

for tool in wrk pgbouncer psql; do command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }; done
[ -x "$CONFAB_BIN" ] || { echo "no $CONFAB_BIN (cargo build --release)" >&2; exit 1; }

# The data, loaded directly. jit and plan_cache_mode set for the database as well, so that
# all three set-ups plan alike (direct sends them in the startup packet; PgBouncer's
# connect_query sets them; direct-pgb sends nothing).
if ! psql "$ADMIN" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  psql "$ADMIN" -qc "CREATE DATABASE $DB"
fi
psql "$ADMIN" -qc "ALTER DATABASE $DB SET jit = off" -c "ALTER DATABASE $DB SET plan_cache_mode = force_generic_plan"
CONFAB_DATABASE_URL=$DIRECT RUST_LOG=warn "$CONFAB_BIN" seed --bench >/dev/null

# PgBouncer with the repository's configuration; plaintext to PostgreSQL, as the direct
# set-ups connect (sslmode=disable), so that TLS is not part of the difference.
sed -e "s/^listen_port = .*/listen_port = $PGB_PORT/" \
  -e "s#^auth_file = .*#auth_file = $work/userlist.txt#" \
  deploy/pgbouncer/pgbouncer.ini >"$work/pgbouncer.ini"
echo "server_tls_sslmode = disable" >>"$work/pgbouncer.ini"
cp deploy/pgbouncer/userlist.txt "$work/"
chmod 644 "$work"/*
as_user=(); [ "$(id -u)" = 0 ] && as_user=(-u postgres)
pgbouncer "${as_user[@]}" "$work/pgbouncer.ini" 2>"$work/pgbouncer.log" &
echo $! >"$work/pgbouncer.pid"
for _ in $(seq 50); do psql "$POOLED" -tAc 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.1; done

set -a; . bench/confab/server.env; set +a
URL=http://127.0.0.1:$PORT/graphql

run() { # setup round -> one line per workload
  local setup=$1 round=$2 url pgb
  case $setup in
    direct) url=$DIRECT pgb=false ;;
    direct-pgb) url=$DIRECT pgb=true ;;
    pgbouncer) url=$POOLED pgb=true ;;
  esac
  CONFAB_DATABASE_URL=$url CONFAB_DB_PGBOUNCER=$pgb CONFAB_BIND=127.0.0.1:$PORT \
    CONFAB_DELETED_BODY_RETENTION_DAYS=3650 CONFAB_RATE_MESSAGES_PER_10S=1000000 \
    RUST_LOG=warn "$CONFAB_BIN" serve >"$work/confab.log" 2>&1 &
  echo $! >"$work/confab.pid"
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
  for w in page send; do
    wrk -t2 -c"$CONNS" -d"$WARMUP" --timeout 10s -s "$LUA" "$URL" -- bench/confab/workloads/$w.json >/dev/null 2>&1
    wrk -t2 -c"$CONNS" -d"$DURATION" --timeout 10s --latency -s "$LUA" "$URL" -- bench/confab/workloads/$w.json \
      | awk -v s="$setup" -v w="$w" -v r="$round" '/^BENCH/ {v[$2]=$3} END {printf "%-10s %-5s #%s %8.1f %7.2f %7.2f %5d\n", s, w, r, v["rps"], v["p50_ms"], v["p99_ms"], v["bad_responses"] + v["non2xx"] + v["socket_errors"]}'
  done
  kill "$(cat "$work/confab.pid")"; wait "$(cat "$work/confab.pid")" 2>/dev/null || true
  rm -f "$work/confab.pid"
}

{
  echo "confab:     $("$CONFAB_BIN" --version) ($CONFAB_BIN), one process, default pool (--db-max-connections 16)"
  echo "pgbouncer:  $(pgbouncer --version | head -1), deploy/pgbouncer/pgbouncer.ini (default_pool_size 10, max_prepared_statements 200), server_tls_sslmode = disable"
  echo "postgresql: $(psql "$ADMIN" -tAc 'SHOW server_version'), data: confab seed --bench, jit off and plan_cache_mode force_generic_plan for the database"
  echo "machine:    $(nproc) cores, shared with other work (builds) while this ran; wrk, Confab, PgBouncer and PostgreSQL on the same cores"
  echo "wrk:        -t2 -c$CONNS -d$DURATION (after a $WARMUP warm-up), bench/confab/workloads/{page,send}.json"
  echo "date (UTC): $(date -u '+%Y-%m-%d %H:%M')"
  echo
  echo "EVERY RUN (setups alternated: direct, direct-pgb, pgbouncer, then again)"
  echo "setup      work  run    req/s  p50 ms  p99 ms   bad"
} | tee "$OUT"
for round in $(seq "$ROUNDS"); do
  for setup in direct direct-pgb pgbouncer; do
    run "$setup" "$round" | tee -a "$OUT" "$work/runs.txt"
  done
done
{
  echo
  echo "MEDIAN of $ROUNDS runs (each column's median taken on its own)"
  echo "setup      work     req/s  p50 ms  p99 ms"
  for setup in direct direct-pgb pgbouncer; do
    for w in page send; do
      awk -v s="$setup" -v w="$w" '$1 == s && $2 == w {print $4}' "$work/runs.txt" | sort -n \
        | awk -v s="$setup" -v w="$w" '{r[NR]=$1} END {m=int((NR+1)/2); printf "%-10s %-5s", s, w; printf " %9.1f", r[m]}'
      for col in 5 6; do
        awk -v s="$setup" -v w="$w" -v c="$col" '$1 == s && $2 == w {print $c}' "$work/runs.txt" | sort -n \
          | awk '{r[NR]=$1} END {printf " %7.2f", r[int((NR+1)/2)]}'
      done
      echo
    done
  done
} | tee -a "$OUT"
