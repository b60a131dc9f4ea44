#!/usr/bin/env bash
# Fuzzes the GraphQL endpoint (fuzz/fuzz_targets/graphql.rs) for FUZZ_GRAPHQL_SECONDS (default
# 90) from the seeds, installing cargo-fuzz when it is missing. Exits non-zero on a crash or a
# timeout, whose input is left under fuzz/artifacts/graphql/ (RELIABILITY.md, Fuzzing).
set -euo pipefail
cd "$(dirname "$0")/../.."

echo "fuzzing the GraphQL endpoint for ${FUZZ_GRAPHQL_SECONDS:=90}s"
CARGO_FUZZ_VERSION="0.13.1"
if ! cargo fuzz --version 2>/dev/null | grep -q " ${CARGO_FUZZ_VERSION}$"; then
  cargo install --locked "cargo-fuzz@${CARGO_FUZZ_VERSION}"
fi
# No sanitizer: Confab forbids unsafe code, so the fuzzer looks for panics, aborts (a stack
# overflow), wrong answers and slow requests, none of which need ASan, and the build is shorter.
# The build is cargo-fuzz's own (release, one codegen unit, debug assertions): cheaper builds
# measured (16 codegen units, opt-level 1) took no less CPU time on two cores and ran half as
# many requests a second (RELIABILITY.md, Fuzzing).
# RUSTC_BOOTSTRAP=1 lets the stable toolchain take cargo-fuzz's -Z flags. The run starts from
# the seeds into a scratch corpus that is then thrown away, so a run leaves nothing in fuzz/ but
# a crash's input, under fuzz/artifacts/graphql/; any crash or timeout fails the script.
fuzz_corpus="$(mktemp -d)"
fuzz_status=0
(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none graphql "$fuzz_corpus" seeds/graphql -- \
  -dict=graphql.dict -max_len=32768 -timeout=10 -rss_limit_mb=4096 \
  -max_total_time="$FUZZ_GRAPHQL_SECONDS" -print_final_stats=1) || fuzz_status=$?
rm -rf "$fuzz_corpus"
[ "$fuzz_status" -eq 0 ]
