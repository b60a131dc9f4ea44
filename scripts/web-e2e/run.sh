#!/usr/bin/env bash
# The example web client (examples/web) end to end in headless Chromium: checks the client's
# GraphQL documents against schema.graphql, regenerates their TypeScript types (codegen.ts;
# fails when they differ from the committed src/generated/), type-checks and builds it, starts
# a local coturn (`turnserver` with use-auth-secret) and Confab on a scratch SQLite database
# serving the client at /demo/ and handing out TURN credentials for that coturn, then has two
# browser contexts chat
# (examples/web/e2e/chat.mjs) and call each other, directly and through the TURN relay
# (examples/web/e2e/call.mjs). Confab also sends mail through a real SMTP server
# (tests/smtp/sink.py, aiosmtpd) with links to /demo/, and knows a local OpenID provider
# (tests/oidc/provider.mjs, the certified oidc-provider package) from the [[oidc]] table of a
# --config file: examples/web/e2e/account.mjs resets a password through the mailed link, sets
# up two-factor sign-in, and signs in through the provider. Confab runs with --cookie-sessions:
# examples/web/e2e/cookie.mjs signs in with a cookie session, reloads, chats and signs out. The client runs under the
# Content-Security-Policy Confab sends with /demo/ (checked here to be there): Chromium reports
# any violation as a console error, which fails the tests. On failure: screenshots in
# target/web-e2e/ and the server's, coturn's and the provider's logs.
#   scripts/web-e2e/run.sh [path/to/confab]   (default: $CARGO_TARGET_DIR or target, debug build)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
web="$root/examples/web"
bin="${1:-${CARGO_TARGET_DIR:-$root/target}/debug/confab}"

[ -x /usr/bin/chromium ] || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
}
command -v turnserver >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends coturn
}
(
  cd "$web"
  npm ci --no-audit --no-fund --loglevel=error
  npm run --silent validate
  # The client's types from schema.graphql (codegen.ts): regenerated, they must equal the
  # committed ones, and the client must type-check against them (`build` runs tsc --noEmit).
  npm run --silent codegen -- --silent
  git -C "$root" diff --exit-code -- examples/web/src/generated
  untracked="$(git -C "$root" ls-files --others --exclude-standard -- examples/web/src/generated)"
  [ -z "$untracked" ] || { echo "not committed: $untracked (npm run codegen)" >&2; exit 1; }
  npm run --silent build
)
(cd "$root/tests/oidc" && npm ci --no-audit --no-fund --loglevel=error)
[ -x "$bin" ] || (cd "$root" && cargo build --locked --bin confab)

work="$(mktemp -d)"
server=""
turn=""
smtp=""
oidc=""
finish() {
  status=$?
  for pid in $server $turn $smtp $oidc; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    echo "--- server log (last 40 lines) ---" >&2
    tail -n 40 "$work/server.log" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' >&2
    echo "--- turnserver log (last 30 lines) ---" >&2
    tail -n 30 "$work/turnserver.log" 2>/dev/null >&2
    echo "--- OpenID provider log (last 20 lines) ---" >&2
    tail -n 20 "$work/oidc.log" 2>/dev/null >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap finish EXIT

# A port free on 127.0.0.1 for both UDP and TCP (turnserver listens on both), and one for Confab.
free_port() {
  python3 -c '
import socket
while True:
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); port = u.getsockname()[1]
    t = socket.socket()
    try:
        t.bind(("127.0.0.1", port)); print(port); break
    except OSError:
        pass
'
}

# coturn as tests/it/ice.rs starts it: only these flags (-n), the TURN REST API secret Confab
# signs credentials with, no TLS, no CLI. Both browsers' relays are on 127.0.0.1, so each is
# the other's peer on loopback: --allow-loopback-peers.
turn_port="$(free_port)"
turn_secret="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
relay_min=$((50000 + RANDOM % 10000))
turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$turn_port" \
  --min-port="$relay_min" --max-port=$((relay_min + 199)) \
  --use-auth-secret --static-auth-secret="$turn_secret" --realm=confab.test \
  --allow-loopback-peers --no-multicast-peers --no-tls --no-dtls --no-cli --no-rfc5780 \
  --log-file=stdout --simple-log --userdb="$work/turndb" --pidfile="$work/turn.pid" \
  >"$work/turnserver.log" 2>&1 &
turn=$!
# Ready when it answers a STUN Binding request.
python3 - "$turn_port" <<'PY' || { echo "turnserver did not answer on port $turn_port" >&2; exit 1; }
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.1)
request = bytes([0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42]) + b"confab-web-1"
deadline = time.time() + 15
while time.time() < deadline:
    s.sendto(request, ("127.0.0.1", int(sys.argv[1])))
    try:
        answer = s.recv(512)
        if len(answer) >= 20 and answer[:2] == b"\x01\x01":
            sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY

