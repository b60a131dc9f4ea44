#!/usr/bin/env bash
# The database's own ceiling (docs/performance.md, "The database's own ceiling"; issue #30):
# the statements Confab runs for a workload, run by pgbench (PostgreSQL) or by sqlite.py
# (SQLite) without Confab, against Confab serving the same workload through wrk, on the same
# machine in the same sitting, alternated, ROUNDS times; then the medians and their ratio.
#
#   page    room-007's page 2 as its owner: pgbench page.sql at wrk's concurrency (-c32 -j2)
#   send    Confab's group commit: the batch statement and the unread feed's member lookup,
#           batches of the size Confab's writer made in the same round (its
#           confab_message_batch_size histogram), on one connection, as Confab has one writer
#           (send_script below writes the pgbench script for a batch size); then without group
#           commit, batches of one on -c32 -j2
#   nested  the administrator's 20 rooms: pgbench nested.sql at -c32 -j2; also the PostgreSQL
#           backends' CPU time per request (Confab) and per transaction (pgbench)
#
# Every workload first removes what send runs wrote (`confab seed --bench`). The statements in
# page.sql and nested.sql are Confab's own text (recorded from PostgreSQL's log_statement),
# prepared once per connection and run with a generic plan, as Confab runs them (Confab sends
# plan_cache_mode = force_generic_plan and jit = off in its startup packet; so does PGOPTIONS
# here). Writes bench/results/ceiling-<stamp>.txt.
#
#   bench/ceiling/capture.sh              # first, when the statements changed: page.sql, nested.sql ...
#   bench/ceiling/run.sh                  # CONFAB_BIN defaults to target/release/confab
#   SQLITE=0 WORKLOADS="page" ROUNDS=1 bench/ceiling/run.sh
#   CONFAB_COMMIT=abc1234 CONFAB_BIN=... bench/ceiling/run.sh   # a binary built elsewhere: its commit
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
CONFAB_BIN=${CONFAB_BIN:-$root/target/release/confab}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-5}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
WORKLOADS=${WORKLOADS:-page send nested}
SQLITE=${SQLITE:-1}
# sqlite.py's page processes (SQLite has no server connections: one process per core).
SQLITE_PROCS=${SQLITE_PROCS:-$(nproc)}
PORT=${PORT:-5749}
DB=${DB:-confab_ceiling}
ADMIN=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
DBURL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
SQLITE_FILE=${SQLITE_FILE:-/tmp/confab-ceiling.sqlite}
LUA=${LUA:-$root/../shared/bench-peer/workloads/bench.lua}
STAMP=$(date -u +%Y%m%d-%H%M%S)
OUT=${OUT:-bench/results/ceiling-$STAMP.txt}
export PGOPTIONS="-c plan_cache_mode=force_generic_plan -c jit=off"
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

for tool in wrk pgbench psql python3 curl; do command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }; done
[ -x "$CONFAB_BIN" ] || { echo "no $CONFAB_BIN (cargo build --release)" >&2; exit 1; }

if ! psql "$ADMIN" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  psql "$ADMIN" -qc "CREATE DATABASE $DB"
fi
reset_pg() { CONFAB_DATABASE_URL=$DBURL RUST_LOG=warn "$CONFAB_BIN" seed --bench >/dev/null; }
reset_sqlite() { CONFAB_DATABASE_URL="sqlite://$SQLITE_FILE" RUST_LOG=warn "$CONFAB_BIN" seed --bench >/dev/null; }
reset_pg
[ "$SQLITE" = 1 ] && reset_sqlite

set -a; . bench/confab/server.env; set +a # BENCH_AUTH, BENCH_AUTH_USER_*
URL=http://127.0.0.1:$PORT/graphql

start_confab() { # database url
  CONFAB_DATABASE_URL=$1 CONFAB_BIND=127.0.0.1:$PORT \
    CONFAB_DELETED_BODY_RETENTION_DAYS=3650 CONFAB_RATE_MESSAGES_PER_10S=1000000 \
    RUST_LOG=warn "$CONFAB_BIN" serve >"$work/confab.log" 2>&1 &
  echo $! >"$work/confab.pid"
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
  # (a server of someone else's on the port would answer too)
  kill -0 "$(cat "$work/confab.pid")" 2>/dev/null || { echo "confab did not start" >&2; cat "$work/confab.log" >&2; exit 1; }
}
stop_confab() {
  kill "$(cat "$work/confab.pid")"; wait "$(cat "$work/confab.pid")" 2>/dev/null || true
  rm -f "$work/confab.pid"
}
# The mean size of the message writer's batches so far (its histogram's sum and count).
batches() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^confab_message_batch_size_(sum|count)/ {v[$1]=$2} END {printf "%s %s", v["confab_message_batch_size_sum"]+0, v["confab_message_batch_size_count"]+0}'; }

