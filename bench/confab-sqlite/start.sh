#!/usr/bin/env bash
# bench/confab/start.sh with Confab on a SQLite file under target/bench/.
here=$(cd "$(dirname "$0")" && pwd)
# CONFAB_BENCH_SQLITE names another file (a database of its own per scale).
export CONFAB_BENCH_DB="sqlite://${CONFAB_BENCH_SQLITE:-$(cd "$here/../.." && pwd)/target/bench/confab.db}?mode=rwc"
export CONFAB_BENCH_PORT=5681
exec "$here/../confab/start.sh"
