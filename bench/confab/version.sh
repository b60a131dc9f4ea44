#!/usr/bin/env bash
# Header lines for the results file.
. "$(dirname "$0")/backend.sh"
echo "$("$CONFAB_BIN" --version) ($(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo ', uncommitted changes')), $(rustc --version)"
echo "config: release build, database ${CONFAB_BENCH_DB%%\?*} (plaintext over loopback), pool max ${CONFAB_DB_MAX_CONNECTIONS:-16}, local broker (no Redis), RUST_LOG=${RUST_LOG:-warn}, rate limits raised for the send workload"