# wrk: a warm-up, then (after `between`, a command run between the two) the measured run;
# prints req/s, p50, p99, bad responses and requests.
wrk_run() { # workload between
  wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" --timeout 10s -s "$LUA" "$URL" -- "bench/confab/workloads/$1.json" >/dev/null 2>&1
  $2
  /usr/bin/time -f "%U %S" -o "$work/client.cpu" \
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency -s "$LUA" "$URL" -- "bench/confab/workloads/$1.json" \
    | awk '/^BENCH/ {v[$2]=$3} END {printf "%.1f %.2f %.2f %d %d\n", v["rps"], v["p50_ms"], v["p99_ms"], v["bad_responses"] + v["non2xx"] + v["socket_errors"], v["requests"]}'
}

# The pgbench script for send in batches of $1: bench.lua's draw of a room and one of its
# members per message, the batch statement exactly as the writer sends it (its one JSON
# value built here by PostgreSQL from the drawn numbers, ids UUIDv7 like Confab's), then the
# unread feed's member lookup for those rooms (Confab's feed makes one per pass over the
# rooms changed since the last; one per batch here).
send_script() {
  local b=$1 i json="" rooms="" params=""
  for i in $(seq "$b"); do
    echo "\\set r$i random(0, 499)"
    echo "\\set k$i random(0, 9)"
    echo "\\set u$i ((:r$i * 10 + :k$i) * 7 + :r$i / 200) % 2000"
    json+="${json:+, }jsonb_build_object('id', encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid, 'room_id', ('00000000-0000-4000-9000-' || lpad(to_hex(:r$i), 12, '0'))::uuid, 'sender_id', ('00000000-0000-4000-8000-' || lpad(to_hex(:u$i), 12, '0'))::uuid, 'kind', 'text', 'body', 'bench-send pgbench hello from the load generator', 'reply_to_id', NULL, 'metadata', NULL, 'created_at', clock_timestamp())"
    rooms+="${rooms:+, }('00000000-0000-4000-9000-' || lpad(to_hex(:r$i), 12, '0'))::uuid"
    params+="${params:+, }uuid"
  done
  echo "\\if :prepared = 0"
  sed -n '/^-- send: the batch$/,/^-- end$/p' "$here/send-statements.sql" | grep -v '^--' | sed "s/^/PREPARE ceiling_send(jsonb) AS /; s/\$/;/"
  sed -n '/^-- send: unread members$/,/^-- end$/p' "$here/send-statements.sql" | grep -v '^--' \
    | python3 -c "import sys; s = sys.stdin.read().strip(); print(s.replace('\$1', ', '.join('\$%d' % (i + 1) for i in range($b))))" \
    | sed "s/^/PREPARE ceiling_unread($params) AS /; s/\$/;/"
  echo "\\set prepared 1"
  echo "\\endif"
  echo "EXECUTE ceiling_send(jsonb_build_array($json));"
  echo "EXECUTE ceiling_unread($rooms);"
}

# pgbench's measured run: prints tps, average latency, transactions, its backends' CPU seconds.
pgbench_run() { # script clients threads [extra args]
  local script=$1 clients=$2 threads=$3; shift 3
  pgbench -n -M simple -D prepared=0 "$@" -c "$clients" -j "$threads" -T "$WARMUP" -f "$script" "$DBURL" >/dev/null 2>&1
  python3 "$here/pgcpu.py" watch "$ADMIN" "$DB" pgbench >"$work/cpu" &
  echo $! >"$work/watch.pid"
  /usr/bin/time -f "%U %S" -o "$work/client.cpu" \
    pgbench -n -M simple -D prepared=0 "$@" -c "$clients" -j "$threads" -T "$DURATION" -f "$script" "$DBURL" >"$work/pgbench.out" 2>&1 \
    || { cat "$work/pgbench.out" >&2; exit 1; }
  wait "$(cat "$work/watch.pid")"; rm -f "$work/watch.pid"
  awk -v cpu="$(cat "$work/cpu")" '/^tps = / {tps=$3} /^latency average/ {lat=$4} /actually processed/ {n=$NF} END {printf "%.1f %.3f %d %s\n", tps, lat, n, cpu}' "$work/pgbench.out"
}

