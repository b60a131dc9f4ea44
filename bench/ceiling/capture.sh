#!/usr/bin/env bash
# Records the statements Confab runs for one page, one send and one nested request, from
# PostgreSQL's own log (log_statement = 'all', set for a database of its own only), and
# writes them as pgbench scripts for run.sh: page.sql and nested.sql (capture.py: the
# statements with the values of that request) and send-statements.sql (the writer's batch
# statement and the unread feed's member lookup; run.sh fills in batches). Each workload is
# sent twice and the second request recorded, when the session cache is warm.
#
#   bench/ceiling/capture.sh      # CONFAB_BIN defaults to target/release/confab
#
# Reads the server log at LOG (Debian's default; logging_collector off); run it again when
# the statements change.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
CONFAB_BIN=${CONFAB_BIN:-$root/target/release/confab}
LOG=${LOG:-/var/log/postgresql/postgresql-15-main.log}
PORT=${PORT:-5748}
DB=confab_ceiling_capture
ADMIN=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
DBURL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

[ -r "$LOG" ] || { echo "cannot read $LOG (LOG=...)" >&2; exit 1; }
if ! psql "$ADMIN" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  psql "$ADMIN" -qc "CREATE DATABASE $DB"
fi
CONFAB_DATABASE_URL=$DBURL RUST_LOG=warn "$CONFAB_BIN" seed --bench >/dev/null
psql "$ADMIN" -qc "ALTER DATABASE $DB SET log_statement = 'all'"
CONFAB_DATABASE_URL=$DBURL CONFAB_BIND=127.0.0.1:$PORT CONFAB_DELETED_BODY_RETENTION_DAYS=3650 \
  RUST_LOG=warn "$CONFAB_BIN" serve >"$work/confab.log" 2>&1 &
echo $! >"$work/confab.pid"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
kill -0 "$(cat "$work/confab.pid")" || { cat "$work/confab.log" >&2; exit 1; }

record() { # workload user -> the log lines of its second request
  local body before
  body=$(sed "s/{{ROOM_ID}}/00000000-0000-4000-9000-000000000007/; s/{{BODY}}/bench-send capture/" "bench/confab/workloads/$1.json")
  for _ in 1 2; do
    before=$(wc -l <"$LOG")
    curl -sf -o "$work/$1.json" -H 'Content-Type: application/json' -H "Authorization: Bearer bench-token-$2" \
      --data "$body" "http://127.0.0.1:$PORT/graphql"
    ! grep -q '"errors"' "$work/$1.json" || { cat "$work/$1.json" >&2; exit 1; }
    sleep 1 # the unread feed's lookup follows a send
  done
  tail -n +"$((before + 1))" "$LOG" | grep " postgres@$DB " >"$work/$1.log" || true
}
record page 490
record nested 0
record send 490
psql "$ADMIN" -qc "ALTER DATABASE $DB RESET log_statement"

python3 "$here/capture.py" "$work/page.log" >"$here/page.sql"
python3 "$here/capture.py" "$work/nested.log" >"$here/nested.sql"
{
  echo "-- send: the batch"
  sed -nE 's/^.* LOG:  execute [^:]+: (.*jsonb_to_recordset.*)$/\1/p' "$work/send.log"
  echo "-- end"
  echo "-- send: unread members"
  sed -nE 's/^.* LOG:  execute [^:]+: (SELECT "room_members"."room_id", "room_members"."user_id" FROM .*)$/\1/p' "$work/send.log"
  echo "-- end"
} >"$here/send-statements.sql"
echo "recorded: page $(grep -c '^EXECUTE' "$here/page.sql"), nested $(grep -c '^EXECUTE' "$here/nested.sql") statements;" \
  "send: $(grep -vc '^--' "$here/send-statements.sql") statements (of $(grep -c 'LOG:  execute' "$work/send.log") in its log)"
