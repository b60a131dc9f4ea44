#!/usr/bin/env python3
"""Where SQLite's search spends its CPU (docs/performance.md, "Where SQLite's search goes").

Runs the search workload's statement (`searchMessages(query: "lorem", first: 20)` as user0490)
and parts of it on a `confab seed --bench` SQLite file with python's sqlite3, and prints the
CPU time of each (thread time, so waiting for a core does not count), median and minimum of
RUNS runs. With --contentful it also copies the file, adds an FTS5 table that keeps its own
copy of the body and the message's time (the alternative to reading each match from
`messages`), and times the ranking on it.

    bench/search/sqlite_cost.py /path/to/confab.db [--contentful] [--runs 50]
"""
import argparse
import os
import shutil
import sqlite3
import statistics
import tempfile
import time

# Confab names every column of `messages`; reading them all costs the same.
COLUMNS = "m.*"
SCOPE = "m.room_id IN (SELECT room_id FROM room_members WHERE user_id = ? AND left_at IS NULL)"
RANK = "length(highlight(messages_fts, 0, '[', ']')) - length(m.body) DESC"
STATEMENTS = [
    ("Confab's statement", f"SELECT {COLUMNS} FROM messages_fts f JOIN messages m ON m.rowid = f.rowid "
     f"WHERE messages_fts MATCH ? AND m.deleted_at IS NULL AND {SCOPE} "
     f"ORDER BY {RANK}, m.created_at DESC, m.id DESC LIMIT 20", True),
    ("the same, newest first only", f"SELECT {COLUMNS} FROM messages_fts f JOIN messages m ON m.rowid = f.rowid "
     f"WHERE messages_fts MATCH ? AND m.deleted_at IS NULL AND {SCOPE} "
     "ORDER BY m.created_at DESC, m.id DESC LIMIT 20", True),
    ("FTS5's matches alone", "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?", False),
    ("matches + body (content view)", "SELECT rowid, length(body) FROM messages_fts WHERE messages_fts MATCH ?", False),
    ("matches + highlight", "SELECT rowid, length(highlight(messages_fts, 0, '[', ']')) "
     "FROM messages_fts WHERE messages_fts MATCH ?", False),
    ("matches + messages rows", f"SELECT {COLUMNS} FROM messages_fts f JOIN messages m ON m.rowid = f.rowid "
     "WHERE messages_fts MATCH ?", False),
]
CONTENTFUL = [
    ("contentful: rank, then 20 rows", f"SELECT {COLUMNS} FROM (SELECT rowid AS r, "
     "length(highlight(fts2, 0, '[', ']')) - length(body) AS score, created_at AS c, mid FROM fts2 "
     "WHERE fts2 MATCH ? ORDER BY score DESC, c DESC, mid DESC LIMIT 20) t "
     "JOIN messages m ON m.rowid = t.r ORDER BY t.score DESC, t.c DESC, t.mid DESC", False),
    ("contentful: matches + time", "SELECT rowid, created_at FROM fts2 WHERE fts2 MATCH ?", False),
    ("contentful: matches + highlight", "SELECT rowid, length(highlight(fts2, 0, '[', ']')) "
     "FROM fts2 WHERE fts2 MATCH ?", False),
]


def measure(db, statements, runs):
    me = db.execute("SELECT id FROM users WHERE username = 'user0490'").fetchone()[0]
    rooms = db.execute(
        "SELECT group_concat('r' || lower(hex(room_id)) || '0', ' OR ') FROM room_members "
        "WHERE user_id = ? AND left_at IS NULL", (me,)).fetchone()[0]
    matcher = f'body : ("lorem") AND room : ({rooms})'
    for name, sql, scoped in statements:
        args = (matcher, me) if scoped else (matcher,)
        times = []
        for _ in range(runs):
            start = time.thread_time()
            rows = db.execute(sql, args).fetchall()
            times.append((time.thread_time() - start) * 1000)
        print(f"{name:34s} rows {len(rows):5d}  CPU ms median {statistics.median(times):6.2f}  min {min(times):6.2f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--contentful", action="store_true")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    print(f"SQLite {sqlite3.sqlite_version}, {args.path}, {args.runs} runs each")
    measure(sqlite3.connect(f"file:{args.path}?mode=ro", uri=True), STATEMENTS, args.runs)
    if args.contentful:
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, "copy.db")
            shutil.copy(args.path, copy)
            db = sqlite3.connect(copy)
            tokenizer = db.execute("SELECT sql FROM sqlite_master WHERE name = 'messages_fts'").fetchone()[0]
            tokenizer = tokenizer.split("tokenize=")[1].rstrip(")")
            db.executescript(
                f"CREATE VIRTUAL TABLE fts2 USING fts5(body, room, created_at UNINDEXED, mid UNINDEXED, "
                f"tokenize={tokenizer}); INSERT INTO fts2(rowid, body, room, created_at, mid) SELECT rowid, "
                "body, 'r' || lower(hex(room_id)) || '0', created_at, id FROM messages "
                "WHERE body IS NOT NULL AND deleted_at IS NULL;")
            db.commit()
            measure(db, CONTENTFUL, args.runs)


if __name__ == "__main__":
    main()
