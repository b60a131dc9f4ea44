# Sourced by install.sh, start.sh and version.sh: the database this variant runs on.
# bench/confab uses its own PostgreSQL database beside the harness's chat_peer (same cluster,
# same server settings); bench/confab-sqlite sets CONFAB_BENCH_DB before calling these scripts.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Plaintext over loopback, as PostGraphile's node-postgres connects. Confab does that on its
# own now (docs/configuration.md, --database-url); named here for builds from before that,
# which let sqlx negotiate TLS with Debian's PostgreSQL (ssl = on).
CONFAB_BENCH_DB=${CONFAB_BENCH_DB:-postgres://postgres@127.0.0.1:5432/confab_bench?sslmode=disable}
CONFAB_BENCH_PORT=${CONFAB_BENCH_PORT:-5680}
# The dist profile (fat LTO) unless CONFAB_BENCH_PROFILE says otherwise (release: a quicker
# build, for a comparison within one run of builds alike).
# CONFAB_BIN names a binary built already (install.sh then builds nothing).
CONFAB_BENCH_PROFILE=${CONFAB_BENCH_PROFILE:-dist}
CONFAB_BENCH_BUILD=${CONFAB_BIN:+no}
CONFAB_BIN=${CONFAB_BIN:-$root/target/$CONFAB_BENCH_PROFILE/confab}