{
  echo "confab:     $("$CONFAB_BIN" --version) ($CONFAB_BIN), commit ${CONFAB_COMMIT:-$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src entity migration Cargo.lock || echo ' (+ uncommitted changes)')}, one process, default pool (--db-max-connections 16)"
  echo "postgresql: $(psql "$ADMIN" -tAc 'SHOW server_version'), $(pgbench --version), database $DB: confab seed --bench; PGOPTIONS=$PGOPTIONS"
  echo "sqlite:     python3 $(python3 -c 'import sqlite3, sys; print(sys.version.split()[0], "sqlite", sqlite3.sqlite_version)') (sqlite.py), Confab's bundled SQLite; $SQLITE_FILE"
  echo "machine:    $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), SHARED with other work; wrk/pgbench, Confab and PostgreSQL on the same cores"
  echo "runs:       ${DURATION}s measured after ${WARMUP}s warm-up; wrk -t$THREADS -c$CONNS (bench/confab/workloads); pgbench -c$CONNS -j$THREADS (page, nested; send in batches of one), -c1 (send in Confab's batch size); sqlite.py page with $SQLITE_PROCS processes, send with one"
  echo "date (UTC): $(date -u '+%Y-%m-%d %H:%M')"
  echo
  echo "EVERY RUN (Confab, then the database alone, per workload and round; load = 1-minute load average before the pair)"
  echo "per_s: requests (pgbench: transactions; send: messages) a second. CPU in ms per request/transaction/message:"
  echo "pg = the database's backends, server = Confab's process, client = wrk, pgbench or sqlite.py (for sqlite.py, everything)"
  echo "what         work    run      per_s  p50/lat_ms  p99_ms  bad   count  pg_ms  server_ms  client_ms  batch  load"
} | tee "$OUT"

per() { # cpu_seconds count -> ms per item
  if [ "$1" = - ]; then echo -; else awk -v c="$1" -v n="$2" 'BEGIN {printf "%.3f", c * 1000 / n}'; fi
}
client_cpu() { # /usr/bin/time writes its file after its command's output has closed
  for _ in $(seq 50); do [ -s "$work/client.cpu" ] && break; sleep 0.05; done
  awk '{printf "%.2f", $1 + $2}' "$work/client.cpu"; rm -f "$work/client.cpu"
}
line() { # who work round per_s lat p99 bad count pg_cpu server_cpu client_cpu batch load
  printf "%-13s %-7s #%-3s %9s %11s %7s %4s %7s %6s %10s %10s %6s %5s\n" "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" \
    "$(per "$9" "$8")" "$(per "${10}" "$8")" "$(per "${11}" "$8")" "${12}" "${13}" | tee -a "$OUT" "$work/runs.txt"
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

mark() { # before a measured run: the PostgreSQL backends' CPU and the writer's batches
  if [ "$backend" = pg ]; then python3 "$here/pgcpu.py" snapshot "$ADMIN" "$DB" other >"$work/cpu0"; fi
  batches >"$work/batch0"
  ticks "$(cat "$work/confab.pid")" >"$work/server0"
}

confab() { # backend workload round
  local load rps p50 p99 bad n cpu=- server batch=- url=$DBURL
  backend=$1
  load=$(cut -d' ' -f1 /proc/loadavg)
  if [ "$1" = pg ]; then reset_pg; else reset_sqlite; url="sqlite://$SQLITE_FILE"; fi
  start_confab "$url"
  read -r rps p50 p99 bad n < <(wrk_run "$2" mark)
  server=$(awk -v a="$(cat "$work/server0")" -v b="$(ticks "$(cat "$work/confab.pid")")" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) / hz}')
  if [ "$1" = pg ]; then
    cpu=$(python3 "$here/pgcpu.py" diff "$(cat "$work/cpu0")" "$(python3 "$here/pgcpu.py" snapshot "$ADMIN" "$DB" other)")
  fi
  if [ "$2" = send ]; then
    batch=$(echo "$(cat "$work/batch0") $(batches)" | awk '{printf "%.1f", ($3 - $1) / ($4 - $2)}')
  fi
  stop_confab
  line "confab-$1" "$2" "$3" "$rps" "$p50" "$p99" "$bad" "$n" "$cpu" "$server" "$(client_cpu)" "$batch" "$load"
  echo "$batch" >"$work/batch"
}

