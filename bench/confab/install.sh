#!/usr/bin/env bash
# Builds Confab (release) and prepares its own database, new on every run as run.sh makes
# chat_peer anew: dropped if present, created, migrated by Confab and loaded with exactly the
# data of the harness's seed.sql by `confab seed --bench` (~10 s on SQLite, ~6 s on
# PostgreSQL). Not timed by run.sh. A database kept from earlier runs carries what their send
# workloads left behind: measured after one harness run and a few quick ones, the timeline
# index was 104 MB instead of 28, room_members 14 MB instead of 0.4, and PostgreSQL spent
# 4.0 ms of CPU per nested request instead of 2.6-2.8 (210 req/s instead of 237-254).
set -euo pipefail
. "$(dirname "$0")/backend.sh"
cd "$root"
cargo build --release --locked --bin confab
case $CONFAB_BENCH_DB in
  postgres://*)
    admin_url=${CONFAB_BENCH_DB%/*}/postgres
    name=${CONFAB_BENCH_DB##*/}
    name=${name%%\?*}
    psql -qX "$admin_url" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)"
    psql -qX "$admin_url" -c "CREATE DATABASE $name"
    ;;
  sqlite://*)
    path=${CONFAB_BENCH_DB#sqlite://}
    path=${path%%\?*}
    mkdir -p "$(dirname "$path")"
    rm -f "$path" "$path-wal" "$path-shm"
    ;;
esac
RUST_LOG=warn "$CONFAB_BIN" --database-url "$CONFAB_BENCH_DB" seed --bench
