#!/usr/bin/env bash
# bench/confab/install.sh (the same build and the same PostgreSQL database), and HAProxy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v haproxy >/dev/null && [ ! -x /usr/sbin/haproxy ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy
fi
exec "$here/../confab/install.sh"