alone() { # backend workload round
  local load tps lat n cpu b=- script
  load=$(cut -d' ' -f1 /proc/loadavg)
  if [ "$1" = pg ]; then
    reset_pg
    case $2 in
      send)
        b=$(awk '{printf "%d", $1 + 0.5}' "$work/batch"); [ "$b" -ge 1 ] || b=1
        send_script "$b" >"$work/send.sql"
        read -r tps lat n cpu < <(pgbench_run "$work/send.sql" 1 1)
        # per batch -> per message
        tps=$(awk -v t="$tps" -v b="$b" 'BEGIN {printf "%.1f", t * b}'); n=$((n * b))
        line "pgbench" "$2" "$3" "$tps" "$lat" - - "$n" "$cpu" - "$(client_cpu)" "$b" "$load"
        # and without group commit: every wrk connection's send its own batch of one
        load=$(cut -d' ' -f1 /proc/loadavg)
        reset_pg
        send_script 1 >"$work/send1.sql"
        read -r tps lat n cpu < <(pgbench_run "$work/send1.sql" "$CONNS" "$THREADS")
        line "pgbench-c$CONNS" "$2" "$3" "$tps" "$lat" - - "$n" "$cpu" - "$(client_cpu)" 1 "$load"
        return
        ;;
      *) read -r tps lat n cpu < <(pgbench_run "$here/$2.sql" "$CONNS" "$THREADS") ;;
    esac
    line "pgbench" "$2" "$3" "$tps" "$lat" - - "$n" "$cpu" - "$(client_cpu)" "$b" "$load"
  else
    reset_sqlite
    local arg=$SQLITE_PROCS
    if [ "$2" = send ]; then b=$(awk '{printf "%d", $1 + 0.5}' "$work/batch"); [ "$b" -ge 1 ] || b=1; arg=$b; fi
    python3 "$here/sqlite.py" "$2" "$SQLITE_FILE" "$WARMUP" "$arg" >/dev/null
    read -r _ n _ _ _ tps < <(/usr/bin/time -f "%U %S" -o "$work/client.cpu" python3 "$here/sqlite.py" "$2" "$SQLITE_FILE" "$DURATION" "$arg")
    line "sqlite.py" "$2" "$3" "$tps" - - - "$n" - - "$(client_cpu)" "$b" "$load"
  fi
}

for round in $(seq "$ROUNDS"); do
  for w in $WORKLOADS; do
    confab pg "$w" "$round"
    alone pg "$w" "$round"
    if [ "$SQLITE" = 1 ] && [ "$w" != nested ]; then
      confab sqlite "$w" "$round"
      alone sqlite "$w" "$round"
    fi
  done
done

median() { # who work column
  awk -v a="$1" -v w="$2" -v c="$3" '$1 == a && $2 == w && $c != "-" {print $c}' "$work/runs.txt" | sort -g \
    | awk '{r[NR]=$1} END {if (NR) printf "%s", r[int((NR+1)/2)]; else printf "-"}'
}
{
  echo
  echo "MEDIANS of $ROUNDS runs (each column on its own) and RATIOS (Confab / the database alone)"
  echo "CPU in ms per request (Confab) or per transaction/message (alone): pg = PostgreSQL backends, server = Confab, client = wrk/pgbench/sqlite.py"
  echo "(pg send: alone = pgbench -c1 in Confab's batch size, then pgbench -c$CONNS in batches of one)"
  echo "backend  work    confab_per_s  alone_per_s  ratio   confab: pg_ms server_ms client_ms   alone: pg_ms client_ms   pg_cpu_ratio"
  for w in $WORKLOADS; do
    for b in pg sqlite; do
      if [ "$b" = sqlite ] && { [ "$SQLITE" != 1 ] || [ "$w" = nested ]; }; then continue; fi
      alone_name=pgbench; [ "$b" = sqlite ] && alone_name=sqlite.py
      for alone_name in $alone_name $([ "$b$w" = pgsend ] && echo "pgbench-c$CONNS"); do
      c=$(median "confab-$b" "$w" 4); a=$(median "$alone_name" "$w" 4)
      cp=$(median "confab-$b" "$w" 9); cs=$(median "confab-$b" "$w" 10); cc=$(median "confab-$b" "$w" 11)
      ap=$(median "$alone_name" "$w" 9); ac=$(median "$alone_name" "$w" 11)
      awk -v b="$b" -v w="$w" -v c="$c" -v a="$a" -v cp="$cp" -v cs="$cs" -v cc="$cc" -v ap="$ap" -v ac="$ac" 'BEGIN {
        r = (a + 0 > 0) ? sprintf("%.2f", c / a) : "-"
        pr = (cp != "-" && ap != "-" && ap + 0 > 0) ? sprintf("%.2f", cp / ap) : "-"
        printf "%-8s %-7s %12s %12s %6s   %12s %9s %9s   %12s %9s   %12s\n", b, w, c, a, r, cp, cs, cc, ap, ac, pr }'
      done
    done
  done
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$OUT"
