#!/usr/bin/env bash
# Runs Confab in the foreground (run.sh samples and stops this PID: the server is exec'd).
# First removes what an earlier send workload wrote (`seed --bench` deletes `bench-send%`
# messages), as reset.sql does for chat_peer.
set -euo pipefail
. "$(dirname "$0")/backend.sh"
export CONFAB_DATABASE_URL=$CONFAB_BENCH_DB
export CONFAB_BIND=127.0.0.1:$CONFAB_BENCH_PORT
# The seed's deleted messages were deleted in 2025: keep their text (moderation view).
export CONFAB_DELETED_BODY_RETENTION_DAYS=3650
# wrk sends as 5,000 members at ~thousands/s: the per-user send limit (default 30 per 10 s)
# would refuse them; the check itself still runs on every send.
export CONFAB_RATE_MESSAGES_PER_10S=1000000
export RUST_LOG=${RUST_LOG:-warn}
# CONFAB_BENCH_SCALE=N loads N times the data (docs/performance.md, "Loading N× the benchmark
# data"); give each scale its own CONFAB_BENCH_DB.
"$CONFAB_BIN" seed --bench --scale "${CONFAB_BENCH_SCALE:-1}"
exec "$CONFAB_BIN" serve
