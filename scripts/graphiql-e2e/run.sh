#!/usr/bin/env bash
# Proves GraphiQL runs a subscription in a real browser under its Content-Security-Policy
# (run.mjs), and still runs operations on a server with `--introspection=false`
# (no-introspection.mjs): installs Chromium (Debian) and playwright-core (npm) if missing,
# starts Confab on a scratch SQLite database, once per setting, and drives it.
#   scripts/graphiql-e2e/run.sh [path/to/confab]     (default: target/release/confab)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-$root/target/release/confab}"
command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
[ -d "$here/node_modules/playwright-core" ] || (cd "$here" && npm install --no-audit --no-fund --silent)
[ -x "$bin" ] || (cd "$root" && cargo build --release)
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
server=""
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
start() { # start <database name> [flags...]
  local name="$1"; shift
  CONFAB_BIND="127.0.0.1:$port" CONFAB_DATABASE_URL="sqlite://$work/$name.db?mode=rwc" \
    CONFAB_BLOB_DIR="$work/blobs" RUST_LOG=warn "$bin" serve "$@" &
  server=$!
  for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
}
stop() { kill "$server"; wait "$server" || true; }
start e2e
CONFAB_URL="http://127.0.0.1:$port" SCREENSHOT="${SCREENSHOT:-$here/graphiql-subscription.png}" node "$here/run.mjs"
stop
start closed --introspection=false
CONFAB_URL="http://127.0.0.1:$port" node "$here/no-introspection.mjs"
