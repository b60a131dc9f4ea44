#!/usr/bin/env python3
"""SQLite's own ceiling for Confab's page and send statements (bench/ceiling/run.sh).

Runs, on a database loaded by `confab seed --bench` (SQLite), the statements Confab runs:

  page   per request: the room and the caller's membership (user 490, room-007), the page
         of 51 messages after the workload's cursor (Confab asks one more than it returns),
         and their senders by id: three statements, as Confab runs them on SQLite.
  send   per batch, on one connection (Confab has one writer): BEGIN IMMEDIATE, the batch's
         checked INSERT ... RETURNING, the read-marker UPDATE, COMMIT; then the unread feed's
         member lookup for the batch's rooms. Rooms and senders drawn as bench.lua draws them.

  sqlite.py page DB_FILE SECONDS PROCESSES
  sqlite.py send DB_FILE SECONDS BATCH

Prints one line: `requests N seconds S per_s R`; for send, N counts messages. Page runs one
process per PROCESSES (each its own connection; processes, so that Python's lock does not
serialise them), which is what SQLite, a library, has instead of server connections.
Connections are opened as Confab opens them (db::options: WAL, synchronous NORMAL,
foreign keys, a 10 s busy timeout).
"""
import multiprocessing
import os
import random
import sqlite3
import sys
import time
import uuid
from datetime import datetime, timezone

ROOMS = 'r."id", r."kind", r."name", r."topic", r."join_code", r."max_members", r."created_by", r."epoch", r."direct_key", r."archived_at", r."created_at", r."updated_at", r."deleted_at"'
MEMBERS = 'm."room_id", m."user_id", m."role", m."joined_at", m."left_at", m."last_delivered_message_id", m."last_read_message_id", m."muted_until"'
MESSAGES = ", ".join(f'messages."{c}"' for c in "id room_id sender_id kind body ciphertext epoch reply_to_id metadata created_at edited_at deleted_at reacted".split())
USERS = ", ".join(f'u."{c}"' for c in "id username email display_name password_hash role status last_seen_at email_verified_at totp_secret totp_enabled_at avatar_blob_id created_at updated_at deleted_at totp_last_step banned_at banned_until ban_reason".split())

MEMBERSHIP = (f"SELECT {ROOMS}, {MEMBERS} FROM rooms r JOIN room_members m ON m.room_id = r.id "
              "WHERE r.id = ? AND r.deleted_at IS NULL AND m.user_id = ? AND m.left_at IS NULL")
PAGE = (f"SELECT * FROM (SELECT {MESSAGES} FROM messages WHERE messages.room_id = ? "
        "AND (messages.created_at, messages.id) < (?, ?) "
        "ORDER BY messages.created_at DESC, messages.id DESC LIMIT ?) "
        "ORDER BY room_id, created_at DESC, id DESC")

COLUMNS = "id, room_id, sender_id, kind, body, reply_to_id, metadata, created_at"
INSERT_CHECKED = (
    "INSERT INTO messages (id, room_id, sender_id, kind, body, reply_to_id, metadata, created_at) "
    "SELECT b.id, b.room_id, b.sender_id, b.kind, b.body, b.reply_to_id, b.metadata, b.created_at "
    "FROM batch b JOIN rooms r ON r.id = b.room_id "
    "JOIN room_members rm ON rm.room_id = b.room_id AND rm.user_id = b.sender_id "
    "WHERE r.deleted_at IS NULL AND r.archived_at IS NULL AND rm.left_at IS NULL "
    "AND (r.direct_key IS NULL OR NOT EXISTS (SELECT 1 FROM contacts c "
    "JOIN room_members peer ON peer.room_id = b.room_id AND peer.user_id = c.contact_id "
    "WHERE c.user_id = b.sender_id AND c.status = 'blocked')) "
    "AND (b.reply_to_id IS NULL OR EXISTS (SELECT 1 FROM messages p "
    "WHERE p.id = b.reply_to_id AND p.room_id = b.room_id AND p.deleted_at IS NULL))")
NEWEST = ("SELECT room_id, user_id, id, created_at FROM (SELECT room_id, sender_id AS user_id, id, "
          "created_at, ROW_NUMBER() OVER (PARTITION BY room_id, sender_id "
          "ORDER BY created_at DESC, id DESC) AS n FROM (SELECT * FROM messages WHERE id IN ({})) s) "
          "newest WHERE n = 1")
