#!/usr/bin/env bash
# The example web client (examples/web) end to end in headless Chromium: checks the client's
# GraphQL documents against schema.graphql, builds it, starts Confab on a scratch SQLite
# database serving it at /demo/, and has two browser contexts chat through it
# (examples/web/e2e/chat.mjs). The client runs under the Content-Security-Policy Confab sends
# with /demo/ (checked here to be there): Chromium reports any violation as a console error,
# which fails chat.mjs. On failure: screenshots in target/web-e2e/ and the server log.
#   scripts/web-e2e/run.sh [path/to/confab]   (default: $CARGO_TARGET_DIR or target, debug build)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
web="$root/examples/web"
bin="${1:-${CARGO_TARGET_DIR:-$root/target}/debug/confab}"

[ -x /usr/bin/chromium ] || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
}
(
  cd "$web"
  npm ci --no-audit --no-fund --loglevel=error
  npm run --silent validate
  npm run --silent build
)
[ -x "$bin" ] || (cd "$root" && cargo build --locked --bin confab)

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
RUST_LOG="${RUST_LOG:-confab=info,warn}" "$bin" serve --bind "127.0.0.1:$port" \
  --database-url "sqlite://$work/e2e.db?mode=rwc" --blob-dir "$work/blobs" \
  --demo-dir "$web/dist" >"$work/server.log" 2>&1 &
server=$!
finish() {
  status=$?
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if [ "$status" -ne 0 ]; then
    echo "--- server log (last 40 lines) ---" >&2
    tail -n 40 "$work/server.log" | sed 's/\x1b\[[0-9;]*m//g' >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap finish EXIT

for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break
  kill -0 "$server" 2>/dev/null || { echo "confab exited before it was ready" >&2; exit 1; }
  sleep 0.1
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { echo "confab not ready after 10 s" >&2; exit 1; }
csp="$(curl -fsI "http://127.0.0.1:$port/demo/" | tr -d '\r' | sed -n 's/^content-security-policy: //Ip')"
case "$csp" in
  *"frame-ancestors 'none'"*) ;;
  *) echo "/demo/ is served without its Content-Security-Policy (got '$csp')" >&2; exit 1 ;;
esac

CONFAB_URL="http://127.0.0.1:$port" SCREENSHOTS="$root/target/web-e2e" node "$web/e2e/chat.mjs"
