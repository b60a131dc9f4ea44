#!/usr/bin/env bash
# Builds Confab with the dist profile (fat LTO, one codegen unit: Cargo.toml; or
# CONFAB_BENCH_PROFILE) and prepares its
# own database: created if missing, migrated by Confab, loaded with exactly the data of the
# harness's seed.sql by `confab seed --bench` (once; ~10 s on SQLite, ~6 s on PostgreSQL).
# Not timed by run.sh. Kept across runs, as run.sh keeps chat_peer: start.sh removes an
# earlier run's writes as reset.sql does (rows, read markers, then VACUUM ANALYZE). To start
# from a new one, drop it (or delete the SQLite file) first.
set -euo pipefail
. "$(dirname "$0")/backend.sh"
cd "$root"
[ "$CONFAB_BENCH_BUILD" = no ] || cargo build --profile "$CONFAB_BENCH_PROFILE" --locked --bin confab
case $CONFAB_BENCH_DB in
  postgres://*)
    admin_url=${CONFAB_BENCH_DB%/*}/postgres
    name=${CONFAB_BENCH_DB##*/}
    name=${name%%\?*}
    if [ -z "$(psql -qAtX "$admin_url" -c "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]; then
      psql -qX "$admin_url" -c "CREATE DATABASE $name"
    fi
    ;;
  sqlite://*)
    path=${CONFAB_BENCH_DB#sqlite://}
    mkdir -p "$(dirname "${path%%\?*}")"
    ;;
esac
RUST_LOG=warn "$CONFAB_BIN" --database-url "$CONFAB_BENCH_DB" seed --bench --scale "${CONFAB_BENCH_SCALE:-1}"
