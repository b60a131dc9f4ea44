#!/usr/bin/env bash
# Soak test wrapper: builds the release binary (unless CONFAB_BIN is set), makes the
# virtualenv, raises the open-file limit for 2,000 sockets, and runs soak.py from the repo root.
#   bench/soak/run.sh --backend sqlite                 # 30 min at 70% of measured capacity
#   bench/soak/run.sh --backend postgres --duration 600
# Any soak.py flag passes through (bench/soak/soak.py --help).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/soak}
if [ -z "${CONFAB_BIN:-}" ]; then
  # The release profile, not dist: a faster build on a small machine; the soak measures
  # stability more than peak speed.
  cargo build --release --bin confab
  export CONFAB_BIN=$CARGO_TARGET_DIR/release/confab
fi
venv=${SOAK_VENV:-$root/target/soak-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r bench/soak/requirements.txt
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec "$venv/bin/python" bench/soak/soak.py "$@"