UPDATE_MARKERS = (
    "UPDATE room_members SET last_read_message_id = v.id FROM v "
    "WHERE room_members.room_id = v.room_id AND room_members.user_id = v.user_id "
    "AND NOT EXISTS (SELECT 1 FROM messages cur WHERE cur.id = room_members.last_read_message_id "
    "AND (cur.created_at > v.created_at OR (cur.created_at = v.created_at AND cur.id > v.id)))")
UNREAD_MEMBERS = ('SELECT "room_members"."room_id", "room_members"."user_id" FROM "room_members" '
                  'WHERE "room_members"."room_id" IN ({}) AND "room_members"."left_at" IS NULL')


def bench_uuid(prefix, n):
    return uuid.UUID(f"00000000-0000-4000-{prefix}-{n:012x}").bytes


def connect(path):
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def page_cursor(conn):
    """The page workload's cursor: the 50th message of room-007, newest first (page.json's
    `after` decodes to it; taken from the data, in the form it is stored)."""
    room = bench_uuid("9000", 7)
    return conn.execute(
        "SELECT created_at, id FROM messages WHERE room_id = ? "
        "ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET 49", (room,)).fetchone()


def page_worker(path, seconds, cursor, counts, i):
    conn = connect(path)
    room, user = bench_uuid("9000", 7), bench_uuid("8000", 490)
    done = 0
    end = time.monotonic() + seconds
    users_sql = {}
    while time.monotonic() < end:
        conn.execute(MEMBERSHIP, (room, user)).fetchall()
        rows = conn.execute(PAGE, (room, cursor[0], cursor[1], 51)).fetchall()
        senders = sorted({r[2] for r in rows if r[2] is not None})
        sql = users_sql.get(len(senders))
        if sql is None:
            sql = users_sql[len(senders)] = (
                f"SELECT {USERS} FROM users u WHERE u.id IN ({', '.join('?' * len(senders))})")
        conn.execute(sql, senders).fetchall()
        done += 1
    counts[i] = done


def page(path, seconds, processes):
    with connect(path) as conn:
        cursor = page_cursor(conn)
    counts = multiprocessing.Array("q", processes)
    procs = [multiprocessing.Process(target=page_worker, args=(path, seconds, cursor, counts, i))
             for i in range(processes)]
    start = time.monotonic()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    return sum(counts), time.monotonic() - start


def send(path, seconds, batch):
    conn = connect(path)
    rng = random.Random(12345)
    insert = (f"WITH batch({COLUMNS}) AS (VALUES {', '.join(['(?, ?, ?, ?, ?, ?, ?, ?)'] * batch)}) "
              f"{INSERT_CHECKED} RETURNING id")
    update = f"WITH v AS ({NEWEST.format(', '.join('?' * batch))}) {UPDATE_MARKERS}"
    # The unread feed looks up the members of the rooms of a pass; one pass per batch here.
    lookups = {}
    written = n = 0
    start = time.monotonic()
    end = start + seconds
    while time.monotonic() < end:
        values, ids, rooms = [], [], set()
        for _ in range(batch):
            r, k = rng.randrange(500), rng.randrange(10)
            u = ((r * 10 + k) * 7 + r // 200) % 2000
            n += 1
            # Confab's ids are UUIDv7 (time-ordered): the same here, from the clock and a counter.
            ms = time.time_ns() // 1_000_000
            mid = uuid.UUID(int=(ms << 80) | (0x7 << 76) | (n & 0xFFF) << 64 | (0b10 << 62)
                            | rng.getrandbits(62)).bytes
            at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
            room = bench_uuid("9000", r)
            values += [mid, room, bench_uuid("8000", u), "text",
                       f"bench-send sqlite n{n} hello from the load generator", None, None, at]
            ids.append(mid)
            rooms.add(room)
        conn.execute("BEGIN IMMEDIATE")
        written += len(conn.execute(insert, values).fetchall())
        conn.execute(update, ids)
        conn.execute("COMMIT")
        sql = lookups.get(len(rooms))
        if sql is None:
            sql = lookups[len(rooms)] = UNREAD_MEMBERS.format(", ".join("?" * len(rooms)))
        conn.execute(sql, list(rooms)).fetchall()
    return written, time.monotonic() - start


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("page", "send"):
        sys.exit(__doc__)
    workload, path, seconds, n = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    if not os.path.exists(path):
        sys.exit(f"no {path}: seed it with confab seed --bench")
    done, secs = page(path, seconds, n) if workload == "page" else send(path, seconds, n)
    print(f"requests {done} seconds {secs:.3f} per_s {done / secs:.1f}")


if __name__ == "__main__":
    main()
