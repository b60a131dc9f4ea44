#!/usr/bin/env bash
# bench/confab/install.sh with Confab on a SQLite file under target/bench/.
here=$(cd "$(dirname "$0")" && pwd)
export CONFAB_BENCH_DB="sqlite://$(cd "$here/../.." && pwd)/target/bench/confab.db?mode=rwc"
export CONFAB_BENCH_PORT=5681
exec "$here/../confab/install.sh"
