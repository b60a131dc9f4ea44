#!/usr/bin/env python3
"""Turns PostgreSQL's log of one request (log_statement = 'all', bench/ceiling/capture.sh)
into a pgbench script that runs the same statements with the same values.

  capture.py LOGFILE > script.sql

Each `execute <name>: <text>` line with its `DETAIL:  parameters:` line becomes, once per
pgbench connection (`-D prepared=0`), `PREPARE ceiling_<n>(<types>) AS <text>` with the
parameter types sqlx sends (uuid, int8, timestamptz, jsonb: told apart by the value), and
every transaction runs `EXECUTE ceiling_<n>(<values>)`. Prepared statements with
plan_cache_mode = force_generic_plan plan once per connection, as Confab's do.
Statements that are not the request's (the call sweep of workers::call_liveness, which runs
every few seconds whatever the load) are left out: SKIP below.
"""
import re
import sys

SKIP = ("FROM call_sessions", "FROM calls c")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?[+-]\d\d$")
STRIP = re.compile(r"^.*? (LOG|DETAIL):  ")


def kind(value):
    if value is None:
        return "text"
    if UUID.match(value):
        return "uuid"
    if re.fullmatch(r"-?\d+", value):
        return "int8"
    if TIME.match(value):
        return "timestamptz"
    if value.startswith(("[", "{")):
        return "jsonb"
    return "text"


def parameters(detail):
    """`$1 = 'a', $2 = NULL, ...` -> ['a', None, ...] (values quoted SQL-style)."""
    values = []
    for m in re.finditer(r"\$\d+ = (NULL|'((?:[^']|'')*)')", detail):
        values.append(None if m.group(1) == "NULL" else m.group(2).replace("''", "'"))
    return values


def quote(value):
    return "NULL" if value is None else "'" + value.replace("'", "''") + "'"


def main():
    lines = [STRIP.sub(r"\1:  ", line.rstrip("\n")) for line in open(sys.argv[1])]
    statements = []
    for i, line in enumerate(lines):
        m = re.match(r"LOG:  execute [^:]+: (.*)$", line)
        if not m or any(s in m.group(1) for s in SKIP):
            continue
        values = []
        if i + 1 < len(lines) and lines[i + 1].startswith("DETAIL:  parameters: "):
            values = parameters(lines[i + 1])
        statements.append((m.group(1), values))
    print(f"-- {len(statements)} statements of one request, recorded by bench/ceiling/capture.sh")
    print("\\if :prepared = 0")
    for n, (text, values) in enumerate(statements, 1):
        types = f"({', '.join(kind(v) for v in values)})" if values else ""
        print(f"PREPARE ceiling_{n}{types} AS {text};")
    print("\\set prepared 1")
    print("\\endif")
    for n, (_, values) in enumerate(statements, 1):
        args = f"({', '.join(quote(v) for v in values)})" if values else ""
        print(f"EXECUTE ceiling_{n}{args};")


if __name__ == "__main__":
    main()