# The SMTP server Confab sends mail to: each message it accepts is a JSON line in mail.jsonl.
smtp_port="$(free_port)"
python3 "$root/tests/smtp/sink.py" "$smtp_port" "$work/mail.jsonl" >"$work/smtp.log" 2>&1 &
smtp=$!
for _ in $(seq 1 150); do
  grep -q ready "$work/smtp.log" 2>/dev/null && break
  kill -0 "$smtp" 2>/dev/null || { echo "the SMTP sink exited: $(cat "$work/smtp.log")" >&2; exit 1; }
  sleep 0.1
done
grep -q ready "$work/smtp.log" || { echo "the SMTP sink did not start" >&2; exit 1; }

port="$(free_port)"

# The OpenID provider, on a port of its own, allowing the demo page as its redirect URI; it
# prints `ready <issuer>` once it listens.
oidc_secret="$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
OIDC_CLIENT_SECRET="$oidc_secret" node "$root/tests/oidc/provider.mjs" --port 0 --client-id confab \
  --redirect-uri "http://127.0.0.1:$port/demo/" >"$work/oidc.log" 2>&1 &
oidc=$!
issuer=""
for _ in $(seq 1 150); do
  issuer="$(sed -n 's/^ready //p' "$work/oidc.log" 2>/dev/null)"
  [ -n "$issuer" ] && break
  kill -0 "$oidc" 2>/dev/null || { echo "the OpenID provider exited: $(cat "$work/oidc.log")" >&2; exit 1; }
  sleep 0.1
done
[ -n "$issuer" ] || { echo "the OpenID provider did not start" >&2; exit 1; }
cat >"$work/confab.toml" <<TOML
[[oidc]]
name = "local"
display-name = "Local ID"
issuer = "$issuer"
client-id = "confab"
client-secret = "$oidc_secret"
redirect-uris = ["http://127.0.0.1:$port/demo/"]
TOML

# The secret through the environment, not the command line (docs/calls.md).
CONFAB_TURN_SECRET="$turn_secret" RUST_LOG="${RUST_LOG:-confab=info,warn}" \
  "$bin" --config "$work/confab.toml" serve --bind "127.0.0.1:$port" \
  --database-url "sqlite://$work/e2e.db?mode=rwc" --blob-dir "$work/blobs" \
  --demo-dir "$web/dist" --ice-urls "turn:127.0.0.1:$turn_port?transport=udp" \
  --smtp-url "smtp://127.0.0.1:$smtp_port" --public-url "http://127.0.0.1:$port/demo" \
  --cookie-sessions >"$work/server.log" 2>&1 &
server=$!

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

export CONFAB_URL="http://127.0.0.1:$port" SCREENSHOTS="$root/target/web-e2e"
node "$web/e2e/chat.mjs"
node "$web/e2e/call.mjs"
MAIL_LOG="$work/mail.jsonl" node "$web/e2e/account.mjs"
node "$web/e2e/cookie.mjs"

# CORS in the browser (examples/web/e2e/cors.mjs): a second Confab whose --cors-origins lists
# one of two page origins (python3 http.server on ports of their own); both pages call it.
(
  cors_port="$(free_port)"
  allowed_port="$(free_port)"
  refused_port="$(free_port)"
  mkdir -p "$work/cors-page"
  echo '<!doctype html><title>another origin</title>' >"$work/cors-page/index.html"
  pids=""
  trap 'for p in $pids; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done' EXIT
  for p in "$allowed_port" "$refused_port"; do
    python3 -m http.server "$p" --bind 127.0.0.1 --directory "$work/cors-page" >/dev/null 2>&1 &
    pids="$pids $!"
  done
  RUST_LOG=warn "$bin" serve --bind "127.0.0.1:$cors_port" \
    --database-url "sqlite://$work/cors.db?mode=rwc" --blob-dir "$work/cors-blobs" \
    --cors-origins "http://127.0.0.1:$allowed_port" >"$work/cors-server.log" 2>&1 &
  pids="$pids $!"
  for url in "http://127.0.0.1:$cors_port/readyz" "http://127.0.0.1:$allowed_port/" \
    "http://127.0.0.1:$refused_port/"; do
    for _ in $(seq 1 100); do curl -fs "$url" >/dev/null && break; sleep 0.1; done
    curl -fs "$url" >/dev/null || { echo "$url did not answer" >&2; cat "$work/cors-server.log" >&2; exit 1; }
  done
  CONFAB_URL="http://127.0.0.1:$cors_port" ALLOWED_PAGE="http://127.0.0.1:$allowed_port" \
    REFUSED_PAGE="http://127.0.0.1:$refused_port" node "$web/e2e/cors.mjs" ||
    { tail -n 20 "$work/cors-server.log" >&2; exit 1; }
)
