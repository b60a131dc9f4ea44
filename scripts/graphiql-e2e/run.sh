#!/usr/bin/env bash
# Proves GraphiQL runs a subscription in a real browser: installs Chromium (Debian) and
# playwright-core (npm) if missing, starts Confab on a scratch SQLite database and drives it.
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
CONFAB_BIND="127.0.0.1:$port" CONFAB_DATABASE_URL="sqlite://$work/e2e.db?mode=rwc" RUST_LOG=warn "$bin" serve &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
CONFAB_URL="http://127.0.0.1:$port" SCREENSHOT="${SCREENSHOT:-$here/graphiql-subscription.png}" node "$here/run.mjs"
