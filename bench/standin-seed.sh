#!/usr/bin/env bash
# Stand-in for `confab seed --bench` until it lands on main: writes the same data (the
# contract in issue #7) straight into a database that `confab migrate` has prepared, so the
# fan-out bench can run against a server started by hand:
#
#   bench/standin-seed.sh sqlite /tmp/fanout.db          # or
#   bench/standin-seed.sh postgres postgres://postgres@127.0.0.1:5432/confab_fanout
#
# Users u in 0..2000: id 00000000-0000-4000-8000-<u as 12 hex>, username user%04d, a session
# whose bearer token is bench-token-<u>. Rooms r in 0..500: id 00000000-0000-4000-9000-<r as
# 12 hex>, member k in 0..10 is user ((r*10 + k) * 7 + r/200) % 2000 (k = 0 owns it); 400
# messages per room. Read markers are left unset.
# Delete this file once `confab seed --bench` exists.
set -euo pipefail
kind=${1:?sqlite FILE | postgres URL}
target=${2:?database file or URL}
messages=${MESSAGES_PER_ROOM:-400}

case "$kind" in
sqlite)
  python3 - "$target" "$messages" <<'PY'
import datetime, hashlib, sqlite3, sys, uuid
db = sqlite3.connect(sys.argv[1])
messages = int(sys.argv[2])
now = datetime.datetime.now(datetime.timezone.utc)
start = now - datetime.timedelta(days=7)
ts = lambda d: d.isoformat(timespec="microseconds")
# SeaORM stores UUIDs in SQLite as 16-byte blobs and timestamps as RFC 3339 text.
uid = lambda u: uuid.UUID(f"00000000-0000-4000-8000-{u:012x}").bytes
rid = lambda r: uuid.UUID(f"00000000-0000-4000-9000-{r:012x}").bytes
member = lambda r, k: ((r * 10 + k) * 7 + r // 200) % 2000
db.executemany(
    "INSERT INTO users (id, username, email, display_name, password_hash, role, status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
    [(uid(u), f"user{u:04d}", f"user{u:04d}@bench.confab.dev", f"User {u:04d}", "!", "user", "online", ts(start), ts(start)) for u in range(2000)])
db.executemany(
    "INSERT INTO sessions (id, user_id, token_hash, created_at, last_active_at, expires_at) VALUES (?,?,?,?,?,?)",
    [(uuid.uuid4().bytes, uid(u), hashlib.sha256(f"bench-token-{u}".encode()).hexdigest(), ts(now), ts(now), ts(now + datetime.timedelta(days=30))) for u in range(2000)])
db.executemany(
    "INSERT INTO rooms (id, kind, name, created_by, epoch, created_at, updated_at) VALUES (?,?,?,?,?,?,?)",
    [(rid(r), "group", f"bench-{r:03d}", uid(member(r, 0)), 0, ts(start), ts(start)) for r in range(500)])
db.executemany(
    "INSERT INTO room_members (room_id, user_id, role, joined_at) VALUES (?,?,?,?)",
    [(rid(r), uid(member(r, k)), "owner" if k == 0 else "member", ts(start)) for r in range(500) for k in range(10)])
db.executemany(
    "INSERT INTO messages (id, room_id, sender_id, kind, body, created_at) VALUES (?,?,?,?,?,?)",
    [(uuid.uuid4().bytes, rid(r), uid(member(r, i % 10)), "text", f"seed message {i}", ts(start + datetime.timedelta(seconds=i)))
     for r in range(500) for i in range(messages)])
db.commit()
PY
  ;;
postgres)
  psql -q -v ON_ERROR_STOP=1 "$target" <<SQL
BEGIN;
INSERT INTO users (id, username, email, display_name, password_hash, role, status, created_at, updated_at)
  SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid, 'user' || lpad(u::text, 4, '0'),
         'user' || lpad(u::text, 4, '0') || '@bench.confab.dev', 'User ' || lpad(u::text, 4, '0'), '!',
         'user', 'online', now() - interval '7 days', now() - interval '7 days'
  FROM generate_series(0, 1999) AS u;
INSERT INTO sessions (id, user_id, token_hash, created_at, last_active_at, expires_at)
  SELECT gen_random_uuid(), ('00000000-0000-4000-8000-' || lpad(to_hex(u), 12, '0'))::uuid,
         encode(sha256(convert_to('bench-token-' || u, 'UTF8')), 'hex'), now(), now(), now() + interval '30 days'
  FROM generate_series(0, 1999) AS u;
INSERT INTO rooms (id, kind, name, created_by, epoch, created_at, updated_at)
  SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(r), 12, '0'))::uuid, 'group', 'bench-' || lpad(r::text, 3, '0'),
         ('00000000-0000-4000-8000-' || lpad(to_hex(((r * 10) * 7 + r / 200) % 2000), 12, '0'))::uuid, 0,
         now() - interval '7 days', now() - interval '7 days'
  FROM generate_series(0, 499) AS r;
INSERT INTO room_members (room_id, user_id, role, joined_at)
  SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(r), 12, '0'))::uuid,
         ('00000000-0000-4000-8000-' || lpad(to_hex(((r * 10 + k) * 7 + r / 200) % 2000), 12, '0'))::uuid,
         CASE WHEN k = 0 THEN 'owner' ELSE 'member' END, now() - interval '7 days'
  FROM generate_series(0, 499) AS r, generate_series(0, 9) AS k;
INSERT INTO messages (id, room_id, sender_id, kind, body, created_at)
  SELECT gen_random_uuid(), ('00000000-0000-4000-9000-' || lpad(to_hex(r), 12, '0'))::uuid,
         ('00000000-0000-4000-8000-' || lpad(to_hex(((r * 10 + i % 10) * 7 + r / 200) % 2000), 12, '0'))::uuid,
         'text', 'seed message ' || i, now() - interval '7 days' + i * interval '1 second'
  FROM generate_series(0, 499) AS r, generate_series(0, $messages - 1) AS i;
COMMIT;
SQL
  ;;
*)
  echo "usage: $0 sqlite FILE | postgres URL" >&2
  exit 2
  ;;
esac
echo "stand-in bench data written to $target"
