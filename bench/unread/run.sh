#!/usr/bin/env bash
# Unread counts at scale (docs/performance.md, "Unread counts at scale"): seeds the benchmark
# data, adds EXTRA messages to room-007 in SQL (numbered after the seed's, every 97th deleted,
# sent by its other nine members), puts user0497's read marker on the room's last seeded
# message, then times `room(id) { unreadCount }` as user0497 through the server (REQUESTS
# sequential curl requests after 10 warm-ups) and the count's statement alone, the one
# before migration 36 (counting every unread message) against the one after (RUNS each).
#
#   bench/unread/run.sh postgres://postgres@127.0.0.1:5432/confab_unread?sslmode=disable
#   bench/unread/run.sh sqlite:///tmp/confab-unread.db?mode=rwc
#
# Env: CONFAB_BIN (target/release/confab), SCALE (10), EXTRA (100000), REQUESTS (200),
# RUNS (20), PORT (5690), LOAD (yes; `no` times a database an earlier run loaded, without
# seeding or adding anything). Prints everything it measured.
set -euo pipefail
url=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${CONFAB_BIN:-$root/target/release/confab}
scale=${SCALE:-10} extra=${EXTRA:-100000} requests=${REQUESTS:-200} runs=${RUNS:-20}
port=${PORT:-5690}
room=00000000-0000-4000-9000-000000000007
reader=497                         # member 1 of room 7: (70 + 1) * 7
hexroom=00000000000040009000000000000007
user() { printf '00000000-0000-4000-8000-%012x' "$1"; }
userhex() { printf '0000000000004000800000000000%04x' "$1"; }

echo "== $(date -u +%FT%TZ) $(git -C "$root" rev-parse --short HEAD) $(uptime)"
echo "== $url scale $scale, +$extra messages in room-007"
load=${LOAD:-yes}
[ "$load" = no ] || CONFAB_DATABASE_URL=$url RUST_LOG=warn "$bin" seed --bench --scale "$scale"

# The other nine members send in turn; the reader's marker ends on the seed's last message.
senders_pg="ARRAY[$(for k in 0 2 3 4 5 6 7 8 9; do printf "'%s'::uuid," "$(user $((490 + 7 * k)))"; done | sed 's/,$//')]"
case $url in
postgres*)
  db() { psql -q -X -v ON_ERROR_STOP=1 "${url%%\?*}" "$@"; }
  one() { db -t -A -c "$1"; }
  [ "$load" = no ] || db -c "INSERT INTO messages (id, room_id, sender_id, kind, body, created_at, deleted_at, reacted, seq)
    SELECT gen_random_uuid(), '$room', ($senders_pg)[1 + g % 9], 'text', 'extra ' || g,
      timestamptz '2026-01-01' + g * interval '1 second',
      CASE WHEN g % 97 = 0 THEN timestamptz '2026-06-01' END, false,
      (SELECT last_seq FROM room_seqs WHERE room_id = '$room') + g
    FROM generate_series(1, $extra) g;
    UPDATE room_seqs SET last_seq = last_seq + $extra WHERE room_id = '$room';
    UPDATE room_members SET last_read_message_id =
      (SELECT id FROM messages WHERE room_id = '$room' AND seq = 400)
      WHERE room_id = '$room' AND user_id = '$(user $reader)';"
  [ "$load" = no ] || db -c "VACUUM ANALYZE messages, room_members, room_seqs"
  marker="(SELECT m.created_at, m.id, m.seq FROM room_members rm JOIN messages m
    ON m.id = rm.last_read_message_id WHERE rm.room_id = '$room' AND rm.user_id = '$(user $reader)')"
  reader_id="'$(user $reader)'" room_id="'$room'"
  time_sql() { # name, statement: RUNS timings in ms
    local t; t=$(for _ in $(seq "$runs"); do echo "$2;"; done \
      | db -c '\timing on' -f - 2>&1 | grep -o 'Time: [0-9.]*' | cut -d' ' -f2 | tr '\n' ' ')
    echo "$1 ms: $t"
  }
  ;;
