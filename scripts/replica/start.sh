#!/usr/bin/env bash
# A PostgreSQL streaming replica of this machine's cluster (127.0.0.1:5432), on 127.0.0.1:5433,
# for tests/it/replicas.rs (CONFAB_TEST_REPLICA_URL). Made once with pg_basebackup; started
# if it is not running; nothing happens when it already answers. Run as root (the server runs
# as the postgres user). Debian's PostgreSQL layout: /etc/postgresql/<version>/main.
set -euo pipefail

port=${REPLICA_PORT:-5433}
primary_port=${PRIMARY_PORT:-5432}
version=$(ls /etc/postgresql | sort -n | tail -n1)
bin=/usr/lib/postgresql/$version/bin
dir=${REPLICA_DIR:-/var/lib/postgresql/confab-replica-$port}
admin="postgres://postgres@127.0.0.1:$primary_port/postgres"

streaming() {
  [ "$(psql -qAtX "$admin" -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" -gt 0 ]
}
if pg_isready -q -h 127.0.0.1 -p "$port"; then
  # It reconnects every 5 s after a broken stream: give it that long.
  for _ in $(seq 1 20); do
    streaming && exit 0
    sleep 0.5
  done
  # Answering but not streaming: the primary recycled WAL it still needed (there is no
  # replication slot, so a large load on the primary can outrun it). Only a new copy helps.
  echo "the replica on $port answers but does not stream from the primary: making it again" >&2
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
  rm -f "$dir/standby.signal"
fi

# Replication connections match only lines that name `replication`, never `all`.
hba=/etc/postgresql/$version/main/pg_hba.conf
if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
  echo "host replication all 127.0.0.1/32 trust" >> "$hba"
  psql -qAtX "$admin" -c "SELECT pg_reload_conf()" >/dev/null
fi

if [ ! -f "$dir/standby.signal" ]; then
  rm -rf "$dir"
  # -R: standby.signal and primary_conninfo; -X stream: the WAL the copy needs comes along.
  runuser -u postgres -- "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres \
    -D "$dir" -R -X stream -c fast
  # Debian keeps the configuration outside the data directory, so the copy has none. A hot
  # standby needs these at least as high as its primary's.
  setting() { psql -qAtX "$admin" -c "SHOW $1"; }
  cat > "$dir/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '/tmp'
hot_standby = on
shared_buffers = 32MB
max_connections = $(setting max_connections)
max_worker_processes = $(setting max_worker_processes)
max_wal_senders = $(setting max_wal_senders)
max_prepared_transactions = $(setting max_prepared_transactions)
max_locks_per_transaction = $(setting max_locks_per_transaction)
CONF
  cat > "$dir/pg_hba.conf" <<CONF
local all all trust
host all all 127.0.0.1/32 trust
CONF
  chown postgres:postgres "$dir/postgresql.conf" "$dir/pg_hba.conf"
fi
runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null
pg_isready -h 127.0.0.1 -p "$port"
