#!/usr/bin/env bash
# Header lines for the results file.
. "$(dirname "$0")/backend.sh"
# A binary built elsewhere (CONFAB_BIN) names its commit in CONFAB_COMMIT; the working tree's
# state says nothing about it.
if [ "$CONFAB_BENCH_BUILD" = no ]; then
  built="$CONFAB_BIN, commit ${CONFAB_COMMIT:-not given}"
else
  built="$(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo ', uncommitted changes')"
fi
echo "$("$CONFAB_BIN" --version) ($built), $(rustc --version)"
echo "config: $CONFAB_BENCH_PROFILE build, database ${CONFAB_BENCH_DB%%\?*} (plaintext over loopback), pool max ${CONFAB_DB_MAX_CONNECTIONS:-16}, local broker (no Redis), RUST_LOG=${RUST_LOG:-warn}, rate limits raised for the send workload"