sqlite*)
  file=${url#sqlite://}; file=${file%%\?*}
  db() { sqlite3 -bail "$file" "$@"; }
  one() { db "$1"; }
  values="$(for k in 0 2 3 4 5 6 7 8 9; do printf "(X'%s')," "$(userhex $((490 + 7 * k)))"; done | sed 's/,$//')"
  [ "$load" = no ] || db "CREATE TEMP TABLE s(k INTEGER PRIMARY KEY, id BLOB);
    INSERT INTO s(id) VALUES $values;
    WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $extra)
    INSERT INTO messages (id, room_id, sender_id, kind, body, created_at, deleted_at, reacted, seq)
    SELECT randomblob(16), X'$hexroom', (SELECT id FROM s WHERE k = 1 + n % 9), 'text',
      'extra ' || n, strftime('%Y-%m-%dT%H:%M:%S+00:00', '2026-01-01', '+' || n || ' seconds'),
      CASE WHEN n % 97 = 0 THEN '2026-06-01T00:00:00+00:00' END, 0,
      (SELECT last_seq FROM room_seqs WHERE room_id = X'$hexroom') + n
    FROM g;
    UPDATE room_seqs SET last_seq = last_seq + $extra WHERE room_id = X'$hexroom';
    UPDATE room_members SET last_read_message_id =
      (SELECT id FROM messages WHERE room_id = X'$hexroom' AND seq = 400)
      WHERE room_id = X'$hexroom' AND user_id = X'$(userhex $reader)';
    ANALYZE;"
  marker="(SELECT m.created_at, m.id, m.seq FROM room_members rm JOIN messages m
    ON m.id = rm.last_read_message_id WHERE rm.room_id = X'$hexroom' AND rm.user_id = X'$(userhex $reader)')"
  reader_id="X'$(userhex $reader)'" room_id="X'$hexroom'"
  time_sql() {
    local t; t=$(for _ in $(seq "$runs"); do echo "$2;"; done \
      | db -cmd '.timer on' 2>&1 | grep -o 'real [0-9.]*' | awk '{printf "%.1f ", $2 * 1000}')
    echo "$1 ms: $t"
  }
  ;;
esac

# The statement of each design for the reader's membership (store::unread's, spelled out).
old="SELECT COUNT(*) FROM messages m, $marker r WHERE m.room_id = $room_id
  AND (m.created_at, m.id) > (r.created_at, r.id) AND m.deleted_at IS NULL
  AND (m.sender_id IS NULL OR m.sender_id <> $reader_id)"
new="SELECT q.last_seq - r.seq
  - (SELECT COUNT(*) FROM messages d WHERE d.room_id = $room_id AND d.deleted_at IS NOT NULL AND d.seq > r.seq)
  - (SELECT COUNT(*) FROM messages o WHERE o.sender_id = $reader_id AND o.room_id = $room_id
     AND o.seq > r.seq AND o.deleted_at IS NULL)
  FROM room_seqs q, $marker r WHERE q.room_id = $room_id"
echo "unread, counted (before): $(one "$old")"
echo "unread, worked out (after): $(one "$new")"
time_sql "statement before" "$old"
time_sql "statement after" "$new"

CONFAB_DATABASE_URL=$url CONFAB_BIND=127.0.0.1:$port RUST_LOG=warn "$bin" serve &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.5; done
body="{\"query\":\"query(\$r: UUID!) { room(id: \$r) { unreadCount } }\",\"variables\":{\"r\":\"$room\"}}"
ask() {
  curl -s -o /tmp/unread-answer.json -w '%{time_total}\n' -H 'content-type: application/json' \
    -H "authorization: Bearer bench-token-$reader" -d "$body" "http://127.0.0.1:$port/graphql"
}
for _ in $(seq 10); do ask >/dev/null; done
echo "answer: $(cat /tmp/unread-answer.json)"
for _ in $(seq "$requests"); do ask; done | sort -n | awk -v n="$requests" '
  { t[NR] = $1 * 1000 }
  END { printf "server, %d requests: min %.1f p50 %.1f p90 %.1f p99 %.1f max %.1f ms\n",
        n, t[1], t[int(n * 0.5)], t[int(n * 0.9)], t[int(n * 0.99)], t[n] }'
# The same requests for the room's id alone: what the server and this machine's load cost
# without the count.
body="{\"query\":\"query(\$r: UUID!) { room(id: \$r) { id } }\",\"variables\":{\"r\":\"$room\"}}"
for _ in $(seq "$requests"); do ask; done | sort -n | awk -v n="$requests" '
  { t[NR] = $1 * 1000 }
  END { printf "control, room(id) { id }, %d requests: min %.1f p50 %.1f p90 %.1f p99 %.1f max %.1f ms\n",
        n, t[1], t[int(n * 0.5)], t[int(n * 0.9)], t[int(n * 0.99)], t[n] }'
echo "== done $(uptime)"
