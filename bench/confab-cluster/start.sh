#!/usr/bin/env bash
# Confab scaled out as docs/deploy.md has it: CONFAB_CLUSTER_PROCESSES (3) `confab serve`
# processes on one PostgreSQL (bench/confab's database) and one Redis, behind HAProxy with
# deploy/haproxy/haproxy.cfg (round robin, no stickiness), only its addresses changed and its
# per-request log off (at thousands of requests a second, logging is work the single process
# does not do). run.sh samples and stops this PID and its descendants: the Confab processes
# start in the background, then this shell becomes haproxy, whose children they stay.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../confab/backend.sh"
processes=${CONFAB_CLUSTER_PROCESSES:-3}
[ "$processes" -le 3 ] || { echo "deploy/haproxy/haproxy.cfg lists 3 servers" >&2; exit 1; }
export CONFAB_DATABASE_URL=$CONFAB_BENCH_DB
export CONFAB_REDIS_URL=${CONFAB_BENCH_REDIS:-redis://127.0.0.1:6379}
export CONFAB_DELETED_BODY_RETENTION_DAYS=3650
export CONFAB_RATE_MESSAGES_PER_10S=1000000
export CONFAB_SHUTDOWN_DRAIN_SECS=0
export RUST_LOG=${RUST_LOG:-warn}
"$CONFAB_BIN" seed --bench --scale "${CONFAB_BENCH_SCALE:-1}"
config=$(mktemp --suffix=.cfg)
sed -e "s/bind 127.0.0.1:8080/bind 127.0.0.1:5682/" \
    -e "s/127.0.0.1:808\([1-3]\) check/127.0.0.1:570\1 check/" \
    -e '/^[[:space:]]*log /d' -e '/option httplog/d' \
    "$root/deploy/haproxy/haproxy.cfg" > "$config"
for n in $(seq 1 "$processes"); do
  CONFAB_BIND=127.0.0.1:570$n "$CONFAB_BIN" serve &
done
# Servers past CONFAB_CLUSTER_PROCESSES stay down; HAProxy's checks take them out at once.
for n in $(seq 1 "$processes"); do
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:570$n/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
done
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
exec "$haproxy" -db -f "$config"
